// Channels-last kernels against their baselines in the same run: the NCHW <-> NHWC conversions
// against a plain element loop, the NHWC pools against the reference and the NCHW fast pools on
// the same shapes (ResNet's stem max pool, a 2x2/2 pool, the global average pool before the
// classifier).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/fast/layout.h"
#include "kernels/fast/pool_fast.h"
#include "kernels/reference/pool.h"

namespace {

using namespace qs::kernels;

std::vector<float> random_floats(int64_t n) {
  std::mt19937 gen(7);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& f : v) f = dist(gen);
  return v;
}

// ---- layout: args n, c, hw --------------------------------------------------------------------

void BM_NchwToNhwcNaive(benchmark::State& s) {
  const int64_t n = s.range(0), c = s.range(1), hw = s.range(2);
  const auto x = random_floats(n * c * hw);
  std::vector<float> y(x.size());
  for (auto _ : s) {
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t p = 0; p < hw; ++p) y[(b * hw + p) * c + ch] = x[(b * c + ch) * hw + p];
    benchmark::DoNotOptimize(y.data());
  }
  s.SetBytesProcessed(s.iterations() * 2 * static_cast<int64_t>(x.size() * sizeof(float)));
}

void BM_NchwToNhwcFast(benchmark::State& s) {
  const int64_t n = s.range(0), c = s.range(1), hw = s.range(2);
  const auto x = random_floats(n * c * hw);
  std::vector<float> y(x.size());
  for (auto _ : s) {
    fast::nchw_to_nhwc_f32(n, c, hw, x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
  s.SetBytesProcessed(s.iterations() * 2 * static_cast<int64_t>(x.size() * sizeof(float)));
}

void BM_NhwcToNchwFast(benchmark::State& s) {
  const int64_t n = s.range(0), c = s.range(1), hw = s.range(2);
  const auto x = random_floats(n * c * hw);
  std::vector<float> y(x.size());
  for (auto _ : s) {
    fast::nhwc_to_nchw_f32(n, c, hw, x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
  s.SetBytesProcessed(s.iterations() * 2 * static_cast<int64_t>(x.size() * sizeof(float)));
}

#define LAYOUT_ARGS ->Args({1, 3, 224 * 224})->Args({1, 64, 112 * 112})->Args({1, 256, 56 * 56})->Args({1, 2048, 49})
BENCHMARK(BM_NchwToNhwcNaive) LAYOUT_ARGS;
BENCHMARK(BM_NchwToNhwcFast) LAYOUT_ARGS;
BENCHMARK(BM_NhwcToNchwFast) LAYOUT_ARGS;

// ---- pools: arg 0 = ResNet stem 3x3/2 pad 1 on 64 x 112 x 112, 1 = 2x2/2 on 256 x 56 x 56 -----------

ref::PoolParams pool_params(int64_t which) {
  ref::PoolParams p;
  const int64_t c = which == 0 ? 64 : 256, in = which == 0 ? 112 : 56, k = which == 0 ? 3 : 2, pad = which == 0 ? 1 : 0;
  p.channels = c;
  for (int slot : {1, 2}) {
    p.in[slot] = in;
    p.kernel[slot] = k;
    p.stride[slot] = 2;
    p.pad_begin[slot] = p.pad_end[slot] = pad;
    p.out[slot] = ref::pool_output_size(in, k, 2, 1, pad, pad, false);
  }
  return p;
}

template <int kImpl>  // 0: reference NCHW, 1: fast NCHW, 2: fast NHWC
void BM_MaxPool(benchmark::State& s) {
  const auto p = pool_params(s.range(0));
  const auto x = random_floats(p.channels * p.in[1] * p.in[2]);
  std::vector<float> y(static_cast<size_t>(p.channels * p.out[1] * p.out[2]));
  for (auto _ : s) {
    if (kImpl == 0) ref::max_pool_f32(p, x.data(), y.data(), nullptr, false);
    if (kImpl == 1) fast::max_pool_f32(p, x.data(), y.data());
    if (kImpl == 2) fast::max_pool_nhwc_f32(p, x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
}

template <int kImpl>
void BM_AvgPool(benchmark::State& s) {
  const auto p = pool_params(s.range(0));
  const auto x = random_floats(p.channels * p.in[1] * p.in[2]);
  std::vector<float> y(static_cast<size_t>(p.channels * p.out[1] * p.out[2]));
  for (auto _ : s) {
    if (kImpl == 0) ref::avg_pool_f32(p, x.data(), y.data());
    if (kImpl == 1) fast::avg_pool_f32(p, x.data(), y.data());
    if (kImpl == 2) fast::avg_pool_nhwc_f32(p, x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
}

BENCHMARK(BM_MaxPool<0>)->Name("BM_MaxPoolRefNchw")->Arg(0)->Arg(1);
BENCHMARK(BM_MaxPool<1>)->Name("BM_MaxPoolFastNchw")->Arg(0)->Arg(1);
BENCHMARK(BM_MaxPool<2>)->Name("BM_MaxPoolFastNhwc")->Arg(0)->Arg(1);
BENCHMARK(BM_AvgPool<0>)->Name("BM_AvgPoolRefNchw")->Arg(0)->Arg(1);
BENCHMARK(BM_AvgPool<1>)->Name("BM_AvgPoolFastNchw")->Arg(0)->Arg(1);
BENCHMARK(BM_AvgPool<2>)->Name("BM_AvgPoolFastNhwc")->Arg(0)->Arg(1);

// ---- global average pool: args c, hw ---------------------------------------------------------------

template <int kImpl>
void BM_GlobalAvgPool(benchmark::State& s) {
  const int64_t c = s.range(0), hw = s.range(1);
  const auto x = random_floats(c * hw);
  std::vector<float> y(static_cast<size_t>(c));
  for (auto _ : s) {
    if (kImpl == 0) ref::global_avg_pool_f32(c, hw, x.data(), y.data());
    if (kImpl == 1) fast::global_avg_pool_f32(c, hw, x.data(), y.data());
    if (kImpl == 2) fast::global_avg_pool_nhwc_f32(1, hw, c, x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
}

BENCHMARK(BM_GlobalAvgPool<0>)->Name("BM_GlobalAvgPoolRefNchw")->Args({2048, 49})->Args({512, 196});
BENCHMARK(BM_GlobalAvgPool<1>)->Name("BM_GlobalAvgPoolFastNchw")->Args({2048, 49})->Args({512, 196});
BENCHMARK(BM_GlobalAvgPool<2>)->Name("BM_GlobalAvgPoolFastNhwc")->Args({2048, 49})->Args({512, 196});

}  // namespace

BENCHMARK_MAIN();
