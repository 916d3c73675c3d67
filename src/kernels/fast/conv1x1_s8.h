// A pointwise (1x1) INT8 convolution written for the layers where oneDNN's int8 path loses
// to FP32: MobileNet-style expansions, which read few channels and write many. The product is
// small there and the epilogue is most of the work; oneDNN's exact quantization is a division
// post-op (INT8.md item 2: x / scale), and a vector division costs as much per element as the
// rest of such a layer.
//
// Conv1x1S8 computes the whole block in registers: s8 x s8 products summed in int32 (AVX-512
// VNNI), then the epilogue and the exact output quantization of int8_avx512.h, the
// reference's bytes without a division. Without an output scale it writes the epilogue's
// float value instead (ref::dequantize_epilogue's bits): a layer whose output is read as float,
// such as a residual block's last, which oneDNN computes with its int32 sums and a float
// residual that a pass before it has fake-quantized, both through memory.
//
// x is channels-last ([N, H, W, C]) int8; y is channels-last int8 or float; residual is in y's
// layout: float, fake-quantized by the caller or, with ConvS8Epilogue::residual_scale, here; or
// int8 with ConvS8Epilogue::residual_int8, read as q * residual_scale.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/fast/conv_int8_onednn.h"  // ConvS8Epilogue
#include "kernels/reference/conv.h"

namespace qs::kernels::fast {

class Conv1x1S8 {
 public:
  // nullptr with the reason in *why_not unless: the CPU has AVX-512 (F, BW, VL, DQ) with
  // VNNI; p is a 2-D convolution with a 1x1 kernel, no padding and one group (any stride);
  // its reduction fits ref::kMaxInt8Reduction; the epilogue runs in registers
  // (int8_avx512::prepare: an output scale with a finite normal reciprocal, or none for float
  // y; a residual scale, if any, likewise; no SiLU; constants that cannot make a NaN).
  // w: [out_channels, in_channels] int8 (copied and packed).
  static std::unique_ptr<Conv1x1S8> Create(const ref::ConvParams& p, const int8_t* w, const ConvS8Epilogue& e,
                                           std::string* why_not);
  ~Conv1x1S8();

  // Whether this kernel beats oneDNN's int8 convolution (with its division post-op) on p:
  // layers that read at most 64 channels, and expansions (at least 4x the channels out) of
  // up to 96. bench/int8_bench, best of 9, one thread, Emerald Rapids: 16 -> 96 at 112x112
  // 2.1x, 24 -> 144 at 56x56 1.8x, 32 -> 192 at 28x28 2.6x, 64 -> 384 at 14x14 1.9x, 64 -> 256
  // at 56x56 1.25x, 96 -> 576 at 14x14 1.6x; where each input byte meets fewer weights or
  // the reduction is longer, oneDNN's AMX kernels win: 96 -> 24 at 56x56 1.0x, 128 -> 512
  // 0.9x, 160 -> 960 1.0x, 256 -> 64 0.6x, 1024 -> 256 0.3x; and below one block of 16 output
  // channels, where half a vector's lanes would be idle (16 -> 8 on 6241 pixels 0.6x; 8 -> 32
  // there 3.2x).
  static bool outruns_onednn(const ref::ConvParams& p) {
    return p.group == 1 && p.kernel == std::vector<int64_t>(p.kernel.size(), 1) && p.out_channels >= 16 &&
           (p.in_channels <= 64 || (p.in_channels <= 96 && p.out_channels >= 4 * p.in_channels));
  }

  // Whether it was built without an output scale (y float: run_f32) or with one (int8: run).
  bool float_output() const;

  // y = the block's int8 output. residual: in y's layout (float, or int8 with residual_int8),
  // or nullptr when the epilogue has none. Thread-safe; splits the pixels over OpenMP threads when that pays. Writes
  // nothing when built for float y.
  void run(const int8_t* x, const void* residual, int8_t* y) const;
  // The same for float y; writes nothing when built for int8 y.
  void run_f32(const int8_t* x, const void* residual, float* y) const;

  struct Impl;

 private:
  void run_any(const int8_t* x, const void* residual, void* y) const;
  explicit Conv1x1S8(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qs::kernels::fast
