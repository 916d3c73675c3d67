// INT8 Conv and ConvTranspose through oneDNN: s8 activations x s8 weights summed into an s32
// accumulator, no bias and no scales (the float epilogue in kernels/reference/int8.h follows).
// oneDNN types stay behind Impl.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/reference/conv.h"
#include "kernels/reference/int8.h"

namespace qs::kernels::fast {

// Built once per node with CONSTANT int8 weights (copied and reordered once into oneDNN's
// layout); run() only executes. x and acc are plain row-major like ref::conv_s8s8s32 (or channels-last
// as ConvS8Layout asks): the
// kernel reorders x into the layout oneDNN's int8 convolutions want (channels-last or
// blocked) and the s32 result back, in per-thread buffers. Thread-safe. The result equals
// ref::conv_s8s8s32 / conv_transpose_s8s8s32 exactly.
//
// Returns nullptr with the reason in *why_not (the caller then uses the reference) when:
// the batch is empty; the reduction (in_channels/group * prod(kernel)) exceeds
// ref::kMaxInt8Reduction; the CPU lacks VNNI (without it oneDNN multiplies u8 x s8 pairs with
// vpmaddubsw, whose int16 sums saturate, and avoids that by halving the weights, so the result
// is no longer exact); or oneDNN has no implementation for p.
// x and acc laid out channels-last ([N, spatial..., C]) instead of plain; p describes the
// logical NCHW problem either way.
struct ConvS8Layout {
  bool src_channels_last = false;
  bool dst_channels_last = false;
};

// The float epilogue of ref::dequantize_epilogue done by oneDNN inside the convolution:
//   y = act(float(acc) * scales[c] + bias[c] + residual)
// with scales[c] = x_scale * w_scales[c] (the product the reference forms), each operation
// rounded separately in the reference's order (output scale, then bias and residual as
// binary-add post-ops, then the activation). kSilu is not offered (oneDNN's swish differs
// from the reference's bits); Relu is max(x, 0) as the reference computes it.
struct ConvS8Epilogue {
  std::vector<float> scales;  // per output channel
  std::vector<float> bias;    // per output channel, or empty
  bool residual = false;      // run_f32 gets a residual of y's shape and layout
  ref::Epilogue act;
  // > 0: y is int8, the epilogue's float value quantized with this scale exactly as
  // ref::quantize_f32_s8 does (a division post-op, then oneDNN's round-half-even conversion
  // with saturation to [-128, 127]); written by run_s8.
  float out_scale = 0.f;
  // false: the scales are output scales, constants of the primitive (the fastest per run).
  // true: they are a run-time operand (a multiply post-op), so that layers of the same shape
  // and epilogue share one oneDNN primitive, for kernels that run only a few times (creating
  // an int8 convolution JITs its code, 1-3 ms, and oneDNN's per-channel multiply post-op on
  // channels-last data costs up to 2x the convolution's run time on MobileNetV2's expansions);
  // output scales where oneDNN takes no such post-op. The same products either way.
  bool scales_as_operand = false;
  // Conv1x1S8 only (the other kernels decline it): > 0, the residual comes as it is and the
  // kernel fake-quantizes it with this scale, as ref::fake_quantize_f32 does, before adding it;
  // 0, it comes fake-quantized (or there is none).
  float residual_scale = 0.f;
  // Conv1x1S8 only, with residual_scale: the residual comes int8 (handed off by its producer)
  // and is read as q * residual_scale, the value its fake quantization gives.
  bool residual_int8 = false;
};

class ConvS8OneDnn {
 public:
  // With an epilogue the kernel writes float y through run_f32 (and declines what oneDNN
  // cannot fuse exactly); without one it writes the int32 accumulator through run.
  static std::unique_ptr<ConvS8OneDnn> Conv(const ref::ConvParams& p, const int8_t* w, std::string* why_not,
                                            const ConvS8Layout& layout = {}, const ConvS8Epilogue* epilogue = nullptr);
  static std::unique_ptr<ConvS8OneDnn> ConvTranspose(const ref::ConvParams& p, const int8_t* w, std::string* why_not);
  ~ConvS8OneDnn();

  void run(const int8_t* x, int32_t* acc) const;
  // Built with an epilogue: y = the epilogue of the accumulator, in y's layout (residual: the
  // residual, already fake-quantized by the caller, or nullptr when the epilogue has none).
  void run_f32(const int8_t* x, const float* residual, float* y) const;
  // Built with an epilogue that has an out_scale: y = its int8 quantization.
  void run_s8(const int8_t* x, const float* residual, int8_t* y) const;
  // oneDNN's name for the implementation it chose (e.g. "jit_int8:avx512_core_vnni").
  const std::string& impl_info() const;

  struct Impl;

 private:
  explicit ConvS8OneDnn(std::unique_ptr<Impl> impl);
  void run_any(const int8_t* x, const float* residual, void* out) const;
  std::unique_ptr<Impl> impl_;
};

// Whether oneDNN's int8 kernels are exact on this CPU (it has VNNI: avx512_core_vnni or
// avx2_vnni and up); the INT8 fast kernels decline otherwise.
bool onednn_int8_exact(std::string* why_not);

}  // namespace qs::kernels::fast
