// INT8 number handling: quantization rounding and saturation, per-channel weight scales, and
// the epilogues against a plain per-element formula and against the unfused float ops.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/reference/activation.h"
#include "kernels/reference/int8.h"

namespace qs::kernels {
namespace {

using ref::Epilogue;
using Act = Epilogue::Act;

std::vector<float> random_values(int64_t n, float range, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-range, range);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(gen);
  return v;
}

// The quantization formula element by element, written independently of the kernel.
int8_t quantize_one(float x, float scale, float lo, float hi) {
  if (!(scale > 0.f) || std::isnan(x / scale)) return 0;  // NaN, and inf / inf
  const double r = std::nearbyint(static_cast<double>(x / scale));
  return static_cast<int8_t>(std::min<double>(hi, std::max<double>(lo, r)));
}

// Bit equality that also accepts two NaNs.
bool same(float a, float b) { return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0; }

TEST(Int8Quantize, RoundsHalfToEvenAndSaturates) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x{0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49f, 126.5f, 127.5f, 200.f, -128.5f, -300.f,
                             inf, -inf, nan, 3.f};
  const std::vector<int8_t> want{0, 2, 2, 0, -2, -2, 0, 126, 127, 127, -128, -128, 127, -128, 0, 3};
  std::vector<int8_t> q(x.size());
  ref::quantize_f32_s8(x.data(), q.data(), static_cast<int64_t>(x.size()), 1.f);
  EXPECT_EQ(q, want);
  // x / scale, not x * (1 / scale): 0.3 / 0.1 rounds to 3 either way, but 0.25 / 0.5 is a tie.
  const std::vector<float> y{0.25f, 0.75f, -0.25f};
  std::vector<int8_t> qy(3);
  ref::quantize_f32_s8(y.data(), qy.data(), 3, 0.5f);
  EXPECT_EQ(qy, (std::vector<int8_t>{0, 2, 0}));
}

TEST(Int8Quantize, NonPositiveOrNanScaleGivesZero) {
  const std::vector<float> x{1.f, -5.f, 100.f};
  for (float scale : {0.f, -1.f, std::numeric_limits<float>::quiet_NaN()}) {
    std::vector<int8_t> q(3, 9);
    std::vector<float> y(3, 9.f);
    ref::quantize_f32_s8(x.data(), q.data(), 3, scale);
    ref::fake_quantize_f32(x.data(), y.data(), 3, scale);
    EXPECT_EQ(q, (std::vector<int8_t>(3, 0))) << scale;
    EXPECT_EQ(y, (std::vector<float>(3, 0.f))) << scale;
  }
}

// Every length around the vector widths (the vector body and its scalar tail), against the
// element formula, with values beyond the range so that saturation happens in the vector body.
TEST(Int8Quantize, MatchesElementFormulaAtEveryLength) {
  const float scale = 0.0173f;
  for (int64_t n = 0; n <= 70; ++n) {
    const auto x = random_values(n, 2.6f, static_cast<uint32_t>(n));
    std::vector<int8_t> q(static_cast<size_t>(n));
    std::vector<float> y(static_cast<size_t>(n)), in_place = x;
    ref::quantize_f32_s8(x.data(), q.data(), n, scale);
    ref::fake_quantize_f32(x.data(), y.data(), n, scale);
    ref::fake_quantize_f32(in_place.data(), in_place.data(), n, scale);
    for (int64_t i = 0; i < n; ++i) {
      const size_t u = static_cast<size_t>(i);
      const int8_t want = quantize_one(x[u], scale, -128.f, 127.f);
      ASSERT_EQ(q[u], want) << "n=" << n << " i=" << i << " x=" << x[u];
      ASSERT_TRUE(same(y[u], static_cast<float>(want) * scale)) << "n=" << n << " i=" << i;
      ASSERT_TRUE(same(in_place[u], y[u])) << "in place, n=" << n << " i=" << i;
    }
  }
}

