// A pointwise (1x1) float convolution on channels-last tensors, written for the layers where
// oneDNN's brgemm kernels lose: MobileNet-style blocks over many pixels with few channels in
// (expansions such as 16 -> 96 at 112x112, projections such as 32 -> 16). There a 1x1
// convolution is a product [pixels, K] x [K, N] with a short K, and the time goes to writing
// the output; oneDNN splits it into brgemm calls whose setup is paid for every few pixels.
//
// Conv1x1F32 keeps a tile of up to 8 pixels times up to 6 blocks of 16 output channels in
// registers from the first product to the store, the epilogue included:
//   y = act(sum_k x[k] w[k] + bias + residual)
// with the sum in fused multiply-adds in k order, then each add rounded on its own and the
// activation exactly as ref::float_epilogue applies it (NaN and infinity as the reference treats
// them: Relu maps NaN to 0, Clip passes it on). Only the sum's rounding differs from the
// reference's, as oneDNN's does.
//
// x, y and the residual are channels-last ([N, H, W, C]) float.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/reference/conv.h"
#include "kernels/reference/int8.h"  // Epilogue

namespace qs::kernels::fast {

class Conv1x1F32 {
 public:
  // nullptr with the reason in *why_not unless: the CPU has AVX-512 (F, DQ); p is a 2-D
  // convolution with a 1x1 kernel, no padding and one group (any stride); the activation is
  // none, Relu, Clip or LeakyRelu (Silu is left to oneDNN and the pass after it).
  // w: [out_channels, in_channels] (copied and packed); bias: [out_channels] or nullptr.
  static std::unique_ptr<Conv1x1F32> Create(const ref::ConvParams& p, const float* w, const float* bias,
                                            const ref::Epilogue& e, std::string* why_not);
  ~Conv1x1F32();

  // Whether this kernel beats oneDNN's (brgconv_1x1, channels-last in and out) on p inside a
  // network: expansions (at least 4x the channels out) from at most 24 channels. Timed per
  // node in MobileNetV2 (bench/infer_bench --ops, best of 4-5 alternating runs, AMD EPYC Zen 5),
  // oneDNN / this kernel: 16 -> 96 at 112x112 1.09 / 1.31 at batch 1 (one / two threads),
  // 1.51 / 1.44 at batch 8; 24 -> 144 at 56x56 0.95-1.22 / 1.13-1.34 and 1.24-1.54 /
  // 1.16-1.69. Elsewhere oneDNN's blocking of long reductions and narrow outputs wins or ties:
  // 32 -> 192 at 28x28 0.90-1.04, 32 -> 16 0.97-1.02, 144 -> 24 with a residual 0.67-1.05,
  // 960 -> 320 0.86. Timed alone (bench/conv_bench BM_Pointwise*, buffers warm in the cache)
  // oneDNN wins at batch 1: the gain is in streaming an output that does not stay in cache.
  static bool outruns_onednn(const ref::ConvParams& p);

  // y = the block's output; residual: float in y's layout (may be y itself), or nullptr.
  // Returns whether every value written is finite (no NaN or infinity), which the caller may
  // record on y (Tensor::known_finite) at no extra pass. Thread-safe; splits the pixels over
  // OpenMP threads when that pays.
  bool run(const float* x, const float* residual, float* y) const;

  struct Impl;

 private:
  explicit Conv1x1F32(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qs::kernels::fast
