// The in-register INT8 kernels against the reference: their output quantization
// (kernels/fast/int8_avx512.h, also quantize_fast.h's quantization by correction) against
// ref::quantize_f32_s8 and ref::fake_quantize_f32 on values next to every half-integer, and the pointwise (conv1x1_s8.h) and depthwise (depthwise_s8.h) blocks against
// ref::conv_s8s8s32 + ref::dequantize_epilogue + ref::quantize_f32_s8, byte for byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kernels/fast/conv1x1_s8.h"
#include "kernels/fast/depthwise_s8.h"
#include "kernels/fast/int8_avx512.h"
#include "kernels/fast/quantize_fast.h"
#include "kernels/fast/stem_s8.h"
#include "kernels/naive_layout.h"
#include "kernels/reference/conv.h"
#include "kernels/reference/conv_int8.h"
#include "kernels/reference/int8.h"
#include "random_values.h"

namespace qs::kernels {
namespace {

using ref::ConvParams;
using Act = ref::Epilogue::Act;

bool have_kernel() { return fast::int8_avx512::cpu_ok(); }

std::vector<int8_t> reference_quantize(const std::vector<float>& x, float scale) {
  std::vector<int8_t> q(x.size());
  ref::quantize_f32_s8(x.data(), q.data(), static_cast<int64_t>(x.size()), scale);
  return q;
}

// Both outputs of the quantization by correction, the int8 q and the float q * scale, against
// the reference's, bit for bit.
void expect_correction_matches(const std::vector<float>& x, float s) {
  const int64_t n = static_cast<int64_t>(x.size());
  const std::vector<int8_t> want = reference_quantize(x, s);
  std::vector<float> fwant(x.size()), fgot(x.size(), -1.f);
  ref::fake_quantize_f32(x.data(), fwant.data(), n, s);
  std::vector<int8_t> got(x.size(), 99);
  ASSERT_TRUE(fast::quantize_f32_s8_by_correction(x.data(), got.data(), n, s));
  ASSERT_TRUE(fast::fake_quantize_f32_by_correction(x.data(), fgot.data(), n, s));
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(got[i], want[i]) << "x=" << x[i] << " (" << std::hexfloat << x[i] << ") scale=" << s << std::defaultfloat;
    ASSERT_EQ(std::memcmp(&fgot[i], &fwant[i], sizeof(float)), 0)
        << "x=" << x[i] << " scale=" << s << ": fake quantized " << fgot[i] << ", reference " << fwant[i];
  }
}

// Scales of many magnitudes and mantissas; around every half-integer m + 0.5 in the int8
// range (and past it), the float nearest (m + 0.5) * scale and its 8 neighbours on each side:
// the quotients that round one way or the other on the last bit.
TEST(QuantizeByCorrection, MatchesDivisionNextToHalfIntegers) {
  if (!have_kernel()) GTEST_SKIP() << "no AVX-512 VNNI";
  std::mt19937 gen(11);
  std::uniform_real_distribution<float> mantissa(1.f, 2.f);
  std::uniform_int_distribution<int> exponent(-30, 20);
  std::vector<float> scales = {1.f, 0.5f, 3.f, 1.f / 127, 6.f / 127, 0.1f, 1e-3f};
  for (int i = 0; i < 300; ++i) scales.push_back(std::ldexp(mantissa(gen), exponent(gen)));
  size_t checked = 0;
  for (float s : scales) {
    std::vector<float> x;
    for (int m = -140; m <= 140; ++m) {
      float v = static_cast<float>((m + 0.5) * static_cast<double>(s));
      for (int step = 0; step < 8; ++step) v = std::nextafter(v, -INFINITY);
      for (int step = 0; step < 17; ++step, v = std::nextafter(v, INFINITY)) x.push_back(v);
    }
    expect_correction_matches(x, s);
    if (HasFatalFailure()) return;
    checked += x.size();
  }
  EXPECT_GT(checked, 1'000'000u);
}

// Random values of every magnitude against random scales, and the special values: zeros,
// subnormals, the saturation bound, infinities, NaN; any length (the masked tail).
TEST(QuantizeByCorrection, MatchesDivisionOnRandomAndSpecialValues) {
  if (!have_kernel()) GTEST_SKIP() << "no AVX-512 VNNI";
  std::mt19937 gen(12);
  std::uniform_real_distribution<float> mantissa(-2.f, 2.f);
  std::uniform_int_distribution<int> exponent(-140, 40);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (int trial = 0; trial < 200; ++trial) {
    const float s = std::ldexp(std::abs(mantissa(gen)) + 0.01f, exponent(gen) / 4);
    std::vector<float> x = {0.f, -0.f, inf, -inf, nan, std::numeric_limits<float>::denorm_min(), -1e-40f,
                            127.5f * s, -128.5f * s, 256.f * s, std::nextafter(256.f * s, inf), -256.f * s,
                            std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()};
    for (int i = 0; i < 1000 + trial; ++i) x.push_back(std::ldexp(mantissa(gen), exponent(gen)));
    for (int i = 0; i < 1000; ++i) x.push_back(mantissa(gen) * 100.f * s);
    std::shuffle(x.begin(), x.end(), gen);
    expect_correction_matches(x, s);
    if (HasFatalFailure()) return;
  }
}

TEST(QuantizeByCorrection, DeclinesScalesWithoutANormalReciprocal) {
  float x = 1.f, y = 5.f;
  int8_t q = 5;
  for (float s : {0.f, -1.f, std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::quiet_NaN(),
                  std::numeric_limits<float>::infinity(), std::numeric_limits<float>::max()}) {
    EXPECT_FALSE(fast::quantize_f32_s8_by_correction(&x, &q, 1, s)) << s;
    EXPECT_FALSE(fast::fake_quantize_f32_by_correction(&x, &y, 1, s)) << s;
  }
  EXPECT_EQ(q, 5);
  EXPECT_EQ(y, 5.f);
}

ConvParams pointwise(int64_t batch, int64_t cin, int64_t cout, int64_t h, int64_t w, int64_t stride) {
  return ConvParams{batch, cin, cout, 1, {h, w}, {(h - 1) / stride + 1, (w - 1) / stride + 1}, {1, 1},
                    {stride, stride}, {1, 1}, {0, 0}, {0, 0}};
}

// The whole block through the reference: NCHW int32 product, float epilogue, quantization;
// returned channels-last.
std::vector<int8_t> reference_block(const ConvParams& p, const std::vector<int8_t>& x_nhwc,
                                    const std::vector<int8_t>& w, float x_scale, const std::vector<float>& w_scales,
                                    const std::vector<float>* bias, const std::vector<float>* residual_nhwc,
                                    const ref::Epilogue& e, float out_scale) {
  const int64_t in_sp = p.in_size[0] * p.in_size[1], sp = p.out_size[0] * p.out_size[1];
  const std::vector<int8_t> x = naive::to_nchw(p.batch, p.in_channels, in_sp, x_nhwc);
  std::vector<int32_t> acc(static_cast<size_t>(p.batch * p.out_channels * sp));
  ref::conv_s8s8s32(p, x.data(), w.data(), acc.data());
  std::vector<float> r;
  if (residual_nhwc) r = naive::to_nchw(p.batch, p.out_channels, sp, *residual_nhwc);
  std::vector<float> y(acc.size());
  ref::dequantize_epilogue(acc.data(), p.batch, p.out_channels, sp, x_scale, w_scales.data(),
                           bias ? bias->data() : nullptr, residual_nhwc ? r.data() : nullptr, e, y.data());
  return naive::to_nhwc(p.batch, p.out_channels, sp, reference_quantize(y, out_scale));
}

std::string describe(const ConvParams& p) {
  return "batch " + std::to_string(p.batch) + " " + std::to_string(p.in_channels) + "->" +
         std::to_string(p.out_channels) + " group " + std::to_string(p.group) + " at " + std::to_string(p.in_size[0]) +
         "x" + std::to_string(p.in_size[1]) + " kernel " + std::to_string(p.kernel[0]) + "x" +
         std::to_string(p.kernel[1]) + " stride " + std::to_string(p.stride[0]) + "," + std::to_string(p.stride[1]) +
         " pads " + std::to_string(p.pad_begin[0]) + "," + std::to_string(p.pad_begin[1]) + "," +
         std::to_string(p.pad_end[0]) + "," + std::to_string(p.pad_end[1]);
}

// Every activation; Clip bounds beyond the int8 range on either side, crossed (alpha > beta)
// and infinite take the kernels' merged clamp through its corner cases.
std::vector<ref::Epilogue> epilogue_activations() {
  const float inf = std::numeric_limits<float>::infinity();
  return {{Act::kNone, 0, 0},          {Act::kRelu, 0, 0},           {Act::kClip, 0.f, 6.f},
          {Act::kClip, -0.5f, 0.75f},  {Act::kLeakyRelu, 0.1f, 0},   {Act::kLeakyRelu, -3.f, 0},
          {Act::kClip, 1e30f, 2e30f},  {Act::kClip, -2e30f, -1e30f}, {Act::kClip, 0.5f, -0.25f},
          {Act::kClip, -inf, inf}};
}

// Each case with random int8 data, every activation of epilogue_activations(), with and
// without bias and residual, through Kernel and through the reference, byte for byte; the
// output scale puts about a tenth of the values past the clamp. Returns the bytes compared.
// How a kernel under test is made, fed and checked: the in-register int8-to-int8 kernels read
// int8 channels-last X (StemConvS8, below, reads float NCHW X).
template <typename Kernel>
struct UnderTest {
  static std::vector<int8_t> input(const ConvParams& p, float, uint32_t seed) {
    return random_s8(p.batch * p.in_size[0] * p.in_size[1] * p.in_channels, -128, seed);
  }
  static std::unique_ptr<Kernel> create(const ConvParams& p, const std::vector<int8_t>& w, float,
                                        const fast::ConvS8Epilogue& epi, std::string* why) {
    return Kernel::Create(p, w.data(), epi, why);
  }
  template <typename... Args>
  static std::vector<int8_t> reference(Args&&... args) {
    return reference_block(std::forward<Args>(args)...);
  }
};

template <typename Kernel>
size_t compare_with_reference(const std::vector<ConvParams>& cases, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  size_t compared = 0;
  for (const ConvParams& p : cases) {
    const float x_scale = 0.0173f;
    const int64_t reduction = p.in_channels / p.group * p.kernel[0] * p.kernel[1];
    const int64_t out_n = p.batch * p.out_size[0] * p.out_size[1] * p.out_channels;
    const auto x = UnderTest<Kernel>::input(p, x_scale, seed++);
    const auto w = random_s8(p.out_channels * reduction, -127, seed++);
    std::vector<float> w_scales(static_cast<size_t>(p.out_channels)), bias(w_scales.size()),
        r(static_cast<size_t>(out_n));
    for (float& v : w_scales) v = std::abs(u(gen)) * 0.01f + 1e-4f;
    for (float& v : bias) v = u(gen);
    for (float& v : r) v = u(gen);
    const float out_scale = 0.02f * std::sqrt(static_cast<float>(reduction));
    for (const ref::Epilogue& e : epilogue_activations())
      for (bool with_bias : {false, true})
        for (bool with_residual : {false, true}) {
          fast::ConvS8Epilogue epi;
          for (float ws : w_scales) epi.scales.push_back(x_scale * ws);
          if (with_bias) epi.bias = bias;
          epi.residual = with_residual;
          epi.act = e;
          epi.out_scale = out_scale;
          std::string why;
          auto k = UnderTest<Kernel>::create(p, w, x_scale, epi, &why);
          EXPECT_NE(k, nullptr) << describe(p) << ": " << why;
          if (!k) return compared;
          const auto want = UnderTest<Kernel>::reference(p, x, w, x_scale, w_scales, with_bias ? &bias : nullptr,
                                                         with_residual ? &r : nullptr, e, out_scale);
          std::vector<int8_t> got(want.size(), 99);
          k->run(x.data(), with_residual ? r.data() : nullptr, got.data());
          EXPECT_EQ(got, want) << describe(p) << " act=" << static_cast<int>(e.act) << " alpha=" << e.alpha
                               << " beta=" << e.beta << " bias=" << with_bias << " residual=" << with_residual;
          if (got != want) return compared;
          compared += got.size();
        }
  }
  return compared;
}

// Shapes around the kernel's tile sizes (4 pixels, 16-channel blocks, 4 blocks a pass, groups
// of 4 input channels with a 1-3 channel tail) and strides.
TEST(Conv1x1S8, MatchesReferenceByteForByte) {
  if (!have_kernel()) GTEST_SKIP() << "no AVX-512 VNNI";
  const std::vector<ConvParams> cases = {
      pointwise(1, 16, 96, 7, 9, 1),  pointwise(1, 3, 5, 5, 5, 1),    pointwise(2, 24, 144, 6, 6, 1),
      pointwise(1, 17, 65, 4, 3, 1),  pointwise(1, 1, 1, 1, 1, 1),    pointwise(3, 33, 16, 5, 7, 2),
      pointwise(1, 64, 200, 3, 5, 1), pointwise(1, 130, 17, 9, 4, 3), pointwise(1, 6, 80, 13, 13, 1)};
  EXPECT_GT(compare_with_reference<fast::Conv1x1S8>(cases, 100), 100'000u);
}

// Scales of 1 and an output scale of 2 make every odd accumulator an exact tie (q + 0.5):
// round half to even decides them, as in the reference.
TEST(Conv1x1S8, ExactTiesRoundToEven) {
  if (!have_kernel()) GTEST_SKIP() << "no AVX-512 VNNI";
  const ConvParams p = pointwise(1, 4, 32, 6, 6, 1);
  const auto x = random_s8(36 * 4, -3, 21), w = random_s8(32 * 4, -3, 22);
  std::vector<int8_t> xs = x, ws = w;
  for (int8_t& v : xs) v = static_cast<int8_t>(v % 4);
  for (int8_t& v : ws) v = static_cast<int8_t>(v % 4);
  fast::ConvS8Epilogue epi;
  epi.scales.assign(32, 1.f);
  epi.out_scale = 2.f;
  std::string why;
  auto k = fast::Conv1x1S8::Create(p, ws.data(), epi, &why);
  ASSERT_NE(k, nullptr) << why;
  const auto want = reference_block(p, xs, ws, 1.f, std::vector<float>(32, 1.f), nullptr, nullptr, {}, 2.f);
  std::vector<int8_t> got(want.size(), 99);
  k->run(xs.data(), nullptr, got.data());
  EXPECT_EQ(got, want);
  // The data has ties to decide: some odd accumulators.
  const std::vector<int8_t> x_nchw = naive::to_nchw(1, 4, 36, xs);
  std::vector<int32_t> acc(36 * 32);
  ref::conv_s8s8s32(p, x_nchw.data(), ws.data(), acc.data());
  EXPECT_GT(std::count_if(acc.begin(), acc.end(), [](int32_t a) { return a % 2 != 0; }), 50);
}

// One kernel run by as many threads as inputs, 10 times each: every run gives its input's
// expected bytes.
template <typename Kernel, typename In>
void expect_same_on_every_thread(const Kernel& k, const std::vector<std::vector<In>>& xs,
                                 const std::vector<std::vector<int8_t>>& want) {
  std::vector<int> bad(xs.size(), 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < xs.size(); ++t)
    threads.emplace_back([&, t] {
      std::vector<int8_t> got(want[t].size());
      for (int rep = 0; rep < 10; ++rep) {
        k.run(xs[t].data(), nullptr, got.data());
        bad[t] += got != want[t];
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad, std::vector<int>(xs.size(), 0));
}

TEST(Conv1x1S8, RunsConcurrentlyOnOneKernel) {
  if (!have_kernel()) GTEST_SKIP() << "no AVX-512 VNNI";
  const ConvParams p = pointwise(1, 32, 192, 14, 14, 1);
  const auto w = random_s8(32 * 192, -127, 31);
  std::vector<float> w_scales(192, 0.003f);
  fast::ConvS8Epilogue epi;
  for (float s : w_scales) epi.scales.push_back(0.02f * s);
  epi.act = {Act::kClip, 0.f, 6.f};
  epi.out_scale = 0.01f;
  auto k = fast::Conv1x1S8::Create(p, w.data(), epi, nullptr);
  ASSERT_NE(k, nullptr);
  std::vector<std::vector<int8_t>> xs, want;
  for (uint32_t t = 0; t < 4; ++t) {
    xs.push_back(random_s8(196 * 32, -128, 40 + t));
    want.push_back(reference_block(p, xs.back(), w, 0.02f, w_scales, nullptr, nullptr, epi.act, 0.01f));
  }
  expect_same_on_every_thread(*k, xs, want);
}

TEST(Conv1x1S8, DeclinesWhatItDoesNotCompute) {
  if (!have_kernel()) GTEST_SKIP() << "no AVX-512 VNNI";
  const auto w = random_s8(9 * 8 * 8, -127, 1);
  fast::ConvS8Epilogue epi;
  epi.scales.assign(8, 0.01f);
  epi.out_scale = 0.1f;
  std::string why;
  ConvParams p3 = pointwise(1, 8, 8, 6, 6, 1);
  p3.kernel = {3, 3};
  EXPECT_EQ(fast::Conv1x1S8::Create(p3, w.data(), epi, &why), nullptr);
  EXPECT_NE(why.find("1x1"), std::string::npos) << why;
  ConvParams padded = pointwise(1, 8, 8, 6, 6, 1);
  padded.pad_begin = {1, 0};
  EXPECT_EQ(fast::Conv1x1S8::Create(padded, w.data(), epi, &why), nullptr);
  ConvParams grouped = pointwise(1, 8, 8, 6, 6, 1);
  grouped.group = 2;
  EXPECT_EQ(fast::Conv1x1S8::Create(grouped, w.data(), epi, &why), nullptr);
  const ConvParams p = pointwise(1, 8, 8, 6, 6, 1);
  fast::ConvS8Epilogue silu = epi;
  silu.act.act = Act::kSilu;
  EXPECT_EQ(fast::Conv1x1S8::Create(p, w.data(), silu, &why), nullptr);
  fast::ConvS8Epilogue bad_out = epi;
  bad_out.out_scale = std::numeric_limits<float>::denorm_min();
  EXPECT_EQ(fast::Conv1x1S8::Create(p, w.data(), bad_out, &why), nullptr);
  for (float rs : {-1.f, std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::quiet_NaN(),
                   std::numeric_limits<float>::infinity()}) {
    fast::ConvS8Epilogue bad_residual = epi;
    bad_residual.residual = true;
    bad_residual.residual_scale = rs;
    EXPECT_EQ(fast::Conv1x1S8::Create(p, w.data(), bad_residual, &why), nullptr) << rs;
    EXPECT_NE(why.find("residual scale"), std::string::npos) << why;
  }
  auto int8_out = fast::Conv1x1S8::Create(p, w.data(), epi, &why);
  ASSERT_NE(int8_out, nullptr) << why;
  EXPECT_FALSE(int8_out->float_output());
  fast::ConvS8Epilogue float_out = epi;
  float_out.out_scale = 0.f;
  auto f = fast::Conv1x1S8::Create(p, w.data(), float_out, &why);
  ASSERT_NE(f, nullptr) << why;
  EXPECT_TRUE(f->float_output());
}

// The residual and the layer's sums for the float-output tests: sums through the reference,
// the residual fake-quantized by ref::fake_quantize_f32 when r_scale > 0, then
// ref::dequantize_epilogue; channels-last float.
std::vector<float> reference_float_block(const ConvParams& p, const std::vector<int8_t>& x_nhwc,
                                         const std::vector<int8_t>& w, float x_scale,
                                         const std::vector<float>& w_scales, const std::vector<float>* bias,
                                         const std::vector<float>* residual_nhwc, float r_scale,
                                         const ref::Epilogue& e) {
  const int64_t in_sp = p.in_size[0] * p.in_size[1], sp = p.out_size[0] * p.out_size[1];
  const std::vector<int8_t> x = naive::to_nchw(p.batch, p.in_channels, in_sp, x_nhwc);
  std::vector<int32_t> acc(static_cast<size_t>(p.batch * p.out_channels * sp));
  ref::conv_s8s8s32(p, x.data(), w.data(), acc.data());
  std::vector<float> r;
  if (residual_nhwc) {
    r = *residual_nhwc;
    if (r_scale > 0.f) ref::fake_quantize_f32(r.data(), r.data(), static_cast<int64_t>(r.size()), r_scale);
    r = naive::to_nchw(p.batch, p.out_channels, sp, r);
  }
  std::vector<float> y(acc.size());
  ref::dequantize_epilogue(acc.data(), p.batch, p.out_channels, sp, x_scale, w_scales.data(),
                           bias ? bias->data() : nullptr, residual_nhwc ? r.data() : nullptr, e, y.data());
  return naive::to_nhwc(p.batch, p.out_channels, sp, y);
}

// A residual for the in-register fake quantization: random values, exact ties (m + 0.5) *
// r_scale and their neighbours, values past the int8 range, NaN, infinities and zeros of both
// signs.
std::vector<float> residual_values(int64_t n, float r_scale, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-140.f, 140.f);
  const float special[] = {0.f, -0.f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity(), 1e30f, -1e30f};
  std::vector<float> r(static_cast<size_t>(n));
  for (size_t i = 0; i < r.size(); ++i) {
    const float m = std::round(u(gen));
    switch (i % 5) {
      case 0: r[i] = u(gen) * r_scale; break;
      case 1: r[i] = (m + 0.5f) * r_scale; break;
      case 2: r[i] = std::nextafter((m + 0.5f) * r_scale, 1e38f); break;
      case 3: r[i] = std::nextafter((m + 0.5f) * r_scale, -1e38f); break;
      default: r[i] = special[(i / 5) % 7];
    }
  }
  return r;
}

// Float output (no output scale), and int8 output with the residual fake-quantized in the
// kernel (residual_scale) or read int8 as q * scale (residual_int8), against the reference bit
// for bit: every activation, with and without bias, on the shapes of MatchesReferenceByteForByte.
TEST(Conv1x1S8, FloatOutputAndInKernelResidualMatchTheReference) {
  if (!have_kernel()) GTEST_SKIP() << "no AVX-512 VNNI";
  const std::vector<ConvParams> cases = {
      pointwise(1, 16, 96, 7, 9, 1), pointwise(1, 3, 5, 5, 5, 1),    pointwise(2, 64, 256, 5, 6, 1),
      pointwise(1, 17, 65, 4, 3, 1), pointwise(3, 33, 16, 5, 7, 2), pointwise(1, 130, 17, 9, 4, 3)};
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  uint32_t seed = 300;
  size_t compared = 0;
  for (const ConvParams& p : cases) {
    const float x_scale = 0.0173f, r_scale = 0.0311f;
    const int64_t out_n = p.batch * p.out_size[0] * p.out_size[1] * p.out_channels;
    const auto x = random_s8(p.batch * p.in_size[0] * p.in_size[1] * p.in_channels, -128, seed++);
    const auto w = random_s8(p.out_channels * p.in_channels, -127, seed++);
    std::vector<float> w_scales(static_cast<size_t>(p.out_channels)), bias(w_scales.size());
    for (float& v : w_scales) v = std::abs(u(gen)) * 0.01f + 1e-4f;
    for (float& v : bias) v = u(gen);
    const std::vector<float> r = residual_values(out_n, r_scale, seed++);
    // An int8 residual and the floats q * scale it stands for.
    const std::vector<int8_t> rq = random_s8(out_n, -128, seed++);
    std::vector<float> rq_f(rq.size());
    for (size_t i = 0; i < rq.size(); ++i) rq_f[i] = static_cast<float>(rq[i]) * r_scale;
    const float out_scale = 0.02f * std::sqrt(static_cast<float>(p.in_channels));
    for (const ref::Epilogue& e : epilogue_activations())
      for (bool with_bias : {false, true})
        for (int residual_kind : {0, 1, 2})  // none, float, int8
          for (bool float_y : {true, false}) {
            const bool with_residual = residual_kind > 0, int8_residual = residual_kind == 2;
            if (!float_y && !with_residual) continue;  // MatchesReferenceByteForByte's case
            fast::ConvS8Epilogue epi;
            for (float ws : w_scales) epi.scales.push_back(x_scale * ws);
            if (with_bias) epi.bias = bias;
            epi.residual = with_residual;
            epi.residual_scale = with_residual ? r_scale : 0.f;
            epi.residual_int8 = int8_residual;
            epi.act = e;
            epi.out_scale = float_y ? 0.f : out_scale;
            std::string why;
            auto k = fast::Conv1x1S8::Create(p, w.data(), epi, &why);
            ASSERT_NE(k, nullptr) << describe(p) << ": " << why;
            const std::vector<float>* rf = !with_residual ? nullptr : int8_residual ? &rq_f : &r;
            const std::vector<float> want = reference_float_block(p, x, w, x_scale, w_scales,
                                                                  with_bias ? &bias : nullptr, rf,
                                                                  int8_residual ? 0.f : r_scale, e);
            const void* given = !with_residual ? nullptr
                                : int8_residual ? static_cast<const void*>(rq.data())
                                                : static_cast<const void*>(r.data());
            const std::string what = describe(p) + " act=" + std::to_string(static_cast<int>(e.act)) +
                                     " alpha=" + std::to_string(e.alpha) + " beta=" + std::to_string(e.beta) +
                                     " bias=" + std::to_string(with_bias) + " residual=" + std::to_string(residual_kind);
            if (float_y) {
              std::vector<float> got(want.size(), -7.f);
              k->run_f32(x.data(), given, got.data());
              ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << what;
              compared += got.size();
            } else {
              std::vector<int8_t> got(want.size(), 99);
              k->run(x.data(), given, got.data());
              ASSERT_EQ(got, reference_quantize(want, out_scale)) << what << " int8";
              compared += got.size();
            }
          }
  }
  EXPECT_GT(compared, 300'000u);
}

// Depthwise: c channels, kernel kh x kw, strides, pads {top, left, bottom, right}.
ConvParams depthwise(int64_t batch, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                     std::vector<int64_t> pads) {
  ConvParams p{batch, c, c, c, {h, w}, {}, {kh, kw}, {sh, sw}, {1, 1}, {pads[0], pads[1]}, {pads[2], pads[3]}};
  p.out_size = {(h + pads[0] + pads[2] - kh) / sh + 1, (w + pads[1] + pads[3] - kw) / sw + 1};
  return p;
}

// MobileNet's 3x3 at strides 1 and 2, 5x5 (two column groups), filters of 1, 2, 4, 6 and 7
// columns, no, asymmetric and wide padding, channel counts with a partial last block, batches.
TEST(DepthwiseConvS8, MatchesReferenceByteForByte) {
  if (!fast::int8_avx512::cpu_ok(true)) GTEST_SKIP() << "no AVX-512 VNNI and VBMI";
  const std::vector<ConvParams> cases = {
      depthwise(1, 32, 9, 11, 3, 3, 1, 1, {1, 1, 1, 1}),  depthwise(2, 96, 12, 12, 3, 3, 2, 2, {1, 1, 1, 1}),
      depthwise(1, 20, 7, 5, 3, 3, 1, 1, {1, 1, 1, 1}),   depthwise(1, 48, 10, 10, 5, 5, 1, 1, {2, 2, 2, 2}),
      depthwise(1, 24, 8, 9, 5, 5, 2, 2, {2, 2, 2, 2}),   depthwise(1, 17, 6, 6, 1, 1, 1, 1, {0, 0, 0, 0}),
      depthwise(1, 16, 5, 5, 3, 3, 1, 1, {0, 0, 0, 0}),   depthwise(1, 16, 6, 7, 3, 3, 1, 2, {0, 1, 1, 0}),
      depthwise(1, 5, 9, 9, 7, 7, 1, 1, {3, 3, 3, 3}),    depthwise(1, 40, 6, 13, 2, 6, 2, 3, {0, 2, 1, 4}),
      depthwise(3, 33, 4, 4, 4, 4, 1, 1, {2, 0, 1, 3}),   depthwise(1, 8, 3, 3, 3, 3, 1, 1, {4, 4, 4, 4})};
  EXPECT_GT(compare_with_reference<fast::DepthwiseConvS8>(cases, 500), 100'000u);
}

// Rows split over threads keep their own row buffers: concurrent runs of one kernel, and
// each on a large enough layer that it splits.
TEST(DepthwiseConvS8, RunsConcurrentlyOnOneKernel) {
  if (!fast::int8_avx512::cpu_ok(true)) GTEST_SKIP() << "no AVX-512 VNNI and VBMI";
  const ConvParams p = depthwise(1, 144, 28, 28, 3, 3, 1, 1, {1, 1, 1, 1});
  const auto w = random_s8(144 * 9, -127, 61);
  std::vector<float> w_scales(144, 0.004f);
  fast::ConvS8Epilogue epi;
  for (float s : w_scales) epi.scales.push_back(0.02f * s);
  epi.act = {Act::kClip, 0.f, 6.f};
  epi.out_scale = 0.01f;
  auto k = fast::DepthwiseConvS8::Create(p, w.data(), epi, nullptr);
  ASSERT_NE(k, nullptr);
  std::vector<std::vector<int8_t>> xs, want;
  for (uint32_t t = 0; t < 4; ++t) {
    xs.push_back(random_s8(28 * 28 * 144, -128, 70 + t));
    want.push_back(reference_block(p, xs.back(), w, 0.02f, w_scales, nullptr, nullptr, epi.act, 0.01f));
  }
  expect_same_on_every_thread(*k, xs, want);
}

TEST(DepthwiseConvS8, DeclinesWhatItDoesNotCompute) {
  if (!fast::int8_avx512::cpu_ok(true)) GTEST_SKIP() << "no AVX-512 VNNI and VBMI";
  const auto w = random_s8(16 * 9 * 2, -127, 1);
  fast::ConvS8Epilogue epi;
  epi.scales.assign(16, 0.01f);
  epi.out_scale = 0.1f;
  std::string why;
  EXPECT_NE(fast::DepthwiseConvS8::Create(depthwise(1, 16, 6, 6, 3, 3, 1, 1, {1, 1, 1, 1}), w.data(), epi, &why),
            nullptr)
      << why;
  ConvParams grouped = depthwise(1, 16, 6, 6, 3, 3, 1, 1, {1, 1, 1, 1});
  grouped.group = 8;
  EXPECT_EQ(fast::DepthwiseConvS8::Create(grouped, w.data(), epi, &why), nullptr);
  EXPECT_NE(why.find("depthwise"), std::string::npos) << why;
  ConvParams multiplier = depthwise(1, 16, 6, 6, 3, 3, 1, 1, {1, 1, 1, 1});
  multiplier.out_channels = 32;
  EXPECT_EQ(fast::DepthwiseConvS8::Create(multiplier, w.data(), epi, &why), nullptr);
  ConvParams dilated = depthwise(1, 16, 6, 6, 3, 3, 1, 1, {2, 2, 2, 2});
  dilated.dilation = {2, 2};
  EXPECT_EQ(fast::DepthwiseConvS8::Create(dilated, w.data(), epi, &why), nullptr);
  EXPECT_EQ(fast::DepthwiseConvS8::Create(depthwise(1, 16, 20, 20, 1, 17, 1, 1, {0, 8, 0, 8}), w.data(), epi, &why),
            nullptr);
  fast::ConvS8Epilogue float_out = epi;
  float_out.out_scale = 0.f;
  EXPECT_EQ(fast::DepthwiseConvS8::Create(depthwise(1, 16, 6, 6, 3, 3, 1, 1, {1, 1, 1, 1}), w.data(), float_out, &why),
            nullptr);
  fast::ConvS8Epilogue nan_bias = epi;
  nan_bias.bias.assign(16, 0.f);
  nan_bias.bias[3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(fast::DepthwiseConvS8::Create(depthwise(1, 16, 6, 6, 3, 3, 1, 1, {1, 1, 1, 1}), w.data(), nan_bias, &why),
            nullptr);
  EXPECT_NE(why.find("bias"), std::string::npos) << why;
}

// ---- StemConvS8: float NCHW in, the input quantized inside ----

// 2-D convolution of `in_c` channels into `out_c`, kernel kh x kw, strides, pads {top, left,
// bottom, right}.
ConvParams stem(int64_t batch, int64_t in_c, int64_t out_c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh,
                int64_t sw, std::array<int64_t, 4> pads) {
  const int64_t oh = (h + pads[0] + pads[2] - kh) / sh + 1, ow = (w + pads[1] + pads[3] - kw) / sw + 1;
  return ConvParams{batch,    in_c,     out_c,    1,          {h, w},     {oh, ow},
                    {kh, kw}, {sh, sw}, {1, 1},   {pads[0], pads[1]}, {pads[2], pads[3]}};
}

// Float input values of every kind the input quantization meets: ordinary ones (a tenth past
// the int8 range at scale 0.0173), exact ties k + 0.5 of the scale and their neighbours,
// zeros, NaN, infinities, huge and subnormal values.
std::vector<float> stem_input(int64_t n, float x_scale, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-2.4f, 2.4f);
  std::uniform_int_distribution<int> kind(0, 39), half(-130, 130);
  const float inf = std::numeric_limits<float>::infinity();
  const float specials[] = {0.f, -0.f, inf, -inf, std::numeric_limits<float>::quiet_NaN(), 1e30f, -1e30f, 1e-40f};
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) {
    const int k = kind(gen);
    if (k == 0) v = specials[static_cast<size_t>(half(gen) & 7)];
    else if (k < 4) v = std::nextafter((static_cast<float>(half(gen)) + 0.5f) * x_scale, k == 2 ? inf : -inf);
    else v = u(gen);
  }
  return x;
}

// The block through the reference: the input quantized, NCHW int32 product, float epilogue,
// quantization; returned channels-last.
std::vector<int8_t> reference_stem(const ConvParams& p, const std::vector<float>& x, const std::vector<int8_t>& w,
                                   float x_scale, const std::vector<float>& w_scales, const std::vector<float>* bias,
                                   const std::vector<float>* residual_nhwc, const ref::Epilogue& e, float out_scale) {
  std::vector<int8_t> xq(x.size());
  ref::quantize_f32_s8(x.data(), xq.data(), static_cast<int64_t>(x.size()), x_scale);
  const int64_t in_sp = p.in_size[0] * p.in_size[1];
  return reference_block(p, naive::to_nhwc(p.batch, p.in_channels, in_sp, xq), w, x_scale, w_scales, bias,
                         residual_nhwc, e, out_scale);
}

template <>
struct UnderTest<fast::StemConvS8> {
  static std::vector<float> input(const ConvParams& p, float x_scale, uint32_t seed) {
    return stem_input(p.batch * p.in_channels * p.in_size[0] * p.in_size[1], x_scale, seed);
  }
  static std::unique_ptr<fast::StemConvS8> create(const ConvParams& p, const std::vector<int8_t>& w, float x_scale,
                                                  const fast::ConvS8Epilogue& epi, std::string* why) {
    return fast::StemConvS8::Create(p, w.data(), x_scale, epi, why);
  }
  template <typename... Args>
  static std::vector<int8_t> reference(Args&&... args) {
    return reference_stem(std::forward<Args>(args)...);
  }
};

// Shapes around the kernel's tiles (4 outputs, 16-channel blocks, 4 blocks a pass), 1 to 4
// input channels, strides, asymmetric and large padding, MobileNet's and ResNet's first layers
// (the larger ones split over threads), every activation, with and without bias and residual.
TEST(StemConvS8, MatchesReferenceByteForByte) {
  if (!have_kernel()) GTEST_SKIP() << "no AVX-512 VNNI";
  const std::vector<ConvParams> cases = {
      stem(1, 3, 32, 17, 19, 3, 3, 2, 2, {1, 1, 1, 1}),   stem(2, 1, 16, 12, 12, 3, 3, 1, 1, {1, 1, 1, 1}),
      stem(1, 3, 64, 23, 21, 7, 7, 2, 2, {3, 3, 3, 3}),   stem(1, 4, 20, 9, 9, 5, 5, 1, 1, {2, 0, 1, 3}),
      stem(1, 2, 48, 10, 13, 3, 2, 1, 3, {0, 1, 2, 0}),   stem(3, 3, 33, 7, 6, 1, 1, 1, 1, {0, 0, 0, 0}),
      stem(1, 3, 80, 6, 7, 3, 3, 1, 1, {0, 0, 0, 0}),     stem(1, 1, 5, 4, 4, 4, 4, 2, 2, {4, 4, 4, 4}),
      stem(1, 3, 32, 112, 112, 3, 3, 2, 2, {1, 1, 1, 1}), stem(2, 3, 64, 40, 44, 7, 7, 2, 2, {3, 3, 3, 3})};
  EXPECT_GT(compare_with_reference<fast::StemConvS8>(cases, 100), 1'000'000u);
}

// Each calling thread keeps its own padded copy of the input: concurrent runs of one kernel,
// each on a layer large enough to split over threads.
TEST(StemConvS8, RunsConcurrentlyOnOneKernel) {
  if (!have_kernel()) GTEST_SKIP() << "no AVX-512 VNNI";
  const ConvParams p = stem(1, 3, 32, 96, 96, 3, 3, 2, 2, {1, 1, 1, 1});
  const auto w = random_s8(32 * 27, -127, 71);
  std::vector<float> w_scales(32, 0.004f);
  fast::ConvS8Epilogue epi;
  for (float s : w_scales) epi.scales.push_back(0.02f * s);
  epi.act = {Act::kClip, 0.f, 6.f};
  epi.out_scale = 0.01f;
  auto k = fast::StemConvS8::Create(p, w.data(), 0.02f, epi, nullptr);
  ASSERT_NE(k, nullptr);
  std::vector<std::vector<float>> xs;
  std::vector<std::vector<int8_t>> want;
  for (uint32_t t = 0; t < 4; ++t) {
    xs.push_back(stem_input(3 * 96 * 96, 0.02f, 80 + t));
    want.push_back(reference_stem(p, xs.back(), w, 0.02f, w_scales, nullptr, nullptr, epi.act, 0.01f));
  }
  expect_same_on_every_thread(*k, xs, want);
}

TEST(StemConvS8, DeclinesWhatItDoesNotCompute) {
  if (!have_kernel()) GTEST_SKIP() << "no AVX-512 VNNI";
  const auto w = random_s8(16 * 5 * 9, -127, 81);
  fast::ConvS8Epilogue epi;
  epi.scales.assign(16, 0.01f);
  epi.out_scale = 0.05f;
  std::string why;
  EXPECT_NE(fast::StemConvS8::Create(stem(1, 3, 16, 8, 8, 3, 3, 1, 1, {1, 1, 1, 1}), w.data(), 0.02f, epi, &why),
            nullptr)
      << why;
  EXPECT_EQ(fast::StemConvS8::Create(stem(1, 5, 16, 8, 8, 3, 3, 1, 1, {1, 1, 1, 1}), w.data(), 0.02f, epi, &why),
            nullptr);
  EXPECT_NE(why.find("4 input channels"), std::string::npos) << why;
  ConvParams dilated = stem(1, 3, 16, 8, 8, 3, 3, 1, 1, {2, 2, 2, 2});
  dilated.dilation = {2, 2};
  EXPECT_EQ(fast::StemConvS8::Create(dilated, w.data(), 0.02f, epi, &why), nullptr);
  for (float s : {0.f, -1.f, std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::quiet_NaN()})
    EXPECT_EQ(fast::StemConvS8::Create(stem(1, 3, 16, 8, 8, 3, 3, 1, 1, {1, 1, 1, 1}), w.data(), s, epi, &why),
              nullptr)
        << s;
  fast::ConvS8Epilogue float_out = epi;
  float_out.out_scale = 0.f;
  EXPECT_EQ(fast::StemConvS8::Create(stem(1, 3, 16, 8, 8, 3, 3, 1, 1, {1, 1, 1, 1}), w.data(), 0.02f, float_out, &why),
            nullptr);
}

}  // namespace
}  // namespace qs::kernels