TEST(Int8Weights, PerChannelScalesAlongEachAxis) {
  // shape [2, 3, 4]; for each axis check every channel's scale and values against the formula.
  const std::vector<int64_t> shape{2, 3, 4};
  auto w = random_values(24, 3.f, 5);
  for (int i = 0; i < 4; ++i) w[static_cast<size_t>(4 + i)] = 0.f;  // [0, 1, :] all zero
  for (int64_t axis = 0; axis < 3; ++axis) {
    const int64_t c_count = shape[static_cast<size_t>(axis)];
    std::vector<int8_t> q(24);
    std::vector<float> scales(static_cast<size_t>(c_count));
    ref::quantize_weights_s8(w.data(), shape, axis, q.data(), scales.data());
    auto channel = [&](int64_t i) {
      const int64_t idx[3] = {i / 12, (i / 4) % 3, i % 4};
      return idx[axis];
    };
    std::vector<float> max_abs(static_cast<size_t>(c_count), 0.f);
    for (int64_t i = 0; i < 24; ++i) {
      float& m = max_abs[static_cast<size_t>(channel(i))];
      m = std::max(m, std::fabs(w[static_cast<size_t>(i)]));
    }
    for (int64_t c = 0; c < c_count; ++c) EXPECT_EQ(scales[static_cast<size_t>(c)], max_abs[static_cast<size_t>(c)] / 127.f);
    for (int64_t i = 0; i < 24; ++i) {
      const float s = scales[static_cast<size_t>(channel(i))];
      EXPECT_EQ(q[static_cast<size_t>(i)], quantize_one(w[static_cast<size_t>(i)], s, -127.f, 127.f))
          << "axis=" << axis << " i=" << i;
    }
  }
  // A channel of zeros gets scale 0 and values 0:
  const std::vector<float> z{0.f, 0.f, 1.f, -2.f};
  std::vector<int8_t> q(4, 9);
  std::vector<float> scales(2);
  ref::quantize_weights_s8(z.data(), {2, 2}, 0, q.data(), scales.data());
  EXPECT_EQ(scales, (std::vector<float>{0.f, 2.f / 127.f}));
  EXPECT_EQ(q, (std::vector<int8_t>{0, 0, 64, -127}));  // 1 / (2/127) = 63.5 -> 64 (half to even)
}

TEST(Int8Weights, LongChannelsWithNonFiniteWeightsFollowTheFormula) {
  // Channels long enough for the vector loops, with a NaN (ignored by the maximum, quantized to
  // 0), an infinity (its channel's scale is infinite: every value quantizes to 0) and a channel
  // whose largest |w| is negative.
  const std::vector<int64_t> shape{3, 5, 67};
  auto w = random_values(3 * 5 * 67, 2.f, 11);
  w[70] = std::numeric_limits<float>::quiet_NaN();         // [0, 1, 3]
  w[2 * 67 + 9] = std::numeric_limits<float>::infinity();  // [0, 2, 9]
  w[4 * 67 + 30] = -40.f;                                  // [0, 4, 30]
  for (int64_t axis = 0; axis < 3; ++axis) {
    const int64_t c_count = shape[static_cast<size_t>(axis)];
    std::vector<int8_t> q(w.size());
    std::vector<float> scales(static_cast<size_t>(c_count));
    ref::quantize_weights_s8(w.data(), shape, axis, q.data(), scales.data());
    auto channel = [&](size_t i) {
      const int64_t idx[3] = {static_cast<int64_t>(i) / (5 * 67), (static_cast<int64_t>(i) / 67) % 5,
                              static_cast<int64_t>(i) % 67};
      return static_cast<size_t>(idx[axis]);
    };
    std::vector<float> max_abs(static_cast<size_t>(c_count), 0.f);
    for (size_t i = 0; i < w.size(); ++i) max_abs[channel(i)] = std::max(max_abs[channel(i)], std::fabs(w[i]));
    for (int64_t c = 0; c < c_count; ++c)
      EXPECT_EQ(scales[static_cast<size_t>(c)], max_abs[static_cast<size_t>(c)] / 127.f) << "axis=" << axis;
    for (size_t i = 0; i < w.size(); ++i) {
      const float s = scales[channel(i)];
      const int8_t want = s > 0.f ? quantize_one(w[i], s, -127.f, 127.f) : int8_t{0};
      ASSERT_EQ(q[i], want) << "axis=" << axis << " i=" << i << " w=" << w[i];
    }
  }
}

