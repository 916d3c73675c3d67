// A float convolution for a network's first layer: few input channels (an image's 1 to 4),
// read in the plain layout, written channels-last for the layers after it. oneDNN's
// channels-last kernels want their input channels-last too, so the image goes through a
// reorder first: at batch 8 on MobileNetV2 (3 -> 32, 3x3, stride 2, at 224x224) that reorder
// took 0.38 ms next to the convolution's 1.84.
//
// Raw audio's first layers are the 1-D case, often with long filters (an M5 network's 1 -> 128
// under a filter of 80 at stride 4): oneDNN runs them as im2col + GEMM into a plain y, or as a
// direct convolution 5x slower, and 1.5-3.5x slower than this kernel either way
// (bench/conv_bench).
//
// StemConvF32 reads the image where it lies: for each output row (a 1-D convolution is one row,
// cut into runs of 96 columns that threads share) it copies the input rows
// the filter touches into a zero-padded buffer of its own (a few KB, in L1), then keeps a tile
// of up to 12 pixels times up to 2 blocks of 16 output channels in registers, one broadcast
// and one multiply-add per filter tap and block, the epilogue included (f32_avx512.h). The
// sum runs in fused multiply-adds in (channel, row, column) order; only its rounding differs
// from the reference's, as oneDNN's does.
//
// x is float [N, C, H, W] or [N, C, W]; y and the residual are channels-last ([N, OH, OW, OC]
// or [N, OW, OC]) float.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/reference/conv.h"
#include "kernels/reference/int8.h"  // Epilogue

namespace qs::kernels::fast {

class StemConvF32 {
 public:
  // nullptr with the reason in *why_not unless: the CPU has AVX-512 (F, DQ); p is a 1-D or 2-D
  // convolution with one group, at most 4 input channels, dilation 1 and non-negative padding;
  // the activation is none, Relu, Clip or LeakyRelu.
  // w: [out_channels, in_channels, kh, kw] or [.., kw] (copied and packed); bias: [out_channels]
  // or nullptr.
  static std::unique_ptr<StemConvF32> Create(const ref::ConvParams& p, const float* w, const float* bias,
                                             const ref::Epilogue& e, std::string* why_not);
  ~StemConvF32();

  // Whether this kernel beats oneDNN's (its reorder of the input included) on p: filters of up
  // to 49 taps on up to 4 channels. Timed per node in the networks (bench/infer_bench --ops,
  // best of 3-5 alternating runs, AMD EPYC Zen 5), oneDNN / this kernel: MobileNetV2's first
  // layer (3 -> 32, 3x3, stride 2, at 224x224) 1.44 / 1.28 at batch 1 (one / two threads),
  // 1.48 / 1.55 at batch 8; ResNet-50's (3 -> 64, 7x7, stride 2) 1.05 / 1.03 at batch 1, 1.04
  // at batch 8 and one thread. Every 1-D one (bench/conv_bench's BM_Stem1d: 1.5-3.5x at one
  // thread, against oneDNN's best way for them).
  static bool outruns_onednn(const ref::ConvParams& p);

  // y = the block's output; residual: float in y's layout (may be y itself), or nullptr.
  // Returns whether every value written is finite. Thread-safe; splits the output rows over
  // OpenMP threads when that pays.
  bool run(const float* x, const float* residual, float* y) const;

  struct Impl;

 private:
  explicit StemConvF32(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qs::kernels::fast
