// Every multiply and add of the epilogue is rounded on its own, as in the reference
// (int8_avx512.h); the only fused multiply-adds are the quotient's corrections.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "fp-contract=off")
#endif

#include "kernels/fast/depthwise_s8.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "kernels/fast/eltwise_fast.h"  // parallel_chunks
#include "kernels/fast/int8_avx512.h"

namespace qs::kernels::fast {

// Channels go in blocks of 16 (one vector of int32 accumulators), each filter row in groups
// of 4 columns (one VNNI lane): the packed weights are [block][kh][group][16 channels][4],
// zero beyond the filter and the channels.
struct DepthwiseConvS8::Impl : int8_avx512::Window2D {
  int64_t groups = 0;      // ceil(kw / 4): products per filter row
  int64_t blocks = 0;      // ceil(c / 16)
  int64_t row_pixels = 0;  // a row buffer: left padding, the row, then padding up to the last product's 4 pixels
  std::vector<int8_t> w;
  std::vector<int32_t> comp;  // -128 * the sum of each channel's weights: the rows hold x + 128
  int8_avx512::OutputEpilogue epilogue;
};

namespace {

#if QS_INT8_AVX512
using namespace int8_avx512;
QS_INT8_AVX512_BEGIN

using Impl = DepthwiseConvS8::Impl;

// Byte 4i + t of a product's operand is channel i of pixel t: from byte 16t + i of the 4
// pixels' 64 bytes in the row buffer.
constexpr std::array<uint8_t, 64> kInterleave = [] {
  std::array<uint8_t, 64> a{};
  for (int i = 0; i < 16; ++i)
    for (int t = 0; t < 4; ++t) a[static_cast<size_t>(4 * i + t)] = static_cast<uint8_t>(16 * t + i);
  return a;
}();

// Input row ih of image n as x + 128 (x ^ 0x80), block by block: block b's pixels at
// row + b * block_bytes, 16 bytes each, with the padding and the channels past c as 0x80, the
// byte of the value 0. The row is read in order.
QS_VBMI_TARGET void fill_row(const Impl& k, const int8_t* x, int64_t n, int64_t ih, uint8_t* row) {
  const __m128i zero = _mm_set1_epi8(static_cast<char>(0x80));  // the value 0 as x + 128
  const int64_t c = k.c, blocks = k.blocks, in_w = k.in_w, pad_l = k.pad_l, row_pixels = k.row_pixels;
  const int64_t block_bytes = row_pixels * 16, full = c / 16;
  const __mmask16 tail = lanes16(c, full * 16);
  auto store = [&](int64_t b, int64_t pixel, __m128i v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(row + b * block_bytes + pixel * 16), v);
  };
  for (int64_t b = 0; b < blocks; ++b) {
    for (int64_t i = 0; i < pad_l; ++i) store(b, i, zero);
    for (int64_t i = pad_l + in_w; i < row_pixels; ++i) store(b, i, zero);
  }
  const int8_t* src = x + (n * k.in_h + ih) * in_w * c;
  for (int64_t iw = 0; iw < in_w; ++iw, src += c) {
    for (int64_t b = 0; b < full; ++b)
      store(b, pad_l + iw, _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + b * 16)), zero));
    if (full < blocks) store(full, pad_l + iw, _mm_xor_si128(_mm_maskz_loadu_epi8(tail, src + full * 16), zero));
  }
}

