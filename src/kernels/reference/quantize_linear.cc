#include "kernels/reference/quantize_linear.h"

#include <cmath>
#include <limits>

namespace qs::kernels::ref {
namespace {

template <typename Q>
void quantize(const QuantLayout& l, const float* x, const float* scale, const Q* zp, Q* y) {
  constexpr float lo = static_cast<float>(std::numeric_limits<Q>::min());
  constexpr float hi = static_cast<float>(std::numeric_limits<Q>::max());
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      const float s = scale[c];
      const float z = zp ? static_cast<float>(zp[c]) : 0.f;
      const int64_t base = (o * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) {
        float v = x[base + i] / s;
        if (v != v) v = 0.f;  // NaN (also 0/0) -> the zero point
        // Clamp before rounding (the same integer; keeps +-inf in range), then add the zero
        // point (exact: both are small integers) and saturate.
        v = std::nearbyint(std::fmin(std::fmax(v, lo - 256.f), hi + 256.f)) + z;
        v = std::fmin(std::fmax(v, lo), hi);
        y[base + i] = static_cast<Q>(static_cast<int32_t>(v));
      }
    }
}

template <typename Q>
void dequantize(const QuantLayout& l, const Q* x, const float* scale, const Q* zp, float* y) {
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      const float s = scale[c];
      const int64_t z = zp ? static_cast<int64_t>(zp[c]) : 0;
      const int64_t base = (o * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) y[base + i] = static_cast<float>(static_cast<int64_t>(x[base + i]) - z) * s;
    }
}

}  // namespace

void quantize_linear_s8(const QuantLayout& l, const float* x, const float* scale, const int8_t* zp, int8_t* y) {
  quantize(l, x, scale, zp, y);
}
void quantize_linear_u8(const QuantLayout& l, const float* x, const float* scale, const uint8_t* zp, uint8_t* y) {
  quantize(l, x, scale, zp, y);
}
void dequantize_linear_s8(const QuantLayout& l, const int8_t* x, const float* scale, const int8_t* zp, float* y) {
  dequantize(l, x, scale, zp, y);
}
void dequantize_linear_u8(const QuantLayout& l, const uint8_t* x, const float* scale, const uint8_t* zp, float* y) {
  dequantize(l, x, scale, zp, y);
}
void dequantize_linear_s32(const QuantLayout& l, const int32_t* x, const float* scale, const int32_t* zp, float* y) {
  dequantize(l, x, scale, zp, y);
}

}  // namespace qs::kernels::ref
