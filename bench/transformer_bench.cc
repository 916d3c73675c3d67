// Transformer-shaped kernels against their baselines in the same run, on the shapes of a small
// ViT (4 heads of 64 tokens, 64 features, an MLP of 256) at batch 1 and 8:
//   - Softmax over attention rows, LayerNormalization over token rows and Erf (GELU): the fast
//     kernels against the reference;
//   - oneDNN's linear layers ([rows, k] x constant [k, n]) on the threads OMP_NUM_THREADS gives
//     against the same product on one thread: where a second thread pays (runtime/plan.cc's
//     threshold for matrix products).
// At the end it prints each pair's ratio.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "kernels/fast/eltwise_fast.h"
#include "kernels/fast/gemm_onednn.h"
#include "kernels/fast/normalization_fast.h"
#include "kernels/reference/elementwise.h"
#include "kernels/reference/gemm.h"
#include "kernels/reference/normalization.h"
#include "ratio_reporter.h"

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

// args: rows, k, n. kOneThread: the whole benchmark (oneDNN's work split included, which it fixes
// when the primitive is made) on one thread.
template <bool kOneThread>
void BM_Linear(benchmark::State& s) {
  std::optional<fast::SingleThreaded> one;
  if (kOneThread) one.emplace();
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

BENCHMARK(BM_Softmax<false>)->Name("BM_SoftmaxReference")->Args({2048, 64})->Args({512, 256})->Args({8, 1000});
BENCHMARK(BM_Softmax<true>)->Name("BM_SoftmaxFast")->Args({2048, 64})->Args({512, 256})->Args({8, 1000});
BENCHMARK(BM_LayerNorm<false>)->Name("BM_LayerNormReference")->Args({512, 64})->Args({197, 768});
BENCHMARK(BM_LayerNorm<true>)->Name("BM_LayerNormFast")->Args({512, 64})->Args({197, 768});
BENCHMARK(BM_Erf<false>)->Name("BM_ErfReference")->Arg(131072);
BENCHMARK(BM_Erf<true>)->Name("BM_ErfFast")->Arg(131072);
#define QS_LINEAR_SHAPES ->Args({64, 64, 64})->Args({64, 64, 256})->Args({512, 64, 64})->Args({512, 64, 256})
BENCHMARK(BM_Linear<true>)->Name("BM_LinearOneThread") QS_LINEAR_SHAPES;
BENCHMARK(BM_Linear<false>)->Name("BM_LinearThreads") QS_LINEAR_SHAPES;


}  // namespace

int main(int argc, char** argv) {
  qs::bench::RatioReporter reporter;
  if (!qs::bench::run_benchmarks(&argc, argv, reporter)) return 1;
  struct Pair {
    const char* what;
    const char* base;
    const char* other;
    const char* args;
  };
  const Pair pairs[] = {
      {"Softmax 2048 rows of 64", "BM_SoftmaxReference", "BM_SoftmaxFast", "2048/64"},
      {"Softmax 512 rows of 256", "BM_SoftmaxReference", "BM_SoftmaxFast", "512/256"},
      {"Softmax 8 rows of 1000", "BM_SoftmaxReference", "BM_SoftmaxFast", "8/1000"},
      {"LayerNormalization 512 rows of 64", "BM_LayerNormReference", "BM_LayerNormFast", "512/64"},
      {"LayerNormalization 197 rows of 768", "BM_LayerNormReference", "BM_LayerNormFast", "197/768"},
      {"Erf 131072 values", "BM_ErfReference", "BM_ErfFast", "131072"},
      {"linear 64x64x64", "BM_LinearOneThread", "BM_LinearThreads", "64/64/64"},
      {"linear 64x64x256", "BM_LinearOneThread", "BM_LinearThreads", "64/64/256"},
      {"linear 512x64x64", "BM_LinearOneThread", "BM_LinearThreads", "512/64/64"},
      {"linear 512x64x256", "BM_LinearOneThread", "BM_LinearThreads", "512/64/256"},
  };
  for (const Pair& p : pairs) {
    auto b = reporter.times.find(std::string(p.base) + "/" + p.args), o = reporter.times.find(std::string(p.other) + "/" + p.args);
    if (b == reporter.times.end() || o == reporter.times.end() || o->second <= 0) continue;
    std::printf("%s: %s %.1f us, %s %.1f us, ratio %.2f\n", p.what, p.base + 3, b->second / 1e3, p.other + 3,
                o->second / 1e3, b->second / o->second);
  }
  benchmark::Shutdown();
  return 0;
}