// One output row of one block. rows: the row buffers of the kh input rows it reads; res and
// y point at the row's first pixel, channel 16b. KH, KW4: the filter's rows and column groups
// (0: read from k). U outputs at a time, their instructions interleaved: each output is one
// long chain of dependent steps.
template <int KH, int KW4, bool kLeaky>
QS_VBMI_TARGET void output_row(const Impl& k, const uint8_t* const* rows, int64_t b, const float* res, int8_t* y,
                               const Consts& consts_in) {
  constexpr int U = 4;
  const int64_t kh = KH ? KH : k.kh, groups = KW4 ? KW4 : k.groups;
  const int64_t c = k.c, sw = k.stride_w, out_w = k.out_w;
  const Consts consts = consts_in;  // in registers: the int8 stores may alias anything
  const __mmask16 lanes = lanes16(c, b * 16);
  const __m512i comp = _mm512_loadu_si512(k.comp.data() + b * 16);
  const __m512 scale = _mm512_loadu_ps(k.epilogue.scales.data() + b * 16);
  const __m512 bias = _mm512_loadu_ps(k.epilogue.bias.data() + b * 16);
  const __m512i order = _mm512_loadu_si512(kInterleave.data());
  const int8_t* wb = k.w.data() + b * kh * groups * 64;
  // (Macros rather than lambdas: a lambda does not take its function's target attribute.)
#define QS_DW_PRODUCT(acc, i, g, ow)                                                                            \
  dpbusd(acc, _mm512_permutexvar_epi8(order, _mm512_loadu_si512(rows[i] + ((ow) * sw + 4 * (g)) * 16)), \
         _mm512_loadu_si512(wb + ((i) * groups + (g)) * 64))
#define QS_DW_FINISH(acc, ow)                                                                             \
  store16(y + (ow) * c, lanes,                                                                            \
          requantize<kLeaky>(acc, scale, bias, res ? res + (ow) * c : nullptr, lanes, consts))
  int64_t ow = 0;
  for (; ow + U <= out_w; ow += U) {
    __m512i acc[U];
#pragma GCC unroll 4
    for (int u = 0; u < U; ++u) acc[u] = comp;
#pragma GCC unroll 8
    for (int64_t i = 0; i < kh; ++i)
#pragma GCC unroll 4
      for (int64_t g = 0; g < groups; ++g)
#pragma GCC unroll 4
        for (int u = 0; u < U; ++u) acc[u] = QS_DW_PRODUCT(acc[u], i, g, ow + u);
#pragma GCC unroll 4
    for (int u = 0; u < U; ++u) QS_DW_FINISH(acc[u], ow + u);
  }
  for (; ow < out_w; ++ow) {
    __m512i acc = comp;
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t g = 0; g < groups; ++g) acc = QS_DW_PRODUCT(acc, i, g, ow);
    QS_DW_FINISH(acc, ow);
  }
#undef QS_DW_PRODUCT
#undef QS_DW_FINISH
}

using RowFn = void (*)(const Impl&, const uint8_t* const*, int64_t, const float*, int8_t*, const Consts&);

template <bool kLeaky>
RowFn row_fn(const Impl& k) {
  if (k.kh == 3 && k.groups == 1) return output_row<3, 1, kLeaky>;
  if (k.kh == 5 && k.groups == 2) return output_row<5, 2, kLeaky>;
  return output_row<0, 0, kLeaky>;
}

// Output rows [r0, r1) of the batch (row r: image r / out_h, row r % out_h), each for every
// block, keeping the input rows in a ring of kh buffers of all blocks.
QS_VBMI_TARGET void run_rows(const Impl& k, const int8_t* x, const float* residual, int8_t* y, int64_t r0,
                             int64_t r1) {
  const size_t row_bytes = static_cast<size_t>(k.blocks * k.row_pixels * 16);
  thread_local std::vector<uint8_t> buffers;
  thread_local std::vector<int64_t> held;  // input row (n * in_h + ih) in each ring slot
  thread_local std::vector<const uint8_t*> rows, block_rows;  // each input row's buffer, and its block's part
  buffers.resize(row_bytes * static_cast<size_t>(k.kh + 1));
  rows.resize(static_cast<size_t>(k.kh));
  block_rows.resize(static_cast<size_t>(k.kh));
  held.assign(static_cast<size_t>(k.kh), -1);
  uint8_t* padding = buffers.data() + row_bytes * static_cast<size_t>(k.kh);
  std::memset(padding, 0x80, row_bytes);
  const Consts consts = int8_avx512::consts(k.epilogue);
  const RowFn fn = k.epilogue.act.act == ref::Epilogue::Act::kLeakyRelu ? row_fn<true>(k) : row_fn<false>(k);
  const int64_t block_bytes = k.row_pixels * 16;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t n = r / k.out_h, oh = r % k.out_h;
    for (int64_t i = 0; i < k.kh; ++i) {
      const int64_t ih = oh * k.stride_h - k.pad_t + i;
      if (ih < 0 || ih >= k.in_h) {
        rows[static_cast<size_t>(i)] = padding;
        continue;
      }
      // The rows one output row reads are consecutive: distinct slots.
      const int64_t key = n * k.in_h + ih;
      const size_t slot = static_cast<size_t>(key % k.kh);
      uint8_t* buf = buffers.data() + row_bytes * slot;
      if (held[slot] != key) {
        fill_row(k, x, n, ih, buf);
        held[slot] = key;
      }
      rows[static_cast<size_t>(i)] = buf;
    }
    for (int64_t b = 0; b < k.blocks; ++b) {
      for (int64_t i = 0; i < k.kh; ++i) block_rows[static_cast<size_t>(i)] = rows[static_cast<size_t>(i)] + b * block_bytes;
      const int64_t first = r * k.out_w * k.c + b * 16;
      fn(k, block_rows.data(), b, residual ? residual + first : nullptr, y + first, consts);
    }
  }
}

