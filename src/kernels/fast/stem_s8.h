// An INT8 convolution for a network's first layer: few input channels (an image's 1 to 4),
// read as float in the plain layout, int8 out channels-last for the INT8 layers after it.
// oneDNN's kernel takes the input quantized in a pass of its own, reorders it to its layout,
// and quantizes its output with a division post-op (INT8.md item 2); the products are few
// (27 for a 3x3 filter on 3 channels), so those passes are most of the layer.
//
// StemConvS8 quantizes the input once, exactly as ref::quantize_f32_s8 does (int8_avx512.h's
// quotient), into a padded channels-last copy of 4 bytes a pixel (x + 128, channels past the
// input's and the padding as the value 0): each filter tap is then one 4-byte broadcast and
// one VNNI product per 16 output channels. The epilogue and the exact output quantization are
// int8_avx512.h's: the reference's bytes without a division.
//
// x is float [N, C, H, W]; y is channels-last ([N, OH, OW, OC]) int8; residual is float in y's
// layout.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/fast/conv_int8_onednn.h"  // ConvS8Epilogue
#include "kernels/reference/conv.h"

namespace qs::kernels::fast {

class StemConvS8 {
 public:
  // nullptr with the reason in *why_not unless: the CPU has AVX-512 (F, BW, VL, DQ) with VNNI;
  // p is a 2-D convolution with one group, at most 4 input channels, dilation 1 and
  // non-negative padding; x_scale has a finite normal reciprocal; the epilogue quantizes its
  // result (int8_avx512::prepare). e.scales are x_scale times the weights' scales, as for the
  // other kernels. w: [out_channels, in_channels, kh, kw] int8 (copied and packed).
  static std::unique_ptr<StemConvS8> Create(const ref::ConvParams& p, const int8_t* w, float x_scale,
                                            const ConvS8Epilogue& e, std::string* why_not);
  ~StemConvS8();

  // Whether this kernel beats quantizing the input and oneDNN's int8 convolution (with its
  // division post-op) on p: filters of up to 9 taps on up to 4 channels. bench/int8_bench,
  // one thread: MobileNetV2's first layer (3 -> 32, 3x3, stride 2, at 224x224) 1.7x at batch 1
  // and 8, 1 -> 16 at 28x28 1.5x; ResNet-50's (3 -> 64, 7x7, stride 2) 0.85-0.88x, where
  // oneDNN's AMX kernel takes the 147-long reduction whole and each tap here wastes a quarter
  // of its product on the fourth channel.
  static bool outruns_onednn(const ref::ConvParams& p) {
    return p.in_size.size() == 2 && p.group == 1 && p.in_channels <= 4 && p.kernel[0] * p.kernel[1] <= 9;
  }

  // y = the block's int8 output for the float input x. residual: float in y's layout, or
  // nullptr when the epilogue has none. Thread-safe; splits the rows over OpenMP threads
  // when that pays.
  void run(const float* x, const float* residual, int8_t* y) const;

  struct Impl;

 private:
  explicit StemConvS8(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qs::kernels::fast
