// Normalization reference kernels against hand-computed values; the strided softmax path
// against the contiguous one on transposed data.
#include "kernels/reference/normalization.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace qs::kernels::ref {
namespace {

TEST(BatchNorm, PerChannelAffine) {
  // [N=2, C=2, spatial=2]
  const std::vector<float> x{1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<float> scale{2, 0.5f}, bias{1, -1}, mean{1, 4}, var{3, 0.25f};
  BatchNormParams p{2, 2, 2, 1.f};
  std::vector<float> y(8);
  batch_norm_f32(p, x.data(), scale.data(), bias.data(), mean.data(), var.data(), y.data());
  // channel 0: (x - 1) * 2 / sqrt(4) + 1 = x; channel 1: (x - 4) * 0.5 / sqrt(1.25) - 1
  const float k = 0.5f / std::sqrt(1.25f);
  const std::vector<float> want{1, 2, (3 - 4) * k - 1, (4 - 4) * k - 1, 5, 6, (7 - 4) * k - 1, (8 - 4) * k - 1};
  for (size_t i = 0; i < 8; ++i) EXPECT_NEAR(y[i], want[i], 1e-6f) << i;
}

TEST(InstanceNorm, NormalizesEachPlane) {
  const std::vector<float> x{1, 2, 3, 4, 10, 10, 10, 10};  // N=1, C=2, spatial=4
  const std::vector<float> scale{2, 3}, bias{0.5f, 7};
  InstanceNormParams p{1, 2, 4, 0.f};
  std::vector<float> y(8);
  instance_norm_f32(p, x.data(), scale.data(), bias.data(), y.data());
  const float inv = 1.f / std::sqrt(1.25f);  // mean 2.5, var 1.25
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[i], (static_cast<float>(i + 1) - 2.5f) * inv * 2 + 0.5f, 1e-6f);
  // A constant plane with epsilon 0 has var 0: inf * 0 would be NaN, so use a small epsilon there.
  p.epsilon = 1e-5f;
  instance_norm_f32(p, x.data(), scale.data(), bias.data(), y.data());
  for (int i = 4; i < 8; ++i) EXPECT_NEAR(y[i], 7.f, 1e-6f);
}

TEST(LayerNorm, RowsWithStatsAndOptionalBias) {
  const std::vector<float> x{1, 2, 3, 4, -2, -2, 2, 2};
  const std::vector<float> scale{1, 2, 1, 2}, bias{0, 0, 1, 1};
  LayerNormParams p{2, 4, 0.f};
  std::vector<float> y(8), mean(2), inv_std(2);
  layer_norm_f32(p, x.data(), scale.data(), bias.data(), y.data(), mean.data(), inv_std.data());
  EXPECT_FLOAT_EQ(mean[0], 2.5f);
  EXPECT_FLOAT_EQ(inv_std[0], 1.f / std::sqrt(1.25f));
  EXPECT_FLOAT_EQ(mean[1], 0.f);
  EXPECT_FLOAT_EQ(inv_std[1], 0.5f);
  EXPECT_NEAR(y[0], -1.5f * inv_std[0], 1e-6f);
  EXPECT_NEAR(y[3], 1.5f * inv_std[0] * 2 + 1, 1e-6f);
  EXPECT_NEAR(y[4], -1.f, 1e-6f);
  EXPECT_NEAR(y[7], 3.f, 1e-6f);
  layer_norm_f32(p, x.data(), scale.data(), nullptr, y.data(), nullptr, nullptr);
  EXPECT_NEAR(y[7], 2.f, 1e-6f);
}

TEST(Softmax, HandValues) {
  const std::vector<float> x{1, 2, 3, 1000, 1000, 1000};
  SoftmaxParams p{2, 3, 1};
  std::vector<float> y(6);
  softmax_f32(p, x.data(), y.data());
  const float s = std::exp(1.f) + std::exp(2.f) + std::exp(3.f);
  EXPECT_NEAR(y[0], std::exp(1.f) / s, 1e-6f);
  EXPECT_NEAR(y[2], std::exp(3.f) / s, 1e-6f);
  for (int i = 3; i < 6; ++i) EXPECT_NEAR(y[i], 1.f / 3, 1e-6f);  // large inputs must not overflow
  log_softmax_f32(p, x.data(), y.data());
  EXPECT_NEAR(y[0], 1.f - std::log(s), 1e-5f);
  for (int i = 3; i < 6; ++i) EXPECT_NEAR(y[i], -std::log(3.f), 1e-5f);
}

TEST(Softmax, StridedAxisMatchesContiguous) {
  // x is [outer, n, inner]; xt is the same data as [outer, inner, n].
  const int64_t outer = 3, n = 7, inner = 5;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> val(-4.f, 4.f);
  std::vector<float> x(outer * n * inner), xt(x.size());
  for (float& v : x) v = val(rng);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < n; ++k)
      for (int64_t i = 0; i < inner; ++i) xt[(o * inner + i) * n + k] = x[(o * n + k) * inner + i];
  for (auto fn : {softmax_f32, log_softmax_f32, hardmax_f32}) {
    std::vector<float> y(x.size()), yt(x.size());
    fn(SoftmaxParams{outer, n, inner}, x.data(), y.data());
    fn(SoftmaxParams{outer * inner, n, 1}, xt.data(), yt.data());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < n; ++k)
        for (int64_t i = 0; i < inner; ++i)
          ASSERT_NEAR(y[(o * n + k) * inner + i], yt[(o * inner + i) * n + k], 1e-6f);
  }
}

TEST(Hardmax, FirstMaximumWins) {
  const std::vector<float> x{1, 3, 3, 0, -1, -5, -1, -2};
  std::vector<float> y(8);
  hardmax_f32(SoftmaxParams{2, 4, 1}, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{0, 1, 0, 0, 1, 0, 0, 0}));
}

}  // namespace
}  // namespace qs::kernels::ref
