// IEEE 754 binary16 conversion, round to nearest even (what an FP16 kernel stores).
#pragma once
#include <cstdint>

namespace qs {

uint16_t float_to_half(float f);
float half_to_float(uint16_t h);
// Rounds a float to the nearest representable half and back.
inline float round_to_half(float f) { return half_to_float(float_to_half(f)); }

}  // namespace qs
