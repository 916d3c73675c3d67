#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/half.h"
#include "core/shape.h"
#include "core/tensor.h"

namespace qs {
namespace {

TEST(ShapeTest, CheckedNumelRejectsNegativeOverflowAndTheCap) {
  EXPECT_EQ(*checked_numel({2, 3, 4}, 4), 24);
  EXPECT_EQ(*checked_numel({}, 4), 1);
  EXPECT_EQ(*checked_numel({5, 0, 7}, 4), 0);
  EXPECT_FALSE(checked_numel({2, -1}, 4).ok());
  auto big = checked_numel({int64_t{1} << 40, int64_t{1} << 40}, 4);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("overflows"), std::string::npos) << big.status().message();
  auto capped = checked_numel({int64_t{1} << 20, int64_t{1} << 20}, 4);
  ASSERT_FALSE(capped.ok());
  EXPECT_NE(capped.status().message().find("cap"), std::string::npos) << capped.status().message();
}

TEST(ShapeTest, NormalizeAxis) {
  EXPECT_EQ(*normalize_axis(-1, 4), 3);
  EXPECT_EQ(*normalize_axis(0, 4), 0);
  EXPECT_FALSE(normalize_axis(4, 4).ok());
  EXPECT_FALSE(normalize_axis(-5, 4).ok());
}

TEST(ShapeTest, DenseStrides) { EXPECT_EQ(dense_strides({2, 3, 4}), (std::vector<int64_t>{12, 4, 1})); }

TEST(TensorTest, CreateIsZeroFilledAndAligned) {
  auto t = Tensor::Create(DType::kFloat32, {3, 5});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->numel(), 15);
  EXPECT_EQ(t->nbytes(), 60u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t->raw()) % 64, 0u);
  for (float v : t->values<float>()) EXPECT_EQ(v, 0.f);
  EXPECT_FALSE(Tensor::Create(DType::kUndefined, {1}).ok());
}

TEST(TensorTest, ReshapedSharesTheBufferAndCloneDoesNot) {
  Tensor t(DType::kInt64, {2, 3});
  Tensor r = t.Reshaped({6});
  t.data<int64_t>()[5] = 42;
  EXPECT_EQ(r.data<int64_t>()[5], 42);
  Tensor c = t.Clone();
  t.data<int64_t>()[5] = 7;
  EXPECT_EQ(c.data<int64_t>()[5], 42);
}

TEST(HalfTest, ExactValuesRoundTrip) {
  for (float v : {0.f, -0.f, 1.f, -2.5f, 65504.f, 0.000060975552f /* smallest normal */, 5.9604645e-08f /* smallest subnormal */})
    EXPECT_EQ(half_to_float(float_to_half(v)), v) << v;
  EXPECT_EQ(float_to_half(1.f), 0x3c00);
  EXPECT_EQ(float_to_half(-2.f), 0xc000);
}

TEST(HalfTest, RoundsToNearestEven) {
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
  EXPECT_EQ(float_to_half(1.f + std::ldexp(1.f, -11)), 0x3c00);
  // 1 + 3*2^-11 lies halfway between 1+2^-10 (odd) and 1+2^-9 (even): rounds up.
  EXPECT_EQ(float_to_half(1.f + 3 * std::ldexp(1.f, -11)), 0x3c02);
  // Just above halfway rounds up.
  EXPECT_EQ(float_to_half(1.f + std::ldexp(1.f, -11) + std::ldexp(1.f, -20)), 0x3c01);
}

TEST(HalfTest, OverflowInfAndNan) {
  EXPECT_EQ(float_to_half(1e6f), 0x7c00);
  EXPECT_EQ(float_to_half(-1e6f), 0xfc00);
  EXPECT_TRUE(std::isinf(half_to_float(float_to_half(std::numeric_limits<float>::infinity()))));
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(float_to_half(1e-9f), 0x0000);  // underflows to zero
}

}  // namespace
}  // namespace qs
