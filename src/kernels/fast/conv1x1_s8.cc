// Every multiply and add of the epilogue is rounded on its own, as in the reference (the
// explicit-rounding intrinsics below cannot be contracted either); the only fused
// multiply-adds are the quotient's corrections, which must be fused.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "fp-contract=off")
#endif

#include "kernels/fast/conv1x1_s8.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "kernels/fast/eltwise_fast.h"  // parallel_chunks
#include "kernels/fast/int8_avx512.h"
#include "kernels/reference/int8.h"

namespace qs::kernels::fast {

// Output channels go in blocks of 16 (one vector), input channels in groups of 4 (one VNNI
// lane): the packed weights are [block][group][16 channels][4], zero beyond the tensor.
struct Conv1x1S8::Impl {
  int64_t batch = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0, stride_h = 1, stride_w = 1;
  int64_t k = 0, n = 0;          // input and output channels
  int64_t groups = 0;            // ceil(k / 4)
  int64_t blocks = 0;            // ceil(n / 16)
  std::vector<int8_t> w;         // packed weights
  std::vector<int32_t> comp;     // -128 * sum_k w[c][k]: the source is fed to VNNI as x + 128
  int8_avx512::OutputEpilogue epilogue;
};

namespace {

#if QS_INT8_AVX512
using namespace int8_avx512;
QS_INT8_AVX512_BEGIN
constexpr int kRows = 4;       // pixels per tile: 16 accumulators (6 pixels' 24 spill)
constexpr int kMaxBlocks = 4;  // output blocks per pass over a tile
constexpr int kPrefetchTiles = 8;  // the residual is prefetched this many tiles ahead

QS_VNNI_INLINE uint32_t load4(const int8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// What a tile reads of the kernel, copied out of Impl: the int8 stores may alias anything, so
// fields read through a reference would be loaded again after every store.
struct TileArgs {
  const int8_t* w;
  const int32_t* comp;
  const float *scales, *bias;
  int64_t k, n, groups;
  int64_t r_size;  // bytes per residual element: 4 (float) or 1 (int8)
  Consts c;
};

// What a tile writes: int8 (the activation LeakyRelu or a clamp, then the quotient), or
// float with one of the float activations.
enum class Out { kInt8, kInt8Leaky, kFloatClamp, kFloatRelu, kFloatLeaky };

// One tile: R pixels (rows of x and y given by pointer; y int8 or float as O says) times NB
// output blocks from block b0, the accumulators in registers from the first product to the
// store.
template <int R, int NB, Out O>
QS_VNNI_TARGET void tile(const TileArgs& k, const int8_t* const* x, const char* const* res, void* const* y,
                         int64_t b0) {
  __m512i acc[R][NB];
  const int8_t* wb[NB];
  const int64_t groups = k.groups, n = k.n, whole = k.k / 4, tail = k.k - whole * 4;
#pragma GCC unroll 4
  for (int j = 0; j < NB; ++j) {
    const __m512i c = _mm512_loadu_si512(k.comp + (b0 + j) * 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[r][j] = c;
    wb[j] = k.w + (b0 + j) * groups * 64;
  }
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));  // s8 -> u8 as x + 128
  for (int64_t g = 0; g < whole; ++g) {
    __m512i wv[NB];
#pragma GCC unroll 4
    for (int j = 0; j < NB; ++j) wv[j] = _mm512_loadu_si512(wb[j] + g * 64);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512i xb = _mm512_xor_si512(_mm512_set1_epi32(static_cast<int>(load4(x[r] + g * 4))), flip);
#pragma GCC unroll 4
      for (int j = 0; j < NB; ++j) acc[r][j] = dpbusd(acc[r][j], xb, wv[j]);
    }
  }
  if (tail > 0) {
    // The last 1-3 channels; the bytes beyond them meet zero weights (x + 128 times 0).
    __m512i wv[NB];
#pragma GCC unroll 4
    for (int j = 0; j < NB; ++j) wv[j] = _mm512_loadu_si512(wb[j] + whole * 64);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      uint32_t v = 0;
      std::memcpy(&v, x[r] + whole * 4, static_cast<size_t>(tail));
      const __m512i xb = _mm512_xor_si512(_mm512_set1_epi32(static_cast<int>(v)), flip);
#pragma GCC unroll 4
      for (int j = 0; j < NB; ++j) acc[r][j] = dpbusd(acc[r][j], xb, wv[j]);
    }
  }
  const Consts consts = k.c;
  __m512 scale[NB], bias[NB];
#pragma GCC unroll 4
  for (int j = 0; j < NB; ++j) {
    scale[j] = _mm512_loadu_ps(k.scales + (b0 + j) * 16);
    bias[j] = _mm512_loadu_ps(k.bias + (b0 + j) * 16);
  }
  const int64_t c0 = b0 * 16;
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    if constexpr (O == Out::kInt8 || O == Out::kInt8Leaky) {
      int8_t* yr = static_cast<int8_t*>(y[r]);
      __m512i q[NB];
#pragma GCC unroll 4
      for (int j = 0; j < NB; ++j) {
        const int64_t c = c0 + j * 16;
        q[j] = requantize<O == Out::kInt8Leaky>(acc[r][j], scale[j], bias[j], res ? res[r] + c * k.r_size : nullptr,
                                                lanes16(n, c), consts);
      }
      if constexpr (NB == 4) {
        const __mmask64 lanes = c0 + 64 <= n ? ~__mmask64(0) : (__mmask64(1) << (n - c0)) - 1;
        store64(yr + c0, lanes, q[0], q[1], q[2], q[3]);
      } else {
#pragma GCC unroll 4
        for (int j = 0; j < NB; ++j) store16(yr + c0 + j * 16, lanes16(n, c0 + j * 16), q[j]);
      }
    } else {
      constexpr FloatAct A = O == Out::kFloatRelu    ? FloatAct::kRelu
                             : O == Out::kFloatLeaky ? FloatAct::kLeaky
                                                     : FloatAct::kClamp;
      float* yr = static_cast<float*>(y[r]);
#pragma GCC unroll 4
      for (int j = 0; j < NB; ++j) {
        const int64_t c = c0 + j * 16;
        const __mmask16 lanes = lanes16(n, c);
        const __m512 v = dequantized(acc[r][j], scale[j], bias[j], res ? res[r] + c * k.r_size : nullptr, lanes, consts);
        _mm512_mask_storeu_ps(yr + c, lanes, activated<A>(v, consts));
      }
    }
  }
}

