#include "analysis/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace qs::analysis {
namespace {

Tensor vec(std::vector<float> v, Shape s = {}) {
  if (s.empty()) s = {static_cast<int64_t>(v.size())};
  return Tensor::FromVector<float>(s, v);
}

TEST(MetricsTest, CosineOfKnownVectors) {
  EXPECT_DOUBLE_EQ(cosine_percent(vec({1, 2, 3}), vec({2, 4, 6})), 100.0);
  EXPECT_NEAR(cosine_percent(vec({1, 0}), vec({0, 1})), 0.0, 1e-12);
  EXPECT_NEAR(cosine_percent(vec({1, 0}), vec({-1, 0})), -100.0, 1e-12);
  EXPECT_NEAR(cosine_percent(vec({1, 1}), vec({1, 0})), 100.0 / std::sqrt(2.0), 1e-9);
  EXPECT_EQ(cosine_percent(vec({0, 0}), vec({0, 0})), 100.0);
  EXPECT_EQ(cosine_percent(vec({1, 0}), vec({0, 0})), 0.0);
}

TEST(MetricsTest, NanOrInfIsNeverASimilarityOf100) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(std::isnan(cosine_percent(vec({1, 2}), vec({1, nan}))));
  EXPECT_TRUE(std::isnan(cosine_percent(vec({1, inf}), vec({1, 2}))));
  EXPECT_TRUE(std::isnan(snr_db(vec({1, 2}), vec({nan, 2}))));
  EXPECT_TRUE(std::isnan(top1_agreement_percent(vec({1, 2}), vec({nan, 2}))));
}

TEST(MetricsTest, SnrMseMaxAbs) {
  EXPECT_NEAR(snr_db(vec({3, 4}), vec({3, 3})), 10 * std::log10(25.0 / 1.0), 1e-9);
  EXPECT_TRUE(std::isinf(snr_db(vec({3, 4}), vec({3, 4}))));
  EXPECT_DOUBLE_EQ(mean_squared_error(vec({1, 2, 3, 4}), vec({1, 2, 3, 6})), 1.0);
  EXPECT_DOUBLE_EQ(max_abs_error(vec({1, -2}), vec({1.5, 1})), 3.0);
}

TEST(MetricsTest, Top1CountsRows) {
  const Tensor ref = vec({0.1f, 0.9f, 0.8f, 0.2f}, {2, 2});
  EXPECT_DOUBLE_EQ(top1_agreement_percent(ref, vec({0.2f, 0.8f, 0.1f, 0.9f}, {2, 2})), 50.0);
  EXPECT_DOUBLE_EQ(top1_agreement_percent(ref, ref), 100.0);
  EXPECT_TRUE(higher_is_better(Metric::kTop1));
  EXPECT_FALSE(higher_is_better(Metric::kMse));
  EXPECT_EQ(parse_metric("max-abs"), Metric::kMaxAbs);
  EXPECT_FALSE(parse_metric("nope").has_value());
}

}  // namespace
}  // namespace qs::analysis
