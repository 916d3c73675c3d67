// TopK and CumSum (ops/reduce.cc) beyond ONNX's node tests: equal values come out by index,
// NaN counts as the largest value, K and axis are checked, and integer sums wrap around.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "ops/op_case.h"

namespace qs::ops {
namespace {

using ::testing::HasSubstr;

TEST(TopK, TiesByIndexNanFirstAndErrors) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = Tensor::FromVector<float>({1, 6}, std::vector<float>{2.f, 5.f, nan, 5.f, -1.f, 2.f});
  const Tensor k = Tensor::FromVector<int64_t>({1}, std::vector<int64_t>{4});
  OpCase largest("TopK", 11, 2);
  largest.input(DType::kFloat32, {1, 6}).constant(k);
  auto out = largest.run_ptrs({&x, &k});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape(), (Shape{1, 4}));
  EXPECT_TRUE(std::isnan(out[0].values<float>()[0]));
  EXPECT_EQ(std::vector<int64_t>(out[1].values<int64_t>().begin(), out[1].values<int64_t>().end()),
            (std::vector<int64_t>{2, 1, 3, 0}));
  OpCase smallest("TopK", 11, 2);
  smallest.int_attr("largest", 0).input(DType::kFloat32, {1, 6}).constant(k);
  out = smallest.run_ptrs({&x, &k});
  EXPECT_EQ(std::vector<int64_t>(out[1].values<int64_t>().begin(), out[1].values<int64_t>().end()),
            (std::vector<int64_t>{4, 0, 5, 1}));
  const Tensor too_many = Tensor::FromVector<int64_t>({1}, std::vector<int64_t>{7});
  EXPECT_THAT(OpCase("TopK", 11, 2).input(DType::kFloat32, {1, 6}).constant(too_many).error(),
              HasSubstr("node 'n' (TopK): K is 7, expected 0 to 6"));
  EXPECT_THAT(OpCase("TopK", 11, 2).input(DType::kFloat32, {1, 6}).input(DType::kInt64, {1}).error(),
              HasSubstr("must be a constant"));
}

TEST(CumSum, ExclusiveReverseAndIntegerWrap) {
  const Tensor axis = Tensor::FromVector<int64_t>({1}, std::vector<int64_t>{-1});
  const int32_t big = std::numeric_limits<int32_t>::max();
  const Tensor x = Tensor::FromVector<int32_t>({1, 3}, std::vector<int32_t>{big, 1, 2});
  OpCase plain("CumSum", 14);
  plain.input(DType::kInt32, {1, 3}).constant(axis);
  auto out = plain.run_ptrs({&x, &axis});
  EXPECT_EQ(std::vector<int32_t>(out[0].values<int32_t>().begin(), out[0].values<int32_t>().end()),
            (std::vector<int32_t>{big, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::min() + 2}));
  OpCase both("CumSum", 14);
  both.int_attr("exclusive", 1).int_attr("reverse", 1).input(DType::kInt32, {1, 3}).constant(axis);
  out = both.run_ptrs({&x, &axis});
  EXPECT_EQ(std::vector<int32_t>(out[0].values<int32_t>().begin(), out[0].values<int32_t>().end()),
            (std::vector<int32_t>{3, 2, 0}));
  const Tensor bad_axis = Tensor::FromVector<int64_t>({1}, std::vector<int64_t>{2});
  EXPECT_THAT(OpCase("CumSum", 14).input(DType::kInt32, {1, 3}).constant(bad_axis).error(),
              HasSubstr("node 'n' (CumSum): axis 2 is out of range"));
}

}  // namespace
}  // namespace qs::ops