TEST(Int8Weights, SymmetricRangeNeverMinus128) {
  const std::vector<float> w{-1.f, 1.f, -0.999f, 0.f};
  std::vector<int8_t> q(4);
  std::vector<float> scales(4);  // axis 0 of shape [4]: one scale per element
  ref::quantize_weights_s8(w.data(), {4}, 0, q.data(), scales.data());
  EXPECT_EQ(q, (std::vector<int8_t>{-127, 127, -127, 0}));
}

// ---- epilogues ----

float act_one(float v, const Epilogue& e) {
  switch (e.act) {
    case Act::kNone: return v;
    case Act::kRelu: return v > 0.f ? v : 0.f;
    case Act::kClip: return std::min(e.beta, std::max(e.alpha, v));
    case Act::kLeakyRelu: return v < 0.f ? e.alpha * v : v;
    case Act::kSilu: return v / (1.f + std::exp(-v));  // close, not bit-exact: compared loosely
  }
  return v;
}

// The epilogue element by element; `volatile` keeps the product rounded before the add even
// where the compiler could contract it into a fused multiply-add.
float dequant_one(int32_t acc, float x_scale, float w_scale, float bias, float residual, const Epilogue& e) {
  volatile float product = static_cast<float>(acc) * (x_scale * w_scale);
  return act_one(product + bias + residual, e);
}

const std::vector<Epilogue> kEpilogues{{Act::kNone}, {Act::kRelu}, {Act::kClip, -0.5f, 6.f},
                                       {Act::kLeakyRelu, 0.1f}, {Act::kSilu}};

TEST(Int8Epilogue, DequantizeMatchesElementFormula) {
  // conv-like [outer, channels, inner] and gemm-like [outer, channels, 1], sizes around widths
  struct Shape { int64_t outer, channels, inner; };
  const std::vector<Shape> shapes{{1, 1, 1}, {2, 3, 7}, {1, 17, 15}, {2, 5, 33}, {3, 65, 1}, {7, 16, 1}, {1, 1, 70}};
  const float x_scale = 0.031f;
  for (const Shape& s : shapes)
    for (const Epilogue& e : kEpilogues)
      for (int with_bias = 0; with_bias < 2; ++with_bias)
        for (int with_res = 0; with_res < 2; ++with_res) {
          const int64_t n = s.outer * s.channels * s.inner;
          std::mt19937 gen(static_cast<uint32_t>(n));
          std::uniform_int_distribution<int32_t> dist(-2000000, 2000000);
          std::vector<int32_t> acc(static_cast<size_t>(n));
          for (int32_t& a : acc) a = dist(gen);
          const auto w_scales = random_values(s.channels, 0.01f, 1), bias = random_values(s.channels, 5.f, 2);
          const auto residual = random_values(n, 5.f, 3);
          std::vector<float> y(static_cast<size_t>(n));
          ref::dequantize_epilogue(acc.data(), s.outer, s.channels, s.inner, x_scale, w_scales.data(),
                                   with_bias ? bias.data() : nullptr, with_res ? residual.data() : nullptr, e,
                                   y.data());
          for (int64_t i = 0; i < n; ++i) {
            const size_t u = static_cast<size_t>(i), c = static_cast<size_t>((i / s.inner) % s.channels);
            const float want = dequant_one(acc[u], x_scale, w_scales[c], with_bias ? bias[c] : 0.f,
                                           with_res ? residual[u] : 0.f, e);
            const std::string where = "outer=" + std::to_string(s.outer) + " channels=" + std::to_string(s.channels) +
                                      " inner=" + std::to_string(s.inner) + " act=" + std::to_string(int(e.act)) +
                                      " bias=" + std::to_string(with_bias) + " residual=" + std::to_string(with_res) +
                                      " i=" + std::to_string(i);
            if (e.act == Act::kSilu)
              ASSERT_NEAR(y[u], want, 1e-5f * std::max(1.f, std::fabs(want))) << where;
            else
              ASSERT_TRUE(same(y[u], want)) << where << " want " << want << " got " << y[u];
          }
        }
}