QS_INT8_AVX512_END
#endif  // QS_INT8_AVX512

}  // namespace

DepthwiseConvS8::DepthwiseConvS8(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DepthwiseConvS8::~DepthwiseConvS8() = default;

std::unique_ptr<DepthwiseConvS8> DepthwiseConvS8::Create(const ref::ConvParams& p, const int8_t* w,
                                                         const ConvS8Epilogue& e, std::string* why_not) {
  auto decline = [&](const char* why) -> std::unique_ptr<DepthwiseConvS8> {
    if (why_not) *why_not = why;
    return nullptr;
  };
  if (!int8_avx512::cpu_ok(true)) return decline("the CPU has no AVX-512 VNNI and VBMI");
  if (p.in_size.size() != 2) return decline("not a 2-D convolution");
  if (p.group != p.in_channels || p.out_channels != p.in_channels) return decline("not depthwise");
  if (p.batch <= 0 || p.in_channels <= 0) return decline("empty");
  auto impl = std::make_unique<Impl>();
  Impl& k = *impl;
  if (const char* why = int8_avx512::window_2d(p, &k)) return decline(why);
  if (p.kernel[1] > 16) return decline("a filter wider than 16");
  if (!ref::int8_reduction_fits(p.kernel[0] * p.kernel[1]))
    return decline("reduction could overflow the int32 accumulator");
  if (const char* why = nullptr; !int8_avx512::prepare(e, p.out_channels, &k.epilogue, &why)) return decline(why);
  k.groups = (k.kw + 3) / 4;
  k.blocks = (k.c + 15) / 16;
  k.row_pixels = std::max(k.pad_l + k.in_w + p.pad_end[1], (k.out_w - 1) * k.stride_w + 4 * k.groups);
  int8_avx512::pack_tap_lanes(w, k.c, k.kh, k.kw, &k.w, &k.comp);
  return std::unique_ptr<DepthwiseConvS8>(new DepthwiseConvS8(std::move(impl)));
}

void DepthwiseConvS8::run(const int8_t* x, const float* residual, int8_t* y) const {
#if QS_INT8_AVX512
  const Impl& k = *impl_;
  // About 10k cycles of work per thread before a second one is woken (per output row, every
  // block's pixels, each kh * groups products and an epilogue of about 16): with 50k, small
  // layers stayed on one thread (int8_bench, two threads, best of 9: 960 channels at 7x7
  // 0.020 -> 0.014 ms, 576 at 14x14 stride 2 0.018 -> 0.012 ms).
  const int64_t per_row = std::max<int64_t>(1, k.blocks * k.out_w * (3 * k.kh * k.groups + 16));
  parallel_chunks(k.batch * k.out_h, std::max<int64_t>(1, 10000 / per_row),
                  [&](int64_t lo, int64_t hi) { run_rows(k, x, residual, y, lo, hi); });
#else
  (void)x, (void)residual, (void)y;
#endif
}

}  // namespace qs::kernels::fast
