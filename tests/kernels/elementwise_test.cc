// Reference element-wise kernels against hand-computed values and, for broadcasting, a
// naive index-by-index oracle.
#include "kernels/reference/elementwise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "core/half.h"

namespace qs::kernels::ref {
namespace {

// The element of a (shape s, dense) that output index `flat` of shape `out` reads under numpy broadcasting.
int64_t source_index(const Shape& out, const Shape& s, int64_t flat) {
  int64_t idx = 0, stride = 1;
  for (size_t i = out.size(); i-- > 0;) {
    const int64_t coord = flat % out[i];
    flat /= out[i];
    const size_t off = out.size() - s.size();
    if (i >= off) {
      const int64_t d = s[i - off];
      if (d != 1) idx += coord * stride;
      stride *= d;
    }
  }
  return idx;
}

std::vector<float> iota(int64_t n, float start) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = start + static_cast<float>(i);
  return v;
}

TEST(Broadcast, CollapsesEqualShapesToOneRun) {
  const BroadcastParams p = make_broadcast({2, 3, 4}, {{2, 3, 4}, {2, 3, 4}});
  EXPECT_EQ(p.dims, (std::vector<int64_t>{24}));
  EXPECT_EQ(p.strides[0], (std::vector<int64_t>{1}));
  EXPECT_EQ(p.strides[1], (std::vector<int64_t>{1}));
}

TEST(Broadcast, PerChannelOperandBecomesRowScalar) {
  const BroadcastParams p = make_broadcast({2, 3, 4, 5}, {{2, 3, 4, 5}, {3, 1, 1}});
  EXPECT_EQ(p.dims, (std::vector<int64_t>{2, 3, 20}));
  EXPECT_EQ(p.strides[0], (std::vector<int64_t>{60, 20, 1}));
  EXPECT_EQ(p.strides[1], (std::vector<int64_t>{0, 1, 0}));
}

TEST(Broadcast, ScalarAndAllOnes) {
  BroadcastParams p = make_broadcast({4, 5}, {{4, 5}, {}});
  EXPECT_EQ(p.dims, (std::vector<int64_t>{20}));
  EXPECT_EQ(p.strides[1], (std::vector<int64_t>{0}));
  p = make_broadcast({1, 1}, {{1}, {1, 1}});
  EXPECT_EQ(p.dims, (std::vector<int64_t>{1}));
  EXPECT_EQ(p.numel, 1);
}

TEST(Binary, BroadcastMatchesNaiveOracle) {
  const std::vector<std::array<Shape, 3>> cases = {
      {{{2, 3, 4}, {2, 3, 4}, {2, 3, 4}}}, {{{2, 3, 4}, {4}, {2, 3, 4}}},       {{{2, 3, 4}, {}, {2, 3, 4}}},
      {{{1}, {2, 3, 4}, {2, 3, 4}}},       {{{3, 1}, {1, 5}, {3, 5}}},          {{{2, 1, 4}, {3, 1}, {2, 3, 4}}},
      {{{5, 1, 7}, {1, 6, 1}, {5, 6, 7}}}, {{{2, 3, 1, 5}, {3, 4, 1}, {2, 3, 4, 5}}},
      {{{1, 3, 1, 1}, {2, 3, 8, 9}, {2, 3, 8, 9}}},
  };
  for (const auto& [sa, sb, so] : cases) {
    const std::vector<float> a = iota(numel(sa), 1.f), b = iota(numel(sb), 100.f);
    std::vector<float> y(static_cast<size_t>(numel(so)), -1.f);
    binary<float>(BinaryOp::kSub, make_broadcast(so, {sa, sb}), a.data(), b.data(), y.data());
    for (int64_t i = 0; i < numel(so); ++i) {
      const float want = a[static_cast<size_t>(source_index(so, sa, i))] - b[static_cast<size_t>(source_index(so, sb, i))];
      ASSERT_EQ(y[static_cast<size_t>(i)], want) << shape_str(sa) << " - " << shape_str(sb) << " at " << i;
    }
  }
}

TEST(Binary, EmptyOutputWritesNothing) {
  const float a = 1.f, b = 2.f;
  float y = 7.f;
  binary<float>(BinaryOp::kAdd, make_broadcast({0, 3}, {{0, 3}, {3}}), &a, &b, &y);
  EXPECT_EQ(y, 7.f);
}

TEST(Binary, IntegerDivTruncatesAndNeverTraps) {
  const std::vector<int32_t> a = {7, -7, 7, -7, 5, std::numeric_limits<int32_t>::min()};
  const std::vector<int32_t> b = {2, 2, -2, -2, 0, -1};
  std::vector<int32_t> y(a.size());
  binary<int32_t>(BinaryOp::kDiv, make_broadcast({6}, {{6}, {6}}), a.data(), b.data(), y.data());
  EXPECT_EQ(y, (std::vector<int32_t>{3, -3, -3, 3, 0, std::numeric_limits<int32_t>::min()}));
}

TEST(Binary, IntegersWrapOnOverflow) {
  const int64_t a[] = {std::numeric_limits<int64_t>::max()}, b[] = {1};
  int64_t y[1];
  binary<int64_t>(BinaryOp::kAdd, make_broadcast({1}, {{1}, {1}}), a, b, y);
  EXPECT_EQ(y[0], std::numeric_limits<int64_t>::min());
  const uint16_t c[] = {65535}, d[] = {65535};
  uint16_t z[1];
  binary<uint16_t>(BinaryOp::kMul, make_broadcast({1}, {{1}, {1}}), c, d, z);
  EXPECT_EQ(z[0], 1);  // 65535^2 mod 2^16
  const uint8_t e[] = {3}, f[] = {5};
  uint8_t w[1];
  binary<uint8_t>(BinaryOp::kSub, make_broadcast({1}, {{1}, {1}}), e, f, w);
  EXPECT_EQ(w[0], 254);
}

TEST(Binary, MaxMinPropagateNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float a[] = {1.f, nan, 3.f, -2.f}, b[] = {nan, 1.f, 2.f, 5.f};
  float mx[4], mn[4];
  const BroadcastParams p = make_broadcast({4}, {{4}, {4}});
  binary<float>(BinaryOp::kMax, p, a, b, mx);
  binary<float>(BinaryOp::kMin, p, a, b, mn);
  EXPECT_TRUE(std::isnan(mx[0]) && std::isnan(mx[1]) && std::isnan(mn[0]) && std::isnan(mn[1]));
  EXPECT_EQ(mx[2], 3.f);
  EXPECT_EQ(mx[3], 5.f);
  EXPECT_EQ(mn[2], 2.f);
  EXPECT_EQ(mn[3], -2.f);
}

TEST(Binary, Float16ComputesInFloat) {
  const uint16_t a[] = {float_to_half(1.5f), float_to_half(-2.f)}, b[] = {float_to_half(0.25f)};
  uint16_t y[2];
  binary_f16(BinaryOp::kMul, make_broadcast({2}, {{2}, {1}}), a, b, y);
  EXPECT_EQ(half_to_float(y[0]), 0.375f);
  EXPECT_EQ(half_to_float(y[1]), -0.5f);
  binary_f16(BinaryOp::kMax, make_broadcast({2}, {{2}, {1}}), a, b, y);
  EXPECT_EQ(half_to_float(y[0]), 1.5f);
  EXPECT_EQ(half_to_float(y[1]), 0.25f);
}

TEST(Pow, IntegerAndMixedTypes) {
  const BroadcastParams p = make_broadcast({5}, {{5}, {5}});
  const int64_t base[] = {3, 2, -1, -2, 5};
  const int64_t e[] = {4, -1, -3, 3, 0};
  int64_t y[5];
  pow<int64_t, int64_t>(p, base, e, y);
  EXPECT_EQ(std::vector<int64_t>(y, y + 5), (std::vector<int64_t>{81, 0, -1, -8, 1}));

  const float fb[] = {2.f, 9.f, -2.f, 0.5f, 4.f};
  const int32_t ie[] = {3, 0, 2, -1, 1};
  float fy[5];
  pow<float, int32_t>(p, fb, ie, fy);
  EXPECT_EQ(std::vector<float>(fy, fy + 5), (std::vector<float>{8.f, 1.f, 4.f, 2.f, 4.f}));

  const int32_t ib[] = {2, 9, 4, 3, 10};
  const float fe[] = {0.5f, 0.5f, 1.5f, 2.f, -1.f};
  int32_t iy[5];
  pow<int32_t, float>(p, ib, fe, iy);  // real power, truncated
  EXPECT_EQ(std::vector<int32_t>(iy, iy + 5), (std::vector<int32_t>{1, 3, 8, 9, 0}));
}

TEST(Compare, BroadcastAndBool) {
  const float a[] = {1.f, 2.f, 3.f}, b[] = {2.f};
  bool y[3];
  const BroadcastParams p = make_broadcast({3}, {{3}, {}});
  compare<float>(CompareOp::kLess, p, a, b, y);
  EXPECT_EQ(std::vector<bool>(y, y + 3), (std::vector<bool>{true, false, false}));
  compare<float>(CompareOp::kGreaterOrEqual, p, a, b, y);
  EXPECT_EQ(std::vector<bool>(y, y + 3), (std::vector<bool>{false, true, true}));
  compare<float>(CompareOp::kEqual, p, a, b, y);
  EXPECT_EQ(std::vector<bool>(y, y + 3), (std::vector<bool>{false, true, false}));
  const int64_t c[] = {-1, 5}, d[] = {5, -1};
  bool z[2];
  compare<int64_t>(CompareOp::kLessOrEqual, make_broadcast({2}, {{2}, {2}}), c, d, z);
  EXPECT_TRUE(z[0]);
  EXPECT_FALSE(z[1]);
}

TEST(Logic, TruthTablesAndNot) {
  const uint8_t a[] = {0, 0, 1, 1}, b[] = {0, 1, 0, 1};
  bool y[4];
  const BroadcastParams p = make_broadcast({4}, {{4}, {4}});
  logic(LogicOp::kAnd, p, a, b, y);
  EXPECT_EQ(std::vector<bool>(y, y + 4), (std::vector<bool>{false, false, false, true}));
  logic(LogicOp::kOr, p, a, b, y);
  EXPECT_EQ(std::vector<bool>(y, y + 4), (std::vector<bool>{false, true, true, true}));
  logic(LogicOp::kXor, p, a, b, y);
  EXPECT_EQ(std::vector<bool>(y, y + 4), (std::vector<bool>{false, true, true, false}));
  logical_not(a, y, 4);
  EXPECT_EQ(std::vector<bool>(y, y + 4), (std::vector<bool>{true, true, false, false}));
}

TEST(Where, ThreeWayBroadcast) {
  // cond [2,1], x [3], y scalar -> [2,3]
  const uint8_t cond[] = {1, 0};
  const int64_t x[] = {10, 20, 30}, yv[] = {-1};
  int64_t out[6];
  where(make_broadcast({2, 3}, {{2, 1}, {3}, {}}), cond, x, yv, out, sizeof(int64_t));
  EXPECT_EQ(std::vector<int64_t>(out, out + 6), (std::vector<int64_t>{10, 20, 30, -1, -1, -1}));
  const uint16_t hx[] = {1, 2}, hy[] = {3, 4};
  const uint8_t c2[] = {0, 1};
  uint16_t h[2];
  where(make_broadcast({2}, {{2}, {2}, {2}}), c2, hx, hy, h, sizeof(uint16_t));
  EXPECT_EQ(h[0], 3);
  EXPECT_EQ(h[1], 2);
}

TEST(Unary, HandComputedValues) {
  const float x[] = {0.5f, 1.5f, 2.5f, -0.5f, -2.7f, 4.f};
  float y[6];
  unary<float>(UnaryOp::kRound, x, y, 6);  // half to even
  EXPECT_EQ(std::vector<float>(y, y + 6), (std::vector<float>{0.f, 2.f, 2.f, -0.f, -3.f, 4.f}));
  unary<float>(UnaryOp::kFloor, x, y, 6);
  EXPECT_EQ(std::vector<float>(y, y + 6), (std::vector<float>{0.f, 1.f, 2.f, -1.f, -3.f, 4.f}));
  unary<float>(UnaryOp::kCeil, x, y, 6);
  EXPECT_EQ(std::vector<float>(y, y + 6), (std::vector<float>{1.f, 2.f, 3.f, -0.f, -2.f, 4.f}));
  unary<float>(UnaryOp::kSign, x, y, 6);
  EXPECT_EQ(std::vector<float>(y, y + 6), (std::vector<float>{1.f, 1.f, 1.f, -1.f, -1.f, 1.f}));
  unary<float>(UnaryOp::kReciprocal, x, y, 6);
  EXPECT_FLOAT_EQ(y[0], 2.f);
  EXPECT_FLOAT_EQ(y[5], 0.25f);
  unary<float>(UnaryOp::kSqrt, x + 5, y, 1);
  EXPECT_EQ(y[0], 2.f);
  const double d[] = {0.0, 1.0, -1.0};
  double e[3];
  unary<double>(UnaryOp::kErf, d, e, 3);
  EXPECT_NEAR(e[1], 0.8427007929497149, 1e-15);
  EXPECT_NEAR(e[2], -0.8427007929497149, 1e-15);
  unary<double>(UnaryOp::kExp, d, e, 3);
  EXPECT_NEAR(e[1], 2.718281828459045, 1e-15);
  unary<double>(UnaryOp::kCos, d, e, 1);
  EXPECT_EQ(e[0], 1.0);
}

TEST(Unary, IntegerAbsNegSign) {
  const int8_t x[] = {-128, -3, 0, 7};
  int8_t y[4];
  unary_int<int8_t>(UnaryOp::kAbs, x, y, 4);
  EXPECT_EQ(std::vector<int8_t>(y, y + 4), (std::vector<int8_t>{-128, 3, 0, 7}));
  unary_int<int8_t>(UnaryOp::kNeg, x, y, 4);
  EXPECT_EQ(std::vector<int8_t>(y, y + 4), (std::vector<int8_t>{-128, 3, 0, -7}));
  unary_int<int8_t>(UnaryOp::kSign, x, y, 4);
  EXPECT_EQ(std::vector<int8_t>(y, y + 4), (std::vector<int8_t>{-1, -1, 0, 1}));
}

TEST(Variadic, BroadcastCopyAndScale) {
  const float x[] = {1.f, 2.f, 3.f};
  float y[6];
  broadcast_copy(make_broadcast({2, 3}, {{3}}), x, y, sizeof(float));
  EXPECT_EQ(std::vector<float>(y, y + 6), (std::vector<float>{1.f, 2.f, 3.f, 1.f, 2.f, 3.f}));
  broadcast_copy(make_broadcast({2, 3}, {{2, 1}}), x, y, sizeof(float));
  EXPECT_EQ(std::vector<float>(y, y + 6), (std::vector<float>{1.f, 1.f, 1.f, 2.f, 2.f, 2.f}));
  scale<float>(y, 6, 0.5);
  EXPECT_EQ(y[5], 1.f);
}

TEST(Cast, FloatToIntegersTruncatesAndSaturates) {
  const float x[] = {2.7f, -2.7f, 300.f, -1e10f, std::numeric_limits<float>::quiet_NaN(), 1e30f};
  int8_t i8[6];
  cast(DType::kFloat32, x, DType::kInt8, i8, 6);
  EXPECT_EQ(std::vector<int8_t>(i8, i8 + 6), (std::vector<int8_t>{2, -2, 127, -128, 0, 127}));
  uint8_t u8[6];
  cast(DType::kFloat32, x, DType::kUInt8, u8, 6);
  EXPECT_EQ(std::vector<uint8_t>(u8, u8 + 6), (std::vector<uint8_t>{2, 0, 255, 0, 0, 255}));
  int64_t i64[6];
  cast(DType::kFloat32, x, DType::kInt64, i64, 6);
  EXPECT_EQ(i64[3], -10000000000);
  EXPECT_EQ(i64[5], std::numeric_limits<int64_t>::max());
}

TEST(Cast, IntegersFloatsHalvesAndBools) {
  const int64_t big[] = {(int64_t{1} << 32) + 5, -1};
  int32_t i32[2];
  cast(DType::kInt64, big, DType::kInt32, i32, 2);  // wraps
  EXPECT_EQ(i32[0], 5);
  EXPECT_EQ(i32[1], -1);
  const float f[] = {1.f / 3.f, 0.f, -0.f, std::numeric_limits<float>::quiet_NaN()};
  uint16_t h[4];
  cast(DType::kFloat32, f, DType::kFloat16, h, 4);
  EXPECT_EQ(h[0], float_to_half(1.f / 3.f));
  double d[4];
  cast(DType::kFloat16, h, DType::kFloat64, d, 4);
  EXPECT_EQ(d[0], static_cast<double>(round_to_half(1.f / 3.f)));
  bool b[4];
  cast(DType::kFloat32, f, DType::kBool, b, 4);
  EXPECT_EQ(std::vector<bool>(b, b + 4), (std::vector<bool>{true, false, false, true}));
  const uint8_t bytes[] = {0, 1, 1};
  float back[3];
  cast(DType::kBool, bytes, DType::kFloat32, back, 3);
  EXPECT_EQ(std::vector<float>(back, back + 3), (std::vector<float>{0.f, 1.f, 1.f}));
  EXPECT_TRUE(cast_supported(DType::kFloat16));
  EXPECT_FALSE(cast_supported(DType::kUInt32));
}

}  // namespace
}  // namespace qs::kernels::ref
