// FP32 oneDNN convolution against the INT8 path that replaces it in an INT8 layer: quantize
// the float input, s8 x s8 -> s32 oneDNN convolution, dequantize epilogue (+ bias) back to
// float. ResNet-like 3x3 and 1x1 convolutions, batch 1, constant weights. Run at one thread:
//   OMP_NUM_THREADS=1 build-int8/bench/int8_bench
// Prints INT8's speed-up over FP32 for each shape at the end, and the pieces of the INT8 time.
// Also: oneDNN's int8 -> int8 pointwise and depthwise layers against the in-register kernels,
// and the ways of quantizing activations (quantize_fast.h) against each other.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kernels/fast/conv1d_s8.h"
#include "kernels/fast/conv1x1_s8.h"
#include "kernels/fast/conv_int8_onednn.h"
#include "kernels/fast/depthwise_s8.h"
#include "kernels/fast/quantize_fast.h"
#include "kernels/fast/stem_s8.h"
#include "kernels/fast/conv_onednn.h"
#include "kernels/reference/conv.h"
#include "kernels/reference/int8.h"
#include "ratio_reporter.h"

namespace {

namespace ref = qs::kernels::ref;
namespace fast = qs::kernels::fast;

// range(0): channels, range(1): spatial size, range(2): kernel size (3 or 1).
ref::ConvParams resnet_conv(const benchmark::State& st) {
  const int64_t c = st.range(0), hw = st.range(1), k = st.range(2), pad = k / 2;
  return ref::ConvParams{1, c, c, 1, {hw, hw}, {hw, hw}, {k, k}, {1, 1}, {1, 1}, {pad, pad}, {pad, pad}};
}

std::vector<float> random_values(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(gen);
  return v;
}

struct Layer {
  ref::ConvParams p;
  int64_t in_n, out_n, plane;
  std::vector<float> x, w, b, y, w_scales;
  std::vector<int8_t> xq, wq;
  std::vector<int32_t> acc;
  float x_scale = 1.f / 127;  // x is in [-1, 1]
  explicit Layer(const ref::ConvParams& cp)
      : p(cp),
        in_n(p.in_channels * p.in_size[0] * p.in_size[1]),
        out_n(p.out_channels * p.out_size[0] * p.out_size[1]),
        plane(p.out_size[0] * p.out_size[1]),
        x(random_values(in_n, 1)),
        w(random_values(p.out_channels * p.in_channels * p.kernel[0] * p.kernel[1], 2)),
        b(random_values(p.out_channels, 3)),
        y(static_cast<size_t>(out_n)),
        w_scales(static_cast<size_t>(p.out_channels)),
        xq(x.size()),
        wq(w.size()),
        acc(y.size()) {
    ref::quantize_weights_s8(w.data(), {p.out_channels, p.in_channels, p.kernel[0], p.kernel[1]}, 0, wq.data(),
                             w_scales.data());
  }
};

void set_flops(benchmark::State& st, const ref::ConvParams& p) {
  const double flops = 2.0 * p.out_channels * p.in_channels * p.kernel[0] * p.kernel[1] * p.out_size[0] * p.out_size[1];
  st.counters["GOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_F32(benchmark::State& st) {
  Layer l(resnet_conv(st));
  std::string why;
  auto conv = fast::ConvOneDnn::Conv(l.p, l.w.data(), l.b.data(), true, &why);
  if (!conv) return st.SkipWithError(("oneDNN declined: " + why).c_str());
  st.SetLabel(conv->impl_info());
  for (auto _ : st) {
    conv->run(l.x.data(), nullptr, nullptr, l.y.data());
    benchmark::DoNotOptimize(l.y.data());
  }
  set_flops(st, l.p);
}

// The whole INT8 layer: float in, float out.
void BM_Int8(benchmark::State& st) {
  Layer l(resnet_conv(st));
  std::string why;
  auto conv = fast::ConvS8OneDnn::Conv(l.p, l.wq.data(), &why);
  if (!conv) return st.SkipWithError(("oneDNN declined: " + why).c_str());
  st.SetLabel(conv->impl_info());
  for (auto _ : st) {
    ref::quantize_f32_s8(l.x.data(), l.xq.data(), l.in_n, l.x_scale);
    conv->run(l.xq.data(), l.acc.data());
    ref::dequantize_epilogue(l.acc.data(), 1, l.p.out_channels, l.plane, l.x_scale, l.w_scales.data(), l.b.data(),
                             nullptr, {}, l.y.data());
    benchmark::DoNotOptimize(l.y.data());
  }
  set_flops(st, l.p);
}

// The pieces of BM_Int8.
void BM_Int8ConvOnly(benchmark::State& st) {
  Layer l(resnet_conv(st));
  std::string why;
  auto conv = fast::ConvS8OneDnn::Conv(l.p, l.wq.data(), &why);
  if (!conv) return st.SkipWithError(("oneDNN declined: " + why).c_str());
  for (auto _ : st) {
    conv->run(l.xq.data(), l.acc.data());
    benchmark::DoNotOptimize(l.acc.data());
  }
}

void BM_Quantize(benchmark::State& st) {
  Layer l(resnet_conv(st));
  for (auto _ : st) {
    ref::quantize_f32_s8(l.x.data(), l.xq.data(), l.in_n, l.x_scale);
    benchmark::DoNotOptimize(l.xq.data());
  }
  st.SetBytesProcessed(st.iterations() * l.in_n * 5);
}

// Activation quantization of n random values (x in [-1, 1], scale 1/127) by way range(1):
// 0 the reference's division, 1 by reciprocal, 2 by correction (quantize_fast.h).
void BM_QuantizeWay(benchmark::State& st) {
  const int64_t n = st.range(0), way = st.range(1);
  const std::vector<float> x = random_values(n, 4);
  std::vector<int8_t> q(static_cast<size_t>(n));
  const float scale = 1.f / 127;
  if (way == 2 && !fast::quantize_f32_s8_by_correction(x.data(), q.data(), n, scale))
    return st.SkipWithError("no AVX-512 VNNI");
  for (auto _ : st) {
    if (way == 0) ref::quantize_f32_s8(x.data(), q.data(), n, scale);
    else if (way == 1) fast::quantize_f32_s8_by_reciprocal(x.data(), q.data(), n, scale);
    else fast::quantize_f32_s8_by_correction(x.data(), q.data(), n, scale);
    benchmark::DoNotOptimize(q.data());
  }
  st.SetBytesProcessed(st.iterations() * n * 5);
}

// MobileNetV2's activation sizes at batch 1: 1280x7x7, 96x14x14... up to the 224x224 input
// and 96x112x112.
const std::vector<int64_t> kQuantizeSizes = {62720, 75264, 150528, 1204224};
void quantize_sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : kQuantizeSizes)
    for (int64_t way = 0; way < 3; ++way) b->Args({n, way});
  b->ArgNames({"n", "way"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

void BM_Epilogue(benchmark::State& st) {
  Layer l(resnet_conv(st));
  for (auto _ : st) {
    ref::dequantize_epilogue(l.acc.data(), 1, l.p.out_channels, l.plane, l.x_scale, l.w_scales.data(), l.b.data(),
                             nullptr, {}, l.y.data());
    benchmark::DoNotOptimize(l.y.data());
  }
  st.SetBytesProcessed(st.iterations() * l.out_n * 8);
}

const std::vector<std::vector<int64_t>> kShapes{{64, 56, 3}, {128, 28, 3}, {256, 14, 3},
                                                {64, 56, 1}, {128, 28, 1}, {256, 14, 1}};

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"c", "hw", "k"})->Unit(benchmark::kMillisecond)->UseRealTime();
  for (const auto& s : kShapes) b->Args(s);
}

