#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include "kernels/fast/conv1d_s8.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/fast/eltwise_fast.h"  // parallel_chunks
#include "kernels/fast/int8_avx512.h"
#include "kernels/reference/int8.h"  // int8_reduction_fits

namespace qs::kernels::fast {

// The input is copied per (image, channel) as x + 128 (x ^ 0x80), from column -pad_l, the
// padding and the bytes past the input as 0x80 (the value 0). Taps go in groups of 4 (one VNNI
// lane), zero past the filter; output channels in blocks of 16: the packed weights are
// [block][channel][group][16 channels][4 taps].
struct Conv1dS8::Impl {
  int64_t batch = 0, c = 0, in_w = 0, out_w = 0, k = 0, stride = 1, pad_l = 0;
  int64_t n = 0, blocks = 0, groups = 0;  // output channels, ceil(n / 16), ceil(k / 4)
  int64_t copy_w = 0;                     // bytes of a channel's copy
  std::vector<int8_t> w;
  std::vector<int32_t> comp;  // -128 * the sum of each output channel's weights: the copy holds x + 128
};

namespace {

constexpr int kPixels = 6;     // outputs a tile: 24 accumulators with 4 blocks
constexpr int kMaxBlocks = 4;  // output blocks a pass over a tile
constexpr int64_t kChunk = 16 * kPixels;  // outputs a work unit

#if QS_INT8_AVX512
using namespace int8_avx512;
QS_INT8_AVX512_BEGIN

using Impl = Conv1dS8::Impl;

// What a tile reads, copied out of Impl: the stores may alias anything, so fields read through
// a reference would be loaded again after every store.
struct TileArgs {
  const int8_t* w;
  const int32_t* comp;
  int64_t c, groups, stride, copy_w, n;
};

// U consecutive outputs times NB output blocks from block b0. x: channel 0's copy at the first
// output's first tap; acc: the first output's sums.
template <int U, int NB>
QS_VNNI_TARGET void tile(const TileArgs& a, const uint8_t* x, int32_t* acc, int64_t b0) {
  __m512i sum[U][NB];
#pragma GCC unroll 4
  for (int j = 0; j < NB; ++j) {
    const __m512i comp = _mm512_loadu_si512(a.comp + (b0 + j) * 16);
#pragma GCC unroll 6
    for (int u = 0; u < U; ++u) sum[u][j] = comp;
  }
  const int64_t block_bytes = a.c * a.groups * 64;
  for (int64_t ci = 0; ci < a.c; ++ci) {
    const uint8_t* xc = x + ci * a.copy_w;
    const uint8_t* xu[U];
#pragma GCC unroll 6
    for (int u = 0; u < U; ++u) xu[u] = xc + u * a.stride;
    const int8_t* wc = a.w + b0 * block_bytes + ci * a.groups * 64;
    for (int64_t g = 0; g < a.groups; ++g) {
      __m512i wv[NB];
#pragma GCC unroll 4
      for (int j = 0; j < NB; ++j) wv[j] = _mm512_loadu_si512(wc + j * block_bytes + g * 64);
#pragma GCC unroll 6
      for (int u = 0; u < U; ++u) {
        uint32_t lane;
        std::memcpy(&lane, xu[u] + 4 * g, sizeof lane);
        const __m512i xb = _mm512_set1_epi32(static_cast<int>(lane));
#pragma GCC unroll 4
        for (int j = 0; j < NB; ++j) sum[u][j] = dpbusd(sum[u][j], xb, wv[j]);
      }
    }
  }
#pragma GCC unroll 6
  for (int u = 0; u < U; ++u)
#pragma GCC unroll 4
    for (int j = 0; j < NB; ++j) {
      const int64_t c0 = (b0 + j) * 16;
      _mm512_mask_storeu_epi32(acc + u * a.n + c0, lanes16(a.n, c0), sum[u][j]);
    }
}

using TileFn = void (*)(const TileArgs&, const uint8_t*, int32_t*, int64_t);

template <int U, size_t... NB>
constexpr std::array<TileFn, sizeof...(NB)> tiles_of(std::index_sequence<NB...>) {
  return {tile<U, static_cast<int>(NB) + 1>...};
}
template <size_t... U>
constexpr std::array<std::array<TileFn, kMaxBlocks>, sizeof...(U)> all_tiles(std::index_sequence<U...>) {
  return {tiles_of<static_cast<int>(U) + 1>(std::make_index_sequence<kMaxBlocks>())...};
}
// [outputs - 1][blocks - 1]
constexpr auto kTiles = all_tiles(std::make_index_sequence<kPixels>());

// Copies [r0, r1) of the (image, channel) rows.
QS_VNNI_TARGET void fill_rows(const Impl& k, const int8_t* x, uint8_t* copy, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    uint8_t* row = copy + r * k.copy_w;
    const int8_t* src = x + r * k.in_w;
    std::memset(row, 0x80, static_cast<size_t>(k.pad_l));
    for (int64_t i = 0; i < k.in_w; ++i) row[k.pad_l + i] = static_cast<uint8_t>(src[i]) ^ 0x80u;
    std::memset(row + k.pad_l + k.in_w, 0x80, static_cast<size_t>(k.copy_w - k.pad_l - k.in_w));
  }
}

// Work units [u0, u1): unit u is outputs [chunk * kChunk, ...) of image u / chunks.
QS_VNNI_TARGET void run_units(const Impl& k, const uint8_t* copy, int32_t* acc, int64_t u0, int64_t u1) {
  const TileArgs args{k.w.data(), k.comp.data(), k.c, k.groups, k.stride, k.copy_w, k.n};
  const int64_t chunks = (k.out_w + kChunk - 1) / kChunk;
  for (int64_t u = u0; u < u1; ++u) {
    const int64_t img = u / chunks, o0 = (u % chunks) * kChunk, o1 = std::min(k.out_w, o0 + kChunk);
    const uint8_t* x = copy + img * k.c * k.copy_w;
    for (int64_t o = o0; o < o1; o += kPixels) {
      const int outs = static_cast<int>(std::min<int64_t>(kPixels, o1 - o));
      const auto& fns = kTiles[static_cast<size_t>(outs - 1)];
      int32_t* at = acc + (img * k.out_w + o) * k.n;
      for (int64_t b = 0; b < k.blocks; b += kMaxBlocks)
        fns[static_cast<size_t>(std::min<int64_t>(kMaxBlocks, k.blocks - b) - 1)](args, x + o * k.stride, at, b);
    }
  }
}

QS_INT8_AVX512_END
#endif  // QS_INT8_AVX512

}  // namespace

