// Two roundings per operation, as in the reference (no FMA contraction in the AVX-512 clones).
#pragma GCC optimize("O3", "fp-contract=off")

#include "kernels/fast/quantize_fast.h"

#include <algorithm>
#include <cmath>

#include "kernels/fast/eltwise_fast.h"
#include "kernels/fast/int8_avx512.h"
#include "kernels/reference/int8.h"

// x86-64-v4 (AVX-512 with BW/DQ/VL) and v3 (AVX2): the loops vectorize there; the baseline
// has no vector nearbyint (no SSE4.1) and runs scalar.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && !defined(QS_NO_TARGET_CLONES)
#define QS_QUANT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define QS_QUANT_CLONES
#endif

namespace qs::kernels::fast {
namespace {

constexpr int64_t kBlock = 256;
// Elements per thread below which a second thread does not pay (as eltwise_fast).
constexpr int64_t kMinPerThread = 128 * 1024;

// The reference's value before rounding: x / scale clamped to [-128, 127], NaN -> 0, here from
// the product with the reciprocal.
QS_ALWAYS_INLINE inline float clamped(float v) {
  v = v == v ? v : 0.f;
  v = v < -128.f ? -128.f : v;
  return v > 127.f ? 127.f : v;
}

// One block of n values through the reciprocal; false when some quotient lies so close to a
// half-integer that the division might round the other way (out is then not final).
template <typename Out, bool kFake>
QS_ALWAYS_INLINE inline bool block_by_reciprocal(const float* x, Out* out, int64_t n, float inv, float scale) {
  int near = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float v = clamped(x[i] * inv);
    const float r = std::nearbyint(v);
    const float d = std::fabs(std::fabs(v - r) - 0.5f);
    near |= d <= std::fabs(v) * 0x1p-20f;
    if constexpr (kFake)
      out[i] = (r + 0.f) * scale;
    else
      out[i] = static_cast<Out>(static_cast<int32_t>(r));
  }
  return near == 0;
}

template <typename Out, bool kFake>
QS_ALWAYS_INLINE inline void run(const float* x, Out* out, int64_t n, float inv, float scale) {
  for (int64_t i = 0; i < n; i += kBlock) {
    const int64_t m = n - i < kBlock ? n - i : kBlock;
    if (block_by_reciprocal<Out, kFake>(x + i, out + i, m, inv, scale)) continue;
    if constexpr (kFake)
      ref::fake_quantize_f32(x + i, out + i, m, scale);
    else
      ref::quantize_f32_s8(x + i, out + i, m, scale);
  }
}

QS_QUANT_CLONES void quantize_run(const float* x, int8_t* q, int64_t n, float inv, float scale) {
  run<int8_t, false>(x, q, n, inv, scale);
}
QS_QUANT_CLONES void fake_quantize_run(const float* x, float* y, int64_t n, float inv, float scale) {
  run<float, true>(x, y, n, inv, scale);
}

// The reciprocal path needs a normal scale whose reciprocal is finite and normal.
bool reciprocal_ok(float scale, float* inv) {
  if (!(scale > 0.f) || !std::isnormal(scale)) return false;
  *inv = 1.f / scale;
  return std::isnormal(*inv);
}

// run_fn over [0, n) in whole blocks split over threads (each thread's blocks are those of the
// serial loop), or the reference when the scale has no usable reciprocal.
template <typename Out>
void by_reciprocal(const float* x, Out* out, int64_t n, float scale,
                   void (*run_fn)(const float*, Out*, int64_t, float, float),
                   void (*ref_fn)(const float*, Out*, int64_t, float)) {
  float inv;
  if (!reciprocal_ok(scale, &inv)) return ref_fn(x, out, n, scale);
  parallel_chunks((n + kBlock - 1) / kBlock, kMinPerThread / kBlock, [&](int64_t lo, int64_t hi) {
    const int64_t b = lo * kBlock, e = std::min(n, hi * kBlock);
    run_fn(x + b, out + b, e - b, inv, scale);
  });
}

#if QS_INT8_AVX512
using namespace int8_avx512;
QS_INT8_AVX512_BEGIN
// The in-register kernels' exact quotient (int8_avx512.h), 16 values at a time: q as int8, or
// float(q) * scale (one rounding, as the reference's product; q = 0 gives +0).
template <bool kFake>
QS_VNNI_TARGET void correction_run(const float* x, void* out, int64_t n, float scale, float inv, float limit) {
  const QuotientConsts qc = quotient_consts(scale, inv, limit);
  const __m512i lo = _mm512_set1_epi32(-128), hi = _mm512_set1_epi32(127);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 lanes = lanes16(n, i);
    const __m512i q = quotient(bounded(_mm512_maskz_loadu_ps(lanes, x + i), qc), qc);
    if constexpr (kFake) {
      const __m512 f = _mm512_cvtepi32_ps(_mm512_min_epi32(hi, _mm512_max_epi32(lo, q)));
      _mm512_mask_storeu_ps(static_cast<float*>(out) + i, lanes, _mm512_mul_round_ps(f, qc.scale, kRound));
    } else {
      store16(static_cast<int8_t*>(out) + i, lanes, q);
    }
  }
}
QS_INT8_AVX512_END
#endif  // QS_INT8_AVX512

