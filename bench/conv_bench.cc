// Reference vs oneDNN Conv on ResNet-like 3x3 convolutions (stride 1, pad 1, bias, constant
// weights), batch 1, and oneDNN's direct convolution vs its Winograd (ConvFastOptions::winograd,
// what FP32 blocks run on finite inputs); and oneDNN vs Conv1x1F32 on the pointwise layers of
// MobileNetV2 and ResNet-50 (channels-last, Clip(0, 6) epilogue, batch 1 and 8); oneDNN vs
// StemConvF32 on first layers; and ResNet-50's strided 1x1 layers through oneDNN's strided
// kernel vs gathered to unit stride. Prints the speed-ups for each shape at the end.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kernels/fast/conv1x1_f32.h"
#include "kernels/fast/conv_onednn.h"
#include "kernels/fast/stem_f32.h"
#include "core/shape.h"
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

// A pointwise layer: in and out channels, output size, batch (st.range(0..3)), channels-last
// in and out, bias, Clip(0, 6) as in MobileNetV2's blocks.
ConvParams pointwise_params(const std::vector<int64_t>& s) {
  return ConvParams{s[3], s[0], s[1], 1, {s[2], s[2]}, {s[2], s[2]}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}};
}
ConvParams pointwise(const benchmark::State& st) {
  return pointwise_params({st.range(0), st.range(1), st.range(2), st.range(3)});
}

qs::kernels::ref::Epilogue clip6() {
  qs::kernels::ref::Epilogue e;
  e.act = qs::kernels::ref::Epilogue::Act::kClip;
  e.alpha = 0.f;
  e.beta = 6.f;
  return e;
}

// x, w, b and y of any convolution p (one group, any spatial rank).
struct ConvBuffers {
  std::vector<float> x, w, b, y;
  explicit ConvBuffers(const ConvParams& p)
      : x(random_values(p.batch * p.in_channels * qs::numel(p.in_size), 1)),
        w(random_values(p.out_channels * p.in_channels * qs::numel(p.kernel), 2)),
        b(random_values(p.out_channels, 3)),
        y(static_cast<size_t>(p.batch * p.out_channels * qs::numel(p.out_size))) {}
};