// An int8-to-int8 layer on random data, channels-last, with bias and ReLU6 and an int8 output.
struct Int8Layer {
  ref::ConvParams p;
  std::vector<int8_t> x, w, y;
  fast::ConvS8Epilogue epi;
  explicit Int8Layer(const ref::ConvParams& cp) : p(cp) {
    const int64_t in_n = p.batch * p.in_channels * p.in_size[0] * p.in_size[1];
    const int64_t out_n = p.batch * p.out_channels * p.out_size[0] * p.out_size[1];
    const std::vector<int64_t> w_shape{p.out_channels, p.in_channels / p.group, p.kernel[0], p.kernel[1]};
    const std::vector<float> xf = random_values(in_n, 1);
    const std::vector<float> wf = random_values(w_shape[0] * w_shape[1] * w_shape[2] * w_shape[3], 2);
    x.resize(xf.size());
    w.resize(wf.size());
    y.resize(static_cast<size_t>(out_n));
    std::vector<float> w_scales(static_cast<size_t>(p.out_channels));
    ref::quantize_f32_s8(xf.data(), x.data(), in_n, 1.f / 127);
    ref::quantize_weights_s8(wf.data(), w_shape, 0, w.data(), w_scales.data());
    for (float s : w_scales) epi.scales.push_back(s / 127);
    epi.bias = random_values(p.out_channels, 3);
    epi.act = {ref::Epilogue::Act::kClip, 0.f, 6.f};
    epi.out_scale = 6.f / 127;
  }
};

