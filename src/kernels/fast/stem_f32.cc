#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include "kernels/fast/stem_f32.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/fast/eltwise_fast.h"  // parallel_chunks
#include "kernels/fast/f32_avx512.h"

namespace qs::kernels::fast {

// Output channels go in blocks of 16: the packed weights are [block][tap][16], taps in the
// (channel, row, column) order of the filter, zero beyond the tensor, and so is the bias. The
// row buffer of a work unit (a run of output columns of one output row) holds, for each
// (channel, filter row), the input columns its windows touch, zero outside the image. A 1-D
// convolution is the 2-D one of a single row, split into runs of columns so that threads share
// it; a 2-D one takes whole rows.
struct StemConvF32::Impl {
  int64_t batch = 0, c = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t kh = 0, kw = 0, stride_h = 1, stride_w = 1, pad_t = 0, pad_l = 0;
  int64_t n = 0, blocks = 0, taps = 0;
  int64_t chunk_w = 0, chunks = 1;  // output columns per work unit, units per output row
  int64_t copy_w = 0;               // row buffer columns per (channel, filter row): a chunk's
  std::vector<int32_t> offset;  // of each tap in the row buffer
  std::vector<float> w, bias;
  ref::Epilogue act;
};

namespace {

// A tile: 12 pixels of an output row times 2 blocks of 16 output channels, 24 accumulators.
// Two blocks of a 7x7 filter over 3 channels (19 KB) fit the first-level cache along with the
// row buffer (19 KB at 224 columns), four do not: ResNet-50's first layer ran 1.21-1.26 ms with
// 2 blocks and 12 pixels, 1.23-1.33 with 4 blocks and 6 (bench/conv_bench, one thread).
[[maybe_unused]] constexpr int kMaxRows = 12;  // pixels per tile
[[maybe_unused]] constexpr int kMaxBlocks = 2;  // output blocks per pass over a tile
// Output columns per work unit of a 1-D convolution: 8 tiles.
constexpr int64_t kChunkColumns = 8 * kMaxRows;

#if QS_F32_AVX512

using namespace f32_avx512;
using Impl = StemConvF32::Impl;

// The row buffer of output columns [ow0, ow1) of output row oh of image img: for each (channel,
// filter row), the input columns those windows touch, zero outside the image, k.copy_w apart.
void fill_row(const Impl& k, const float* x, int64_t img, int64_t oh, int64_t ow0, int64_t ow1, float* buf) {
  const int64_t first = ow0 * k.stride_w - k.pad_l;              // input column of buffer column 0
  const int64_t width = (ow1 - ow0 - 1) * k.stride_w + k.kw;     // <= k.copy_w
  const int64_t lo = std::clamp<int64_t>(-first, 0, width);      // buffer columns left of the image
  const int64_t hi = std::clamp<int64_t>(k.in_w - first, lo, width);  // end of those inside it
  for (int64_t ch = 0; ch < k.c; ++ch)
    for (int64_t i = 0; i < k.kh; ++i) {
      float* row = buf + (ch * k.kh + i) * k.copy_w;
      const int64_t ih = oh * k.stride_h + i - k.pad_t;
      if (ih < 0 || ih >= k.in_h) {
        std::fill(row, row + width, 0.f);
        continue;
      }
      const float* src = x + ((img * k.c + ch) * k.in_h + ih) * k.in_w;
      std::fill(row, row + lo, 0.f);
      // first + lo >= 0 whenever some column lies inside the image.
      if (hi > lo) std::memcpy(row + lo, src + (first + lo), static_cast<size_t>(hi - lo) * sizeof(float));
      std::fill(row + hi, row + width, 0.f);
    }
}

// Work units [u0, u1): unit u is columns [chunk * k.chunk_w, ...) of output row u / k.chunks
// over the batch (row r: image r / out_h). Returns whether all values written are finite.
QS_F32_TARGET bool run_units(const Impl& k, const float* x, const float* residual, float* y, int64_t u0, int64_t u1) {
  thread_local std::vector<float> buffer;
  const size_t need = static_cast<size_t>(k.c * k.kh * k.copy_w);
  if (buffer.size() < need) buffer.resize(need);
  float* buf = buffer.data();
  const TileArgs args{k.w.data(), k.offset.data(), k.taps, epilogue_args(k.bias.data(), k.n, k.act)};
  const float* xr[kMaxRows];
  const float* rr[kMaxRows];
  float* yr[kMaxRows];
  __mmask16 bad = 0;
  for (int64_t u = u0; u < u1; ++u) {
    const int64_t row = u / k.chunks, img = row / k.out_h, oh = row % k.out_h;
    const int64_t ow0 = (u % k.chunks) * k.chunk_w, ow1 = std::min(k.out_w, ow0 + k.chunk_w);
    fill_row(k, x, img, oh, ow0, ow1, buf);
    for (int64_t ow = ow0; ow < ow1; ow += kMaxRows) {
      const int rows = static_cast<int>(std::min<int64_t>(kMaxRows, ow1 - ow));
      for (int r = 0; r < rows; ++r) {
        const int64_t pixel = row * k.out_w + ow + r;
        xr[r] = buf + (ow - ow0 + r) * k.stride_w;
        rr[r] = residual ? residual + pixel * k.n : nullptr;
        yr[r] = y + pixel * k.n;
      }
      const float* const* res = residual ? rr : nullptr;
      // The tile's pixels lie stride_w apart in the row buffer: strides 1 and 2 (nearly every
      // image's first layer) and 4 (audio's) address them from one pointer.
      if (k.stride_w == 1) bad |= run_tiles<kMaxRows, kMaxBlocks>(args, rows, PixelStride<1>{xr[0]}, res, yr);
      else if (k.stride_w == 2) bad |= run_tiles<kMaxRows, kMaxBlocks>(args, rows, PixelStride<2>{xr[0]}, res, yr);
      else if (k.stride_w == 4) bad |= run_tiles<kMaxRows, kMaxBlocks>(args, rows, PixelStride<4>{xr[0]}, res, yr);
      else bad |= run_tiles<kMaxRows, kMaxBlocks>(args, rows, PixelPointers{xr}, res, yr);
    }
  }
  return bad == 0;
}

#endif  // QS_F32_AVX512

}  // namespace

StemConvF32::StemConvF32(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StemConvF32::~StemConvF32() = default;

bool StemConvF32::outruns_onednn(const ref::ConvParams& p) {
  if (p.group != 1 || p.in_channels > 4) return false;
  if (p.in_size.size() == 1) return true;
  return p.in_size.size() == 2 && p.kernel[0] * p.kernel[1] <= 49;
}

std::unique_ptr<StemConvF32> StemConvF32::Create(const ref::ConvParams& p, const float* w, const float* bias,
                                                 const ref::Epilogue& e, std::string* why_not) {
  auto decline = [&](const char* why) -> std::unique_ptr<StemConvF32> {
    if (why_not) *why_not = why;
    return nullptr;
  };
  if (!f32_avx512::cpu_ok()) return decline("the CPU has no AVX-512");
  const size_t rank = p.in_size.size();
  if (rank != 1 && rank != 2) return decline("not a 1-D or 2-D convolution");
  if (p.group != 1) return decline("grouped");
  if (p.in_channels > 4) return decline("more than 4 input channels");
  for (size_t i = 0; i < rank; ++i) {
    if (p.dilation[i] != 1) return decline("dilated");
    if (p.pad_begin[i] < 0 || p.pad_end[i] < 0) return decline("negative padding");
    if (p.out_size[i] <= 0) return decline("empty");
  }
  if (p.batch <= 0 || p.in_channels <= 0 || p.out_channels <= 0) return decline("empty");
  if (!f32_avx512::epilogue_supported(e)) return decline("Silu is not computed in registers");
  auto impl = std::make_unique<Impl>();
  Impl& k = *impl;
  const size_t col = rank - 1;  // a 1-D convolution is one row: height, filter height and stride 1
  k.batch = p.batch;
  k.c = p.in_channels;
  k.in_h = rank == 2 ? p.in_size[0] : 1;
  k.in_w = p.in_size[col];
  k.out_h = rank == 2 ? p.out_size[0] : 1;
  k.out_w = p.out_size[col];
  k.kh = rank == 2 ? p.kernel[0] : 1;
  k.kw = p.kernel[col];
  k.stride_h = rank == 2 ? p.stride[0] : 1;
  k.stride_w = p.stride[col];
  k.pad_t = rank == 2 ? p.pad_begin[0] : 0;
  k.pad_l = p.pad_begin[col];
  k.n = p.out_channels;
  k.blocks = (k.n + 15) / 16;
  k.taps = k.c * k.kh * k.kw;
  k.chunk_w = rank == 2 ? k.out_w : std::min<int64_t>(k.out_w, kChunkColumns);
  k.chunks = (k.out_w + k.chunk_w - 1) / k.chunk_w;
  k.copy_w = (k.chunk_w - 1) * k.stride_w + k.kw;
  k.act = e;
  for (int64_t ch = 0; ch < k.c; ++ch)
    for (int64_t i = 0; i < k.kh; ++i)
      for (int64_t j = 0; j < k.kw; ++j) k.offset.push_back(static_cast<int32_t>((ch * k.kh + i) * k.copy_w + j));
  const size_t padded = static_cast<size_t>(k.blocks * 16);
  k.w.assign(padded * static_cast<size_t>(k.taps), 0.f);
  k.bias.assign(padded, 0.f);  // a missing bias adds +0.f, as ref::float_epilogue's does
  for (int64_t oc = 0; oc < k.n; ++oc) {
    for (int64_t t = 0; t < k.taps; ++t)  // w[oc] is [c][kh][kw]: tap order
      k.w[static_cast<size_t>(((oc / 16) * k.taps + t) * 16 + oc % 16)] = w[oc * k.taps + t];
    if (bias) k.bias[static_cast<size_t>(oc)] = bias[oc];
  }
  return std::unique_ptr<StemConvF32>(new StemConvF32(std::move(impl)));
}

bool StemConvF32::run(const float* x, const float* residual, float* y) const {
#if QS_F32_AVX512
  const Impl& k = *impl_;
  const int64_t units = k.batch * k.out_h * k.chunks;
  // About 20k multiply-adds per thread before a second one is woken.
  const int64_t per_unit = k.chunk_w * k.blocks * (k.taps + 4);
  std::atomic<bool> finite{true};
  parallel_chunks(units, std::max<int64_t>(1, 20000 / per_unit), [&](int64_t lo, int64_t hi) {
    if (!run_units(k, x, residual, y, lo, hi)) finite.store(false, std::memory_order_relaxed);
  });
  return finite.load();
#else
  (void)x, (void)residual, (void)y;
  return false;
#endif
}

}  // namespace qs::kernels::fast
