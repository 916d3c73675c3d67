// ONNX QuantizeLinear / DequantizeLinear (opsets 10, 13, 19, 21 for 8-bit integers; INT8.md
// item 18): per tensor or per axis, int8 and uint8, any zero point. The tensor is viewed as
// [outer, channels, inner] with channels the quantized axis (channels == 1: per tensor), and
// scale / zero point hold one value per channel.
//   quantize:   y = saturate(round_half_even(x / scale) + zero_point)   (NaN x gives zero_point)
//   dequantize: y = (x - zero_point) * scale                            (in float32)
// With zero point 0 these give exactly the bits of int8.h's quantize_f32_s8 / fake_quantize_f32.
#pragma once
#include <cstdint>

namespace qs::kernels::ref {

struct QuantLayout {
  int64_t outer = 1, channels = 1, inner = 1;
};

void quantize_linear_s8(const QuantLayout& l, const float* x, const float* scale, const int8_t* zero_point, int8_t* y);
void quantize_linear_u8(const QuantLayout& l, const float* x, const float* scale, const uint8_t* zero_point, uint8_t* y);
// zero_point may be nullptr (0).
void dequantize_linear_s8(const QuantLayout& l, const int8_t* x, const float* scale, const int8_t* zero_point, float* y);
void dequantize_linear_u8(const QuantLayout& l, const uint8_t* x, const float* scale, const uint8_t* zero_point, float* y);
void dequantize_linear_s32(const QuantLayout& l, const int32_t* x, const float* scale, const int32_t* zero_point,
                           float* y);

}  // namespace qs::kernels::ref