// oneDNN's int8 convolution with the epilogue and its division post-op.
void run_onednn(benchmark::State& st, const Int8Layer& l) {
  std::string why;
  auto conv = fast::ConvS8OneDnn::Conv(l.p, l.w.data(), &why, {true, true}, &l.epi);
  if (!conv) return st.SkipWithError(("oneDNN declined: " + why).c_str());
  st.SetLabel(conv->impl_info());
  std::vector<int8_t> y(l.y.size());
  for (auto _ : st) {
    conv->run_s8(l.x.data(), nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
  }
}

// One of the in-register kernels (Conv1x1S8, DepthwiseConvS8).
template <typename Kernel>
void run_in_register(benchmark::State& st, const Int8Layer& l) {
  std::string why;
  auto conv = Kernel::Create(l.p, l.w.data(), l.epi, &why);
  if (!conv) return st.SkipWithError(("declined: " + why).c_str());
  std::vector<int8_t> y(l.y.size());
  for (auto _ : st) {
    conv->run(l.x.data(), nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
  }
}

// Depthwise 3x3 layers (MobileNetV2's): oneDNN against DepthwiseConvS8. range(0): channels,
// range(1): input size, range(2): stride.
Int8Layer depthwise_layer(const benchmark::State& st) {
  const int64_t c = st.range(0), hw = st.range(1), s = st.range(2), out = (hw - 1) / s + 1;
  return Int8Layer(ref::ConvParams{1, c, c, c, {hw, hw}, {out, out}, {3, 3}, {s, s}, {1, 1}, {1, 1}, {1, 1}});
}

void BM_DepthwiseOneDnn(benchmark::State& st) { run_onednn(st, depthwise_layer(st)); }
void BM_DepthwiseDirect(benchmark::State& st) { run_in_register<fast::DepthwiseConvS8>(st, depthwise_layer(st)); }

const std::vector<std::vector<int64_t>> kDepthwise{{32, 112, 1}, {96, 112, 2}, {144, 56, 1}, {144, 56, 2},
                                                   {192, 28, 1}, {384, 14, 1}, {576, 14, 2}, {960, 7, 1}};

void depthwise_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"c", "hw", "s"})->Unit(benchmark::kMillisecond)->UseRealTime();
  for (const auto& s : kDepthwise) b->Args(s);
}

BENCHMARK(BM_DepthwiseOneDnn)->Apply(depthwise_shapes);
BENCHMARK(BM_DepthwiseDirect)->Apply(depthwise_shapes);

