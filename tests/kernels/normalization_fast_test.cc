// Fast BatchNormalization / InstanceNormalization / LayerNormalization / Softmax against the reference on channel counts and
// plane sizes that straddle the vector widths; the failing case prints its parameters.
#include "kernels/fast/normalization_fast.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/reference/normalization.h"

namespace qs::kernels {
namespace {

const int64_t kSizes[] = {1, 7, 8, 9, 15, 16, 17, 31, 33};

std::vector<float> normal(size_t n, uint32_t seed, float mean = 0.f, float stddev = 1.f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(mean, stddev);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

// Relative tolerance of a few float roundings (BN is y = x * a + b with a and b computed as in
// the reference, so in practice it matches exactly).
::testing::AssertionResult close(float got, float want, float rel, float abs_tol) {
  if (std::fabs(got - want) <= abs_tol + rel * std::fabs(want)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << got << " vs reference " << want;
}

TEST(BatchNormFast, MatchesReference) {
  for (int64_t batch : {1, 2})
    for (int64_t c : kSizes)
      for (int64_t spatial : {1, 7, 8, 9, 15, 16, 17, 31, 33, 49, 3136, 12544}) {
        ref::BatchNormParams p;
        p.batch = batch;
        p.channels = c;
        p.spatial = spatial;
        p.epsilon = 1e-5f;
        const size_t n = static_cast<size_t>(batch * c * spatial), cs = static_cast<size_t>(c);
        const auto x = normal(n, 1 + static_cast<uint32_t>(n));
        const auto scale = normal(cs, 2), bias = normal(cs, 3), mean = normal(cs, 4);
        auto var = normal(cs, 5);
        for (auto& v : var) v = std::fabs(v) + 0.01f;
        std::vector<float> want(n), got(n, -1.f), got2(n, -1.f);
        ref::batch_norm_f32(p, x.data(), scale.data(), bias.data(), mean.data(), var.data(), want.data());
        fast::batch_norm_f32(p, x.data(), scale.data(), bias.data(), mean.data(), var.data(), got.data());
        std::vector<float> a(cs), b(cs);
        fast::batch_norm_coeffs(p, scale.data(), bias.data(), mean.data(), var.data(), a.data(), b.data());
        fast::batch_norm_apply_f32(p, x.data(), a.data(), b.data(), got2.data());
        for (size_t i = 0; i < n; ++i) {
          ASSERT_TRUE(close(got[i], want[i], 1e-6f, 1e-6f))
              << "batch_norm batch=" << batch << " channels=" << c << " spatial=" << spatial << " element " << i;
          ASSERT_TRUE(close(got2[i], want[i], 1e-6f, 1e-6f))
              << "batch_norm (precomputed) batch=" << batch << " channels=" << c << " spatial=" << spatial
              << " element " << i;
        }
      }
}

TEST(BatchNormFast, InPlace) {
  ref::BatchNormParams p;
  p.batch = 2;
  p.channels = 17;
  p.spatial = 33 * 33;
  const size_t n = static_cast<size_t>(p.batch * p.channels * p.spatial);
  auto x = normal(n, 9);
  const auto scale = normal(17, 2), bias = normal(17, 3), mean = normal(17, 4);
  std::vector<float> var(17, 0.5f), want(n);
  ref::batch_norm_f32(p, x.data(), scale.data(), bias.data(), mean.data(), var.data(), want.data());
  fast::batch_norm_f32(p, x.data(), scale.data(), bias.data(), mean.data(), var.data(), x.data());
  for (size_t i = 0; i < n; ++i) ASSERT_TRUE(close(x[i], want[i], 1e-6f, 1e-6f)) << "element " << i;
}

TEST(InstanceNormFast, MatchesReference) {
  for (int64_t batch : {1, 2})
    for (int64_t c : kSizes)
      for (int64_t spatial : {1, 7, 8, 9, 15, 16, 17, 31, 33, 196, 4096}) {
        ref::InstanceNormParams p;
        p.batch = batch;
        p.channels = c;
        p.spatial = spatial;
        p.epsilon = 1e-5f;
        const size_t n = static_cast<size_t>(batch * c * spatial), cs = static_cast<size_t>(c);
        // An offset mean makes the variance sum sensitive to the mean's accuracy.
        const auto x = normal(n, 7 + static_cast<uint32_t>(n), 3.f, 2.f);
        const auto scale = normal(cs, 2), bias = normal(cs, 3);
        std::vector<float> want(n), got(n, -1.f);
        ref::instance_norm_f32(p, x.data(), scale.data(), bias.data(), want.data());
        fast::instance_norm_f32(p, x.data(), scale.data(), bias.data(), got.data());
        for (size_t i = 0; i < n; ++i)
          ASSERT_TRUE(close(got[i], want[i], 2e-6f, 2e-6f))
              << "instance_norm batch=" << batch << " channels=" << c << " spatial=" << spatial << " element " << i;
      }
}

// LayerNormalization: row lengths around the vector widths and a transformer's, with and without
// a bias, rows offset from zero (the mean matters), the statistics outputs too. The statistics
// sum in another order than the reference's (double lanes), so values within a few roundings.
TEST(LayerNormFast, MatchesReference) {
  uint32_t seed = 300;
  for (int64_t cols : {1, 7, 8, 9, 16, 17, 33, 64, 768})
    for (bool with_bias : {false, true}) {
      ref::LayerNormParams p;
      p.rows = 37;
      p.cols = cols;
      p.epsilon = 1e-6f;
      const std::vector<float> x = normal(static_cast<size_t>(p.rows * cols), seed++, 2.5f, 3.f);
      const std::vector<float> scale = normal(static_cast<size_t>(cols), seed++, 1.f, 0.5f);
      const std::vector<float> bias = normal(static_cast<size_t>(cols), seed++, 0.f, 0.5f);
      const float* b = with_bias ? bias.data() : nullptr;
      std::vector<float> want(x.size()), got(x.size(), -1.f);
      std::vector<float> want_mean(static_cast<size_t>(p.rows)), got_mean(want_mean.size(), -1.f);
      std::vector<float> want_inv(want_mean.size()), got_inv(want_mean.size(), -1.f);
      ref::layer_norm_f32(p, x.data(), scale.data(), b, want.data(), want_mean.data(), want_inv.data());
      fast::layer_norm_f32(p, x.data(), scale.data(), b, got.data(), got_mean.data(), got_inv.data());
      for (size_t i = 0; i < x.size(); ++i)
        ASSERT_TRUE(close(got[i], want[i], 4e-6f, 4e-6f)) << "cols=" << cols << " bias=" << with_bias << " element " << i;
      for (size_t r = 0; r < want_mean.size(); ++r) {
        ASSERT_TRUE(close(got_mean[r], want_mean[r], 2e-7f, 1e-7f)) << "cols=" << cols << " mean of row " << r;
        ASSERT_TRUE(close(got_inv[r], want_inv[r], 2e-7f, 0.f)) << "cols=" << cols << " inv_std of row " << r;
      }
    }
}

// Softmax: rows of every length around the vector width and longer ones, logits of a few units
// and of hundreds (exponents that underflow); a row with an -inf mask or a NaN is the
// reference's exactly, the others within a few float roundings.
TEST(SoftmaxFast, MatchesReference) {
  uint32_t seed = 900;
  for (int64_t n : {1, 7, 8, 9, 15, 16, 17, 33, 65, 1000})
    for (float spread : {1.f, 3.f, 60.f}) {
      ref::SoftmaxParams p;
      p.outer = 5;
      p.n = n;
      std::vector<float> x = normal(static_cast<size_t>(p.outer * n), seed++, 0.f, spread);
      if (n > 2) {
        x[static_cast<size_t>(1 * n + 1)] = -INFINITY;  // a masked position
        x[static_cast<size_t>(2 * n + 2)] = NAN;
        x[static_cast<size_t>(3 * n)] = INFINITY;
      }
      std::vector<float> want(x.size()), got(x.size(), -1.f);
      ref::softmax_f32(p, x.data(), want.data());
      fast::softmax_f32(p, x.data(), got.data());
      for (size_t i = 0; i < x.size(); ++i) {
        const bool special_row = n > 2 && i / static_cast<size_t>(n) >= 1 && i / static_cast<size_t>(n) <= 3;
        if (special_row || std::isnan(want[i])) {
          EXPECT_TRUE(std::memcmp(&got[i], &want[i], sizeof(float)) == 0 || (std::isnan(got[i]) && std::isnan(want[i])))
              << "n=" << n << " spread=" << spread << " element " << i << ": " << got[i] << " vs " << want[i];
        } else {
          EXPECT_TRUE(close(got[i], want[i], 4e-6f, 1e-37f)) << "n=" << n << " spread=" << spread << " element " << i;
        }
      }
    }
}

// Rows run four at a time where they can; a row's values must not depend on which rows share
// its group (or on whether it runs alone), including groups with a masked row in them.
TEST(SoftmaxFast, RowsDoNotDependOnTheirGroup) {
  for (int64_t n : {8, 13, 64, 200}) {
    ref::SoftmaxParams p;
    p.outer = 11;
    p.n = n;
    std::vector<float> x = normal(static_cast<size_t>(p.outer * n), 77 + static_cast<uint32_t>(n), 0.f, 4.f);
    x[static_cast<size_t>(5 * n + 3)] = -INFINITY;
    std::vector<float> all(x.size()), one(x.size());
    fast::softmax_f32(p, x.data(), all.data());
    for (int64_t o = 0; o < p.outer; ++o) fast::softmax_f32({1, n, 1}, x.data() + o * n, one.data() + o * n);
    EXPECT_EQ(std::memcmp(all.data(), one.data(), all.size() * sizeof(float)), 0) << "n=" << n;
  }
}

}  // namespace
}  // namespace qs::kernels