Conv1dS8::Conv1dS8(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Conv1dS8::~Conv1dS8() = default;

std::unique_ptr<Conv1dS8> Conv1dS8::Create(const ref::ConvParams& p, const int8_t* w, std::string* why_not) {
  auto decline = [&](const char* why) -> std::unique_ptr<Conv1dS8> {
    if (why_not) *why_not = why;
    return nullptr;
  };
  if (!int8_avx512::cpu_ok()) return decline("the CPU has no AVX-512 VNNI");
  if (p.in_size.size() != 1) return decline("not a 1-D convolution");
  if (p.group != 1) return decline("grouped");
  if (p.in_channels < 1 || p.in_channels > 4) return decline("not 1 to 4 input channels");
  if (p.dilation[0] != 1) return decline("dilated");
  if (p.pad_begin[0] < 0 || p.pad_end[0] < 0) return decline("negative padding");
  if (p.batch <= 0 || p.out_channels <= 0 || p.out_size[0] <= 0 || p.kernel[0] <= 0) return decline("empty");
  if (!ref::int8_reduction_fits(p.in_channels * p.kernel[0]))
    return decline("reduction could overflow the int32 accumulator");
  auto impl = std::make_unique<Impl>();
  Impl& k = *impl;
  k.batch = p.batch;
  k.c = p.in_channels;
  k.in_w = p.in_size[0];
  k.out_w = p.out_size[0];
  k.k = p.kernel[0];
  k.stride = p.stride[0];
  k.pad_l = p.pad_begin[0];
  k.n = p.out_channels;
  k.blocks = (k.n + 15) / 16;
  k.groups = (k.k + 3) / 4;
  // Every lane of every output inside the copy: output o reads bytes o * stride + [0, 4 * groups).
  k.copy_w = std::max(k.pad_l + k.in_w, (k.out_w - 1) * k.stride + 4 * k.groups);
  int8_avx512::pack_tap_lanes(w, k.n, k.c, k.k, &k.w, &k.comp);
  return std::unique_ptr<Conv1dS8>(new Conv1dS8(std::move(impl)));
}

void Conv1dS8::run(const int8_t* x, int32_t* acc) const {
#if QS_INT8_AVX512
  const Impl& k = *impl_;
  thread_local std::vector<uint8_t> copy;
  copy.resize(static_cast<size_t>(k.batch * k.c * k.copy_w));
  uint8_t* c = copy.data();
  parallel_chunks(k.batch * k.c, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, k.copy_w)),
                  [&](int64_t lo, int64_t hi) { fill_rows(k, x, c, lo, hi); });
  // About 10k products per thread before a second one is woken.
  const int64_t chunks = (k.out_w + kChunk - 1) / kChunk;
  const int64_t per_unit = std::max<int64_t>(1, kChunk * k.blocks * k.c * k.groups);
  parallel_chunks(k.batch * chunks, std::max<int64_t>(1, 10000 / per_unit),
                  [&](int64_t lo, int64_t hi) { run_units(k, c, acc, lo, hi); });
#else
  (void)x, (void)acc;
#endif
}

}  // namespace qs::kernels::fast