// First layers (float NCHW input, int8 channels-last output): the input quantized in a pass
// and oneDNN's int8 convolution from plain int8 (what an INT8 block does without StemConvS8)
// against StemConvS8. range(0): input channels, range(1): output channels, range(2): input
// size, range(3): kernel size (stride 2, padding k / 2), range(4): batch.
Int8Layer stem_layer(const benchmark::State& st) {
  const int64_t ci = st.range(0), co = st.range(1), hw = st.range(2), k = st.range(3), pad = k / 2;
  const int64_t out = (hw + 2 * pad - k) / 2 + 1;
  return Int8Layer(ref::ConvParams{st.range(4), ci, co, 1, {hw, hw}, {out, out}, {k, k}, {2, 2}, {1, 1}, {pad, pad},
                                   {pad, pad}});
}

constexpr float kStemScale = 1.f / 127;  // random_values are in [-1, 1]

void BM_StemOneDnn(benchmark::State& st) {
  const Int8Layer l = stem_layer(st);
  const std::vector<float> x = random_values(static_cast<int64_t>(l.x.size()), 5);
  std::string why;
  auto conv = fast::ConvS8OneDnn::Conv(l.p, l.w.data(), &why, {false, true}, &l.epi);
  if (!conv) return st.SkipWithError(("oneDNN declined: " + why).c_str());
  st.SetLabel(conv->impl_info());
  std::vector<int8_t> xq(x.size()), y(l.y.size());
  for (auto _ : st) {
    fast::quantize_f32_s8(x.data(), xq.data(), static_cast<int64_t>(x.size()), kStemScale);
    conv->run_s8(xq.data(), nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
  }
}

void BM_StemDirect(benchmark::State& st) {
  const Int8Layer l = stem_layer(st);
  const std::vector<float> x = random_values(static_cast<int64_t>(l.x.size()), 5);
  std::string why;
  auto conv = fast::StemConvS8::Create(l.p, l.w.data(), kStemScale, l.epi, &why);
  if (!conv) return st.SkipWithError(("declined: " + why).c_str());
  std::vector<int8_t> y(l.y.size());
  for (auto _ : st) {
    conv->run(x.data(), nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
  }
}

// MobileNetV2's and ResNet-50's first layers at batch 1 and 8, a 28x28 one-channel image's.
const std::vector<std::vector<int64_t>> kStem{{3, 32, 224, 3, 1}, {3, 32, 224, 3, 8}, {3, 64, 224, 7, 1},
                                              {3, 64, 224, 7, 8}, {1, 16, 28, 3, 8}};

void stem_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"cin", "cout", "hw", "k", "n"})->Unit(benchmark::kMillisecond)->UseRealTime();
  for (const auto& s : kStem) b->Args(s);
}

BENCHMARK(BM_StemOneDnn)->Apply(stem_shapes);
BENCHMARK(BM_StemDirect)->Apply(stem_shapes);

// Pointwise layers (MobileNetV2's expansions and projections, ResNet-50's bottleneck 1x1s):
// oneDNN against Conv1x1S8. range(0): in channels, range(1): out channels, range(2): spatial.
Int8Layer pointwise_layer(const benchmark::State& st) {
  const int64_t hw = st.range(2);
  return Int8Layer(
      ref::ConvParams{1, st.range(0), st.range(1), 1, {hw, hw}, {hw, hw}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}});
}

void BM_PointwiseOneDnn(benchmark::State& st) { run_onednn(st, pointwise_layer(st)); }
void BM_PointwiseDirect(benchmark::State& st) { run_in_register<fast::Conv1x1S8>(st, pointwise_layer(st)); }

const std::vector<std::vector<int64_t>> kPointwise{
    {16, 96, 112}, {24, 144, 56}, {32, 192, 28},  {64, 384, 14},   {96, 576, 14},   {160, 960, 7},
    {96, 24, 56},  {144, 24, 56}, {192, 32, 28},  {384, 64, 14},   {576, 96, 14},   {960, 160, 7},
    {320, 1280, 7}, {64, 256, 56}, {256, 64, 56}, {128, 512, 28},  {512, 128, 28},  {256, 1024, 14},
    {1024, 256, 14}, {512, 2048, 7}, {2048, 512, 7}};