using TileFn = void (*)(const TileArgs&, const int8_t* const*, const char* const*, void* const*, int64_t);

template <int R, Out O>
constexpr std::array<TileFn, kMaxBlocks> tiles_of_rows() {
  return {tile<R, 1, O>, tile<R, 2, O>, tile<R, 3, O>, tile<R, 4, O>};
}

template <Out O, size_t... R>
constexpr std::array<std::array<TileFn, kMaxBlocks>, kRows> tiles(std::index_sequence<R...>) {
  return {tiles_of_rows<static_cast<int>(R) + 1, O>()...};
}

// [rows - 1][blocks - 1]
template <Out O>
constexpr auto kTiles = tiles<O>(std::make_index_sequence<kRows>());

using TileTable = std::array<std::array<TileFn, kMaxBlocks>, kRows>;

// The tiles of an epilogue: its output type and activation.
const TileTable& tiles_for(const OutputEpilogue& e) {
  const bool leaky = e.act.act == ref::Epilogue::Act::kLeakyRelu;
  if (!e.float_out) return leaky ? kTiles<Out::kInt8Leaky> : kTiles<Out::kInt8>;
  if (leaky) return kTiles<Out::kFloatLeaky>;
  return e.act.act == ref::Epilogue::Act::kRelu ? kTiles<Out::kFloatRelu> : kTiles<Out::kFloatClamp>;
}

// Pixels [p0, p1) of the output, every output channel, tile by tile; y int8 or float as the
// epilogue says.
QS_VNNI_TARGET void run_pixels(const Conv1x1S8::Impl& k, const int8_t* x, const void* residual_in, void* y,
                               int64_t p0, int64_t p1) {
  const int64_t r_size = k.epilogue.r_int8 ? 1 : 4;
  const TileArgs args{k.w.data(), k.comp.data(), k.epilogue.scales.data(), k.epilogue.bias.data(), k.k, k.n,
                      k.groups,   r_size,        consts(k.epilogue)};
  const char* residual = static_cast<const char*>(residual_in);
  const TileTable& fns = tiles_for(k.epilogue);
  const int64_t y_size = k.epilogue.float_out ? sizeof(float) : sizeof(int8_t);
  // The pixel's position, stepped along instead of divided out per pixel.
  const int64_t plane = k.out_h * k.out_w;
  int64_t b = p0 / plane, oh = p0 % plane / k.out_w, ow = p0 % k.out_w;
  const int8_t* xr[kRows];
  const char* rr[kRows];
  void* yr[kRows];
  for (int64_t p = p0; p < p1; p += kRows) {
    const int rows = static_cast<int>(std::min<int64_t>(kRows, p1 - p));
    for (int r = 0; r < rows; ++r) {
      xr[r] = x + ((b * k.in_h + oh * k.stride_h) * k.in_w + ow * k.stride_w) * k.k;
      rr[r] = residual ? residual + (p + r) * k.n * r_size : nullptr;
      yr[r] = static_cast<char*>(y) + (p + r) * k.n * y_size;
      if (++ow == k.out_w) {
        ow = 0;
        if (++oh == k.out_h) oh = 0, ++b;
      }
    }
    // The residual is read only in the epilogue, after the tile's products: without a
    // prefetch its loads wait on memory once it no longer fits the cache (int8_bench
    // BM_Residual*, 64 -> 256 at 56x56, batch 8: 10.4 -> 3.1-7.6 ms, oneDNN 7.3-11.7).
    if (const int64_t ahead = p + kPrefetchTiles * kRows; residual && ahead < p1) {
      const int64_t end = std::min(p1, ahead + kRows);
      for (const char *line = residual + ahead * k.n * r_size, *stop = residual + end * k.n * r_size; line < stop;
           line += 64)
        _mm_prefetch(line, _MM_HINT_T0);
    }
    const auto& row_fns = fns[static_cast<size_t>(rows - 1)];
    for (int64_t c = 0; c < k.blocks; c += kMaxBlocks)
      row_fns[static_cast<size_t>(std::min<int64_t>(kMaxBlocks, k.blocks - c) - 1)](args, xr, residual ? rr : nullptr,
                                                                                   yr, c);
  }
}

