// Reference data-movement kernels (kernels/reference/shape.h and data.h) against
// hand-computed results.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kernels/reference/data.h"
#include "kernels/reference/shape.h"

namespace qs::kernels::ref {
namespace {

std::vector<int32_t> iota(int n) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return v;
}

TEST(Transpose, Permutes3d) {
  // x[2][3][4] = 12a + 4b + c; perm (2, 0, 1) gives y[c][a][b].
  const auto x = iota(24);
  std::vector<int32_t> y(24, -1);
  transpose(x.data(), y.data(), {2, 3, 4}, {2, 0, 1}, sizeof(int32_t));
  for (int c = 0; c < 4; ++c)
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 3; ++b) EXPECT_EQ(y[static_cast<size_t>(c * 6 + a * 3 + b)], 12 * a + 4 * b + c);
}

TEST(Transpose, MovesWideElements) {
  const std::vector<int64_t> x{1, 2, 3, 4, 5, 6};  // [2,3]
  std::vector<int64_t> y(6);
  transpose(x.data(), y.data(), {2, 3}, {1, 0}, sizeof(int64_t));
  EXPECT_EQ(y, (std::vector<int64_t>{1, 4, 2, 5, 3, 6}));
}

TEST(IndexMapCopy, SliceWithNegativeStep) {
  // x [3,4]; rows 2,0 (step -2), columns 1..3.
  const auto x = iota(12);
  IndexMap m{{3, 4}, {slice_axis_map(2, -2, 2), slice_axis_map(1, 1, 3)}};
  std::vector<int32_t> y(6, -1);
  index_map_copy(x.data(), y.data(), m, nullptr, sizeof(int32_t));
  EXPECT_EQ(y, (std::vector<int32_t>{9, 10, 11, 1, 2, 3}));
}

TEST(IndexMapCopy, FillsWhereMapIsMinusOne) {
  const std::vector<uint8_t> x{7, 8};  // [2]
  IndexMap m{{2}, {{-1, 0, 1, -1}}};
  const uint8_t fill = 42;
  std::vector<uint8_t> y(4);
  index_map_copy(x.data(), y.data(), m, &fill, 1);
  EXPECT_EQ(y, (std::vector<uint8_t>{42, 7, 8, 42}));
}

TEST(IndexMapCopy, PaddingRowFillsWholeRow) {
  const std::vector<float> x{1, 2, 3, 4};  // [2,2]
  IndexMap m{{2, 2}, {pad_axis_map(2, 1, 0, PadMode::kConstant), pad_axis_map(2, 0, 1, PadMode::kConstant)}};
  const float fill = -1;
  std::vector<float> y(9);
  index_map_copy(x.data(), y.data(), m, &fill, sizeof(float));
  EXPECT_EQ(y, (std::vector<float>{-1, -1, -1, 1, 2, -1, 3, 4, -1}));
}

TEST(IndexMapCopy, TileAndBroadcast) {
  const std::vector<int16_t> x{1, 2};  // [1,2]
  IndexMap m{{1, 2}, {broadcast_axis_map(1, 2), tile_axis_map(2, 2)}};
  std::vector<int16_t> y(8);
  index_map_copy(x.data(), y.data(), m, nullptr, sizeof(int16_t));
  EXPECT_EQ(y, (std::vector<int16_t>{1, 2, 1, 2, 1, 2, 1, 2}));
}

TEST(PadAxisMap, Modes) {
  // n = 4: indices 0..3, padded 3 before and 2 after.
  EXPECT_EQ(pad_axis_map(4, 3, 2, PadMode::kConstant), (std::vector<int64_t>{-1, -1, -1, 0, 1, 2, 3, -1, -1}));
  EXPECT_EQ(pad_axis_map(4, 3, 2, PadMode::kEdge), (std::vector<int64_t>{0, 0, 0, 0, 1, 2, 3, 3, 3}));
  EXPECT_EQ(pad_axis_map(4, 3, 2, PadMode::kReflect), (std::vector<int64_t>{3, 2, 1, 0, 1, 2, 3, 2, 1}));
  EXPECT_EQ(pad_axis_map(4, 3, 2, PadMode::kWrap), (std::vector<int64_t>{1, 2, 3, 0, 1, 2, 3, 0, 1}));
}

TEST(PadAxisMap, ReflectBeyondOnePeriodAndSingleElement) {
  // numpy.pad([0,1,2], 5, 'reflect') -> [1,0,1,2,1,0,1,2,1,0,1,2,1]
  EXPECT_EQ(pad_axis_map(3, 5, 5, PadMode::kReflect),
            (std::vector<int64_t>{1, 0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1}));
  EXPECT_EQ(pad_axis_map(1, 2, 1, PadMode::kReflect), (std::vector<int64_t>{0, 0, 0, 0}));
}

