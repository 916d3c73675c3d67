// INT8 number handling shared by every INT8 layer (../shared/INT8.md items 1-4): quantizing
// activations and weights, fake quantization, and the float epilogue that turns an int32
// accumulator into the layer's float output. These run on every activation, so they are
// written as simple loops the compiler vectorizes (see int8.cc); they are also the reference.
#pragma once
#include <cstdint>
#include <vector>

namespace qs::kernels::ref {

// The int32 accumulator of an int8 x int8 dot product of length K holds at most
// K * 128 * 127 in magnitude (activations in [-128, 127], weights in [-127, 127]). With
// K <= 2^17 that is at most 2^17 * 16256 = 2,130,706,432 < 2^31 - 1, so it cannot overflow.
// Every INT8 Conv / Gemm / MatMul must have its reduction length (Conv: in_channels/group *
// prod(kernel); Gemm/MatMul: K) within this bound; the op checks it with int8_reduction_fits()
// when it builds the params, and the fast kernels decline larger ones.
inline constexpr int64_t kMaxInt8Reduction = int64_t{1} << 17;
inline constexpr bool int8_reduction_fits(int64_t k) { return k >= 0 && k <= kMaxInt8Reduction; }

// q = clamp(round_half_even(x / scale), -128, 127) (std::nearbyint in the default rounding
// mode); scale <= 0 (or NaN) or a NaN x gives 0; +-inf saturate.
void quantize_f32_s8(const float* x, int8_t* q, int64_t n, float scale);

// y = q * scale for q = quantize(x): fake quantization, used where an INT8 layer reads a
// tensor. x == y allowed (in place).
void fake_quantize_f32(const float* x, float* y, int64_t n, float scale);

// Per-channel symmetric weights along `axis` of a dense row-major tensor of `shape`:
// scales[c] = max|w_c| / 127 (0 when the channel is all zeros), q = clamp(round_half_even(
// w / scales[c]), -127, 127) (0 where the scale is 0). scales has shape[axis] entries.
//   Conv weights [OC, IC/G, k...]: axis 0.  Gemm B [K, N]: axis 1 ([N, K] with trans_b: axis 0).
//   MatMul B [..., K, N]: axis rank-1 (one scale per output column, shared by B's batches).
//   ConvTranspose: see quantize_conv_transpose_weights_s8 in conv_int8.h (output channels
//   are not one axis when group > 1).
void quantize_weights_s8(const float* w, const std::vector<int64_t>& shape, int64_t axis, int8_t* q, float* scales);

struct Epilogue {
  // kClip: min alpha, max beta; kLeakyRelu: slope alpha; kSilu: x * sigmoid(x). Each one
  // computes exactly what the unfused float op (kernels/reference/activation.cc) computes.
  enum class Act { kNone, kRelu, kClip, kLeakyRelu, kSilu };
  Act act = Act::kNone;
  float alpha = 0.f, beta = 0.f;
};

// For a tensor laid out [outer, channels, inner] (NCHW conv output: outer = batch,
// inner = prod(spatial); Gemm/MatMul [M, N]: outer = M * batch, channels = N, inner = 1):
//   y = act( float(acc) * (x_scale * w_scales[c]) + bias[c] + residual )
// evaluated in this order in float32, each operation rounded separately (no fused
// multiply-add), so every build gives the same bits. bias may be nullptr (0); residual may be
// nullptr (0) and is a float tensor of the same layout (already fake-quantized by the caller
// with its own scale). residual == y allowed.
void dequantize_epilogue(const int32_t* acc, int64_t outer, int64_t channels, int64_t inner, float x_scale,
                         const float* w_scales, const float* bias, const float* residual, const Epilogue& e, float* y);

// The same epilogue on a float accumulator (FP32 fused blocks): y = act(acc + bias[c] +
// residual). acc == y and residual == y allowed.
void float_epilogue(const float* acc, int64_t outer, int64_t channels, int64_t inner, const float* bias,
                    const float* residual, const Epilogue& e, float* y);

}  // namespace qs::kernels::ref
