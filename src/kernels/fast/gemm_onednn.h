// Gemm and MatMul through oneDNN's matmul primitive; oneDNN types stay behind Impl.
#pragma once
#include <memory>
#include <string>

#include "kernels/reference/gemm.h"

namespace qs::kernels::fast {

// Built once per node; run() only wraps buffers and executes.
class GemmOneDnn {
 public:
  // const_b: B when it is a constant known now (reordered once into oneDNN's preferred
  // layout), else nullptr. Returns nullptr with *why_not when oneDNN cannot do p.
  static std::unique_ptr<GemmOneDnn> Create(const ref::GemmParams& p, const float* const_b, std::string* why_not);
  ~GemmOneDnn();
  // Same buffers as ref::gemm_f32; b is ignored when it was given as a constant.
  void run(const float* a, const float* b, const float* c, float* y) const;

  struct Impl;

 private:
  explicit GemmOneDnn(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class MatMulOneDnn {
 public:
  static std::unique_ptr<MatMulOneDnn> Create(const ref::MatMulParams& p, const float* const_b, std::string* why_not);
  ~MatMulOneDnn();
  // Same buffers as ref::matmul_f32; b is ignored when it was given as a constant.
  void run(const float* a, const float* b, float* y) const;

  struct Impl;

 private:
  explicit MatMulOneDnn(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qs::kernels::fast
