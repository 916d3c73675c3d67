#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include "kernels/fast/conv1x1_f32.h"

#include <algorithm>
#include <atomic>
#include <utility>
#include <vector>

#include "kernels/fast/eltwise_fast.h"  // parallel_chunks
#include "kernels/fast/f32_avx512.h"

namespace qs::kernels::fast {

// Output channels go in blocks of 16 (one vector): the packed weights are [block][k][16], zero
// beyond the tensor, and so is the bias.
struct Conv1x1F32::Impl {
  int64_t batch = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0, stride_h = 1, stride_w = 1;
  int64_t k = 0, n = 0;  // input and output channels
  int64_t blocks = 0;    // ceil(n / 16)
  int rows = 1;          // pixels per tile
  std::vector<int32_t> offset;  // 0, 1, ..., k - 1: tap i is input channel i
  std::vector<float> w, bias;
  ref::Epilogue act;
};

namespace {

[[maybe_unused]] constexpr int kMaxRows = 8;  // pixels per tile
constexpr int kMaxBlocks = 6;  // output blocks per pass over a tile: with 4 pixels, 24 accumulators

// Pixels per tile for a layer whose passes cover `blocks` blocks: enough independent
// accumulators (at least 8) to hide the multiply-add's latency, at most 24 in registers.
int rows_for(int64_t blocks) {
  const int64_t nb = std::min<int64_t>(blocks, kMaxBlocks);
  return nb <= 2 ? 8 : nb == 3 ? 6 : 4;
}

#if QS_F32_AVX512

using namespace f32_avx512;

// Pixels [p0, p1) of the output, every output channel, tile by tile. Returns whether all
// values written are finite.
QS_F32_TARGET bool run_pixels(const Conv1x1F32::Impl& k, const float* x, const float* residual, float* y, int64_t p0,
                              int64_t p1) {
  const TileArgs args{k.w.data(), k.offset.data(), k.k, epilogue_args(k.bias.data(), k.n, k.act)};
  // The pixel's position, stepped along instead of divided out per pixel.
  const int64_t plane = k.out_h * k.out_w;
  int64_t b = p0 / plane, oh = p0 % plane / k.out_w, ow = p0 % k.out_w;
  const float* xr[kMaxRows];
  const float* rr[kMaxRows];
  float* yr[kMaxRows];
  __mmask16 bad = 0;
  for (int64_t p = p0; p < p1; p += k.rows) {
    const int rows = static_cast<int>(std::min<int64_t>(k.rows, p1 - p));
    for (int r = 0; r < rows; ++r) {
      xr[r] = x + ((b * k.in_h + oh * k.stride_h) * k.in_w + ow * k.stride_w) * k.k;
      rr[r] = residual ? residual + (p + r) * k.n : nullptr;
      yr[r] = y + (p + r) * k.n;
      if (++ow == k.out_w) {
        ow = 0;
        if (++oh == k.out_h) oh = 0, ++b;
      }
    }
    bad |= run_tiles<kMaxRows, kMaxBlocks>(args, rows, PixelPointers{xr}, residual ? rr : nullptr, yr);
  }
  return bad == 0;
}

#endif  // QS_F32_AVX512

}  // namespace

Conv1x1F32::Conv1x1F32(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Conv1x1F32::~Conv1x1F32() = default;

bool Conv1x1F32::outruns_onednn(const ref::ConvParams& p) {
  return p.group == 1 && p.kernel == std::vector<int64_t>(p.kernel.size(), 1) && p.in_channels <= 24 &&
         p.out_channels >= 4 * p.in_channels;
}

std::unique_ptr<Conv1x1F32> Conv1x1F32::Create(const ref::ConvParams& p, const float* w, const float* bias,
                                               const ref::Epilogue& e, std::string* why_not) {
  auto decline = [&](const char* why) -> std::unique_ptr<Conv1x1F32> {
    if (why_not) *why_not = why;
    return nullptr;
  };
  if (!f32_avx512::cpu_ok()) return decline("the CPU has no AVX-512");
  if (p.in_size.size() != 2 || p.kernel != std::vector<int64_t>{1, 1}) return decline("not a 2-D 1x1 convolution");
  if (p.group != 1) return decline("grouped");
  for (size_t i = 0; i < 2; ++i)
    if (p.pad_begin[i] != 0 || p.pad_end[i] != 0) return decline("padded");
  if (p.batch <= 0 || p.in_channels <= 0 || p.out_channels <= 0) return decline("empty");
  if (!f32_avx512::epilogue_supported(e)) return decline("Silu is not computed in registers");
  auto impl = std::make_unique<Impl>();
  Impl& k = *impl;
  k.batch = p.batch;
  k.in_h = p.in_size[0];
  k.in_w = p.in_size[1];
  k.out_h = p.out_size[0];
  k.out_w = p.out_size[1];
  k.stride_h = p.stride[0];
  k.stride_w = p.stride[1];
  k.k = p.in_channels;
  k.n = p.out_channels;
  k.blocks = (k.n + 15) / 16;
  k.rows = rows_for(k.blocks);
  k.act = e;
  for (int64_t i = 0; i < k.k; ++i) k.offset.push_back(static_cast<int32_t>(i));
  const size_t padded = static_cast<size_t>(k.blocks * 16);
  k.w.assign(padded * static_cast<size_t>(k.k), 0.f);
  k.bias.assign(padded, 0.f);  // a missing bias adds +0.f, as ref::float_epilogue's does
  for (int64_t c = 0; c < k.n; ++c) {
    for (int64_t i = 0; i < k.k; ++i) k.w[static_cast<size_t>(((c / 16) * k.k + i) * 16 + c % 16)] = w[c * k.k + i];
    if (bias) k.bias[static_cast<size_t>(c)] = bias[c];
  }
  return std::unique_ptr<Conv1x1F32>(new Conv1x1F32(std::move(impl)));
}

bool Conv1x1F32::run(const float* x, const float* residual, float* y) const {
#if QS_F32_AVX512
  const Impl& k = *impl_;
  const int64_t pixels = k.batch * k.out_h * k.out_w;
  const int64_t tiles = (pixels + k.rows - 1) / k.rows;
  // About 20k multiply-adds per thread before a second one is woken.
  const int64_t per_tile = k.rows * k.blocks * (k.k + 4);
  std::atomic<bool> finite{true};
  parallel_chunks(tiles, std::max<int64_t>(1, 20000 / per_tile), [&](int64_t lo, int64_t hi) {
    if (!run_pixels(k, x, residual, y, lo * k.rows, std::min(pixels, hi * k.rows)))
      finite.store(false, std::memory_order_relaxed);
  });
  return finite.load();
#else
  (void)x, (void)residual, (void)y;
  return false;
#endif
}

}  // namespace qs::kernels::fast
