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
// row buffer of an output row holds, for each (channel, filter row), the `copy_w` input
// columns the windows touch from column -pad_l, zero outside the image.
struct StemConvF32::Impl {
  int64_t batch = 0, c = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t kh = 0, kw = 0, stride_h = 1, stride_w = 1, pad_t = 0, pad_l = 0;
  int64_t n = 0, blocks = 0, taps = 0, copy_w = 0;
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

#if QS_F32_AVX512

using namespace f32_avx512;
using Impl = StemConvF32::Impl;

// The row buffer of output row oh of image img.
void fill_row(const Impl& k, const float* x, int64_t img, int64_t oh, float* buf) {
  for (int64_t ch = 0; ch < k.c; ++ch)
    for (int64_t i = 0; i < k.kh; ++i) {
      float* row = buf + (ch * k.kh + i) * k.copy_w;
      const int64_t ih = oh * k.stride_h + i - k.pad_t;
      if (ih < 0 || ih >= k.in_h) {
        std::fill(row, row + k.copy_w, 0.f);
        continue;
      }
      const float* src = x + ((img * k.c + ch) * k.in_h + ih) * k.in_w;
      const int64_t lead = std::min(k.pad_l, k.copy_w);  // columns left of the image
      const int64_t inside = std::clamp<int64_t>(k.copy_w - k.pad_l, 0, k.in_w);
      std::fill(row, row + lead, 0.f);
      std::memcpy(row + lead, src, static_cast<size_t>(inside) * sizeof(float));
      std::fill(row + lead + inside, row + k.copy_w, 0.f);
    }
}

// Output rows [r0, r1) over the batch (row r: image r / out_h). Returns whether all values
// written are finite.
QS_F32_TARGET bool run_rows(const Impl& k, const float* x, const float* residual, float* y, int64_t r0, int64_t r1) {
  thread_local std::vector<float> buffer;
  const size_t need = static_cast<size_t>(k.c * k.kh * k.copy_w);
  if (buffer.size() < need) buffer.resize(need);
  float* buf = buffer.data();
  const TileArgs args{k.w.data(), k.offset.data(), k.taps, epilogue_args(k.bias.data(), k.n, k.act)};
  const float* xr[kMaxRows];
  const float* rr[kMaxRows];
  float* yr[kMaxRows];
  __mmask16 bad = 0;
  for (int64_t row = r0; row < r1; ++row) {
    const int64_t img = row / k.out_h, oh = row % k.out_h;
    fill_row(k, x, img, oh, buf);
    for (int64_t ow = 0; ow < k.out_w; ow += kMaxRows) {
      const int rows = static_cast<int>(std::min<int64_t>(kMaxRows, k.out_w - ow));
      for (int r = 0; r < rows; ++r) {
        const int64_t pixel = row * k.out_w + ow + r;
        xr[r] = buf + (ow + r) * k.stride_w;
        rr[r] = residual ? residual + pixel * k.n : nullptr;
        yr[r] = y + pixel * k.n;
      }
      const float* const* res = residual ? rr : nullptr;
      // The tile's pixels lie stride_w apart in the row buffer: strides 1 and 2 (nearly every
      // first layer) address them from one pointer.
      if (k.stride_w == 1) bad |= run_tiles<kMaxRows, kMaxBlocks>(args, rows, PixelStride<1>{xr[0]}, res, yr);
      else if (k.stride_w == 2) bad |= run_tiles<kMaxRows, kMaxBlocks>(args, rows, PixelStride<2>{xr[0]}, res, yr);
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
  return p.in_size.size() == 2 && p.group == 1 && p.in_channels <= 4 && p.kernel[0] * p.kernel[1] <= 49;
}

std::unique_ptr<StemConvF32> StemConvF32::Create(const ref::ConvParams& p, const float* w, const float* bias,
                                                 const ref::Epilogue& e, std::string* why_not) {
  auto decline = [&](const char* why) -> std::unique_ptr<StemConvF32> {
    if (why_not) *why_not = why;
    return nullptr;
  };
  if (!f32_avx512::cpu_ok()) return decline("the CPU has no AVX-512");
  if (p.in_size.size() != 2) return decline("not a 2-D convolution");
  if (p.group != 1) return decline("grouped");
  if (p.in_channels > 4) return decline("more than 4 input channels");
  if (p.dilation != std::vector<int64_t>{1, 1}) return decline("dilated");
  for (size_t i = 0; i < 2; ++i)
    if (p.pad_begin[i] < 0 || p.pad_end[i] < 0) return decline("negative padding");
  if (p.batch <= 0 || p.in_channels <= 0 || p.out_channels <= 0 || p.out_size[0] <= 0 || p.out_size[1] <= 0)
    return decline("empty");
  if (!f32_avx512::epilogue_supported(e)) return decline("Silu is not computed in registers");
  auto impl = std::make_unique<Impl>();
  Impl& k = *impl;
  k.batch = p.batch;
  k.c = p.in_channels;
  k.in_h = p.in_size[0];
  k.in_w = p.in_size[1];
  k.out_h = p.out_size[0];
  k.out_w = p.out_size[1];
  k.kh = p.kernel[0];
  k.kw = p.kernel[1];
  k.stride_h = p.stride[0];
  k.stride_w = p.stride[1];
  k.pad_t = p.pad_begin[0];
  k.pad_l = p.pad_begin[1];
  k.n = p.out_channels;
  k.blocks = (k.n + 15) / 16;
  k.taps = k.c * k.kh * k.kw;
  k.copy_w = (k.out_w - 1) * k.stride_w + k.kw;
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
  const int64_t rows = k.batch * k.out_h;
  // About 20k multiply-adds per thread before a second one is woken.
  const int64_t per_row = k.out_w * k.blocks * (k.taps + 4);
  std::atomic<bool> finite{true};
  parallel_chunks(rows, std::max<int64_t>(1, 20000 / per_row), [&](int64_t lo, int64_t hi) {
    if (!run_rows(k, x, residual, y, lo, hi)) finite.store(false, std::memory_order_relaxed);
  });
  return finite.load();
#else
  (void)x, (void)residual, (void)y;
  return false;
#endif
}

}  // namespace qs::kernels::fast
