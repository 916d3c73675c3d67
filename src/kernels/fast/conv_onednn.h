// Conv and ConvTranspose through oneDNN. Everything oneDNN lives behind Impl, so modules
// that include this header do not see oneDNN types.
#pragma once
#include <memory>
#include <string>

#include "kernels/reference/conv.h"

namespace qs::kernels::fast {

// Built once per node (primitive descriptor, primitive, weights reordered into the layout
// oneDNN prefers); run() only wraps the buffers and executes. Activations stay plain
// row-major (NCHW) at the boundary so that other ops can read them.
class ConvOneDnn {
 public:
  // const_w / const_b: the weights and bias when they are constants known now (copied and,
  // for weights, reordered once), or nullptr to take them from run() each time. Returns
  // nullptr, with the reason in *why_not, when oneDNN has no implementation for p; the
  // caller then uses the reference kernel.
  static std::unique_ptr<ConvOneDnn> Conv(const ref::ConvParams& p, const float* const_w, const float* const_b,
                                          bool has_bias, std::string* why_not);
  static std::unique_ptr<ConvOneDnn> ConvTranspose(const ref::ConvParams& p, const float* const_w,
                                                   const float* const_b, bool has_bias, std::string* why_not);
  ~ConvOneDnn();

  // Same buffers as ref::conv_f32 / conv_transpose_f32; w and b are ignored when they were
  // given as constants. Safe to call from several threads at once.
  void run(const float* x, const float* w, const float* b, float* y) const;
  // oneDNN's name for the implementation it chose (e.g. "jit:avx2", "gemm:jit"), for
  // benchmarks and debugging.
  const std::string& impl_info() const;

  struct Impl;

 private:
  explicit ConvOneDnn(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qs::kernels::fast