// Elements per thread of the quotient by correction (about 0.25 ns each on one core): a second
// thread pays from about 5 us of work.
constexpr int64_t kCorrectionPerThread = 16 * 1024;

template <bool kFake>
bool by_correction(const float* x, void* out, int64_t n, float scale) {
  float inv, limit;
  if (!int8_avx512::cpu_ok() || !int8_avx512::quotient_constants(scale, &inv, &limit)) return false;
#if QS_INT8_AVX512
  constexpr int64_t kSize = kFake ? sizeof(float) : 1;
  parallel_chunks((n + 15) / 16, kCorrectionPerThread / 16, [&](int64_t lo, int64_t hi) {
    const int64_t b = lo * 16, e = std::min(n, hi * 16);
    correction_run<kFake>(x + b, static_cast<char*>(out) + b * kSize, e - b, scale, inv, limit);
  });
  return true;
#else
  (void)x, (void)out, (void)n;
  return false;
#endif
}

}  // namespace

bool quantize_f32_s8_by_correction(const float* x, int8_t* q, int64_t n, float scale) {
  return by_correction<false>(x, q, n, scale);
}

bool fake_quantize_f32_by_correction(const float* x, float* y, int64_t n, float scale) {
  return by_correction<true>(x, y, n, scale);
}

void quantize_f32_s8_by_reciprocal(const float* x, int8_t* q, int64_t n, float scale) {
  by_reciprocal<int8_t>(x, q, n, scale, quantize_run, ref::quantize_f32_s8);
}

void fake_quantize_f32_by_reciprocal(const float* x, float* y, int64_t n, float scale) {
  by_reciprocal<float>(x, y, n, scale, fake_quantize_run, ref::fake_quantize_f32);
}

void quantize_f32_s8(const float* x, int8_t* q, int64_t n, float scale) {
  if (!quantize_f32_s8_by_correction(x, q, n, scale)) quantize_f32_s8_by_reciprocal(x, q, n, scale);
}

void fake_quantize_f32(const float* x, float* y, int64_t n, float scale) {
  if (!fake_quantize_f32_by_correction(x, y, n, scale)) fake_quantize_f32_by_reciprocal(x, y, n, scale);
}

void float_epilogue(const float* acc, int64_t outer, int64_t channels, int64_t inner, const float* bias,
                    const float* residual, const ref::Epilogue& e, float* y) {
  const int64_t per = channels * inner;
  parallel_chunks(outer, std::max<int64_t>(1, kMinPerThread / std::max<int64_t>(per, 1)), [&](int64_t lo, int64_t hi) {
    ref::float_epilogue(acc + lo * per, hi - lo, channels, inner, bias, residual ? residual + lo * per : nullptr, e,
                        y + lo * per);
  });
}

void dequantize_epilogue(const int32_t* acc, int64_t outer, int64_t channels, int64_t inner, float x_scale,
                         const float* w_scales, const float* bias, const float* residual, const ref::Epilogue& e,
                         float* y) {
  const int64_t per = channels * inner;
  parallel_chunks(outer, std::max<int64_t>(1, kMinPerThread / std::max<int64_t>(per, 1)), [&](int64_t lo, int64_t hi) {
    ref::dequantize_epilogue(acc + lo * per, hi - lo, channels, inner, x_scale, w_scales, bias,
                             residual ? residual + lo * per : nullptr, e, y + lo * per);
  });
}

}  // namespace qs::kernels::fast
