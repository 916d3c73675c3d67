// What the in-register INT8 kernels (conv1x1_s8.cc, depthwise_s8.cc, stem_s8.cc) share: the
// window of the windowed ones, the checks that make an epilogue computable in registers, and
// the AVX-512 code of the epilogue with the exact output quantization,
//   q = clamp(round_half_even(act(float(acc) * scales[c] + bias[c] + residual) / out_scale))
// each float operation rounded separately in the order of ref::dequantize_epilogue and
// ref::quantize_f32_s8, so that the int8 result is the reference's bit for bit.
//
// The quotient is the correctly rounded x / out_scale without a division (a vector division
// costs about as much per element as the rest of a small layer): q0 = x * r with
// r = 1 / out_scale, then two corrections q' = q + (x - q * out_scale) * r, each remainder
// exact in one fused multiply-add (Markstein's theorem: once q is within one unit in the last
// place of x / s, the correction gives the correctly rounded quotient; the first correction
// brings q there). x is first clamped to +-256 * out_scale, where the quotient is exactly
// +-256 and saturates as any larger one would.
//
// QS_INT8_AVX512 is 1 where the vector code is compiled (x86-64 with GCC or clang, target
// clones allowed); elsewhere the kernels decline and their callers keep oneDNN's. The vector
// code multiplies and adds through the explicit-rounding intrinsics, which no compiler setting
// contracts into fused multiply-adds.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/fast/conv_int8_onednn.h"  // ConvS8Epilogue
#include "kernels/reference/conv.h"
#include "kernels/reference/int8.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(QS_NO_TARGET_CLONES)
#define QS_INT8_AVX512 1
#include <immintrin.h>
#define QS_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma")))
#define QS_VNNI_INLINE QS_VNNI_TARGET __attribute__((always_inline)) inline
// Also VBMI's byte permutations (Ice Lake and later; Cascade Lake has VNNI without them).
#define QS_VBMI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,fma")))
#else
#define QS_INT8_AVX512 0
#endif

namespace qs::kernels::fast::int8_avx512 {

// The CPU runs QS_VNNI_TARGET code (AVX-512 F, BW, VL, DQ and VNNI); with vbmi, also
// QS_VBMI_TARGET code.
inline bool cpu_ok(bool vbmi = false) {
#if QS_INT8_AVX512
  static const bool vnni = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vnni");
  }();
  static const bool with_vbmi = vnni && __builtin_cpu_supports("avx512vbmi");
  return vbmi ? with_vbmi : vnni;
#else
  (void)vbmi;
  return false;
#endif
}

// 1 / scale and limit = 256 * scale: false when the scale has no finite normal reciprocal or
// the bound overflows.
inline bool quotient_constants(float scale, float* inv, float* limit) {
  if (!(scale > 0.f) || !std::isnormal(scale)) return false;
  *inv = 1.f / scale;
  *limit = 256.f * scale;
  return std::isnormal(*inv) && std::isfinite(*limit);
}

// A 2-D convolution's window as the windowed kernels (depthwise_s8.cc, stem_s8.cc) walk it:
// c is the input channels.
struct Window2D {
  int64_t batch = 0, c = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t kh = 0, kw = 0, stride_h = 1, stride_w = 1, pad_t = 0, pad_l = 0;
};

// Fills *w from p, a 2-D convolution (in_size of rank 2), and returns nullptr; or returns why
// the windowed kernels cannot walk it (dilation, negative padding, an empty or invalid window).
inline const char* window_2d(const ref::ConvParams& p, Window2D* w) {
  for (size_t i = 0; i < 2; ++i) {
    if (p.dilation[i] != 1) return "dilated";
    if (p.pad_begin[i] < 0 || p.pad_end[i] < 0) return "negative padding";
    if (p.stride[i] < 1 || p.kernel[i] < 1 || p.out_size[i] < 1) return "empty or invalid geometry";
  }
  w->batch = p.batch;
  w->c = p.in_channels;
  w->in_h = p.in_size[0];
  w->in_w = p.in_size[1];
  w->out_h = p.out_size[0];
  w->out_w = p.out_size[1];
  w->kh = p.kernel[0];
  w->kw = p.kernel[1];
  w->stride_h = p.stride[0];
  w->stride_w = p.stride[1];
  w->pad_t = p.pad_begin[0];
  w->pad_l = p.pad_begin[1];
  return nullptr;
}

