// The chart's axis scaling: values to pixels, ranges and ticks, on the edge cases (one step,
// all steps equal, NaN, exact 100%, infinities).
#include "report/chart.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace qs::report::chart {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(ChartTest, LogLossSpreadsSimilaritiesNear100) {
  const std::vector<double> v = {99.9995, 99.99, 99.9, 98.5};
  const YScale s = log_loss_scale(v, 10, 310);
  EXPECT_EQ(s.kind, AxisKind::kLogLoss);
  EXPECT_DOUBLE_EQ(s.lo, -4);  // loss 0.0005 -> decade 1e-4
  EXPECT_DOUBLE_EQ(s.hi, 1);   // loss 1.5 -> decade 10
  // Higher similarity is higher on the page, and each decade gets the same height.
  EXPECT_LT(s.px(99.9995), s.px(99.99));
  EXPECT_LT(s.px(99.99), s.px(99.9));
  EXPECT_LT(s.px(99.9), s.px(98.5));
  EXPECT_NEAR(s.px(99.99) - s.px(99.999), s.px(99.9) - s.px(99.99), 1e-9);
  EXPECT_NEAR(s.px(99.99), 10 + 300 * (2.0 / 5.0), 1e-9);
  for (double x : v) {
    EXPECT_GE(s.px(x), 10);
    EXPECT_LE(s.px(x), 310);
  }
  const auto t = s.ticks();
  ASSERT_EQ(t.size(), 6u);
  EXPECT_EQ(t.front().label, "99.9999");
  EXPECT_EQ(t[1].label, "99.999");
  EXPECT_EQ(t[4].label, "99");
  EXPECT_EQ(t.back().label, "90");
  EXPECT_NEAR(t.front().px, 10, 1e-6);
  EXPECT_NEAR(t.back().px, 310, 1e-6);
}

TEST(ChartTest, OneStepGetsADecadeAndTheMiddleColumn) {
  const std::vector<double> v = {99.95};
  const YScale s = log_loss_scale(v, 0, 100);
  EXPECT_DOUBLE_EQ(s.lo, -2);
  EXPECT_DOUBLE_EQ(s.hi, -1);
  EXPECT_GT(s.px(99.95), 0);
  EXPECT_LT(s.px(99.95), 100);
  EXPECT_EQ(s.ticks().size(), 2u);
  EXPECT_DOUBLE_EQ(x_px(0, 1, 100, 300), 200);
  EXPECT_EQ(x_ticks(1), std::vector<size_t>({0}));
  const YScale lin = linear_scale(std::vector<double>{42.0}, 0, 100);
  EXPECT_LT(lin.lo, 42);
  EXPECT_GT(lin.hi, 42);
  EXPECT_NEAR(lin.px(42), 50, 1e-9);
}

TEST(ChartTest, AllStepsEqual) {
  // All exactly 100%: nothing to show but the top; a valid one-decade range, no division by zero.
  const std::vector<double> perfect(50, 100.0);
  const YScale s = log_loss_scale(perfect, 0, 200);
  EXPECT_LT(s.lo, s.hi);
  EXPECT_TRUE(std::isfinite(s.lo) && std::isfinite(s.hi));
  EXPECT_DOUBLE_EQ(s.px(100.0), 0);
  EXPECT_FALSE(s.ticks().empty());
  // All equal below 100.
  const std::vector<double> same(50, 99.5);
  const YScale t = log_loss_scale(same, 0, 200);
  EXPECT_DOUBLE_EQ(t.lo, -1);
  EXPECT_DOUBLE_EQ(t.hi, 0);
  for (double v : same) EXPECT_TRUE(std::isfinite(t.px(v)));
  // Exact decade values stay inside their own decade (no empty extra decade).
  const YScale d = log_loss_scale(std::vector<double>{99.9, 99.9}, 0, 100);
  EXPECT_DOUBLE_EQ(d.lo, -1);
  EXPECT_DOUBLE_EQ(d.hi, 0);
  // SNR all equal: a range around the value.
  const YScale lin = linear_scale(std::vector<double>(10, 35.0), 0, 100);
  EXPECT_LT(lin.lo, 35);
  EXPECT_GT(lin.hi, 35);
  EXPECT_FALSE(lin.ticks().empty());
  // MSE all zero.
  const YScale lg = log_scale(std::vector<double>(4, 0.0), 0, 100);
  EXPECT_LT(lg.lo, lg.hi);
  EXPECT_DOUBLE_EQ(lg.px(0.0), 0);
}

