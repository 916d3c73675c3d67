// The numbers of INT8 (../shared/INT8.md items 1-2): symmetric ranges, scale = range / 127,
// quantize with round-half-to-even and saturation to [-128, 127].
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace qs::quant {

inline float scale_from_range(float range) { return range / 127.0f; }

// x / scale rounded half to even (std::nearbyint under the default rounding mode), saturated.
// A zero scale (a tensor that was always zero) quantizes everything to 0.
inline int8_t quantize_s8(float x, float scale) {
  if (!(scale > 0.0f)) return 0;
  const float q = std::nearbyint(x / scale);
  if (!(q >= -128.0f)) return q != q ? 0 : -128;  // NaN -> 0
  return static_cast<int8_t>(std::min(q, 127.0f));
}

inline float dequantize_s8(int8_t q, float scale) { return static_cast<float>(q) * scale; }

// Weights are symmetric in [-127, 127] (INT8.md item 3).
inline int8_t quantize_weight_s8(float w, float scale) {
  const int8_t q = quantize_s8(w, scale);
  return q == -128 ? int8_t{-127} : q;
}

}  // namespace qs::quant