// Filters w [channels][rows][taps] int8 with 4 consecutive taps of a row to a VNNI lane (the
// input's bytes in that order): packed [channels / 16][rows][ceil(taps / 4)][16 channels][4],
// zero past the taps and the channels; comp[c] = -128 * the sum of channel c's weights (the
// kernels read x + 128), in whole blocks of 16. Depthwise layers (rows: the filter's rows) and
// 1-D ones (rows: the input channels) share it.
inline void pack_tap_lanes(const int8_t* w, int64_t channels, int64_t rows, int64_t taps, std::vector<int8_t>* packed,
                           std::vector<int32_t>* comp) {
  const int64_t blocks = (channels + 15) / 16, groups = (taps + 3) / 4;
  packed->assign(static_cast<size_t>(blocks * rows * groups * 64), 0);
  comp->assign(static_cast<size_t>(blocks * 16), 0);
  for (int64_t c = 0; c < channels; ++c) {
    int64_t sum = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t t = 0; t < taps; ++t) {
        const int8_t v = w[(c * rows + r) * taps + t];
        sum += v;
        (*packed)[static_cast<size_t>((((c / 16) * rows + r) * groups + t / 4) * 64 + (c % 16) * 4 + t % 4)] = v;
      }
    (*comp)[static_cast<size_t>(c)] = static_cast<int32_t>(-128 * sum);
  }
}

// An epilogue, checked and laid out for the vector code: scales and bias zero-padded to whole
// 16-channel blocks (no bias adds +0, as the reference does).
struct OutputEpilogue {
  std::vector<float> scales, bias;
  ref::Epilogue act;
  bool float_out = false;  // y float (the reference's epilogue value), else int8
  float out_scale = 0.f, inv = 0.f, limit = 0.f;
  float lo = 0.f, hi = 0.f;  // None, Relu, Clip: the activation's clamp within [-limit, limit]
  // > 0: the residual comes as it is and is fake-quantized with this scale in registers, or,
  // with r_int8, comes int8 and is read as q * r_scale.
  float r_scale = 0.f, r_inv = 0.f, r_limit = 0.f;
  bool r_int8 = false;
};

// False with the reason in *why when e cannot run in registers: no int8 output scale (unless
// float_ok: then out_scale 0 means float y), a residual scale (unless float_ok) without a
// finite normal reciprocal, SiLU, constants that do not match `channels`, or constants that
// could make a NaN before the activation (|scale| > 2^96 lets float(acc) * scale overflow,
// |acc| < 2^31; a non-finite bias; NaN Clip bounds or an infinite LeakyRelu slope).
inline bool prepare(const ConvS8Epilogue& e, int64_t channels, OutputEpilogue* out, const char** why,
                    bool float_ok = false) {
  using Act = ref::Epilogue::Act;
  auto fail = [&](const char* w) {
    *why = w;
    return false;
  };
  if (e.act.act == Act::kSilu) return fail("SiLU epilogue");
  if (e.scales.size() != static_cast<size_t>(channels) || (!e.bias.empty() && e.bias.size() != e.scales.size()))
    return fail("epilogue constants do not match the output channels");
  for (float s : e.scales)
    if (!(std::abs(s) <= 0x1p96f)) return fail("a scale beyond 2^96 or NaN");
  for (float b : e.bias)
    if (!std::isfinite(b)) return fail("a non-finite bias");
  if ((e.act.act == Act::kClip && (std::isnan(e.act.alpha) || std::isnan(e.act.beta))) ||
      (e.act.act == Act::kLeakyRelu && !std::isfinite(e.act.alpha)))
    return fail("a NaN or infinite activation parameter");
  OutputEpilogue& o = *out;
  if (e.residual_scale != 0.f || e.residual_int8) {
    if (!float_ok) return fail("a residual to fake-quantize");
    if (!quotient_constants(e.residual_scale, &o.r_inv, &o.r_limit))
      return fail("a residual scale without a finite normal reciprocal");
    o.r_scale = e.residual_scale;
    o.r_int8 = e.residual_int8;
  }
  o.float_out = float_ok && e.out_scale == 0.f;
  if (o.float_out) {
    o.act = e.act;
    o.lo = e.act.act == Act::kClip ? e.act.alpha : -std::numeric_limits<float>::infinity();
    o.hi = e.act.act == Act::kClip ? e.act.beta : std::numeric_limits<float>::infinity();
  } else if (!quotient_constants(e.out_scale, &o.inv, &o.limit)) {
    return fail("no int8 output scale");
  }
  const size_t padded = static_cast<size_t>((channels + 15) / 16 * 16);
  o.scales.assign(padded, 0.f);
  o.bias.assign(padded, 0.f);
  std::copy(e.scales.begin(), e.scales.end(), o.scales.begin());
  std::copy(e.bias.begin(), e.bias.end(), o.bias.begin());
  if (o.float_out) return true;
  const float inf = std::numeric_limits<float>::infinity();
  o.lo = std::clamp(e.act.act == Act::kRelu ? 0.f : e.act.act == Act::kClip ? e.act.alpha : -inf, -o.limit, o.limit);
  o.hi = std::clamp(e.act.act == Act::kClip ? e.act.beta : inf, -o.limit, o.limit);
  o.act = e.act;
  o.out_scale = e.out_scale;
  return true;
}

