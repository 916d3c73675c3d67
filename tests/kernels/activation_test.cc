// Reference activation kernels against hand-computed values.
#include "kernels/reference/activation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <limits>
#include <vector>

namespace qs::kernels::ref {
namespace {

const std::vector<double> kX = {-3.0, -1.0, -0.25, 0.0, 0.5, 2.0, 4.0};

// Runs the activation in float and double on kX and checks both against want(x).
template <typename F>
void check(const ActivationParams& p, F want, double tol = 1e-6) {
  std::vector<double> yd(kX.size());
  activation<double>(p, kX.data(), yd.data(), static_cast<int64_t>(kX.size()));
  std::vector<float> xf(kX.begin(), kX.end()), yf(kX.size());
  activation<float>(p, xf.data(), yf.data(), static_cast<int64_t>(kX.size()));
  for (size_t i = 0; i < kX.size(); ++i) {
    const double w = want(kX[i]);
    EXPECT_NEAR(yd[i], w, 1e-12 + 1e-12 * std::fabs(w)) << "double, x = " << kX[i];
    EXPECT_NEAR(yf[i], w, tol + tol * std::fabs(w)) << "float, x = " << kX[i];
  }
}

TEST(Activation, Relu) {
  check({Activation::kRelu}, [](double x) { return x > 0 ? x : 0.0; });
  const float x[] = {-1.f, 0.f, 3.f};
  float y[3];
  relu_f32(x, y, 3);
  EXPECT_EQ(std::vector<float>(y, y + 3), (std::vector<float>{0.f, 0.f, 3.f}));
}

TEST(Activation, LeakyReluEluSeluThresholded) {
  check({Activation::kLeakyRelu, 0.1}, [](double x) { return x < 0 ? 0.1 * x : x; });
  check({Activation::kElu, 2.0}, [](double x) { return x < 0 ? 2.0 * (std::exp(x) - 1) : x; });
  check({Activation::kSelu, 1.5, 0.0, 3.0}, [](double x) { return x <= 0 ? 3.0 * 1.5 * (std::exp(x) - 1) : 3.0 * x; });
  check({Activation::kThresholdedRelu, 0.5}, [](double x) { return x > 0.5 ? x : 0.0; });
  // Hand values: Elu(-1) with alpha 1 = e^-1 - 1.
  const double x = -1.0;
  double y;
  activation<double>({Activation::kElu, 1.0}, &x, &y, 1);
  EXPECT_NEAR(y, -0.6321205588285577, 1e-15);
}

TEST(Activation, SigmoidFamily) {
  check({Activation::kSigmoid}, [](double x) { return 1.0 / (1.0 + std::exp(-x)); });
  check({Activation::kHardSigmoid, 0.2, 0.5}, [](double x) { return std::clamp(0.2 * x + 0.5, 0.0, 1.0); });
  check({Activation::kHardSwish}, [](double x) { return x * std::clamp(x / 6 + 0.5, 0.0, 1.0); });
  check({Activation::kTanh}, [](double x) { return std::tanh(x); });
  // Extreme inputs stay finite (no exp overflow into inf/inf).
  const float big[] = {-100.f, 100.f};
  float y[2];
  activation<float>({Activation::kSigmoid}, big, y, 2);
  EXPECT_EQ(y[0], std::exp(-100.f) / (1.f + std::exp(-100.f)));
  EXPECT_EQ(y[1], 1.f);
}

TEST(Activation, SoftFamily) {
  check({Activation::kSoftplus}, [](double x) { return std::log(1.0 + std::exp(x)); });
  check({Activation::kSoftsign}, [](double x) { return x / (1.0 + std::fabs(x)); });
  check({Activation::kMish}, [](double x) { return x * std::tanh(std::log(1.0 + std::exp(x))); });
  check({Activation::kCelu, 2.0},
        [](double x) { return std::max(0.0, x) + std::min(0.0, 2.0 * (std::exp(x / 2.0) - 1)); });
  const float big[] = {100.f, -100.f};
  float y[2];
  activation<float>({Activation::kSoftplus}, big, y, 2);
  EXPECT_EQ(y[0], 100.f);
  EXPECT_GT(y[1], 0.f);
}

TEST(Activation, Gelu) {
  check({Activation::kGelu}, [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); });
  check({Activation::kGeluTanh}, [](double x) {
    return 0.5 * x * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (x + 0.044715 * x * x * x)));
  });
  const double x = 1.0;
  double y;
  activation<double>({Activation::kGelu}, &x, &y, 1);
  EXPECT_NEAR(y, 0.8413447460685429, 1e-15);  // Phi(1)
}

TEST(Clip, BoundsNaNAndIntegers) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float x[] = {-2.f, 0.5f, 9.f, nan, -std::numeric_limits<float>::infinity()};
  float y[5];
  clip<float>(x, y, 5, -1.f, 6.f);
  EXPECT_EQ(y[0], -1.f);
  EXPECT_EQ(y[1], 0.5f);
  EXPECT_EQ(y[2], 6.f);
  EXPECT_TRUE(std::isnan(y[3]));
  EXPECT_EQ(y[4], -1.f);
  clip<float>(x, y, 3, 2.f, 1.f);  // min > max: everything becomes max
  EXPECT_EQ(std::vector<float>(y, y + 3), (std::vector<float>{1.f, 1.f, 1.f}));
  const int8_t xi[] = {-128, 0, 127};
  int8_t yi[3];
  clip<int8_t>(xi, yi, 3, -5, 5);
  EXPECT_EQ(std::vector<int8_t>(yi, yi + 3), (std::vector<int8_t>{-5, 0, 5}));
}

TEST(PRelu, PerChannelSlope) {
  // x [1,2,2,2], slope [2,1,1]: channel 0 slope 0.5, channel 1 slope -2.
  const float x[] = {-1.f, 2.f, -4.f, 0.f, -1.f, 3.f, -0.5f, 1.f};
  const float slope[] = {0.5f, -2.f};
  float y[8];
  prelu<float>(make_broadcast({1, 2, 2, 2}, {{1, 2, 2, 2}, {2, 1, 1}}), x, slope, y);
  EXPECT_EQ(std::vector<float>(y, y + 8), (std::vector<float>{-0.5f, 2.f, -2.f, 0.f, 2.f, 3.f, 1.f, 1.f}));
  // Slope over the last axis (ONNX's broadcast example: slope [5] on x [3,4,5]).
  const float x2[] = {-1.f, -1.f, 1.f};
  const float s2[] = {1.f, 2.f, 3.f};
  float y2[3];
  prelu<float>(make_broadcast({1, 3}, {{1, 3}, {3}}), x2, s2, y2);
  EXPECT_EQ(std::vector<float>(y2, y2 + 3), (std::vector<float>{-1.f, -2.f, 1.f}));
}

}  // namespace
}  // namespace qs::kernels::ref
