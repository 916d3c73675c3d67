// Every multiply and add of the epilogue is rounded on its own, as in the reference
// (int8_avx512.h); the only fused multiply-adds are the quotients' corrections.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "fp-contract=off")
#endif

#include "kernels/fast/stem_s8.h"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "kernels/fast/eltwise_fast.h"  // parallel_chunks
#include "kernels/fast/int8_avx512.h"

namespace qs::kernels::fast {

// The input is copied padded, 4 bytes a pixel (one VNNI lane: input channels 0-3); output
// channels go in blocks of 16: the packed weights are [block][tap][16 channels][4], taps in
// row-major filter order, zero beyond the tensor.
struct StemConvS8::Impl : int8_avx512::Window2D {
  int64_t n = 0, blocks = 0;  // output channels, ceil(n / 16)
  int64_t copy_h = 0, copy_w = 0;  // the padded copy's rows and pixels a row, per image
  float x_scale = 0.f, x_inv = 0.f, x_limit = 0.f;
  std::vector<int8_t> w;
  std::vector<int32_t> comp;  // -128 * the sum of each output channel's weights: the copy holds x + 128
  int8_avx512::OutputEpilogue epilogue;
};

namespace {

#if QS_INT8_AVX512
using namespace int8_avx512;
QS_INT8_AVX512_BEGIN

using Impl = StemConvS8::Impl;

constexpr int kPixels = 4;     // outputs a tile: 16 accumulators with 4 blocks
constexpr int kMaxBlocks = 4;  // output blocks a pass over a tile
constexpr uint32_t kZeros = 0x80808080u;  // four values 0 as x + 128

// Rows [r0, r1) of the padded copy (row r: image r / copy_h): each pixel's input channels
// quantized as ref::quantize_f32_s8 does, as x + 128 in the pixel's bytes 0 to c - 1; 0x80
// (the value 0) in the other bytes and in the padding.
QS_VNNI_TARGET void fill_rows(const Impl& k, const float* x, uint32_t* copy, int64_t r0, int64_t r1) {
  const QuotientConsts qc = quotient_consts(k.x_scale, k.x_inv, k.x_limit);
  const __m512i lo = _mm512_set1_epi32(-128), hi = _mm512_set1_epi32(127), shift = _mm512_set1_epi32(128);
  const int64_t plane = k.in_h * k.in_w;
  for (int64_t r = r0; r < r1; ++r) {
    uint32_t* row = copy + r * k.copy_w;
    const int64_t img = r / k.copy_h, ih = r % k.copy_h - k.pad_t;
    if (ih < 0 || ih >= k.in_h) {
      std::fill(row, row + k.copy_w, kZeros);
      continue;
    }
    std::fill(row, row + k.pad_l, kZeros);
    std::fill(row + k.pad_l + k.in_w, row + k.copy_w, kZeros);
    const float* src = x + img * k.c * plane + ih * k.in_w;
    for (int64_t iw = 0; iw < k.in_w; iw += 16) {
      const __mmask16 lanes = lanes16(k.in_w, iw);
      __m512i v = _mm512_set1_epi32(static_cast<int>(kZeros));
      for (int64_t ci = 0; ci < k.c; ++ci) {
        __m512i q = quotient(bounded(_mm512_maskz_loadu_ps(lanes, src + ci * plane + iw), qc), qc);
        q = _mm512_add_epi32(_mm512_min_epi32(hi, _mm512_max_epi32(lo, q)), shift);  // 0 to 255
        const __m128i at = _mm_cvtsi32_si128(static_cast<int>(8 * ci));
        v = _mm512_or_si512(_mm512_andnot_si512(_mm512_sll_epi32(_mm512_set1_epi32(0xFF), at), v),
                            _mm512_sll_epi32(q, at));
      }
      _mm512_mask_storeu_epi32(row + k.pad_l + iw, lanes, v);
    }
  }
}

// What a tile reads of the kernel, copied out of Impl: the int8 stores may alias anything, so
// fields read through a reference would be loaded again after every store.
struct TileArgs {
  const int8_t* w;
  const int32_t* comp;
  const float *scales, *bias;
  int64_t n, kh, kw, stride_w, copy_w;
  Consts c;
};

// U consecutive outputs of one row times NB output blocks from block b0. x: the copy's pixel
// under the first output's top-left tap; res and y: the first output's. KH, KW: the filter's
// size (0: read from k); fixed, the taps unroll.
template <int KH, int KW, int U, int NB, bool kLeaky>
QS_VNNI_TARGET void tile(const TileArgs& k, const uint32_t* x, const float* res, int8_t* y, int64_t b0) {
  __m512i acc[U][NB];
  const int8_t* wb[NB];
  const int64_t kh = KH ? KH : k.kh, kw = KW ? KW : k.kw, sw = k.stride_w, cw = k.copy_w, n = k.n;
#pragma GCC unroll 4
  for (int j = 0; j < NB; ++j) {
    const __m512i c = _mm512_loadu_si512(k.comp + (b0 + j) * 16);
#pragma GCC unroll 4
    for (int u = 0; u < U; ++u) acc[u][j] = c;
    wb[j] = k.w + (b0 + j) * kh * kw * 64;
  }
#pragma GCC unroll 8
  for (int64_t i = 0; i < kh; ++i) {
#pragma GCC unroll 8
    for (int64_t t = 0; t < kw; ++t) {
      const int64_t tap = i * kw + t;
      __m512i wv[NB];
#pragma GCC unroll 4
      for (int j = 0; j < NB; ++j) wv[j] = _mm512_loadu_si512(wb[j] + tap * 64);
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) {
        const __m512i xb = _mm512_set1_epi32(static_cast<int>(x[i * cw + u * sw + t]));
#pragma GCC unroll 4
        for (int j = 0; j < NB; ++j) acc[u][j] = dpbusd(acc[u][j], xb, wv[j]);
      }
    }
  }
  const Consts consts = k.c;
  __m512 scale[NB], bias[NB];
#pragma GCC unroll 4
  for (int j = 0; j < NB; ++j) {
    scale[j] = _mm512_loadu_ps(k.scales + (b0 + j) * 16);
    bias[j] = _mm512_loadu_ps(k.bias + (b0 + j) * 16);
  }
#pragma GCC unroll 4
  for (int u = 0; u < U; ++u) {
#pragma GCC unroll 4
    for (int j = 0; j < NB; ++j) {
      const int64_t c = (b0 + j) * 16;
      const __mmask16 lanes = lanes16(n, c);
      store16(y + u * n + c, lanes,
              requantize<kLeaky>(acc[u][j], scale[j], bias[j], res ? res + u * n + c : nullptr, lanes, consts));
    }
  }
}

using TileFn = void (*)(const TileArgs&, const uint32_t*, const float*, int8_t*, int64_t);
using Tiles = std::array<std::array<TileFn, kMaxBlocks>, 2>;  // [whole tile ? 0 : 1][blocks - 1]

template <int KH, int KW, bool kLeaky>
constexpr Tiles kTiles = {{{tile<KH, KW, kPixels, 1, kLeaky>, tile<KH, KW, kPixels, 2, kLeaky>,
                            tile<KH, KW, kPixels, 3, kLeaky>, tile<KH, KW, kPixels, 4, kLeaky>},
                           {tile<KH, KW, 1, 1, kLeaky>, tile<KH, KW, 1, 2, kLeaky>, tile<KH, KW, 1, 3, kLeaky>,
                            tile<KH, KW, 1, 4, kLeaky>}}};

// The tiles for k's filter: 3x3 unrolled, other sizes with the taps in a loop.
template <bool kLeaky>
const Tiles& tiles_for(const Impl& k) {
  if (k.kh == 3 && k.kw == 3) return kTiles<3, 3, kLeaky>;
  return kTiles<0, 0, kLeaky>;
}

// Output rows [r0, r1) of the batch (row r: image r / out_h), every output channel.
QS_VNNI_TARGET void run_rows(const Impl& k, const uint32_t* copy, const float* residual, int8_t* y, int64_t r0,
                             int64_t r1) {
  const TileArgs args{k.w.data(), k.comp.data(), k.epilogue.scales.data(), k.epilogue.bias.data(), k.n, k.kh,
                      k.kw,       k.stride_w,    k.copy_w,                  consts(k.epilogue)};
  const Tiles& fns = k.epilogue.act.act == ref::Epilogue::Act::kLeakyRelu ? tiles_for<true>(k) : tiles_for<false>(k);
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t img = r / k.out_h, oh = r % k.out_h;
    const uint32_t* top = copy + (img * k.copy_h + oh * k.stride_h) * k.copy_w;
    for (int64_t ow = 0; ow < k.out_w;) {
      const bool whole = ow + kPixels <= k.out_w;
      const auto& row_fns = fns[whole ? 0 : 1];
      const int64_t first = (r * k.out_w + ow) * k.n;
      for (int64_t b = 0; b < k.blocks; b += kMaxBlocks)
        row_fns[static_cast<size_t>(std::min<int64_t>(kMaxBlocks, k.blocks - b) - 1)](
            args, top + ow * k.stride_w, residual ? residual + first : nullptr, y + first, b);
      ow += whole ? kPixels : 1;
    }
  }
}