// A fused FP32 block must give the bits of the ops run one after another: conv output + bias
// (done here by hand), + residual (Add), then the activation kernel of activation.cc.
TEST(Int8Epilogue, FloatEpilogueEqualsUnfusedOps) {
  const int64_t outer = 2, channels = 9, inner = 17, n = outer * channels * inner;
  const auto acc = random_values(n, 8.f, 4), bias = random_values(channels, 2.f, 5), res = random_values(n, 3.f, 6);
  for (const Epilogue& e : kEpilogues) {
    std::vector<float> unfused(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      unfused[static_cast<size_t>(i)] = acc[static_cast<size_t>(i)] + bias[static_cast<size_t>((i / inner) % channels)] +
                                        res[static_cast<size_t>(i)];
    std::vector<float> want(unfused.size());
    switch (e.act) {
      case Act::kNone: want = unfused; break;
      case Act::kRelu: ref::relu_f32(unfused.data(), want.data(), n); break;
      case Act::kClip: ref::clip<float>(unfused.data(), want.data(), n, e.alpha, e.beta); break;
      case Act::kLeakyRelu:
        ref::activation<float>({ref::Activation::kLeakyRelu, e.alpha}, unfused.data(), want.data(), n);
        break;
      case Act::kSilu: {
        std::vector<float> sig(unfused.size());
        ref::activation<float>({ref::Activation::kSigmoid}, unfused.data(), sig.data(), n);
        for (size_t i = 0; i < want.size(); ++i) want[i] = unfused[i] * sig[i];
        break;
      }
    }
    std::vector<float> y(static_cast<size_t>(n)), in_place = acc;
    ref::float_epilogue(acc.data(), outer, channels, inner, bias.data(), res.data(), e, y.data());
    ref::float_epilogue(in_place.data(), outer, channels, inner, bias.data(), res.data(), e, in_place.data());
    for (size_t i = 0; i < y.size(); ++i) {
      ASSERT_TRUE(same(y[i], want[i])) << "act=" << int(e.act) << " i=" << i << " want " << want[i] << " got " << y[i];
      ASSERT_TRUE(same(in_place[i], want[i])) << "in place, act=" << int(e.act) << " i=" << i;
    }
  }
}

TEST(Int8Epilogue, HandComputedGemmRow) {
  // [1, 3] with per-column scales, bias and relu: acc * 0.5 * ws + b.
  const std::vector<int32_t> acc{10, -20, 3};
  const std::vector<float> ws{1.f, 0.25f, 2.f}, b{0.5f, 1.f, -4.f};
  std::vector<float> y(3);
  ref::dequantize_epilogue(acc.data(), 1, 3, 1, 0.5f, ws.data(), b.data(), nullptr, {Act::kRelu}, y.data());
  EXPECT_EQ(y, (std::vector<float>{5.5f, 0.f, 0.f}));
  ref::dequantize_epilogue(acc.data(), 1, 3, 1, 0.5f, ws.data(), b.data(), nullptr, {Act::kNone}, y.data());
  EXPECT_EQ(y, (std::vector<float>{5.5f, -1.5f, -1.f}));
}

}  // namespace
}  // namespace qs::kernels
