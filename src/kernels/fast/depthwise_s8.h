// A depthwise INT8 convolution (one filter per channel, MobileNet's 3x3 and EfficientNet's
// 5x5 layers) with int8 output, written because oneDNN's int8 depthwise kernels quantize
// their output with a division post-op (INT8.md item 2), which costs more per element than
// the 9 products of a 3x3 filter: MobileNetV2's INT8 depthwise layers ran slower than FP32.
//
// Each input row is copied once into row buffers, 16 channels a block, as VNNI's unsigned
// bytes (x + 128, padding as the value 0); an output then takes one byte permutation (VBMI)
// and one VNNI product per filter row and 4 filter columns: the 4 neighbouring pixels' bytes
// of each channel side by side against the channel's 4 weights. The epilogue and the exact
// output quantization are int8_avx512.h's: the reference's bytes without a division.
//
// x and y are channels-last ([N, H, W, C]) int8; residual is float in y's layout.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/fast/conv_int8_onednn.h"  // ConvS8Epilogue
#include "kernels/reference/conv.h"

namespace qs::kernels::fast {

class DepthwiseConvS8 {
 public:
  // nullptr with the reason in *why_not unless: the CPU has AVX-512 (F, BW, VL, DQ) with VNNI
  // and VBMI; p is a 2-D convolution with group == in_channels == out_channels, dilation 1,
  // non-negative padding and a filter at most 16 wide; its reduction fits
  // ref::kMaxInt8Reduction; the epilogue quantizes its result (int8_avx512::prepare).
  // w: [channels, 1, kh, kw] int8 (copied and packed).
  static std::unique_ptr<DepthwiseConvS8> Create(const ref::ConvParams& p, const int8_t* w, const ConvS8Epilogue& e,
                                                 std::string* why_not);
  ~DepthwiseConvS8();

  // Whether this kernel beats oneDNN's int8 depthwise convolution (with its division post-op)
  // on p: every depthwise layer. bench/int8_bench, MobileNetV2's 3x3 layers, best of 9, one
  // thread, Emerald Rapids: 32 channels at 112x112 2.2x, 96 at 112x112 stride 2 1.75x, 144 at
  // 56x56 1.6x (stride 2 1.1x), 192 at 28x28 1.7x, 384 at 14x14 1.5x, 960 at 7x7 1.4x, 576 at
  // 14x14 stride 2 1.0x.
  static bool outruns_onednn(const ref::ConvParams& p) { return p.group > 1 && p.group == p.in_channels; }

  // y = the block's int8 output. residual: float in y's layout, or nullptr when the epilogue
  // has none. Thread-safe; splits the output rows over OpenMP threads when that pays.
  void run(const int8_t* x, const float* residual, int8_t* y) const;

  struct Impl;

 private:
  explicit DepthwiseConvS8(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qs::kernels::fast
