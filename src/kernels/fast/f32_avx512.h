// What the in-register float convolutions (conv1x1_f32.cc, stem_f32.cc) share: the AVX-512
// target, the CPU check, their tile of sums, and its epilogue,
//   y = act(acc + bias[c] + residual)
// each add rounded on its own and the activation exactly as ref::float_epilogue applies it
// (max and min return their second operand when the comparison fails, as the reference's
// conditionals do: Relu maps NaN to 0, Clip passes it on), with the lanes that are not
// finite gathered for Tensor::known_finite.
//
// QS_F32_AVX512 is 1 where the vector code is compiled (x86-64 with GCC or clang, target
// clones allowed); elsewhere the kernels decline and their callers keep oneDNN's.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "kernels/reference/int8.h"  // Epilogue

#if defined(__x86_64__) && defined(__GNUC__) && !defined(QS_NO_TARGET_CLONES)
#define QS_F32_AVX512 1
#include <immintrin.h>
#define QS_F32_TARGET __attribute__((target("avx512f,avx512dq,fma")))
#else
#define QS_F32_AVX512 0
#endif

namespace qs::kernels::fast::f32_avx512 {

// The CPU runs QS_F32_TARGET code (AVX-512 F and DQ, FMA).
inline bool cpu_ok() {
#if QS_F32_AVX512
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
  }();
  return ok;
#else
  return false;
#endif
}

// Whether the kernels compute e in registers: every activation but Silu.
inline bool epilogue_supported(const ref::Epilogue& e) { return e.act != ref::Epilogue::Act::kSilu; }

#if QS_F32_AVX512
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// What an epilogue reads, copied out of the kernel: the float stores may alias anything, so
// fields read through a reference would be loaded again after every store.
struct EpilogueArgs {
  const float* bias;  // blocks * 16, zero past the output channels
  int64_t blocks;     // ceil(output channels / 16)
  __mmask16 tail;     // the lanes of the last block that hold output channels
  ref::Epilogue::Act act;
  float alpha, beta;
};

inline EpilogueArgs epilogue_args(const float* bias, int64_t channels, const ref::Epilogue& e) {
  const int64_t blocks = (channels + 15) / 16, tail = channels - (blocks - 1) * 16;
  return {bias, blocks, static_cast<__mmask16>((1u << tail) - 1u), e.act, e.alpha, e.beta};
}

// NaN or infinity (quiet NaN, +inf, -inf, signalling NaN), for _mm512_fpclass_ps_mask.
inline constexpr int kNonFinite = 0x01 | 0x08 | 0x10 | 0x80;

QS_F32_TARGET inline __m512 activate(__m512 v, const EpilogueArgs& a) {
  using Act = ref::Epilogue::Act;
  switch (a.act) {
    case Act::kNone: return v;
    case Act::kRelu: return _mm512_max_ps(v, _mm512_setzero_ps());  // v > 0 ? v : 0
    case Act::kClip: {
      const __m512 t = _mm512_max_ps(_mm512_set1_ps(a.alpha), v);  // v < alpha ? alpha : v
      return _mm512_min_ps(_mm512_set1_ps(a.beta), t);             // beta < t ? beta : t
    }
    case Act::kLeakyRelu: {
      const __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
      return _mm512_mask_mul_ps(v, neg, _mm512_set1_ps(a.alpha), v);  // v < 0 ? alpha * v : v
    }
    case Act::kSilu: break;  // not epilogue_supported
  }
  return v;
}

// The epilogue of R pixels (rows of y and the residual, given by pointer; res nullptr when
// there is none) times NB output blocks from block b0, acc[r][j] their sums. Returns the lanes
// written that are not finite (0 when all are).
template <int R, int NB>
QS_F32_TARGET __attribute__((always_inline)) inline __mmask16 store_tile(const __m512 (&acc)[R][NB],
                                                                         const EpilogueArgs& a, const float* const* res,
                                                                         float* const* y, int64_t b0) {
  __mmask16 bad = 0;
#pragma GCC unroll 8
  for (int j = 0; j < NB; ++j) {
    const int64_t c = (b0 + j) * 16;
    const __m512 b = _mm512_loadu_ps(a.bias + c);
    if (b0 + j == a.blocks - 1 && a.tail != 0xFFFF) {  // the last block, part full
      const __mmask16 m = a.tail;
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        __m512 v = _mm512_add_ps(acc[r][j], b);
        if (res) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, res[r] + c));
        v = activate(v, a);
        bad |= _mm512_mask_fpclass_ps_mask(m, v, kNonFinite);
        _mm512_mask_storeu_ps(y[r] + c, m, v);
      }
      continue;
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      __m512 v = _mm512_add_ps(acc[r][j], b);
      if (res) v = _mm512_add_ps(v, _mm512_loadu_ps(res[r] + c));
      v = activate(v, a);
      bad |= _mm512_fpclass_ps_mask(v, kNonFinite);
      _mm512_storeu_ps(y[r] + c, v);
    }
  }
  return bad;
}