QS_INT8_AVX512_END
#endif  // QS_INT8_AVX512

}  // namespace

Conv1x1S8::Conv1x1S8(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Conv1x1S8::~Conv1x1S8() = default;

std::unique_ptr<Conv1x1S8> Conv1x1S8::Create(const ref::ConvParams& p, const int8_t* w, const ConvS8Epilogue& e,
                                             std::string* why_not) {
  auto decline = [&](const char* why) -> std::unique_ptr<Conv1x1S8> {
    if (why_not) *why_not = why;
    return nullptr;
  };
  if (!int8_avx512::cpu_ok()) return decline("the CPU has no AVX-512 VNNI");
  if (p.in_size.size() != 2 || p.kernel != std::vector<int64_t>{1, 1}) return decline("not a 2-D 1x1 convolution");
  if (p.group != 1) return decline("grouped");
  for (size_t i = 0; i < 2; ++i)
    if (p.pad_begin[i] != 0 || p.pad_end[i] != 0) return decline("padded");
  if (p.batch <= 0 || p.in_channels <= 0 || p.out_channels <= 0) return decline("empty");
  if (!ref::int8_reduction_fits(p.in_channels)) return decline("reduction could overflow the int32 accumulator");
  auto impl = std::make_unique<Impl>();
  Impl& k = *impl;
  if (const char* why = nullptr; !int8_avx512::prepare(e, p.out_channels, &k.epilogue, &why, /*float_ok=*/true))
    return decline(why);
  k.batch = p.batch;
  k.in_h = p.in_size[0];
  k.in_w = p.in_size[1];
  k.out_h = p.out_size[0];
  k.out_w = p.out_size[1];
  k.stride_h = p.stride[0];
  k.stride_w = p.stride[1];
  k.k = p.in_channels;
  k.n = p.out_channels;
  k.groups = (k.k + 3) / 4;
  k.blocks = (k.n + 15) / 16;
  const size_t padded = static_cast<size_t>(k.blocks * 16);
  k.w.assign(padded * static_cast<size_t>(k.groups) * 4, 0);
  k.comp.assign(padded, 0);
  for (int64_t c = 0; c < k.n; ++c) {
    int64_t sum = 0;
    for (int64_t i = 0; i < k.k; ++i) {
      const int8_t v = w[c * k.k + i];
      sum += v;
      k.w[static_cast<size_t>((((c / 16) * k.groups + i / 4) * 16 + c % 16) * 4 + i % 4)] = v;
    }
    k.comp[static_cast<size_t>(c)] = static_cast<int32_t>(-128 * sum);
  }
  return std::unique_ptr<Conv1x1S8>(new Conv1x1S8(std::move(impl)));
}

bool Conv1x1S8::float_output() const { return impl_->epilogue.float_out; }

void Conv1x1S8::run(const int8_t* x, const void* residual, int8_t* y) const {
  if (!impl_->epilogue.float_out) run_any(x, residual, y);
}

void Conv1x1S8::run_f32(const int8_t* x, const void* residual, float* y) const {
  if (impl_->epilogue.float_out) run_any(x, residual, y);
}

void Conv1x1S8::run_any(const int8_t* x, const void* residual, void* y) const {
#if QS_INT8_AVX512
  const Impl& k = *impl_;
  const int64_t pixels = k.batch * k.out_h * k.out_w;
  const int64_t tiles = (pixels + kRows - 1) / kRows;
  // About 10k cycles of work per thread before a second one is woken (per tile, kRows pixels
  // times every block, each a product of `groups` steps and an epilogue of about 16): with
  // 50k, small layers stayed on one thread (int8_bench, two threads, best of 9: 96 -> 576 at
  // 14x14 0.061 -> 0.036 ms, 96 -> 24 at 56x56 0.059 -> 0.036 ms).
  const int64_t per_tile = kRows * k.blocks * (k.groups + 16);
  parallel_chunks(tiles, std::max<int64_t>(1, 10000 / per_tile), [&](int64_t lo, int64_t hi) {
    run_pixels(k, x, residual, y, lo * kRows, std::min(pixels, hi * kRows));
  });
#else
  (void)x, (void)residual, (void)y;
#endif
}

}  // namespace qs::kernels::fast
