// INT8 Gemm and MatMul through oneDNN's matmul primitive: s8 x s8 summed into s32, no bias, no
// scales (the op applies the float epilogue of kernels/reference/int8.h, alpha and beta * C).
// oneDNN types stay behind Impl.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/reference/gemm.h"

namespace qs::kernels::fast {

// Built once per node with CONSTANT int8 B (reordered once into oneDNN's layout); run() only
// executes and is thread-safe. a and acc are plain row-major exactly as for
// ref::gemm_s8s8s32 (alpha, beta and c of GemmParams are ignored) and the result equals it
// exactly. nullptr with *why_not when: an operand is empty, K exceeds ref::kMaxInt8Reduction,
// the CPU lacks VNNI (see onednn_int8_exact in conv_int8_onednn.h), or oneDNN cannot do p.
class GemmS8OneDnn {
 public:
  static std::unique_ptr<GemmS8OneDnn> Create(const ref::GemmParams& p, const int8_t* b, std::string* why_not);
  ~GemmS8OneDnn();
  void run(const int8_t* a, int32_t* acc) const;
  const std::string& impl_info() const;

  struct Impl;

 private:
  explicit GemmS8OneDnn(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// As ref::matmul_s8s8s32 (batch broadcast through p's offsets), with B constant.
class MatMulS8OneDnn {
 public:
  static std::unique_ptr<MatMulS8OneDnn> Create(const ref::MatMulParams& p, const int8_t* b, std::string* why_not);
  ~MatMulS8OneDnn();
  void run(const int8_t* a, int32_t* acc) const;
  const std::string& impl_info() const;

  struct Impl;

 private:
  explicit MatMulS8OneDnn(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qs::kernels::fast