#if QS_INT8_AVX512
// Around vector code: GCC 12 warns about the _mm512_undefined_*() inside its own rounding
// intrinsics (a false positive).
#if defined(__clang__)
#define QS_INT8_AVX512_BEGIN _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")
#else
#define QS_INT8_AVX512_BEGIN                                                      \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wuninitialized\"") \
      _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#endif
#define QS_INT8_AVX512_END _Pragma("GCC diagnostic pop")
QS_INT8_AVX512_BEGIN

constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

// acc + the products of a's unsigned bytes and b's signed bytes, 4 to a lane (VNNI). GCC 12
// moves each accumulator of an unrolled loop to another register and back around the
// intrinsic (two copies per product, and spills from the doubled register use); the
// instruction written out ties the accumulator to its register.
QS_VNNI_INLINE __m512i dpbusd(__m512i acc, __m512i a, __m512i b) {
#if defined(__clang__)
  return _mm512_dpbusd_epi32(acc, a, b);
#else
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "vm"(b));
  return acc;
#endif
}

// The channels of [c0, c0 + 16) below n.
QS_VNNI_INLINE __mmask16 lanes16(int64_t n, int64_t c0) {
  return c0 + 16 <= n ? __mmask16(0xFFFF) : c0 >= n ? __mmask16(0) : __mmask16((1u << (n - c0)) - 1);
}

struct QuotientConsts {
  __m512 scale, inv, limit, neg_limit;
};

QS_VNNI_INLINE QuotientConsts quotient_consts(float scale, float inv, float limit) {
  return {_mm512_set1_ps(scale), _mm512_set1_ps(inv), _mm512_set1_ps(limit), _mm512_set1_ps(-limit)};
}

// round_half_even(x / scale) for |x| <= limit, as int32 (|q| <= 256).
QS_VNNI_INLINE __m512i quotient(__m512 x, const QuotientConsts& c) {
  __m512 q = _mm512_mul_round_ps(x, c.inv, kRound);
  __m512 r = _mm512_fnmadd_round_ps(q, c.scale, x, kRound);
  q = _mm512_fmadd_round_ps(r, c.inv, q, kRound);
  r = _mm512_fnmadd_round_ps(q, c.scale, x, kRound);
  q = _mm512_fmadd_round_ps(r, c.inv, q, kRound);
  return _mm512_cvt_roundps_epi32(q, kRound);
}

// NaN -> 0, then into [-limit, limit].
QS_VNNI_INLINE __m512 bounded(__m512 x, const QuotientConsts& c) {
  x = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, x, _CMP_ORD_Q), x);
  return _mm512_min_ps(c.limit, _mm512_max_ps(c.neg_limit, x));
}

// The saturating narrowings to int8 are the reference's clamp to [-128, 127].
QS_VNNI_INLINE void store16(int8_t* y, __mmask16 lanes, __m512i q) {
  _mm_mask_storeu_epi8(y, lanes, _mm512_cvtsepi32_epi8(q));
}

// Four vectors of consecutive channels as 64 bytes: two packing steps (saturating, per
// 128-bit lane) and one permutation that puts the lanes' 4-byte pieces back in order.
QS_VNNI_INLINE void store64(int8_t* y, __mmask64 lanes, __m512i a, __m512i b, __m512i c, __m512i d) {
  const __m512i abcd = _mm512_packs_epi16(_mm512_packs_epi32(a, b), _mm512_packs_epi32(c, d));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  _mm512_mask_storeu_epi8(y, lanes, _mm512_permutexvar_epi32(order, abcd));
}

