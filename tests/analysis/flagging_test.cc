#include "analysis/flagging.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace qs::analysis {
namespace {

// Feeds cosine similarities and returns the indices flagged.
std::vector<int> flags(const std::vector<double>& sims, std::optional<double> threshold = std::nullopt) {
  Flagger f(Metric::kCosine, threshold);
  std::vector<int> out;
  for (size_t i = 0; i < sims.size(); ++i)
    if (f.Step(sims[i], loss_percent(Metric::kCosine, sims[i]))) out.push_back(static_cast<int>(i));
  return out;
}

TEST(FlaggingTest, SteadyTrendFlagsNothing) {
  EXPECT_TRUE(flags({99.999, 99.998, 99.996, 99.995, 99.993, 99.99, 99.988, 99.985}).empty());
}

TEST(FlaggingTest, OneBigDropIsFlaggedAndTheNextStepsAreJudgedFromBeforeIt) {
  // Step 3 drops 5 points; after its fallback, step 4 is back near the trend.
  EXPECT_EQ(flags({99.999, 99.998, 99.997, 94.0, 99.996, 99.995}), (std::vector<int>{3}));
}

TEST(FlaggingTest, TwoCulpritsAreBothFound) {
  EXPECT_EQ(flags({99.99, 99.98, 90.0, 99.97, 99.96, 99.95, 80.0, 99.94}), (std::vector<int>{2, 6}));
}

TEST(FlaggingTest, AJumpMustStandOutFromANoisyTrend) {
  // Every layer costs ~0.08 points: a 0.5-point step is within the trend (10x median = 0.8).
  EXPECT_TRUE(flags({99.92, 99.84, 99.76, 99.68, 99.18, 99.1}).empty());
  // A 3-point step stands out.
  EXPECT_EQ(flags({99.92, 99.84, 99.76, 99.68, 96.68, 99.6}), (std::vector<int>{4}));
  // Without history only the floor counts: a first step that loses 0.2 points is flagged.
  EXPECT_EQ(flags({99.8, 99.995}), (std::vector<int>{0}));
}

TEST(FlaggingTest, SmallDropsBelowTheFloorAreNeverFlagged) {
  EXPECT_TRUE(flags({100.0, 100.0, 100.0, 99.95, 99.95}).empty());
}

TEST(FlaggingTest, NanIsAlwaysFlagged) {
  EXPECT_EQ(flags({99.9, std::numeric_limits<double>::quiet_NaN(), 99.8}), (std::vector<int>{1}));
}

TEST(FlaggingTest, ThresholdRule) {
  EXPECT_EQ(flags({99.9, 99.5, 98.9, 99.2}, 99.0), (std::vector<int>{2}));
  Flagger mse(Metric::kMse, 0.5);
  EXPECT_FALSE(mse.Step(0.4, 0));
  EXPECT_TRUE(mse.Step(0.6, 0));
}

TEST(FlaggingTest, LossConversions) {
  EXPECT_DOUBLE_EQ(loss_percent(Metric::kCosine, 99.5), 0.5);
  EXPECT_NEAR(loss_percent(Metric::kSnr, 30.0), 0.1, 1e-12);
  EXPECT_DOUBLE_EQ(loss_percent(Metric::kMse, 0.02, 4.0), 0.5);
  EXPECT_DOUBLE_EQ(loss_percent(Metric::kMaxAbs, 0.1, 10.0), 1.0);
}

}  // namespace
}  // namespace qs::analysis
