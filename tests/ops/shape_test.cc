// Prepare-time validation and shape inference of the shape and data-movement ops
// (ops/shape.cc, ops/data.cc, ops/resize.cc) and of LRN and MeanVarianceNormalization, plus a
// few end-to-end kernel runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "ops/op_case.h"
#include "random_values.h"

namespace qs::ops {
namespace {

using ::testing::HasSubstr;

TEST(Reshape, ZeroCopiesAndMinusOneInfers) {
  EXPECT_EQ(OpCase("Reshape", 13).input(DType::kFloat32, {2, 3, 4}).ints_input({0, -1}).shape(), (Shape{2, 12}));
  EXPECT_EQ(OpCase("Reshape", 14).int_attr("allowzero", 1).input(DType::kFloat32, {0, 3}).ints_input({3, 0}).shape(),
            (Shape{3, 0}));
  EXPECT_EQ(OpCase("Reshape", 1).ints("shape", {4, -1}).input(DType::kInt8, {2, 4}).shape(), (Shape{4, 2}));
}

TEST(Reshape, Errors) {
  EXPECT_THAT(OpCase("Reshape", 13).input(DType::kFloat32, {2, 3}).ints_input({-1, -1}).error(),
              HasSubstr("more than one -1"));
  EXPECT_THAT(OpCase("Reshape", 13).input(DType::kFloat32, {2, 3}).ints_input({4, -1}).error(),
              HasSubstr("cannot reshape [2,3] (6 elements) to [4,-1]"));
  EXPECT_THAT(OpCase("Reshape", 13).input(DType::kFloat32, {2, 3}).ints_input({5}).error(),
              HasSubstr("node 'n' (Reshape): cannot reshape"));
  EXPECT_THAT(OpCase("Reshape", 13).input(DType::kFloat32, {6}).ints_input({1, 0}).error(),
              HasSubstr("input [6] has rank 1"));
  EXPECT_THAT(OpCase("Reshape", 14).int_attr("allowzero", 1).input(DType::kFloat32, {0}).ints_input({0, -1}).error(),
              HasSubstr("both 0 and -1"));
  EXPECT_THAT(OpCase("Reshape", 13).input(DType::kFloat32, {6}).ints_input({-2, -3}).error(),
              HasSubstr("invalid dimension -2"));
  EXPECT_THAT(OpCase("Reshape", 13).input(DType::kFloat32, {6}).input(DType::kInt64, {1}).error(),
              HasSubstr("must be a constant"));
  const int64_t big = std::numeric_limits<int64_t>::max() / 2;
  EXPECT_THAT(OpCase("Reshape", 13).input(DType::kFloat32, {6}).ints_input({big, big, -1}).error(),
              HasSubstr("overflows"));
}

TEST(Flatten, AxisRangeAndShape) {
  EXPECT_EQ(OpCase("Flatten", 13).int_attr("axis", 0).input(DType::kFloat32, {2, 3}).shape(), (Shape{1, 6}));
  EXPECT_EQ(OpCase("Flatten", 13).int_attr("axis", -1).input(DType::kFloat32, {2, 3, 4}).shape(), (Shape{6, 4}));
  EXPECT_THAT(OpCase("Flatten", 13).int_attr("axis", 3).input(DType::kFloat32, {2, 3}).error(),
              HasSubstr("axis 3 is out of range for rank 2"));
}

TEST(Transpose, DefaultReversesAndPermRunsKernel) {
  EXPECT_EQ(OpCase("Transpose", 13).input(DType::kFloat32, {2, 3, 4}).shape(), (Shape{4, 3, 2}));
  EXPECT_THAT(OpCase("Transpose", 13).ints("perm", {0, 0}).input(DType::kFloat32, {2, 3}).error(),
              HasSubstr("not a permutation"));
  EXPECT_THAT(OpCase("Transpose", 13).ints("perm", {0}).input(DType::kFloat32, {2, 3}).error(),
              HasSubstr("has 1 entries"));
  const std::vector<uint16_t> v{1, 2, 3, 4, 5, 6};
  auto out = OpCase("Transpose", 13).input(DType::kUInt16, {2, 3}).run({Tensor::FromVector<uint16_t>({2, 3}, v)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::vector<uint16_t>(out[0].values<uint16_t>().begin(), out[0].values<uint16_t>().end()),
            (std::vector<uint16_t>{1, 4, 2, 5, 3, 6}));
}

TEST(DepthToSpace, ShapesModesErrorsAndRoundTrip) {
  EXPECT_EQ(OpCase("DepthToSpace", 13).int_attr("blocksize", 2).input(DType::kFloat32, {1, 8, 3, 5}).shape(),
            (Shape{1, 2, 6, 10}));
  EXPECT_EQ(OpCase("SpaceToDepth", 13).int_attr("blocksize", 3).input(DType::kInt8, {2, 1, 6, 9}).shape(),
            (Shape{2, 9, 2, 3}));
  EXPECT_THAT(OpCase("DepthToSpace", 13).int_attr("blocksize", 2).input(DType::kFloat32, {1, 6, 3, 5}).error(),
              HasSubstr("node 'n' (DepthToSpace): input has 6 channels, not a multiple of blocksize^2 = 4"));
  EXPECT_THAT(OpCase("DepthToSpace", 13).input(DType::kFloat32, {1, 4, 3, 5}).error(), HasSubstr("'blocksize' is 0"));
  EXPECT_THAT(OpCase("DepthToSpace", 13).int_attr("blocksize", 2).str("mode", "XYZ").input(DType::kFloat32, {1, 4, 3, 5}).error(),
              HasSubstr("'mode' is 'XYZ'"));
  EXPECT_THAT(OpCase("SpaceToDepth", 13).int_attr("blocksize", 2).input(DType::kFloat32, {1, 4, 3, 4}).error(),
              HasSubstr("multiples of blocksize 2"));
  EXPECT_THAT(OpCase("SpaceToDepth", 13).int_attr("blocksize", 2).input(DType::kFloat32, {4, 3, 4}).error(),
              HasSubstr("expected rank 4"));
  // SpaceToDepth then DepthToSpace in DCR mode gives the input back.
  std::vector<int32_t> v(2 * 3 * 4 * 6);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(i);
  auto packed = OpCase("SpaceToDepth", 13).int_attr("blocksize", 2).input(DType::kInt32, {2, 3, 4, 6}).run(
      {Tensor::FromVector<int32_t>({2, 3, 4, 6}, v)});
  ASSERT_EQ(packed.size(), 1u);
  EXPECT_EQ(packed[0].shape(), (Shape{2, 12, 2, 3}));
  EXPECT_EQ(packed[0].values<int32_t>()[1], 2);  // channel 0 holds the (0, 0) pixel of each 2x2 block
  auto back = OpCase("DepthToSpace", 13).int_attr("blocksize", 2).input(DType::kInt32, {2, 12, 2, 3}).run(packed);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(std::vector<int32_t>(back[0].values<int32_t>().begin(), back[0].values<int32_t>().end()), v);
}

TEST(LrnAndMvn, ValidationAndValues) {
  EXPECT_THAT(OpCase("LRN", 13).input(DType::kFloat32, {1, 4, 3, 3}).error(), HasSubstr("node 'n' (LRN): 'size' is 0"));
  EXPECT_THAT(OpCase("LRN", 13).int_attr("size", 3).input(DType::kFloat32, {4, 3}).error(), HasSubstr("expected rank >= 3"));
  EXPECT_THAT(OpCase("MeanVarianceNormalization", 13).ints("axes", {0, 4}).input(DType::kFloat32, {1, 4, 3, 3}).error(),
              HasSubstr("axes [0,4]"));
  // LRN over 3 channels of one pixel: y_c = x_c / (1 + 0.3 / 3 * sum of x^2 over the neighbours)^0.5.
  auto lrn = OpCase("LRN", 13).int_attr("size", 3).float_attr("alpha", 0.3f).float_attr("beta", 0.5f)
                 .input(DType::kFloat32, {1, 3, 1, 1})
                 .run({Tensor::FromVector<float>({1, 3, 1, 1}, std::vector<float>{1.f, 2.f, 3.f})});
  ASSERT_EQ(lrn.size(), 1u);
  EXPECT_FLOAT_EQ(lrn[0].values<float>()[0], 1.f / std::sqrt(1.f + 0.1f * 5.f));
  EXPECT_FLOAT_EQ(lrn[0].values<float>()[1], 2.f / std::sqrt(1.f + 0.1f * 14.f));
  EXPECT_FLOAT_EQ(lrn[0].values<float>()[2], 3.f / std::sqrt(1.f + 0.1f * 13.f));
  // MVN over the last axis: each row to mean 0 and deviation 1; a constant row to 0, not NaN.
  auto mvn = OpCase("MeanVarianceNormalization", 13).ints("axes", {1}).input(DType::kFloat32, {2, 4})
                 .run({Tensor::FromVector<float>({2, 4}, std::vector<float>{1.f, 2.f, 3.f, 4.f, 5.f, 5.f, 5.f, 5.f})});
  ASSERT_EQ(mvn.size(), 1u);
  const float d = std::sqrt(1.25f);
  EXPECT_NEAR(mvn[0].values<float>()[0], -1.5f / d, 1e-6f);
  EXPECT_NEAR(mvn[0].values<float>()[3], 1.5f / d, 1e-6f);
  for (int i = 4; i < 8; ++i) EXPECT_EQ(mvn[0].values<float>()[i], 0.f);
}

TEST(GroupNormalization, GroupsOfOneChannelAreInstanceNormAndPerGroupAffineBeforeOpset21) {
  const Shape xs{2, 6, 3, 5};
  const Tensor x = Tensor::FromVector<float>(xs, random_values(numel(xs), 41));
  const Tensor scale6 = Tensor::FromVector<float>({6}, std::vector<float>{0.5f, 1.f, 1.5f, -2.f, 0.25f, 3.f});
  const Tensor bias6 = Tensor::FromVector<float>({6}, std::vector<float>{0.f, 0.1f, -0.2f, 0.3f, 1.f, -1.f});
  // One channel a group (opset 21: per-channel scale and bias) is InstanceNormalization.
  auto gn = OpCase("GroupNormalization", 21).int_attr("num_groups", 6).input(DType::kFloat32, xs)
                .input(DType::kFloat32, {6}).input(DType::kFloat32, {6}).run({x, scale6, bias6});
  auto in = OpCase("InstanceNormalization", 6).input(DType::kFloat32, xs).input(DType::kFloat32, {6})
                .input(DType::kFloat32, {6}).run({x, scale6, bias6});
  ASSERT_EQ(gn.size(), 1u);
  ASSERT_EQ(in.size(), 1u);
  for (int64_t i = 0; i < numel(xs); ++i) EXPECT_NEAR(gn[0].values<float>()[i], in[0].values<float>()[i], 1e-5f) << i;
  // Two groups of three channels at opset 18: one scale and bias per group, statistics over the
  // group's 3 x 15 values; the same as opset 21 with each group's values repeated per channel.
  const Tensor scale2 = Tensor::FromVector<float>({2}, std::vector<float>{2.f, -0.5f});
  const Tensor bias2 = Tensor::FromVector<float>({2}, std::vector<float>{0.5f, 0.f});
  auto g18 = OpCase("GroupNormalization", 18).int_attr("num_groups", 2).input(DType::kFloat32, xs)
                 .input(DType::kFloat32, {2}).input(DType::kFloat32, {2}).run({x, scale2, bias2});
  const Tensor scale_rep = Tensor::FromVector<float>({6}, std::vector<float>{2.f, 2.f, 2.f, -0.5f, -0.5f, -0.5f});
  const Tensor bias_rep = Tensor::FromVector<float>({6}, std::vector<float>{0.5f, 0.5f, 0.5f, 0.f, 0.f, 0.f});
  auto g21 = OpCase("GroupNormalization", 21).int_attr("num_groups", 2).input(DType::kFloat32, xs)
                 .input(DType::kFloat32, {6}).input(DType::kFloat32, {6}).run({x, scale_rep, bias_rep});
  ASSERT_EQ(g18.size(), 1u);
  ASSERT_EQ(g21.size(), 1u);
  for (int64_t i = 0; i < numel(xs); ++i) EXPECT_EQ(g18[0].values<float>()[i], g21[0].values<float>()[i]) << i;
  // Each group of the first sample, after undoing its affine, has mean 0 and variance 1 / (1 + eps / var).
  for (int g = 0; g < 2; ++g) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < 45; ++i) {
      const double v = (g18[0].values<float>()[g * 45 + i] - bias2.values<float>()[g]) / scale2.values<float>()[g];
      sum += v;
      sq += v * v;
    }
    EXPECT_NEAR(sum / 45, 0.0, 1e-5) << g;
    EXPECT_NEAR(sq / 45, 1.0, 1e-3) << g;
  }
  // By hand: one group over both channels of [[1, 2], [3, 4]]: mean 2.5, variance 1.25.
  auto one = OpCase("GroupNormalization", 18).int_attr("num_groups", 1).float_attr("epsilon", 0.f)
                 .input(DType::kFloat32, {1, 2, 2}).input(DType::kFloat32, {1}).input(DType::kFloat32, {1})
                 .run({Tensor::FromVector<float>({1, 2, 2}, std::vector<float>{1.f, 2.f, 3.f, 4.f}),
                       Tensor::FromVector<float>({1}, std::vector<float>{1.f}),
                       Tensor::FromVector<float>({1}, std::vector<float>{0.f})});
  ASSERT_EQ(one.size(), 1u);
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(one[0].values<float>()[i], (static_cast<float>(i + 1) - 2.5f) / std::sqrt(1.25f), 1e-6f) << i;
  EXPECT_THAT(OpCase("GroupNormalization", 18).int_attr("num_groups", 4).input(DType::kFloat32, xs)
                  .constant(scale2).constant(bias2).error(),
              HasSubstr("'num_groups' 4 does not divide the 6 channels"));
  EXPECT_THAT(OpCase("GroupNormalization", 21).int_attr("num_groups", 2).input(DType::kFloat32, xs)
                  .constant(scale2).constant(bias2).error(),
              HasSubstr("expected [6] (one value per channel at opset 21)"));
  EXPECT_THAT(OpCase("GroupNormalization", 18).input(DType::kFloat32, xs).constant(scale2).constant(bias2).error(),
              HasSubstr("'num_groups' is 0"));
  // An empty X with a huge group count is refused, not looped over.
  EXPECT_THAT(OpCase("GroupNormalization", 18).int_attr("num_groups", int64_t{1} << 60)
                  .input(DType::kFloat32, {1, 0, 5}).constant(scale2).constant(bias2).error(),
              HasSubstr("is more than the 0 channels"));
}

TEST(LpNormalization, DividesEachVectorAlongTheAxisByItsNorm) {
  // [2, 2, 2] along axis 1: the vectors (x[o, 0, i], x[o, 1, i]).
  const Tensor x = Tensor::FromVector<float>({2, 2, 2}, std::vector<float>{3.f, 1.f, 4.f, -2.f, 0.f, 5.f, 0.f, -12.f});
  auto l2 = OpCase("LpNormalization", 1).int_attr("axis", 1).input(DType::kFloat32, {2, 2, 2}).run({x});
  ASSERT_EQ(l2.size(), 1u);
  const auto y = l2[0].values<float>();
  EXPECT_FLOAT_EQ(y[0], 3.f / 5.f);  // (3, 4)
  EXPECT_FLOAT_EQ(y[2], 4.f / 5.f);
  EXPECT_FLOAT_EQ(y[1], 1.f / std::sqrt(5.f));  // (1, -2)
  EXPECT_FLOAT_EQ(y[3], -2.f / std::sqrt(5.f));
  EXPECT_TRUE(std::isnan(y[4]) && std::isnan(y[6]));  // (0, 0): 0 / 0
  EXPECT_FLOAT_EQ(y[5], 5.f / 13.f);  // (5, -12)
  EXPECT_FLOAT_EQ(y[7], -12.f / 13.f);
  auto l1 = OpCase("LpNormalization", 1).int_attr("p", 1).input(DType::kFloat32, {2, 2, 2}).run({x});  // axis -1
  ASSERT_EQ(l1.size(), 1u);
  EXPECT_FLOAT_EQ(l1[0].values<float>()[0], 3.f / 4.f);  // (3, 1)
  EXPECT_FLOAT_EQ(l1[0].values<float>()[3], -2.f / 6.f);  // (4, -2)
  EXPECT_THAT(OpCase("LpNormalization", 1).int_attr("p", 3).input(DType::kFloat32, {2, 2}).error(),
              HasSubstr("'p' is 3, expected 1 or 2"));
  EXPECT_THAT(OpCase("LpNormalization", 1).int_attr("axis", 2).input(DType::kFloat32, {2, 2}).error(),
              HasSubstr("input shape [2,2]"));
}

TEST(GatherNdScatter, RuntimeIndicesOutsideAreZeroOrSkippedAndErrors) {
  const Tensor data = Tensor::FromVector<float>({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  // Index tuples computed at run time: (1, -1) -> 6, (2, 0) is outside -> 0.
  const Tensor idx = Tensor::FromVector<int64_t>({2, 2}, std::vector<int64_t>{1, -1, 2, 0});
  auto g = OpCase("GatherND", 13).input(DType::kFloat32, {2, 3}).input(DType::kInt64, {2, 2}).run({data, idx});
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(std::vector<float>(g[0].values<float>().begin(), g[0].values<float>().end()), (std::vector<float>{6, 0}));
  // ScatterND with add: (1, -1) gets +10, the outside tuple is skipped.
  const Tensor upd = Tensor::FromVector<float>({2}, std::vector<float>{10, 20});
  auto sn = OpCase("ScatterND", 16).str("reduction", "add").input(DType::kFloat32, {2, 3}).input(DType::kInt64, {2, 2})
                .input(DType::kFloat32, {2}).run({data, idx, upd});
  EXPECT_EQ(std::vector<float>(sn[0].values<float>().begin(), sn[0].values<float>().end()),
            (std::vector<float>{1, 2, 3, 4, 5, 16}));
  // ScatterElements along axis 1 with max: (0, 2) -> max(3, 7), (1, 5 outside) skipped.
  const Tensor ei = Tensor::FromVector<int64_t>({2, 1}, std::vector<int64_t>{2, 5});
  const Tensor eu = Tensor::FromVector<float>({2, 1}, std::vector<float>{7, 9});
  auto se = OpCase("ScatterElements", 18).int_attr("axis", 1).str("reduction", "max").input(DType::kFloat32, {2, 3})
                .input(DType::kInt64, {2, 1}).input(DType::kFloat32, {2, 1}).run({data, ei, eu});
  EXPECT_EQ(std::vector<float>(se[0].values<float>().begin(), se[0].values<float>().end()),
            (std::vector<float>{1, 2, 7, 4, 5, 6}));
  EXPECT_THAT(OpCase("GatherND", 13).input(DType::kFloat32, {2, 3}).input(DType::kInt64, {2, 3}).error(),
              HasSubstr("node 'n' (GatherND): batch_dims 0 and index tuples of length 3 do not fit data [2,3]"));
  EXPECT_THAT(OpCase("GatherND", 13).input(DType::kFloat32, {2, 3}).ints_input({0, 3}).error(),
              HasSubstr("index 3 is out of range for an axis of size 3"));
  EXPECT_THAT(OpCase("ScatterND", 16).input(DType::kFloat32, {2, 3}).input(DType::kInt64, {2, 2})
                  .input(DType::kFloat32, {2, 3}).error(),
              HasSubstr("updates have shape [2,3], expected [2]"));
  EXPECT_THAT(OpCase("ScatterND", 16).str("reduction", "avg").input(DType::kFloat32, {2, 3}).input(DType::kInt64, {2, 2})
                  .input(DType::kFloat32, {2}).error(),
              HasSubstr("'reduction' is 'avg'"));
}

TEST(GridSample, WildGridPointsGiveZerosOrBorderAndErrors) {
  const Tensor x = Tensor::FromVector<float>({1, 1, 2, 2}, std::vector<float>{1, 2, 3, 4});
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  // Points: the centre, NaN, far outside, +inf.
  const Tensor grid = Tensor::FromVector<float>({1, 1, 4, 2}, std::vector<float>{0, 0, nan, 0, 1e30f, -1e30f, inf, 0});
  for (const char* mode : {"bilinear", "nearest", "bicubic"})
    for (const char* padding : {"zeros", "border", "reflection"}) {
      auto out = OpCase("GridSample", 16).str("mode", mode).str("padding_mode", padding)
                     .input(DType::kFloat32, {1, 1, 2, 2}).input(DType::kFloat32, {1, 1, 4, 2}).run({x, grid});
      ASSERT_EQ(out.size(), 1u);
      ASSERT_EQ(out[0].shape(), (Shape{1, 1, 1, 4}));
      const float centre = out[0].values<float>()[0];
      if (std::string(mode) == "bilinear") {
        EXPECT_FLOAT_EQ(centre, 2.5f) << mode << " " << padding;
      }
      if (std::string(padding) == "zeros") {
        EXPECT_EQ(out[0].values<float>()[2], 0.f) << mode;
      }
      if (std::string(padding) == "border" && std::string(mode) != "bicubic") {
        EXPECT_EQ(out[0].values<float>()[2], 2.f) << mode;  // x clamps right, y clamps up: the top-right pixel
      }
    }
  EXPECT_THAT(OpCase("GridSample", 16).input(DType::kFloat32, {1, 1, 2, 2}).input(DType::kFloat32, {2, 1, 4, 2}).error(),
              HasSubstr("node 'n' (GridSample): grid has shape [2,1,4,2], expected [1, H_out, W_out, 2]"));
  EXPECT_THAT(OpCase("GridSample", 16).str("mode", "area").input(DType::kFloat32, {1, 1, 2, 2})
                  .input(DType::kFloat32, {1, 1, 4, 2}).error(),
              HasSubstr("'mode' is 'area'"));
}

TEST(OneHotReverseSequence, OutsideIndicesAndLengthsAreHarmless) {
  // Indices 1, -1 (= depth - 1), 5 (outside: all off) and NaN (no hot position), depth 3.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor idx = Tensor::FromVector<float>({4}, std::vector<float>{1, -1, 5, nan});
  const Tensor depth = Tensor::FromVector<float>({}, std::vector<float>{3});
  const Tensor values = Tensor::FromVector<int64_t>({2}, std::vector<int64_t>{-7, 9});
  OpCase oh("OneHot", 11);
  oh.input(DType::kFloat32, {4}).constant(depth).input(DType::kInt64, {2});
  auto out = oh.run_ptrs({&idx, &depth, &values});
  ASSERT_EQ(out[0].shape(), (Shape{4, 3}));
  EXPECT_EQ(std::vector<int64_t>(out[0].values<int64_t>().begin(), out[0].values<int64_t>().end()),
            (std::vector<int64_t>{-7, 9, -7, -7, -7, 9, -7, -7, -7, -7, -7, -7}));
  EXPECT_THAT(OpCase("OneHot", 11).input(DType::kInt64, {4}).input(DType::kFloat32, {}).input(DType::kInt64, {2}).error(),
              HasSubstr("must be a constant"));
  // ReverseSequence over time (axis 0) for 2 sequences of lengths 3 and 9 (clamped to 4).
  const Tensor x = Tensor::FromVector<int32_t>({4, 2}, std::vector<int32_t>{0, 10, 1, 11, 2, 12, 3, 13});
  const Tensor lens = Tensor::FromVector<int64_t>({2}, std::vector<int64_t>{3, 9});
  auto rs = OpCase("ReverseSequence", 10).input(DType::kInt32, {4, 2}).input(DType::kInt64, {2}).run({x, lens});
  EXPECT_EQ(std::vector<int32_t>(rs[0].values<int32_t>().begin(), rs[0].values<int32_t>().end()),
            (std::vector<int32_t>{2, 13, 1, 12, 0, 11, 3, 10}));
  EXPECT_THAT(OpCase("ReverseSequence", 10).int_attr("batch_axis", 0).input(DType::kInt32, {4, 2}).input(DType::kInt64, {2}).error(),
              HasSubstr("batch_axis 0 and time_axis 0 must be 0 and 1"));
}

TEST(MaxUnpool, PlacesValuesAtTheirIndicesAndSkipsOutsideOnes) {
  const Tensor x = Tensor::FromVector<float>({1, 1, 2, 2}, std::vector<float>{5, 6, 7, 8});
  const Tensor idx = Tensor::FromVector<int64_t>({1, 1, 2, 2}, std::vector<int64_t>{0, 3, 100, -1});
  auto out = OpCase("MaxUnpool", 11).ints("kernel_shape", {2, 2}).ints("strides", {2, 2})
                 .input(DType::kFloat32, {1, 1, 2, 2}).input(DType::kInt64, {1, 1, 2, 2}).run({x, idx});
  ASSERT_EQ(out[0].shape(), (Shape{1, 1, 4, 4}));
  std::vector<float> want(16, 0.f);
  want[0] = 5, want[3] = 6;  // 100 and -1 lie outside the 16 outputs
  EXPECT_EQ(std::vector<float>(out[0].values<float>().begin(), out[0].values<float>().end()), want);
  EXPECT_THAT(OpCase("MaxUnpool", 11).ints("kernel_shape", {2, 2}).input(DType::kFloat32, {1, 1, 2, 2})
                  .input(DType::kInt64, {1, 1, 2, 3}).error(),
              HasSubstr("node 'n' (MaxUnpool): indices have shape [1,1,2,3], X [1,1,2,2]"));
}

TEST(SqueezeUnsqueeze, AttributeBefore13InputFrom13) {
  EXPECT_EQ(OpCase("Squeeze", 11).ints("axes", {-1}).input(DType::kFloat32, {1, 3, 1}).shape(), (Shape{1, 3}));
  EXPECT_EQ(OpCase("Squeeze", 13).input(DType::kFloat32, {1, 3, 1}).shape(), (Shape{3}));
  EXPECT_EQ(OpCase("Squeeze", 13).input(DType::kFloat32, {1, 3, 1}).ints_input({0}).shape(), (Shape{3, 1}));
  EXPECT_THAT(OpCase("Squeeze", 13).input(DType::kFloat32, {1, 3}).ints_input({1}).error(),
              HasSubstr("cannot squeeze axis 1 of [1,3]"));
  EXPECT_EQ(OpCase("Unsqueeze", 11).ints("axes", {0, -1}).input(DType::kFloat32, {3}).shape(), (Shape{1, 3, 1}));
  EXPECT_EQ(OpCase("Unsqueeze", 13).input(DType::kFloat32, {3, 4}).ints_input({3, 1}).shape(), (Shape{3, 1, 4, 1}));
  EXPECT_THAT(OpCase("Unsqueeze", 13).input(DType::kFloat32, {3}).ints_input({1, 1}).error(), HasSubstr("repeated"));
  EXPECT_THAT(OpCase("Unsqueeze", 13).input(DType::kFloat32, {3}).ints_input({2}).error(),
              HasSubstr("axis 2 is out of range for rank 2"));
}

TEST(ShapeOp, StartEndClampAndReadsOnlyShape) {
  EXPECT_TRUE(find_op("Shape")->reads_only_shape);
  EXPECT_TRUE(find_op("Size")->reads_only_shape);
  OpCase c("Shape", 15);
  c.int_attr("start", -2).int_attr("end", 100).input(DType::kFloat32, {2, 3, 4});
  // A shape-only stand-in (no data), as the planner passes.
  auto out = c.run({Tensor(DType::kFloat32, {0}).Reshaped({2, 3, 4})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (Shape{2}));
  EXPECT_EQ(out[0].GetAsInt64(0), 3);
  EXPECT_EQ(out[0].GetAsInt64(1), 4);
  EXPECT_EQ(OpCase("Shape", 15).int_attr("start", 2).int_attr("end", 1).input(DType::kFloat32, {2, 3, 4}).shape(),
            (Shape{0}));
  auto size = OpCase("Size", 13).input(DType::kInt8, {2, 3, 4}).run({Tensor(DType::kInt8, {0}).Reshaped({2, 3, 4})});
  EXPECT_EQ(size[0].GetAsInt64(0), 24);
}

TEST(ConstantOfShape, ValidatesShapeAndValue) {
  EXPECT_EQ(OpCase("ConstantOfShape", 13).ints_input({2, 0}).shape(), (Shape{2, 0}));
  EXPECT_THAT(OpCase("ConstantOfShape", 13).ints_input({2, -1}).error(), HasSubstr("negative dimension"));
  EXPECT_THAT(OpCase("ConstantOfShape", 13).ints_input({int64_t{1} << 40, int64_t{1} << 40}).error(),
              HasSubstr("output shape"));
  EXPECT_THAT(OpCase("ConstantOfShape", 13).input(DType::kInt64, {2}).error(), HasSubstr("must be a constant"));
}

TEST(Expand, BroadcastsBothWays) {
  EXPECT_EQ(OpCase("Expand", 13).input(DType::kFloat32, {3, 1}).ints_input({2, 1, 4}).shape(), (Shape{2, 3, 4}));
  EXPECT_THAT(OpCase("Expand", 13).input(DType::kFloat32, {3, 2}).ints_input({4}).error(),
              HasSubstr("cannot be broadcast"));
}

TEST(Tile, RepeatsValidated) {
  EXPECT_EQ(OpCase("Tile", 13).input(DType::kFloat32, {2, 3}).ints_input({2, 0}).shape(), (Shape{4, 0}));
  EXPECT_THAT(OpCase("Tile", 13).input(DType::kFloat32, {2, 3}).ints_input({2}).error(), HasSubstr("has 1 entries"));
  EXPECT_THAT(OpCase("Tile", 13).input(DType::kFloat32, {2, 3}).ints_input({2, -1}).error(),
              HasSubstr("negative entry"));
}

TEST(Range, CountAndErrors) {
  auto s = [](float v) { return Tensor::Scalar<float>(v); };
  EXPECT_EQ(OpCase("Range", 11).constant(s(1)).constant(s(2)).constant(s(0.3f)).shape(), (Shape{4}));
  EXPECT_EQ(OpCase("Range", 11).constant(s(1)).constant(s(0)).constant(s(1)).shape(), (Shape{0}));
  EXPECT_THAT(OpCase("Range", 11).constant(s(1)).constant(s(2)).constant(s(0)).error(), HasSubstr("nonzero"));
  EXPECT_THAT(
      OpCase("Range", 11).constant(s(0)).constant(Tensor::Scalar<int64_t>(3)).constant(s(1)).error(),
      HasSubstr("share one element type"));
}

TEST(Constant, ValueKinds) {
  OpCase c("Constant", 13);
  c.floats("value_floats", {1.f, 2.f});
  EXPECT_EQ(c.shape(), (Shape{2}));
  EXPECT_EQ(c.ctx().outputs[0].dtype, DType::kFloat32);
  EXPECT_THAT(OpCase("Constant", 13).error(), HasSubstr("exactly one value attribute, found 0"));
  EXPECT_THAT(OpCase("Constant", 13).str("value_string", "a").error(), HasSubstr("not supported"));
}

TEST(Concat, ShapesAndErrors) {
  EXPECT_EQ(OpCase("Concat", 13).int_attr("axis", -1).input(DType::kFloat32, {2, 3}).input(DType::kFloat32, {2, 5}).shape(),
            (Shape{2, 8}));
  EXPECT_THAT(OpCase("Concat", 13).int_attr("axis", 1).input(DType::kFloat32, {2, 3}).input(DType::kFloat32, {3, 3}).error(),
              HasSubstr("does not match input 0 [2,3] outside axis 1"));
  EXPECT_THAT(OpCase("Concat", 13).int_attr("axis", 1).input(DType::kFloat32, {2, 3}).input(DType::kInt8, {2, 3}).error(),
              HasSubstr("input 1 is int8"));
  EXPECT_THAT(OpCase("Concat", 13).input(DType::kFloat32, {2}).error(), HasSubstr("'axis' is missing"));
}

TEST(Split, AttributeInputAndNumOutputs) {
  EXPECT_EQ(OpCase("Split", 11, 2).ints("split", {1, 3}).input(DType::kFloat32, {4}).shape(1), (Shape{3}));
  EXPECT_EQ(OpCase("Split", 13, 2).int_attr("axis", 1).input(DType::kFloat32, {2, 6}).shape(1), (Shape{2, 3}));
  EXPECT_EQ(OpCase("Split", 13, 2).input(DType::kFloat32, {5}).ints_input({5, 0}).shape(1), (Shape{0}));
  EXPECT_EQ(OpCase("Split", 18, 3).int_attr("num_outputs", 3).input(DType::kFloat32, {7}).shape(2), (Shape{1}));
  EXPECT_THAT(OpCase("Split", 13, 2).input(DType::kFloat32, {5}).error(), HasSubstr("into 2 equal parts"));
  EXPECT_THAT(OpCase("Split", 13, 2).input(DType::kFloat32, {5}).ints_input({1, 2}).error(), HasSubstr("sums to 3"));
  EXPECT_THAT(OpCase("Split", 18, 2).int_attr("num_outputs", 3).input(DType::kFloat32, {6}).error(),
              HasSubstr("num_outputs is 3 but the node has 2 outputs"));
}

TEST(Slice, ClampsAndNegativeSteps) {
  const int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
  // Opset 1: attributes.
  EXPECT_EQ(OpCase("Slice", 1).ints("starts", {1}).ints("ends", {kMax}).input(DType::kFloat32, {5, 4}).shape(),
            (Shape{4, 4}));
  // Reverse a whole axis: start -1, end INT64_MIN, step -1.
  OpCase rev("Slice", 13);
  rev.input(DType::kInt32, {4}).ints_input({-1}).ints_input({kMin}).ints_input({0}).ints_input({-1});
  auto out = rev.run({Tensor::FromVector<int32_t>({4}, std::vector<int32_t>{1, 2, 3, 4}), Tensor(), Tensor(), Tensor(),
                      Tensor()});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::vector<int32_t>(out[0].values<int32_t>().begin(), out[0].values<int32_t>().end()),
            (std::vector<int32_t>{4, 3, 2, 1}));
  // Step 3 from 1 to 8 on size 10: 1, 4, 7.
  EXPECT_EQ(OpCase("Slice", 13).input(DType::kFloat32, {10}).ints_input({1}).ints_input({8}).ints_input({-1}).ints_input({3}).shape(),
            (Shape{3}));
  EXPECT_EQ(OpCase("Slice", 13).input(DType::kFloat32, {0}).ints_input({0}).ints_input({-1}).absent().ints_input({-1}).shape(),
            (Shape{0}));
  EXPECT_THAT(OpCase("Slice", 13).input(DType::kFloat32, {4}).ints_input({0}).ints_input({2}).ints_input({0}).ints_input({0}).error(),
              HasSubstr("step for axis 0 is 0"));
  EXPECT_THAT(OpCase("Slice", 13).input(DType::kFloat32, {4}).ints_input({0}).ints_input({2, 3}).error(),
              HasSubstr("must match"));
  EXPECT_THAT(OpCase("Slice", 13).input(DType::kFloat32, {4}).ints_input({0}).ints_input({2}).ints_input({1}).error(),
              HasSubstr("axis 1 is out of range"));
}

TEST(Gather, ConstantIndicesCheckedRuntimeIndicesZeroFilled) {
  EXPECT_EQ(OpCase("Gather", 13).int_attr("axis", 1).input(DType::kFloat32, {2, 3, 4}).input(DType::kInt64, {5, 6}).shape(),
            (Shape{2, 5, 6, 4}));
  EXPECT_THAT(OpCase("Gather", 13).input(DType::kFloat32, {3}).ints_input({0, 3}).error(),
              HasSubstr("index 3 is out of range for an axis of size 3"));
  EXPECT_THAT(OpCase("Gather", 13).input(DType::kFloat32, {3}).input(DType::kFloat32, {1}).error(),
              HasSubstr("element type float32"));
  OpCase c("Gather", 13);
  c.input(DType::kFloat32, {3}).input(DType::kInt32, {3});
  auto out = c.run({Tensor::FromVector<float>({3}, std::vector<float>{1, 2, 3}),
                    Tensor::FromVector<int32_t>({3}, std::vector<int32_t>{-1, 7, 0})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::vector<float>(out[0].values<float>().begin(), out[0].values<float>().end()),
            (std::vector<float>{3, 0, 1}));
}

TEST(GatherElements, Validation) {
  EXPECT_EQ(OpCase("GatherElements", 13).input(DType::kFloat32, {3, 3}).input(DType::kInt64, {5, 2}).shape(),
            (Shape{5, 2}));
  EXPECT_THAT(OpCase("GatherElements", 13).input(DType::kFloat32, {3, 3}).input(DType::kInt64, {2, 4}).error(),
              HasSubstr("exceed the data [3,3] on axis 1"));
  EXPECT_THAT(OpCase("GatherElements", 13).input(DType::kFloat32, {3, 3}).input(DType::kInt64, {3}).error(),
              HasSubstr("must have the rank"));
}

TEST(Pad, OpsetsModesAndErrors) {
  EXPECT_EQ(OpCase("Pad", 2).ints("pads", {1, 0, 2, -1}).input(DType::kFloat32, {2, 3}).shape(), (Shape{5, 2}));
  EXPECT_EQ(OpCase("Pad", 18).str("mode", "reflect").input(DType::kFloat32, {2, 3, 4}).ints_input({1, 2}).absent()
                .ints_input({-1}).shape(),
            (Shape{2, 3, 7}));
  EXPECT_THAT(OpCase("Pad", 13).str("mode", "wrap").input(DType::kFloat32, {2}).ints_input({1, 1}).error(),
              HasSubstr("unknown mode 'wrap'"));
  EXPECT_EQ(OpCase("Pad", 19).str("mode", "wrap").input(DType::kFloat32, {2}).ints_input({1, 1}).shape(), (Shape{4}));
  EXPECT_THAT(OpCase("Pad", 13).input(DType::kFloat32, {2, 3}).ints_input({1, 1}).error(),
              HasSubstr("pads has 2 entries, expected 4"));
  EXPECT_THAT(OpCase("Pad", 13).input(DType::kFloat32, {2}).ints_input({-2, -1}).error(), HasSubstr("below zero"));
  EXPECT_THAT(OpCase("Pad", 13).str("mode", "edge").input(DType::kFloat32, {2}).ints_input({-2, 1}).error(),
              HasSubstr("empty after cropping"));
  // Constant value of the data's dtype fills the border.
  OpCase c("Pad", 13);
  c.input(DType::kInt32, {2}).ints_input({1, 2}).constant(Tensor::Scalar<int32_t>(-7));
  auto out = c.run({Tensor::FromVector<int32_t>({2}, std::vector<int32_t>{5, 6}), Tensor(), Tensor()});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::vector<int32_t>(out[0].values<int32_t>().begin(), out[0].values<int32_t>().end()),
            (std::vector<int32_t>{-7, 5, 6, -7, -7}));
}

TEST(Resize, OutputSizesAndErrors) {
  auto scales = [](std::vector<float> v) { return Tensor::FromVector<float>({static_cast<int64_t>(v.size())}, v); };
  EXPECT_EQ(OpCase("Resize", 13).input(DType::kFloat32, {1, 1, 3, 5}).absent().constant(scales({1, 1, 0.6f, 2.5f})).shape(),
            (Shape{1, 1, 1, 12}));
  EXPECT_EQ(OpCase("Resize", 13).input(DType::kUInt8, {1, 1, 2, 2}).absent().absent().ints_input({1, 1, 3, 5}).shape(),
            (Shape{1, 1, 3, 5}));
  EXPECT_EQ(OpCase("Resize", 18).str("keep_aspect_ratio_policy", "not_larger").ints("axes", {2, 3})
                .input(DType::kFloat32, {1, 1, 4, 8}).absent().absent().ints_input({2, 2}).shape(),
            (Shape{1, 1, 1, 2}));
  EXPECT_EQ(OpCase("Resize", 10).input(DType::kFloat32, {1, 2}).constant(scales({1, 2.5f})).shape(), (Shape{1, 5}));
  EXPECT_THAT(OpCase("Resize", 13).input(DType::kFloat32, {1, 2}).absent().constant(scales({1, 2})).ints_input({1, 4}).error(),
              HasSubstr("exactly one of scales and sizes"));
  EXPECT_THAT(OpCase("Resize", 13).input(DType::kFloat32, {1, 2}).absent().constant(scales({1, 0})).error(),
              HasSubstr("not a positive finite value"));
  EXPECT_THAT(OpCase("Resize", 13).input(DType::kFloat32, {1, 2}).absent().constant(scales({2})).error(),
              HasSubstr("scales has 1 entries, expected 2"));
  EXPECT_THAT(OpCase("Resize", 18).int_attr("antialias", 1).input(DType::kFloat32, {1, 2}).absent().constant(scales({1, 2})).error(),
              HasSubstr("antialias is not supported"));
  EXPECT_THAT(OpCase("Resize", 13).str("mode", "linear").input(DType::kUInt8, {1, 2}).absent().constant(scales({1, 2})).error(),
              HasSubstr("float32 only"));
  EXPECT_THAT(OpCase("Resize", 13).str("coordinate_transformation_mode", "tf_half_pixel_for_nn")
                  .input(DType::kFloat32, {1, 2}).absent().constant(scales({1, 2})).error(),
              HasSubstr("unknown coordinate_transformation_mode"));
  EXPECT_THAT(OpCase("Resize", 13).str("coordinate_transformation_mode", "tf_crop_and_resize")
                  .input(DType::kFloat32, {1, 2}).absent().constant(scales({1, 2})).error(),
              HasSubstr("needs a roi"));
}

TEST(Upsample, ScalesAttributeAndInput) {
  EXPECT_EQ(OpCase("Upsample", 7).floats("scales", {1, 2, 3}).input(DType::kInt8, {1, 2, 2}).shape(), (Shape{1, 4, 6}));
  EXPECT_EQ(OpCase("Upsample", 9).input(DType::kFloat32, {2, 2})
                .constant(Tensor::FromVector<float>({2}, std::vector<float>{1, 2})).shape(),
            (Shape{2, 4}));
  EXPECT_THAT(OpCase("Upsample", 7).floats("scales", {1, 0.5f}).input(DType::kFloat32, {2, 2}).error(),
              HasSubstr("below 1"));
  // Nearest upsampling by 2 on an int8 tensor: floor(x / 2).
  auto out = OpCase("Upsample", 7).floats("scales", {2}).input(DType::kInt8, {2})
                 .run({Tensor::FromVector<int8_t>({2}, std::vector<int8_t>{-3, 4})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::vector<int8_t>(out[0].values<int8_t>().begin(), out[0].values<int8_t>().end()),
            (std::vector<int8_t>{-3, -3, 4, 4}));
}

}  // namespace
}  // namespace qs::ops