// What a tile reads: the packed weights ([block][tap][16], zero past the output channels), the
// offset of each tap from a pixel's input pointer, and the epilogue. A copy is passed: the
// float stores may alias anything, so fields read through a reference would be loaded again
// after every store.
struct TileArgs {
  const float* w;
  const int32_t* offset;
  int64_t taps;
  EpilogueArgs e;
};

// Where the pixels of a tile read their input: pixel r at x[r] (PixelPointers), or at x0 + r * S
// (PixelStride<S>: pixels of one output row S floats apart, one pointer for the whole tile, so
// that the sums' loop keeps every address in registers: R pointers of their own spill from 12).
struct PixelPointers {
  const float* const* x;
  const float* pixel(int r) const { return x[r]; }
};
template <int S>
struct PixelStride {
  const float* x0;
  const float* pixel(int r) const { return x0 + r * S; }
};

// One tile: R pixels (tap t of pixel r at in.pixel(r)[offset[t]]; the rows of the residual and y
// given by pointer) times NB output blocks from block b0, the sums in fused multiply-adds in tap
// order. Returns the lanes written that are not finite.
template <int R, int NB, typename In>
QS_F32_TARGET __mmask16 tile(const TileArgs& a, In in, const float* const* res, float* const* y, int64_t b0) {
  __m512 acc[R][NB];
  const float* wb[NB];
#pragma GCC unroll 8
  for (int j = 0; j < NB; ++j) {
    wb[j] = a.w + (b0 + j) * a.taps * 16;
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) acc[r][j] = _mm512_setzero_ps();
  }
  for (int64_t t = 0; t < a.taps; ++t) {
    const int32_t off = a.offset[t];
    __m512 wv[NB];
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) wv[j] = _mm512_loadu_ps(wb[j] + t * 16);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512 xb = _mm512_set1_ps(in.pixel(r)[off]);
#pragma GCC unroll 8
      for (int j = 0; j < NB; ++j) acc[r][j] = _mm512_fmadd_ps(xb, wv[j], acc[r][j]);
    }
  }
  const EpilogueArgs e = a.e;  // a local copy: the stores cannot change it
  return store_tile<R, NB>(acc, e, res, y, b0);
}

template <typename In>
using TileFn = __mmask16 (*)(const TileArgs&, In, const float* const*, float* const*, int64_t);

template <typename In, int R, size_t... NB>
constexpr std::array<TileFn<In>, sizeof...(NB)> tiles_of_rows(std::index_sequence<NB...>) {
  return {tile<R, static_cast<int>(NB) + 1, In>...};
}

template <typename In, size_t MaxBlocks, size_t... R>
constexpr std::array<std::array<TileFn<In>, MaxBlocks>, sizeof...(R)> all_tiles(std::index_sequence<R...>) {
  return {tiles_of_rows<In, static_cast<int>(R) + 1>(std::make_index_sequence<MaxBlocks>())...};
}

// The tiles of up to MaxRows pixels and MaxBlocks blocks: [rows - 1][blocks - 1].
template <typename In, size_t MaxRows, size_t MaxBlocks>
inline constexpr auto kTiles = all_tiles<In, MaxBlocks>(std::make_index_sequence<MaxRows>());

// Every block of R pixels' outputs, MaxBlocks blocks at a time. Returns the lanes written that
// are not finite.
template <size_t MaxRows, size_t MaxBlocks, typename In>
QS_F32_TARGET inline __mmask16 run_tiles(const TileArgs& a, int rows, In in, const float* const* res, float* const* y) {
  const auto& fns = kTiles<In, MaxRows, MaxBlocks>[static_cast<size_t>(rows - 1)];
  __mmask16 bad = 0;
  for (int64_t c = 0; c < a.e.blocks; c += static_cast<int64_t>(MaxBlocks))
    bad |= fns[static_cast<size_t>(std::min<int64_t>(MaxBlocks, a.e.blocks - c) - 1)](a, in, res, y, c);
  return bad;
}

#pragma GCC diagnostic pop
#endif  // QS_F32_AVX512

}  // namespace qs::kernels::fast::f32_avx512