void pointwise_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"cin", "cout", "hw"})->Unit(benchmark::kMillisecond)->UseRealTime();
  for (const auto& s : kPointwise) b->Args(s);
}

BENCHMARK(BM_PointwiseOneDnn)->Apply(pointwise_shapes);
BENCHMARK(BM_PointwiseDirect)->Apply(pointwise_shapes);

// A residual block's last 1x1 layer, int8 x to float channels-last y (its readers take float),
// adding the float residual fake-quantized with its scale and a Relu: the residual quantized in
// a pass and oneDNN's int8 convolution with the epilogue inside (what an INT8 block does
// without Conv1x1S8) against Conv1x1S8, which quantizes the residual as it reads it.
// range(0): in channels, range(1): out channels, range(2): spatial, range(3): batch.
struct ResidualLayer {
  Int8Layer l;
  std::vector<float> r, rq, y;
  static constexpr float kResidualScale = 1.f / 127;  // random_values are in [-1, 1]
  explicit ResidualLayer(const benchmark::State& st)
      : l(ref::ConvParams{st.range(3), st.range(0), st.range(1), 1, {st.range(2), st.range(2)},
                          {st.range(2), st.range(2)}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}}) {
    l.epi.residual = true;
    l.epi.out_scale = 0.f;
    l.epi.act = {ref::Epilogue::Act::kRelu, 0.f, 0.f};
    r = random_values(static_cast<int64_t>(l.y.size()), 4);
    rq.resize(r.size());
    y.resize(r.size());
  }
};

void BM_ResidualOneDnn(benchmark::State& st) {
  ResidualLayer rl(st);
  std::string why;
  auto conv = fast::ConvS8OneDnn::Conv(rl.l.p, rl.l.w.data(), &why, {true, true}, &rl.l.epi);
  if (!conv) return st.SkipWithError(("oneDNN declined: " + why).c_str());
  st.SetLabel(conv->impl_info());
  for (auto _ : st) {
    fast::fake_quantize_f32(rl.r.data(), rl.rq.data(), static_cast<int64_t>(rl.r.size()), ResidualLayer::kResidualScale);
    conv->run_f32(rl.l.x.data(), rl.rq.data(), rl.y.data());
    benchmark::DoNotOptimize(rl.y.data());
  }
}

void BM_ResidualDirect(benchmark::State& st) {
  ResidualLayer rl(st);
  fast::ConvS8Epilogue epi = rl.l.epi;
  epi.residual_scale = ResidualLayer::kResidualScale;
  std::string why;
  auto conv = fast::Conv1x1S8::Create(rl.l.p, rl.l.w.data(), epi, &why);
  if (!conv) return st.SkipWithError(("declined: " + why).c_str());
  for (auto _ : st) {
    conv->run_f32(rl.l.x.data(), rl.r.data(), rl.y.data());
    benchmark::DoNotOptimize(rl.y.data());
  }
}

// ResNet-50's first stage (64 -> 256 at 56x56) at batch 1 and 8, MobileNet-style widths.
const std::vector<std::vector<int64_t>> kResidual{{64, 256, 56, 1}, {64, 256, 56, 8}, {32, 128, 28, 1},
                                                  {24, 96, 56, 1},  {16, 64, 112, 1}};

void residual_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"cin", "cout", "hw", "n"})->Unit(benchmark::kMillisecond)->UseRealTime();
  for (const auto& s : kResidual) b->Args(s);
}

BENCHMARK(BM_ResidualOneDnn)->Apply(residual_shapes);
BENCHMARK(BM_ResidualDirect)->Apply(residual_shapes);