QS_INT8_AVX512_END
#endif  // QS_INT8_AVX512

}  // namespace

StemConvS8::StemConvS8(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StemConvS8::~StemConvS8() = default;

std::unique_ptr<StemConvS8> StemConvS8::Create(const ref::ConvParams& p, const int8_t* w, float x_scale,
                                               const ConvS8Epilogue& e, std::string* why_not) {
  auto decline = [&](const char* why) -> std::unique_ptr<StemConvS8> {
    if (why_not) *why_not = why;
    return nullptr;
  };
  if (!int8_avx512::cpu_ok()) return decline("the CPU has no AVX-512 VNNI");
  if (p.in_size.size() != 2) return decline("not a 2-D convolution");
  if (p.group != 1) return decline("grouped");
  if (p.in_channels < 1 || p.in_channels > 4) return decline("not 1 to 4 input channels");
  if (p.batch <= 0 || p.out_channels <= 0) return decline("empty");
  auto impl = std::make_unique<Impl>();
  Impl& k = *impl;
  if (const char* why = int8_avx512::window_2d(p, &k)) return decline(why);
  if (!ref::int8_reduction_fits(p.in_channels * p.kernel[0] * p.kernel[1]))
    return decline("reduction could overflow the int32 accumulator");
  if (!int8_avx512::quotient_constants(x_scale, &k.x_inv, &k.x_limit))
    return decline("the input scale has no finite normal reciprocal");
  if (const char* why = nullptr; !int8_avx512::prepare(e, p.out_channels, &k.epilogue, &why)) return decline(why);
  k.x_scale = x_scale;
  k.n = p.out_channels;
  k.blocks = (k.n + 15) / 16;
  // Every tap of every output inside the copy: output oh reads copy rows oh * stride + i.
  k.copy_h = std::max(k.in_h + k.pad_t, (k.out_h - 1) * k.stride_h + k.kh);
  k.copy_w = std::max(k.in_w + k.pad_l, (k.out_w - 1) * k.stride_w + k.kw);
  const int64_t taps = k.kh * k.kw;
  k.w.assign(static_cast<size_t>(k.blocks * taps * 64), 0);
  k.comp.assign(static_cast<size_t>(k.blocks * 16), 0);
  for (int64_t oc = 0; oc < k.n; ++oc) {
    int64_t sum = 0;
    for (int64_t ci = 0; ci < k.c; ++ci)
      for (int64_t t = 0; t < taps; ++t) {
        const int8_t v = w[(oc * k.c + ci) * taps + t];
        sum += v;
        k.w[static_cast<size_t>((((oc / 16) * taps + t) * 16 + oc % 16) * 4 + ci)] = v;
      }
    k.comp[static_cast<size_t>(oc)] = static_cast<int32_t>(-128 * sum);
  }
  return std::unique_ptr<StemConvS8>(new StemConvS8(std::move(impl)));
}

void StemConvS8::run(const float* x, const float* residual, int8_t* y) const {
#if QS_INT8_AVX512
  const Impl& k = *impl_;
  thread_local std::vector<uint32_t> copy;
  copy.resize(static_cast<size_t>(k.batch * k.copy_h * k.copy_w));
  uint32_t* c = copy.data();
  // About 10k cycles of work per thread before a second one is woken: a copy row costs about
  // 12 operations per input channel and 16 pixels; an output row, per pixel and block, a
  // product per tap and an epilogue of about 16.
  const int64_t fill_row = std::max<int64_t>(1, k.c * 12 * (k.in_w + 15) / 16);
  parallel_chunks(k.batch * k.copy_h, std::max<int64_t>(1, 10000 / fill_row),
                  [&](int64_t lo, int64_t hi) { fill_rows(k, x, c, lo, hi); });
  const int64_t out_row = std::max<int64_t>(1, k.out_w * k.blocks * (k.kh * k.kw + 16));
  parallel_chunks(k.batch * k.out_h, std::max<int64_t>(1, 10000 / out_row),
                  [&](int64_t lo, int64_t hi) { run_rows(k, c, residual, y, lo, hi); });
#else
  (void)x, (void)residual, (void)y;
#endif
}

}  // namespace qs::kernels::fast