void set_conv_flops(benchmark::State& st, const ConvParams& p) {
  const double flops =
      2.0 * p.batch * p.out_channels * p.in_channels * qs::numel(p.kernel) * qs::numel(p.out_size);
  st.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// p through oneDNN as an FP32 block with options o builds it.
void time_onednn(benchmark::State& st, const ConvParams& p, const qs::kernels::fast::ConvFastOptions& o) {
  ConvBuffers buf(p);
  std::string why;
  auto fast = qs::kernels::fast::ConvOneDnn::Conv(p, buf.w.data(), buf.b.data(), true, &why, o);
  if (!fast) {
    st.SkipWithError(("oneDNN declined: " + why).c_str());
    return;
  }
  st.SetLabel(fast->impl_info());
  for (auto _ : st) {
    fast->run(buf.x.data(), nullptr, nullptr, buf.y.data());
    benchmark::DoNotOptimize(buf.y.data());
  }
  set_conv_flops(st, p);
}

// p through one of the in-register kernels (Conv1x1F32, StemConvF32), epilogue e.
template <typename Kernel>
void time_registers(benchmark::State& st, const ConvParams& p, const qs::kernels::ref::Epilogue& e, const char* name) {
  ConvBuffers buf(p);
  std::string why;
  auto fast = Kernel::Create(p, buf.w.data(), buf.b.data(), e, &why);
  if (!fast) {
    st.SkipWithError((std::string(name) + " declined: " + why).c_str());
    return;
  }
  for (auto _ : st) {
    fast->run(buf.x.data(), nullptr, buf.y.data());
    benchmark::DoNotOptimize(buf.y.data());
  }
  set_conv_flops(st, p);
}

// What an FP32 block with a finite Clip runs on finite inputs without Conv1x1F32.
void BM_PointwiseOneDnn(benchmark::State& st) {
  qs::kernels::fast::ConvFastOptions o;
  o.src_channels_last = o.dst_channels_last = o.nan_free = true;
  o.epilogue = clip6();
  time_onednn(st, pointwise(st), o);
}

void BM_PointwiseRegisters(benchmark::State& st) {
  time_registers<qs::kernels::fast::Conv1x1F32>(st, pointwise(st), clip6(), "Conv1x1F32");
}

// {in, out, size, batch}: MobileNetV2's pointwise layers, then ResNet-50's (stride 1).
const std::vector<std::vector<int64_t>> kPointwiseShapes = {
    {32, 16, 112, 1},  {16, 96, 112, 1},  {96, 24, 56, 1},   {24, 144, 56, 1},  {144, 24, 56, 1},  {144, 32, 28, 1},
    {32, 192, 28, 1},  {192, 32, 28, 1},  {192, 64, 14, 1},  {64, 384, 14, 1},  {384, 64, 14, 1},  {384, 96, 14, 1},
    {96, 576, 14, 1},  {576, 96, 14, 1},  {576, 160, 7, 1},  {160, 960, 7, 1},  {960, 160, 7, 1},  {960, 320, 7, 1},
    {320, 1280, 7, 1}, {32, 16, 112, 8},  {16, 96, 112, 8},  {96, 24, 56, 8},   {24, 144, 56, 8},  {144, 24, 56, 8},
    {32, 192, 28, 8},  {192, 32, 28, 8},  {64, 384, 14, 8},  {96, 576, 14, 8},  {160, 960, 7, 8},  {64, 64, 56, 1},
    {64, 256, 56, 1},  {256, 64, 56, 1},  {128, 512, 28, 1}, {512, 128, 28, 1}, {256, 1024, 14, 1}, {1024, 256, 14, 1}};

void pointwise_shapes(benchmark::internal::Benchmark* b) {
  for (const auto& s : kPointwiseShapes) b->Args(s);
}

BENCHMARK(BM_PointwiseOneDnn)->Apply(pointwise_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PointwiseRegisters)->Apply(pointwise_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();

// A first layer: in and out channels, kernel, stride, input size, batch (st.range(0..5)); padding
// kernel / 2, bias, Relu; plain NCHW in, channels-last out, as the FP32 block runs it.
ConvParams stem_params(const std::vector<int64_t>& s) {
  const int64_t k = s[2], stride = s[3], pad = k / 2, out = (s[4] + 2 * pad - k) / stride + 1;
  return ConvParams{s[5], s[0], s[1], 1, {s[4], s[4]}, {out, out}, {k, k}, {stride, stride}, {1, 1}, {pad, pad}, {pad, pad}};
}

qs::kernels::ref::Epilogue relu() {
  qs::kernels::ref::Epilogue e;
  e.act = qs::kernels::ref::Epilogue::Act::kRelu;
  return e;
}

ConvParams stem(const benchmark::State& st) {
  return stem_params({st.range(0), st.range(1), st.range(2), st.range(3), st.range(4), st.range(5)});
}

// What an FP32 block runs for a first layer without StemConvF32.
void BM_StemOneDnn(benchmark::State& st) {
  qs::kernels::fast::ConvFastOptions o;
  o.dst_channels_last = true;
  o.epilogue = relu();
  time_onednn(st, stem(st), o);
}

void BM_StemRegisters(benchmark::State& st) {
  time_registers<qs::kernels::fast::StemConvF32>(st, stem(st), relu(), "StemConvF32");
}

// {in, out, kernel, stride, size, batch}: ResNet-50's and MobileNetV2's first layers, a
// CIFAR ResNet's (stride 1), and one of stride 4 (a ViT's patches).
const std::vector<std::vector<int64_t>> kStemShapes = {
    {3, 64, 7, 2, 224, 1}, {3, 32, 3, 2, 224, 1}, {3, 64, 7, 2, 224, 8}, {3, 32, 3, 2, 224, 8}, {3, 16, 3, 1, 32, 8},
    {3, 64, 4, 4, 32, 8}};

void stem_shapes(benchmark::internal::Benchmark* b) {
  for (const auto& s : kStemShapes) b->Args(s);
}

BENCHMARK(BM_StemOneDnn)->Apply(stem_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_StemRegisters)->Apply(stem_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();

// A 1-D first layer (raw audio): in and out channels, kernel, stride, length, batch; padding
// (kernel - stride) / 2, bias, Relu.
ConvParams stem1d(const benchmark::State& st) {
  const int64_t k = st.range(2), stride = st.range(3), pad = std::max<int64_t>(0, (k - stride) / 2);
  const int64_t out = (st.range(4) + 2 * pad - k) / stride + 1;
  return ConvParams{st.range(5), st.range(0), st.range(1), 1, {st.range(4)}, {out}, {k}, {stride}, {1}, {pad}, {pad}};
}

// oneDNN as an FP32 block ran a 1-D first layer before StemConvF32 took them: y plain, which
// lets it pick im2col + GEMM for long filters (the Relu then a pass of its own, not timed here).
void BM_Stem1dOneDnn(benchmark::State& st) { time_onednn(st, stem1d(st), {}); }

void BM_Stem1dRegisters(benchmark::State& st) {
  time_registers<qs::kernels::fast::StemConvF32>(st, stem1d(st), relu(), "StemConvF32");
}

// {in, out, kernel, stride, length, batch}: an M5 network's first layer at batch 1 and 8, a
// wav2vec 2.0-style feature encoder's, a SincNet-style bank of long filters, a stereo input, and
// a short filter.
const std::vector<std::vector<int64_t>> kStem1dShapes = {{1, 128, 80, 4, 16000, 1}, {1, 128, 80, 4, 16000, 8},
                                                         {1, 512, 10, 5, 16000, 1}, {1, 40, 251, 1, 16000, 1},
                                                         {2, 64, 11, 2, 8000, 1},   {1, 32, 3, 1, 16000, 1}};

void stem1d_shapes(benchmark::internal::Benchmark* b) {
  for (const auto& s : kStem1dShapes) b->Args(s);
}

BENCHMARK(BM_Stem1dOneDnn)->Apply(stem1d_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Stem1dRegisters)->Apply(stem1d_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();

// A strided pointwise layer: in and out channels, input size, batch (st.range(0..3)), stride 2,
// no padding, channels-last in and out, bias, no epilogue: ResNet-50's downsampling layers.
ConvParams strided_pointwise(const std::vector<int64_t>& s) {
  const int64_t out = (s[2] - 1) / 2 + 1;
  return ConvParams{s[3], s[0], s[1], 1, {s[2], s[2]}, {out, out}, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}};
}

void time_strided(benchmark::State& st, bool gather) {
  qs::kernels::fast::ConvFastOptions o;
  o.src_channels_last = o.dst_channels_last = o.nan_free = true;
  o.gather_strided = gather;
  time_onednn(st, strided_pointwise({st.range(0), st.range(1), st.range(2), st.range(3)}), o);
}

// oneDNN's strided kernel, and the pixels gathered to unit stride first (what FP32 blocks run
// where the weights are large enough: conv_onednn.cc, gathers_strided_input).
void BM_Strided1x1OneDnn(benchmark::State& st) { time_strided(st, false); }
void BM_Strided1x1Gathered(benchmark::State& st) { time_strided(st, true); }

const std::vector<std::vector<int64_t>> kStridedShapes = {
    {256, 128, 56, 1},  {256, 512, 56, 1}, {512, 256, 28, 1},  {512, 1024, 28, 1},
    {1024, 512, 14, 1}, {1024, 2048, 14, 1}, {256, 512, 56, 8}, {512, 1024, 28, 8}, {1024, 2048, 14, 8}};

void strided_shapes(benchmark::internal::Benchmark* b) {
  for (const auto& s : kStridedShapes) b->Args(s);
}

BENCHMARK(BM_Strided1x1OneDnn)->Apply(strided_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Strided1x1Gathered)->Apply(strided_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();

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
  for (const auto& s : kPointwiseShapes) {
    const std::string args = std::to_string(s[0]) + "/" + std::to_string(s[1]) + "/" + std::to_string(s[2]) + "/" +
                             std::to_string(s[3]);
    const std::string suffix = "/" + args + "/real_time";
    auto d = reporter.times.find("BM_PointwiseOneDnn" + suffix), r = reporter.times.find("BM_PointwiseRegisters" + suffix);
    if (d != reporter.times.end() && r != reporter.times.end() && r->second > 0)
      std::printf("pointwise in/out/size/batch %s: oneDNN %.3f ms, Conv1x1F32 %.3f ms, Conv1x1F32 is %.2fx faster%s\n",
                  args.c_str(), d->second, r->second, d->second / r->second,
                  qs::kernels::fast::Conv1x1F32::outruns_onednn(pointwise_params(s)) ? " (taken)" : "");
  }
  // One line per shape: the baseline's and the other way's times (st.range() values joined by '/').
  auto report_pairs = [&](const std::vector<std::vector<int64_t>>& shapes, const char* what, const char* base_bm,
                          const char* base_name, const char* other_bm, const char* other_name) {
    for (const auto& s : shapes) {
      std::string args;
      for (int64_t v : s) {
        if (!args.empty()) args += '/';
        args += std::to_string(v);
      }
      const std::string suffix = "/" + args + "/real_time";
      auto d = reporter.times.find(base_bm + suffix), r = reporter.times.find(other_bm + suffix);
      if (d != reporter.times.end() && r != reporter.times.end() && r->second > 0)
        std::printf("%s %s: %s %.3f ms, %s %.3f ms, %s is %.2fx faster\n", what, args.c_str(), base_name, d->second,
                    other_name, r->second, other_name, d->second / r->second);
    }
  };
  report_pairs(kStemShapes, "first layer in/out/kernel/stride/size/batch", "BM_StemOneDnn", "oneDNN", "BM_StemRegisters",
               "StemConvF32");
  report_pairs(kStem1dShapes, "1-D first layer in/out/kernel/stride/length/batch", "BM_Stem1dOneDnn", "oneDNN",
               "BM_Stem1dRegisters", "StemConvF32");
  report_pairs(kStridedShapes, "strided 1x1 in/out/size/batch", "BM_Strided1x1OneDnn", "oneDNN strided",
               "BM_Strided1x1Gathered", "gathered");
  benchmark::Shutdown();
  return 0;
}