// 1-D layers on raw audio, int8 x to float channels-last y with bias and Relu (an INT8 block
// whose reader is a pool): oneDNN's int8 convolution with the epilogue inside against
// Conv1dS8's sums and the epilogue as a pass. range: in channels, out channels, kernel,
// stride, length; batch 1, padding (kernel - stride) / 2.
struct Conv1dLayer {
  ref::ConvParams p;
  std::vector<int8_t> x, w;
  std::vector<float> w_scales, y;
  fast::ConvS8Epilogue epi;
  explicit Conv1dLayer(const benchmark::State& st) {
    const int64_t k = st.range(2), stride = st.range(3), pad = std::max<int64_t>(0, (k - stride) / 2);
    const int64_t out = (st.range(4) + 2 * pad - k) / stride + 1;
    p = ref::ConvParams{1, st.range(0), st.range(1), 1, {st.range(4)}, {out}, {k}, {stride}, {1}, {pad}, {pad}};
    const std::vector<float> xf = random_values(p.in_channels * st.range(4), 1);
    const std::vector<float> wf = random_values(p.out_channels * p.in_channels * k, 2);
    x.resize(xf.size());
    w.resize(wf.size());
    w_scales.resize(static_cast<size_t>(p.out_channels));
    y.resize(static_cast<size_t>(p.out_channels * out));
    ref::quantize_f32_s8(xf.data(), x.data(), static_cast<int64_t>(xf.size()), kStemScale);
    ref::quantize_weights_s8(wf.data(), {p.out_channels, p.in_channels, k}, 0, w.data(), w_scales.data());
    for (float ws : w_scales) epi.scales.push_back(ws * kStemScale);
    epi.bias = random_values(p.out_channels, 3);
    epi.act = {ref::Epilogue::Act::kRelu, 0.f, 0.f};
  }
};

void BM_Conv1dOneDnn(benchmark::State& st) {
  Conv1dLayer l(st);
  std::string why;
  auto conv = fast::ConvS8OneDnn::Conv(l.p, l.w.data(), &why, {false, true}, &l.epi);
  if (!conv) return st.SkipWithError(("oneDNN declined: " + why).c_str());
  st.SetLabel(conv->impl_info());
  for (auto _ : st) {
    conv->run_f32(l.x.data(), nullptr, l.y.data());
    benchmark::DoNotOptimize(l.y.data());
  }
}

void BM_Conv1dDirect(benchmark::State& st) {
  Conv1dLayer l(st);
  std::string why;
  auto conv = fast::Conv1dS8::Create(l.p, l.w.data(), &why);
  if (!conv) return st.SkipWithError(("declined: " + why).c_str());
  std::vector<int32_t> acc(l.y.size());
  for (auto _ : st) {
    conv->run(l.x.data(), acc.data());
    fast::dequantize_epilogue(acc.data(), l.p.out_size[0], l.p.out_channels, 1, kStemScale, l.w_scales.data(),
                              l.epi.bias.data(), nullptr, l.epi.act, l.y.data());
    benchmark::DoNotOptimize(l.y.data());
  }
}

// An M5 network's first layer, a wav2vec 2.0-style one, a bank of long filters, a filter of 32,
// a stereo input and a short filter.
const std::vector<std::vector<int64_t>> kConv1d{
    {1, 128, 80, 4, 16000}, {1, 512, 10, 5, 16000}, {1, 40, 251, 1, 16000}, {1, 64, 32, 2, 16000},
    {2, 64, 11, 2, 8000},   {1, 32, 3, 1, 16000}};

void conv1d_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"cin", "cout", "k", "s", "len"})->Unit(benchmark::kMillisecond)->UseRealTime();
  for (const auto& s : kConv1d) b->Args(s);
}

BENCHMARK(BM_Conv1dOneDnn)->Apply(conv1d_shapes);
BENCHMARK(BM_Conv1dDirect)->Apply(conv1d_shapes);

BENCHMARK(BM_F32)->Apply(shapes);
BENCHMARK(BM_Int8)->Apply(shapes);
BENCHMARK(BM_Int8ConvOnly)->Apply(shapes);
BENCHMARK(BM_Quantize)->Apply(shapes);
BENCHMARK(BM_Epilogue)->Apply(shapes);
BENCHMARK(BM_QuantizeWay)->Apply(quantize_sizes);

}  // namespace

