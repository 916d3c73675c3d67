// The int32 sums of a 1-D INT8 convolution over few input channels: a raw-audio network's
// first layer (an M5 network's 1 -> 128 under a filter of 80 at stride 4). oneDNN's int8
// kernels put the input channels in the 4 bytes of a VNNI lane, so one channel fills a quarter
// of each product: that layer took 0.94-1.1 ms at one thread, 2.5x its float convolution.
//
// Conv1dS8 puts 4 consecutive taps of one channel in a lane instead: the input's bytes
// (as x + 128, padded with the value 0) are already in that order, so each lane is one 4-byte
// broadcast from the copy at the output's offset, and a filter of 80 is 20 products per 16
// output channels. A tile keeps 6 outputs times 4 blocks of 16 output channels in registers.
// The sums are exact integers, the reference's (ref::conv_s8s8s32) bit for bit; the caller
// applies the epilogue (kernels/fast/quantize_fast.h's dequantize_epilogue).
//
// x is int8 [N, C, W] (plain); acc is int32 channels-last, [N, OW, OC].
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/reference/conv.h"

namespace qs::kernels::fast {

class Conv1dS8 {
 public:
  // nullptr with the reason in *why_not unless: the CPU has AVX-512 (F, BW, VL, DQ) with VNNI;
  // p is a 1-D convolution with one group, 1 to 4 input channels, dilation 1 and non-negative
  // padding, whose reduction fits the int32 accumulator. w: [out_channels, in_channels, k]
  // int8 (copied and packed).
  static std::unique_ptr<Conv1dS8> Create(const ref::ConvParams& p, const int8_t* w, std::string* why_not);
  ~Conv1dS8();

  // Whether this kernel, with the epilogue as a pass after it, beats oneDNN's int8 convolution
  // with the epilogue inside on p: 1-D layers on up to 4 channels whose filters hold 32 taps or
  // more over all the channels. bench/int8_bench, batch 1, one / two threads: the M5 layer
  // above 5.3x / 4.3x, 1 -> 40 under a filter of 251 9x / 10x, 1 -> 64 under 32 at stride 2
  // 2.4x / 1.6x; shorter filters lose to the pass: 1 -> 512 under 10 at stride 5 0.82x / 1.08x,
  // 1 -> 32 under 3 0.69x / 0.55x.
  static bool outruns_onednn(const ref::ConvParams& p) {
    return p.in_size.size() == 1 && p.group == 1 && p.in_channels <= 4 && p.in_channels * p.kernel[0] >= 32;
  }

  // acc = the convolution's int32 sums. Thread-safe; splits the outputs over OpenMP threads
  // when that pays.
  void run(const int8_t* x, int32_t* acc) const;

  struct Impl;

 private:
  explicit Conv1dS8(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qs::kernels::fast
