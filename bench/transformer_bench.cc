// Transformer-shaped kernels against their baselines in the same run: Softmax over attention rows,
// LayerNormalization over token rows and Erf (GELU) (the fast kernels against the reference), on the shapes
// of a small ViT at batch 8 (4 heads of 64 tokens; 64 tokens of 64 features).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/fast/eltwise_fast.h"
#include "kernels/fast/gemm_onednn.h"
#include "kernels/reference/gemm.h"
#include "kernels/fast/normalization_fast.h"
#include "kernels/reference/elementwise.h"
#include "kernels/reference/normalization.h"

namespace {

using namespace qs::kernels;

std::vector<float> random_floats(int64_t n, float stddev = 1.f) {
  std::mt19937 gen(7);
  std::normal_distribution<float> dist(0.f, stddev);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& f : v) f = dist(gen);
  return v;
}

// args: rows, row length
template <bool kFast>
void BM_Softmax(benchmark::State& s) {
  const ref::SoftmaxParams p{s.range(0), s.range(1), 1};
  const auto x = random_floats(p.outer * p.n, 3.f);
  std::vector<float> y(x.size());
  for (auto _ : s) {
    if (kFast) fast::softmax_f32(p, x.data(), y.data());
    else ref::softmax_f32(p, x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
  s.SetItemsProcessed(s.iterations() * static_cast<int64_t>(x.size()));
}
void BM_SoftmaxReference(benchmark::State& s) { BM_Softmax<false>(s); }
void BM_SoftmaxFast(benchmark::State& s) { BM_Softmax<true>(s); }

// args: rows, row length
template <bool kFast>
void BM_LayerNorm(benchmark::State& s) {
  const ref::LayerNormParams p{s.range(0), s.range(1), 1e-6f};
  const auto x = random_floats(p.rows * p.cols, 2.f);
  const auto scale = random_floats(p.cols), bias = random_floats(p.cols);
  std::vector<float> y(x.size());
  for (auto _ : s) {
    if (kFast) fast::layer_norm_f32(p, x.data(), scale.data(), bias.data(), y.data(), nullptr, nullptr);
    else ref::layer_norm_f32(p, x.data(), scale.data(), bias.data(), y.data(), nullptr, nullptr);
    benchmark::DoNotOptimize(y.data());
  }
  s.SetItemsProcessed(s.iterations() * static_cast<int64_t>(x.size()));
}
void BM_LayerNormReference(benchmark::State& s) { BM_LayerNorm<false>(s); }
void BM_LayerNormFast(benchmark::State& s) { BM_LayerNorm<true>(s); }

// args: values
template <bool kFast>
void BM_Erf(benchmark::State& s) {
  const auto x = random_floats(s.range(0), 1.5f);
  std::vector<float> y(x.size());
  for (auto _ : s) {
    if (kFast) fast::erf_f32(x.data(), y.data(), s.range(0));
    else ref::unary<float>(ref::UnaryOp::kErf, x.data(), y.data(), s.range(0));
    benchmark::DoNotOptimize(y.data());
  }
  s.SetItemsProcessed(s.iterations() * static_cast<int64_t>(x.size()));
}
void BM_ErfReference(benchmark::State& s) { BM_Erf<false>(s); }
void BM_ErfFast(benchmark::State& s) { BM_Erf<true>(s); }
// A linear layer: [rows, k] x constant [k, n] (oneDNN; the reference is far slower and not run).
void BM_LinearOneDnn(benchmark::State& s) {
  const int64_t rows = s.range(0), k = s.range(1), n = s.range(2);
  const auto a = random_floats(rows * k), w = random_floats(k * n);
  std::vector<float> y(static_cast<size_t>(rows * n));
  const auto p = ref::matmul_params({rows, k}, {k, n}, nullptr);
  auto mm = fast::MatMulOneDnn::Create(p, w.data(), nullptr);
  for (auto _ : s) {
    mm->run(a.data(), w.data(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
  s.SetItemsProcessed(s.iterations() * rows * k * n);
}
BENCHMARK(BM_LinearOneDnn)->Args({64, 64, 64})->Args({64, 64, 256})->Args({64, 256, 64})->Args({512, 64, 64})->Args({512, 64, 256})->Args({512, 256, 64});

BENCHMARK(BM_ErfReference)->Arg(131072);
BENCHMARK(BM_ErfFast)->Arg(131072);

BENCHMARK(BM_LayerNormReference)->Args({512, 64})->Args({197, 768});
BENCHMARK(BM_LayerNormFast)->Args({512, 64})->Args({197, 768});
BENCHMARK(BM_SoftmaxReference)->Args({2048, 64})->Args({512, 256})->Args({8, 1000});
BENCHMARK(BM_SoftmaxFast)->Args({2048, 64})->Args({512, 256})->Args({8, 1000});

}  // namespace

BENCHMARK_MAIN();