int main(int argc, char** argv) {
  qs::bench::RatioReporter reporter;
  if (!qs::bench::run_benchmarks(&argc, argv, reporter)) return 1;
  auto time = [&](const char* bench, const std::vector<int64_t>& s) {
    const std::string name = std::string(bench) + "/c:" + std::to_string(s[0]) + "/hw:" + std::to_string(s[1]) +
                             "/k:" + std::to_string(s[2]) + "/real_time";
    auto it = reporter.times.find(name);
    return it == reporter.times.end() ? -1.0 : it->second;
  };
  std::printf("\nconv (c -> c, batch 1)  FP32 ms  INT8 ms (quantize + conv + epilogue)  INT8 speed-up\n");
  for (const auto& s : kShapes) {
    const double f = time("BM_F32", s), i = time("BM_Int8", s);
    if (f <= 0 || i <= 0) continue;
    std::printf("%3lldch %2lldx%-2lld %lldx%lld      %7.3f  %7.3f (%.3f + %.3f + %.3f)      %.2fx\n",
                static_cast<long long>(s[0]), static_cast<long long>(s[1]), static_cast<long long>(s[1]),
                static_cast<long long>(s[2]), static_cast<long long>(s[2]), f, i, time("BM_Quantize", s),
                time("BM_Int8ConvOnly", s), time("BM_Epilogue", s), f / i);
  }
  // Each shape's time from oneDNN and from the in-register kernel, and the ratio.
  auto compare = [&](const char* title, const char* family, const std::vector<const char*>& args,
                     const std::vector<std::vector<int64_t>>& shapes) {
    std::printf("\n%s: shape, oneDNN ms, in-register ms, speed-up\n", title);
    for (const auto& s : shapes) {
      std::string shape;
      for (size_t i = 0; i < args.size(); ++i) shape += std::string("/") + args[i] + ":" + std::to_string(s[i]);
      auto time = [&](const char* impl) {
        auto it = reporter.times.find(std::string("BM_") + family + impl + shape + "/real_time");
        return it == reporter.times.end() ? -1.0 : it->second;
      };
      const double o = time("OneDnn"), d = time("Direct");
      if (o > 0 && d > 0) std::printf("  %-24s %7.3f  %7.3f  %.2fx\n", shape.c_str() + 1, o, d, o / d);
    }
  };
  compare("pointwise int8 -> int8 (batch 1, Conv1x1S8)", "Pointwise", {"cin", "cout", "hw"}, kPointwise);
  compare("depthwise 3x3 int8 -> int8 (batch 1, DepthwiseConvS8)", "Depthwise", {"c", "hw", "s"}, kDepthwise);
  compare("first layers, float -> int8 (quantize + oneDNN against StemConvS8)", "Stem", {"cin", "cout", "hw", "k", "n"},
          kStem);
  compare("1-D layers, int8 -> float (oneDNN with its epilogue against Conv1dS8 and the epilogue pass)", "Conv1d",
          {"cin", "cout", "k", "s", "len"}, kConv1d);
  compare("residual 1x1 layers, int8 -> float (residual quantized in a pass + oneDNN against Conv1x1S8)", "Residual",
          {"cin", "cout", "hw", "n"}, kResidual);
  std::printf("\nactivation quantization: values, reference (division) ms, by reciprocal ms, by correction ms, "
              "correction's speed-up over reciprocal\n");
  for (int64_t n : kQuantizeSizes) {
    auto time = [&](int way) {
      auto it = reporter.times.find("BM_QuantizeWay/n:" + std::to_string(n) + "/way:" + std::to_string(way) + "/real_time");
      return it == reporter.times.end() ? -1.0 : it->second;
    };
    const double r = time(1), c = time(2);
    std::printf("  %8lld  %7.4f  %7.4f  %7.4f  %.2fx\n", static_cast<long long>(n), time(0), r, c, c > 0 ? r / c : 0.0);
  }
  const char* omp = std::getenv("OMP_NUM_THREADS");
  std::printf("OMP_NUM_THREADS=%s%s\n", omp ? omp : "(unset)", omp ? "" : "  -- set it to 1 for the one-thread numbers");
  benchmark::Shutdown();
  return 0;
}
