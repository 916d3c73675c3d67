// Conv and ConvTranspose through oneDNN. Everything oneDNN lives behind Impl, so modules
// that include this header do not see oneDNN types.
#pragma once
#include <memory>
#include <string>

#include "kernels/reference/conv.h"
#include "kernels/reference/int8.h"

namespace qs::kernels::fast {

// How a convolution meets its neighbours: the layout of x and y, and an epilogue oneDNN may
// apply inside the primitive (post-ops) instead of a pass over y afterwards.
struct ConvFastOptions {
  // x / y laid out channels-last ([N, spatial..., C]) instead of plain NCHW. The params still
  // describe the logical NCHW problem.
  bool src_channels_last = false;
  bool dst_channels_last = false;
  // y = act(conv(x, w) + b + r): r (run()'s residual) has y's shape and layout. What oneDNN
  // fuses of it, ConvOneDnn says (residual_fused, activation_fused).
  bool residual = false;
  ref::Epilogue epilogue;
  // The caller runs this convolution only where conv(x, w) + b + r holds no NaN (x, w, b and r
  // finite). oneDNN's clip maps NaN to the lower bound where the reference passes it on; with
  // no NaN to meet, a Clip epilogue is exact and runs as a post-op too.
  bool nan_free = false;
  // With nan_free: a 3x3 stride-1 convolution may run as Winograd (winograd_candidate), which
  // takes about 2.25x fewer multiplies. Its transforms mix a tile's inputs, so one infinity
  // would spread NaN over the tile where the direct convolution gives inf; without NaN or
  // infinity its rounding differs from the direct convolution's by a few float ulps of the sums
  // (tests/kernels/conv_test.cc holds it to 1e-5 of sum |x w|). Winograd takes Relu as a
  // post-op (exactly: max(x, 0) gives +0), and neither the residual nor another activation.
  bool winograd = false;
  // A 1x1 convolution with a stride above 1 and no padding on a channels-last x may gather the
  // pixels it reads and run at unit stride (ConvOneDnn::gathers_input); false keeps oneDNN's
  // strided kernel (bench/conv_bench's baseline).
  bool gather_strided = true;
};

// Whether oneDNN may run this convolution as Winograd when ConvFastOptions::winograd allows:
// 2-D, one group, 3x3, stride 1, no dilation, at least kMinWinogradPixels output pixels over
// the batch, and enough channels. With fewer pixels the transformed weights (16/9 the size of
// the direct ones) cost more to stream than the multiplies saved: ResNet-50's 512-channel 3x3
// at 7x7 and batch 1 gained 6 % on one thread and lost 2 % on two, while its 14x14 layers
// gained 8-13 %. With few channels the transforms and the reorders to Winograd's blocked
// layout cost more than the multiplies saved (one thread, channels-last in and out, timed
// alone): 1 -> 16 at 28x28 ran 5x slower, 3 -> 64 at 224x224 4x, 16 -> 16 at 56x56 1.4x,
// 32 -> 32 at 56x56 1.1x; 16 -> 128 and 32 -> 64 at 28x28 ran 1.3-1.4x faster, 64 -> 64 1.4-1.6x.
inline constexpr int64_t kMinWinogradPixels = 196;
inline constexpr int64_t kMinWinogradChannels = 16;           // of each side
inline constexpr int64_t kMinWinogradChannelProduct = 2048;  // in x out
bool winograd_candidate(const ref::ConvParams& p);

// Built once per node (primitive descriptor, primitive, weights reordered into the layout
// oneDNN prefers); run() only wraps the buffers and executes. Activations are plain row-major
// (NCHW) at the boundary unless ConvFastOptions asks for channels-last.
// Whether oneDNN's convolutions on this CPU run directly on channels-last activations (its
// AVX-512 brgemm and jit kernels do; elsewhere it prefers blocked layouts and would reorder).
bool channels_last_preferred();

class ConvOneDnn {
 public:
  // const_w / const_b: the weights and bias when they are constants known now (copied and,
  // for weights, reordered once), or nullptr to take them from run() each time. Returns
  // nullptr, with the reason in *why_not, when oneDNN has no implementation for p; the
  // caller then uses the reference kernel.
  static std::unique_ptr<ConvOneDnn> Conv(const ref::ConvParams& p, const float* const_w, const float* const_b,
                                          bool has_bias, std::string* why_not, const ConvFastOptions& options = {});
  static std::unique_ptr<ConvOneDnn> ConvTranspose(const ref::ConvParams& p, const float* const_w,
                                                   const float* const_b, bool has_bias, std::string* why_not);
  ~ConvOneDnn();

  // Same buffers as ref::conv_f32 / conv_transpose_f32; w and b are ignored when they were
  // given as constants. Safe to call from several threads at once.
  // residual: r of options.residual when residual_fused(), else unused. y may be r itself (the
  // residual added in place); otherwise run() first copies r into y.
  // The caller applies what was not fused (the residual and/or the activation) to y.
  void run(const float* x, const float* w, const float* b, float* y, const float* residual = nullptr) const;
  // What run() applied as oneDNN post-ops: the residual add (only where the primitive writes a
  // channels-last y itself), and Relu / LeakyRelu (and Clip under nan_free), which oneDNN
  // computes exactly as the reference does, into a channels-last y or, without a residual, a
  // plain one; an activation is fused only where the residual is too or there is none. Silu is
  // always left to the caller.
  bool residual_fused() const;
  bool activation_fused() const;
  // Whether oneDNN runs this convolution as Winograd (ConvFastOptions::winograd).
  bool winograd() const;
  // Whether run() gathers x's pixels at the stride first and oneDNN runs the unit-stride
  // convolution of them (1x1, a stride above 1, no padding, channels-last x).
  bool gathers_input() const;
  // oneDNN's name for the implementation it chose (e.g. "jit:avx2", "gemm:jit"), for
  // benchmarks and debugging.
  const std::string& impl_info() const;

  struct Impl;

 private:
  explicit ConvOneDnn(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qs::kernels::fast
