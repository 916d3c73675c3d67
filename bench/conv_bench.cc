// Reference vs oneDNN Conv on ResNet-like 3x3 convolutions (stride 1, pad 1, bias, constant
// weights), batch 1, and oneDNN's direct convolution vs its Winograd (ConvFastOptions::winograd,
// what FP32 blocks run on finite inputs). Prints the speed-ups for each shape at the end.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kernels/fast/conv_onednn.h"
#include "kernels/reference/conv.h"
#include "ratio_reporter.h"

namespace {

using qs::kernels::ref::ConvParams;

ConvParams resnet_3x3(int64_t channels, int64_t hw) {
  return ConvParams{1, channels, channels, 1, {hw, hw}, {hw, hw}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}};
}

std::vector<float> random_values(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(gen);
  return v;
}

struct Buffers {
  std::vector<float> x, w, b, y;
  explicit Buffers(const ConvParams& p)
      : x(random_values(p.in_channels * p.in_size[0] * p.in_size[1], 1)),
        w(random_values(p.out_channels * p.in_channels * 9, 2)),
        b(random_values(p.out_channels, 3)),
        y(static_cast<size_t>(p.out_channels * p.out_size[0] * p.out_size[1])) {}
};

void set_flops(benchmark::State& st, const ConvParams& p) {
  const double flops = 2.0 * p.out_channels * p.in_channels * 9 * p.out_size[0] * p.out_size[1];
  st.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ConvReference(benchmark::State& st) {
  const ConvParams p = resnet_3x3(st.range(0), st.range(1));
  Buffers buf(p);
  for (auto _ : st) {
    qs::kernels::ref::conv_f32(p, buf.x.data(), buf.w.data(), buf.b.data(), buf.y.data());
    benchmark::DoNotOptimize(buf.y.data());
  }
  set_flops(st, p);
}

void BM_ConvOneDnn(benchmark::State& st) {
  const ConvParams p = resnet_3x3(st.range(0), st.range(1));
  Buffers buf(p);
  std::string why;
  auto fast = qs::kernels::fast::ConvOneDnn::Conv(p, buf.w.data(), buf.b.data(), true, &why);
  if (!fast) {
    st.SkipWithError(("oneDNN declined: " + why).c_str());
    return;
  }
  st.SetLabel(fast->impl_info());
  for (auto _ : st) {
    fast->run(buf.x.data(), nullptr, nullptr, buf.y.data());
    benchmark::DoNotOptimize(buf.y.data());
  }
  set_flops(st, p);
}

void BM_ConvWinograd(benchmark::State& st) {
  const ConvParams p = resnet_3x3(st.range(0), st.range(1));
  Buffers buf(p);
  qs::kernels::fast::ConvFastOptions o;
  o.nan_free = o.winograd = true;
  std::string why;
  auto fast = qs::kernels::fast::ConvOneDnn::Conv(p, buf.w.data(), buf.b.data(), true, &why, o);
  if (!fast || !fast->winograd()) {
    st.SkipWithError(fast ? ("no Winograd here: " + fast->impl_info()).c_str() : ("oneDNN declined: " + why).c_str());
    return;
  }
  st.SetLabel(fast->impl_info());
  for (auto _ : st) {
    fast->run(buf.x.data(), nullptr, nullptr, buf.y.data());
    benchmark::DoNotOptimize(buf.y.data());
  }
  set_flops(st, p);  // the direct convolution's multiply-adds, for comparison
}

// ResNet-18/34 stage 2 and stage 3 shapes.
BENCHMARK(BM_ConvReference)->Args({64, 56})->Args({128, 28})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ConvOneDnn)->Args({64, 56})->Args({128, 28})->Args({256, 14})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ConvWinograd)->Args({64, 56})->Args({128, 28})->Args({256, 14})->Unit(benchmark::kMillisecond)->UseRealTime();


}  // namespace

int main(int argc, char** argv) {
  qs::bench::RatioReporter reporter;
  if (!qs::bench::run_benchmarks(&argc, argv, reporter)) return 1;
  for (const char* args : {"64/56", "128/28"}) {
    const std::string suffix = std::string("/") + args + "/real_time";
    auto r = reporter.times.find("BM_ConvReference" + suffix), f = reporter.times.find("BM_ConvOneDnn" + suffix);
    if (r != reporter.times.end() && f != reporter.times.end() && f->second > 0)
      std::printf("conv 3x3 channels/size %s: reference %.2f ms, oneDNN %.3f ms, oneDNN is %.1fx faster\n", args,
                  r->second, f->second, r->second / f->second);
  }
  for (const char* args : {"64/56", "128/28", "256/14"}) {
    const std::string suffix = std::string("/") + args + "/real_time";
    auto d = reporter.times.find("BM_ConvOneDnn" + suffix), w = reporter.times.find("BM_ConvWinograd" + suffix);
    if (d != reporter.times.end() && w != reporter.times.end() && w->second > 0)
      std::printf("conv 3x3 channels/size %s: oneDNN direct %.3f ms, Winograd %.3f ms, Winograd is %.2fx faster\n",
                  args, d->second, w->second, d->second / w->second);
  }
  benchmark::Shutdown();
  return 0;
}
