// Reference Resize kernel against hand-computed coordinates, weights and outputs.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/reference/resize.h"
#include "kernels/reference/shape.h"

namespace qs::kernels::ref {
namespace {

ResizeOptions opts(ResizeMode m, CoordMode c, NearestMode n = NearestMode::kRoundPreferFloor) {
  ResizeOptions o;
  o.mode = m;
  o.coord = c;
  o.nearest = n;
  return o;
}

std::vector<float> resize1d(const std::vector<float>& x, int64_t out, double scale, const ResizeOptions& o) {
  std::vector<ResizeAxisPlan> plans{plan_resize_axis({static_cast<int64_t>(x.size()), out, scale}, o)};
  std::vector<float> y(static_cast<size_t>(out));
  resize_f32(x.data(), {static_cast<int64_t>(x.size())}, plans, 0.f, y.data());
  return y;
}

TEST(ResizePlan, NearestModesOnAsymmetricUpsample) {
  // in 2 -> out 5, scale 2.5: x_original = 0, 0.4, 0.8, 1.2, 1.6.
  const ResizeAxis a{2, 5, 2.5};
  auto map = [&](NearestMode n) {
    return nearest_source_map(plan_resize_axis(a, opts(ResizeMode::kNearest, CoordMode::kAsymmetric, n)));
  };
  EXPECT_EQ(map(NearestMode::kFloor), (std::vector<int64_t>{0, 0, 0, 1, 1}));
  EXPECT_EQ(map(NearestMode::kCeil), (std::vector<int64_t>{0, 1, 1, 1, 1}));  // ceil(1.2)=2 clamps to 1
  EXPECT_EQ(map(NearestMode::kRoundPreferFloor), (std::vector<int64_t>{0, 0, 1, 1, 1}));
}

TEST(ResizePlan, RoundPreferFloorVersusCeilAtHalf) {
  // in 2 -> out 4 asymmetric: x_original = 0, 0.5, 1, 1.5.
  const ResizeAxis a{2, 4, 2.0};
  EXPECT_EQ(nearest_source_map(plan_resize_axis(a, opts(ResizeMode::kNearest, CoordMode::kAsymmetric))),
            (std::vector<int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(nearest_source_map(plan_resize_axis(
                a, opts(ResizeMode::kNearest, CoordMode::kAsymmetric, NearestMode::kRoundPreferCeil))),
            (std::vector<int64_t>{0, 1, 1, 1}));
}

TEST(Resize1d, LinearHalfPixelUpsample) {
  // x_original = -0.25, 0.25, 0.75, 1.25 -> clamped edges.
  EXPECT_EQ(resize1d({1, 2}, 4, 2.0, opts(ResizeMode::kLinear, CoordMode::kHalfPixel)),
            (std::vector<float>{1.f, 1.25f, 1.75f, 2.f}));
}

TEST(Resize1d, LinearAlignCorners) {
  // x_original = x * 2 / 3 over [0, 2].
  const auto y = resize1d({0, 3, 6}, 4, 4.0 / 3.0, opts(ResizeMode::kLinear, CoordMode::kAlignCorners));
  const std::vector<float> want{0, 2, 4, 6};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(y[i], want[i], 1e-5);
}

TEST(Resize1d, LinearUsesScaleTimesInputAsOutputLength) {
  // ONNX's align_corners divides by scale*in - 1 = 1.4 (not by out - 1 = 1): x_original(1) = 3/1.4.
  const auto y = resize1d({1, 2, 3, 4}, 2, 0.6, opts(ResizeMode::kLinear, CoordMode::kAlignCorners));
  EXPECT_NEAR(y[0], 1.0, 1e-6);
  EXPECT_NEAR(y[1], 1.0 + 3.0 / 1.4, 1e-5);
}

TEST(ResizePlan, CubicWeightsAndExcludeOutside) {
  ResizeOptions o = opts(ResizeMode::kCubic, CoordMode::kAsymmetric);
  // scale 2: x_original(1) = 0.5 -> taps -1..2 with A=-0.75 weights (-0.09375, 0.59375, 0.59375, -0.09375).
  auto p = plan_resize_axis({4, 8, 2.0}, o);
  ASSERT_EQ(p.taps, 4);
  const double want[] = {-0.09375, 0.59375, 0.59375, -0.09375};
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(p.w[4 + k], want[k], 1e-12);
  EXPECT_EQ(p.idx[4], 0);  // -1 clamps to 0
  o.exclude_outside = true;
  p = plan_resize_axis({4, 8, 2.0}, o);
  const double s = 0.59375 + 0.59375 - 0.09375;  // sum of the three inside weights
  EXPECT_NEAR(p.w[4], 0.0, 1e-12);
  EXPECT_NEAR(p.w[5], 0.59375 / s, 1e-12);
  EXPECT_NEAR(p.w[7], -0.09375 / s, 1e-12);
}

TEST(ResizePlan, IntegralCoordinateIsIdentity) {
  EXPECT_TRUE(plan_resize_axis({5, 5, 1.0}, opts(ResizeMode::kCubic, CoordMode::kHalfPixel)).identity);
  EXPECT_FALSE(plan_resize_axis({5, 5, 1.0}, opts(ResizeMode::kLinear, CoordMode::kTfHalfPixelForNn)).identity);
}

TEST(Resize2d, TfCropAndResizeExtrapolates) {
  // 2x2 input; roi [0, 0.5] on rows keeps row 0..0.5; roi [-1, 1] on columns reaches outside.
  const std::vector<float> x{1, 2, 3, 4};
  ResizeOptions o = opts(ResizeMode::kLinear, CoordMode::kTfCropAndResize);
  std::vector<ResizeAxisPlan> plans{plan_resize_axis({2, 2, 1.0, 0.0, 0.5}, o),
                                    plan_resize_axis({2, 3, 1.5, -1.0, 1.0}, o)};
  // rows: x_original = 0, 0.5; columns: x_original = -1 (out), 0, 1.
  std::vector<float> y(6);
  resize_f32(x.data(), {2, 2}, plans, 9.f, y.data());
  EXPECT_EQ(y, (std::vector<float>{9, 1, 2, 9, 2, 3}));
}

TEST(Resize2d, NearestAnyDtypeThroughIndexMap) {
  const std::vector<int8_t> x{1, 2, 3, 4};  // [2,2] -> [4,4] nearest asymmetric floor
  ResizeOptions o = opts(ResizeMode::kNearest, CoordMode::kAsymmetric, NearestMode::kFloor);
  IndexMap m{{2, 2},
             {nearest_source_map(plan_resize_axis({2, 4, 2.0}, o)), nearest_source_map(plan_resize_axis({2, 4, 2.0}, o))}};
  std::vector<int8_t> y(16);
  index_map_copy(x.data(), y.data(), m, nullptr, 1);
  EXPECT_EQ(y, (std::vector<int8_t>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
}

}  // namespace
}  // namespace qs::kernels::ref
