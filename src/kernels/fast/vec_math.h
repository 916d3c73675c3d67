// Vector math on 8 or 16 floats with GCC vector types, inlined into loops that are compiled for
// several ISAs (QS_VEC_CLONES): the plain loops do not if-convert, so they would not vectorize.
#pragma once
#include <cstdint>

#include "kernels/fast/eltwise_fast.h"

namespace qs::kernels::fast::vec {

typedef float V8f __attribute__((vector_size(32)));
typedef int32_t V8i __attribute__((vector_size(32)));
// 16 lanes: one AVX-512 register, two AVX2 ones, four SSE ones; the same numbers on each.
typedef float V16f __attribute__((vector_size(64)));
typedef int32_t V16i __attribute__((vector_size(64)));
typedef float V4f __attribute__((vector_size(16)));
typedef int32_t V4i __attribute__((vector_size(16)));

// The integer vector type of a float vector type's width.
template <typename VF>
struct IntOf;
template <>
struct IntOf<V8f> {
  using type = V8i;
};
template <>
struct IntOf<V16f> {
  using type = V16i;
};

// Lane reductions of a 16-lane vector as a tree (halves added, then their halves, ...): four
// dependent steps instead of fifteen. The order is fixed, so the result is the same on every ISA.
QS_ALWAYS_INLINE inline float sum_lanes(const V16f& v) {
  const V8f a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) + __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const V4f b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
  return (b[0] + b[2]) + (b[1] + b[3]);
}
QS_ALWAYS_INLINE inline float max_lanes(const V16f& v) {
  const V8f p = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7), q = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const V8f a = p > q ? p : q;
  const V4f c = __builtin_shufflevector(a, a, 0, 1, 2, 3), d = __builtin_shufflevector(a, a, 4, 5, 6, 7);
  const V4f b = c > d ? c : d;
  const float e = b[0] > b[2] ? b[0] : b[2], f = b[1] > b[3] ? b[1] : b[3];
  return e > f ? e : f;
}
QS_ALWAYS_INLINE inline bool any_lane(const V16i& v) {
  const V8i a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) | __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const V4i b = __builtin_shufflevector(a, a, 0, 1, 2, 3) | __builtin_shufflevector(a, a, 4, 5, 6, 7);
  return ((b[0] | b[2]) | (b[1] | b[3])) != 0;
}

// exp(a) for a <= 0 by Cephes' expf: range reduction by ln 2 in two parts, degree-5 polynomial,
// about 1 ulp. Arguments below -87.3 are raised to it (about 1.2e-38 instead of a denormal or 0);
// NaN is not handled (callers test for it).
// (Operands by reference: GCC warns about vector arguments and results passed by value in code
// not compiled for AVX, even when always inlined.)
template <typename VF>
QS_ALWAYS_INLINE inline void exp_nonpositive(const VF& a_in, VF* out) {
  using VI = typename IntOf<VF>::type;
  const VF a = a_in >= -87.3f ? a_in : -87.3f;
  // floor(a * log2(e) + 0.5) by truncation (the argument is <= 0.5, truncation rounds negatives up).
  const VF t = a * 1.44269504088896341f + 0.5f;
  const VF tt = __builtin_convertvector(__builtin_convertvector(t, VI), VF);
  const VF fx = tt > t ? tt - 1.f : tt;
  VF r = a - fx * 0.693359375f;
  r = r + fx * 2.12194440e-4f;
  const VF r2 = r * r;
  VF poly = r * 1.9875691500e-4f + 1.3981999507e-3f;
  poly = poly * r + 8.3334519073e-3f;
  poly = poly * r + 4.1665795894e-2f;
  poly = poly * r + 1.6666665459e-1f;
  poly = poly * r + 5.0000001201e-1f;
  const VF m = poly * r2 + r + 1.f;
  const VI bits = (__builtin_convertvector(fx, VI) + 127) << 23;  // 2^fx, fx in [-126, 0]
  VF scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  *out = m * scale;
}

}  // namespace qs::kernels::fast::vec