// The activation, then the bound of the quotient. None, Relu and Clip are one clamp,
// min(hi, max(lo, v)) with lo and hi moved into [-limit, limit]: for Clip, max(alpha, v) and
// min(beta, t) are the reference's `v < alpha ? alpha : v` and `beta < t ? beta : t`, NaN
// included; Relu and None differ from the reference only in the sign of a zero, which
// quantizes to the same 0. v has no NaN there (prepare() bounds the constants, and a residual
// comes fake-quantized, by the caller or by dequantized()). LeakyRelu: v < 0 ? alpha * v : v
// (alpha * inf can be NaN), then bounded().
struct Consts {
  __m512 lo, hi, slope;
  QuotientConsts q;
  QuotientConsts r;  // the residual's fake quantization, when fq_residual or r_int8
  bool fq_residual;  // a float residual, fake-quantized here
  bool r_int8;       // an int8 residual, read as q * r.scale
};

QS_VNNI_INLINE Consts consts(const OutputEpilogue& e) {
  return {_mm512_set1_ps(e.lo),
          _mm512_set1_ps(e.hi),
          _mm512_set1_ps(e.act.alpha),
          quotient_consts(e.out_scale, e.inv, e.limit),
          quotient_consts(e.r_scale, e.r_inv, e.r_limit),
          e.r_scale > 0.f && !e.r_int8,
          e.r_int8};
}

// ref::fake_quantize_f32 of 16 values: float(clamp(round_half_even(x / scale), -128, 127)) *
// scale, NaN to 0 (q = 0 gives +0), as quantize_fast.cc's fake quantization by correction.
QS_VNNI_INLINE __m512 fake_quantized(__m512 x, const QuotientConsts& c) {
  const __m512i q = quotient(bounded(x, c), c);
  const __m512i k = _mm512_min_epi32(_mm512_set1_epi32(127), _mm512_max_epi32(_mm512_set1_epi32(-128), q));
  return _mm512_mul_round_ps(_mm512_cvtepi32_ps(k), c.scale, kRound);
}

// float(acc) * scale + bias (+ the residual's lanes: float, fake-quantized here when
// c.fq_residual, or int8 read as q * scale when c.r_int8; residual points at the lanes' first
// element of its type): the epilogue's value before the activation, each operation rounded as
// the reference's.
QS_VNNI_INLINE __m512 dequantized(__m512i acc, __m512 scale, __m512 bias, const void* residual, __mmask16 lanes,
                                  const Consts& c) {
  __m512 v = _mm512_cvt_roundepi32_ps(acc, kRound);
  v = _mm512_mul_round_ps(v, scale, kRound);
  v = _mm512_add_round_ps(v, bias, kRound);
  if (residual) {
    __m512 r;
    if (c.r_int8) {
      const __m512i q = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(lanes, residual));
      r = _mm512_mul_round_ps(_mm512_cvtepi32_ps(q), c.r.scale, kRound);
    } else {
      r = _mm512_maskz_loadu_ps(lanes, residual);
      if (c.fq_residual) r = fake_quantized(r, c.r);
    }
    v = _mm512_add_round_ps(v, r, kRound);
  }
  return v;
}

// The float output's activation exactly as ref's (kernels/reference/int8.cc): None and Clip
// as `t = v < lo ? lo : v; hi < t ? hi : t` (None with lo = -inf, hi = inf passes every
// value), Relu as `v > 0 ? v : +0`, LeakyRelu as `v < 0 ? alpha * v : v`.
enum class FloatAct { kClamp, kRelu, kLeaky };
template <FloatAct A>
QS_VNNI_INLINE __m512 activated(__m512 v, const Consts& c) {
  if constexpr (A == FloatAct::kRelu) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), v);
  } else if constexpr (A == FloatAct::kLeaky) {
    return _mm512_mask_mul_round_ps(v, _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ), c.slope, v, kRound);
  } else {
    const __m512 t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, c.lo, _CMP_LT_OQ), v, c.lo);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(c.hi, t, _CMP_LT_OQ), t, c.hi);
  }
}

// The int8 value (as int32) of one accumulator vector: float(acc) * scale + bias (+ the
// residual's lanes), the activation, the quotient.
template <bool kLeaky>
QS_VNNI_INLINE __m512i requantize(__m512i acc, __m512 scale, __m512 bias, const void* residual, __mmask16 lanes,
                                  const Consts& c) {
  __m512 v = dequantized(acc, scale, bias, residual, lanes, c);
  if constexpr (kLeaky) {
    const __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
    v = bounded(_mm512_mask_mul_round_ps(v, neg, c.slope, v, kRound), c.q);
  } else {
    v = _mm512_min_ps(c.hi, _mm512_max_ps(c.lo, v));
  }
  return quotient(v, c.q);
}

QS_INT8_AVX512_END
#endif  // QS_INT8_AVX512

}  // namespace qs::kernels::fast::int8_avx512