TEST(PadAxisMap, NegativePadsCrop) {
  EXPECT_EQ(pad_axis_map(5, -1, -2, PadMode::kConstant), (std::vector<int64_t>{1, 2}));
  // Crop the front by 2, then edge-pad the end by 2 from the surviving [2, 5).
  EXPECT_EQ(pad_axis_map(5, -2, 2, PadMode::kEdge), (std::vector<int64_t>{2, 3, 4, 4, 4}));
  EXPECT_EQ(pad_axis_map(5, -2, 2, PadMode::kReflect), (std::vector<int64_t>{2, 3, 4, 3, 2}));
}

TEST(ConcatSplit, RoundTripOnMiddleAxis) {
  // a [2,1,2], b [2,2,2] concatenated on axis 1 -> [2,3,2].
  const std::vector<int32_t> a{1, 2, 3, 4}, b{10, 11, 12, 13, 14, 15, 16, 17};
  std::vector<int32_t> y(12);
  concat({a.data(), b.data()}, {1, 2}, 2, 2, y.data(), sizeof(int32_t));
  EXPECT_EQ(y, (std::vector<int32_t>{1, 2, 10, 11, 12, 13, 3, 4, 14, 15, 16, 17}));
  std::vector<int32_t> a2(4), b2(8);
  split(y.data(), 2, 2, {1, 2}, {a2.data(), b2.data()}, sizeof(int32_t));
  EXPECT_EQ(a2, a);
  EXPECT_EQ(b2, b);
}

TEST(Split, SkipsAbsentOutputsAndEmptyParts) {
  const std::vector<int32_t> x{1, 2, 3, 4};
  std::vector<int32_t> c(3);
  split(x.data(), 1, 1, {1, 0, 3}, {nullptr, nullptr, c.data()}, sizeof(int32_t));
  EXPECT_EQ(c, (std::vector<int32_t>{2, 3, 4}));
}

TEST(Gather, AxisOneWithNegativeIndex) {
  const auto x = iota(6);  // [2,3]
  const std::vector<int64_t> idx{2, -3, 1};
  std::vector<int32_t> y(6);
  gather(x.data(), axis_view({2, 3}, 1), idx.data(), 3, y.data(), sizeof(int32_t));
  EXPECT_EQ(y, (std::vector<int32_t>{2, 0, 1, 5, 3, 4}));
}

TEST(Gather, OutOfRangeIndexGivesZeros) {
  const std::vector<float> x{1, 2, 3, 4};  // [2,2], gather rows
  const std::vector<int64_t> idx{1, 2, -3};
  std::vector<float> y(6, 99.f);
  gather(x.data(), axis_view({2, 2}, 0), idx.data(), 3, y.data(), sizeof(float));
  EXPECT_EQ(y, (std::vector<float>{3, 4, 0, 0, 0, 0}));
}

TEST(GatherElements, Axis1MatchesOnnxExample) {
  // ONNX example: data [[1,2],[3,4]], indices [[0,0],[1,0]], axis 1 -> [[1,1],[4,3]].
  const std::vector<int32_t> x{1, 2, 3, 4};
  const std::vector<int64_t> idx{0, 0, 1, -2};
  std::vector<int32_t> y(4);
  gather_elements(x.data(), {2, 2}, idx.data(), {2, 2}, 1, y.data(), sizeof(int32_t));
  EXPECT_EQ(y, (std::vector<int32_t>{1, 1, 4, 3}));
}

TEST(GatherElements, Axis0SmallerIndexShapeAndOutOfRange) {
  const auto x = iota(9);  // [3,3]
  const std::vector<int64_t> idx{1, 2, 2, 5};  // [2,2]: y[i][j] = x[idx][j]
  std::vector<int32_t> y(4, -1);
  gather_elements(x.data(), {3, 3}, idx.data(), {2, 2}, 0, y.data(), sizeof(int32_t));
  EXPECT_EQ(y, (std::vector<int32_t>{3, 7, 6, 0}));
}

TEST(RangeAndFill, Values) {
  std::vector<int32_t> r(4);
  range<int32_t>(10, -3, r.data(), 4);
  EXPECT_EQ(r, (std::vector<int32_t>{10, 7, 4, 1}));
  std::vector<float> f(3);
  range<float>(1.f, 0.5f, f.data(), 3);
  EXPECT_EQ(f, (std::vector<float>{1.f, 1.5f, 2.f}));
  const double v = 2.5;
  std::vector<double> d(3);
  fill(d.data(), &v, 3, sizeof(double));
  EXPECT_EQ(d, (std::vector<double>{2.5, 2.5, 2.5}));
}

}  // namespace
}  // namespace qs::kernels::ref
