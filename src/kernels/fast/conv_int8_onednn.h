// INT8 Conv and ConvTranspose through oneDNN: s8 activations x s8 weights summed into an s32
// accumulator, no bias and no scales (the float epilogue in kernels/reference/int8.h follows).
// oneDNN types stay behind Impl.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/reference/conv.h"

namespace qs::kernels::fast {

// Built once per node with CONSTANT int8 weights (copied and reordered once into oneDNN's
// layout); run() only executes. x and acc are plain row-major like ref::conv_s8s8s32: the
// kernel reorders x into the layout oneDNN's int8 convolutions want (channels-last or
// blocked) and the s32 result back, in per-thread buffers. Thread-safe. The result equals
// ref::conv_s8s8s32 / conv_transpose_s8s8s32 exactly.
//
// Returns nullptr with the reason in *why_not (the caller then uses the reference) when:
// the batch is empty; the reduction (in_channels/group * prod(kernel)) exceeds
// ref::kMaxInt8Reduction; the CPU lacks VNNI (without it oneDNN multiplies u8 x s8 pairs with
// vpmaddubsw, whose int16 sums saturate, and avoids that by halving the weights, so the result
// is no longer exact); or oneDNN has no implementation for p.
class ConvS8OneDnn {
 public:
  static std::unique_ptr<ConvS8OneDnn> Conv(const ref::ConvParams& p, const int8_t* w, std::string* why_not);
  static std::unique_ptr<ConvS8OneDnn> ConvTranspose(const ref::ConvParams& p, const int8_t* w, std::string* why_not);
  ~ConvS8OneDnn();

  void run(const int8_t* x, int32_t* acc) const;
  // oneDNN's name for the implementation it chose (e.g. "jit_int8:avx512_core_vnni").
  const std::string& impl_info() const;

  struct Impl;

 private:
  explicit ConvS8OneDnn(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Whether oneDNN's int8 kernels are exact on this CPU (it has VNNI: avx512_core_vnni or
// avx2_vnni and up); the INT8 fast kernels decline otherwise.
bool onednn_int8_exact(std::string* why_not);

}  // namespace qs::kernels::fast