TEST(ChartTest, NaNHasNoPixelAndDoesNotMoveTheRange) {
  const std::vector<double> with_nan = {99.99, kNaN, 99.9};
  const std::vector<double> without = {99.99, 99.9};
  const YScale a = log_loss_scale(with_nan, 0, 100), b = log_loss_scale(without, 0, 100);
  EXPECT_DOUBLE_EQ(a.lo, b.lo);
  EXPECT_DOUBLE_EQ(a.hi, b.hi);
  EXPECT_TRUE(std::isnan(a.px(kNaN)));
  // Only NaN: still a valid range.
  const YScale c = log_loss_scale(std::vector<double>{kNaN, kNaN}, 0, 100);
  EXPECT_LT(c.lo, c.hi);
  EXPECT_TRUE(std::isnan(c.px(kNaN)));
  const YScale d = linear_scale(std::vector<double>{kNaN}, 0, 100);
  EXPECT_LT(d.lo, d.hi);
  EXPECT_TRUE(std::isnan(d.px(kNaN)));
  EXPECT_TRUE(std::isnan(log_scale(std::vector<double>{1.0, kNaN}, 0, 100).px(kNaN)));
}

TEST(ChartTest, ExtremesAreClampedIntoThePlot) {
  // Cosine down to -100%: the axis ends at loss 200 (-100%), not at an empty decade.
  const std::vector<double> v = {99.999, -100.0};
  const YScale s = log_loss_scale(v, 0, 100);
  EXPECT_NEAR(s.hi, std::log10(200.0), 1e-12);
  EXPECT_DOUBLE_EQ(s.px(-100.0), 100);
  EXPECT_EQ(s.ticks().back().label, "-100");
  // Values beyond the range, and loss below the floor, stay on the plot.
  EXPECT_DOUBLE_EQ(s.px(100.0), 0);
  EXPECT_DOUBLE_EQ(s.px(100.5), 0);  // a rounding above 100%
  EXPECT_DOUBLE_EQ(s.px(-kInf), 100);
  const YScale lin = linear_scale(std::vector<double>{20.0, 40.0, kInf}, 0, 100);
  EXPECT_DOUBLE_EQ(lin.px(kInf), 0);
  EXPECT_DOUBLE_EQ(lin.px(-kInf), 100);
  EXPECT_LE(lin.lo, 20);
  EXPECT_GE(lin.hi, 40);
}

TEST(ChartTest, LinearTicksAreRound) {
  const YScale s = linear_scale(std::vector<double>{12.3, 47.9}, 0, 100);
  EXPECT_DOUBLE_EQ(s.tick_step, 10);
  EXPECT_DOUBLE_EQ(s.lo, 10);
  EXPECT_DOUBLE_EQ(s.hi, 50);
  const auto t = s.ticks();
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t[0].label, "10");
  EXPECT_DOUBLE_EQ(t[0].px, 100);  // lowest at the bottom
  EXPECT_EQ(t[4].label, "50");
  EXPECT_DOUBLE_EQ(t[4].px, 0);
}

TEST(ChartTest, ScaleForMetric) {
  const std::vector<double> v = {1.0, 2.0};
  EXPECT_EQ(scale_for(analysis::Metric::kCosine, v, 0, 1).kind, AxisKind::kLogLoss);
  EXPECT_EQ(scale_for(analysis::Metric::kTop1, v, 0, 1).kind, AxisKind::kLogLoss);
  EXPECT_EQ(scale_for(analysis::Metric::kSnr, v, 0, 1).kind, AxisKind::kLinear);
  EXPECT_EQ(scale_for(analysis::Metric::kMse, v, 0, 1).kind, AxisKind::kLog);
  // Errors: smaller is better and drawn higher.
  const YScale m = log_scale(std::vector<double>{1e-6, 1e-2}, 0, 100);
  EXPECT_LT(m.px(1e-6), m.px(1e-2));
  EXPECT_DOUBLE_EQ(m.lo, -6);
  EXPECT_DOUBLE_EQ(m.hi, -2);
}

TEST(ChartTest, XAxis) {
  EXPECT_DOUBLE_EQ(x_px(0, 100, 0, 99), 0);
  EXPECT_DOUBLE_EQ(x_px(99, 100, 0, 99), 99);
  EXPECT_DOUBLE_EQ(x_px(0, 0, 0, 10), 5);
  const auto t = x_ticks(100, 12);
  ASSERT_FALSE(t.empty());
  EXPECT_EQ(t[0], 0u);
  EXPECT_EQ(t[1], 10u);
  EXPECT_LE(t.size(), 12u);
  EXPECT_TRUE(x_ticks(0).empty());
  EXPECT_DOUBLE_EQ(nice_step(3.2), 5);
  EXPECT_DOUBLE_EQ(nice_step(0.011), 0.02);
  EXPECT_DOUBLE_EQ(nice_step(10), 10);
}

}  // namespace
}  // namespace qs::report::chart
