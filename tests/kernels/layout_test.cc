// NCHW <-> NHWC conversions against a naive element loop, bit for bit (random bit patterns, NaN
// payloads included): channel counts and pixel counts on both sides of the 16 x 16 tile, batches,
// and tensors large enough to be split over threads.
#include "kernels/fast/layout.h"
#include "kernels/naive_layout.h"
#include "kernels/reference/shape.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace qs::kernels {
namespace {

// Random bit patterns: every float class (NaNs with payloads, infinities, denormals, signed zeros).
std::vector<float> random_bits(int64_t size, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<float> v(static_cast<size_t>(size));
  for (auto& f : v) {
    const uint32_t b = gen();
    std::memcpy(&f, &b, sizeof f);
  }
  return v;
}


using naive::to_nchw;
using naive::to_nhwc;

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Both directions and the round trip for one shape.
void check(int64_t n, int64_t c, int64_t hw) {
  SCOPED_TRACE(testing::Message() << "n=" << n << " c=" << c << " hw=" << hw);
  const int64_t size = n * c * hw;
  const auto x = random_bits(size, static_cast<uint32_t>(n * 1000003 + c * 1009 + hw));
  std::vector<float> nhwc(x.size(), 0.f), back(x.size(), 0.f);
  fast::nchw_to_nhwc_f32(n, c, hw, x.data(), nhwc.data());
  ASSERT_TRUE(same_bits(nhwc, to_nhwc(n, c, hw, x))) << "nchw_to_nhwc";
  fast::nhwc_to_nchw_f32(n, c, hw, x.data(), back.data());
  ASSERT_TRUE(same_bits(back, to_nchw(n, c, hw, x))) << "nhwc_to_nchw";
  fast::nhwc_to_nchw_f32(n, c, hw, nhwc.data(), back.data());
  ASSERT_TRUE(same_bits(back, x)) << "round trip";
}

TEST(Layout, SmallAndOddShapes) {
  for (int64_t n : {1, 2, 3})
    for (int64_t c : {1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 64})
      for (int64_t hw : {1, 2, 7, 15, 16, 17, 33, 49, 196}) check(n, c, hw);
}

TEST(Layout, NetworkShapes) {
  check(1, 3, 224 * 224);     // image input
  check(2, 64, 112 * 112);    // ResNet stem output, batch 2 (split over threads)
  check(2, 256, 56 * 56);
  check(1, 1000, 1);          // classifier output
  check(2, 1000, 7 * 7);
  check(2, 2048, 7 * 7);
  check(1, 21, 128 * 128);    // segmentation map: few channels, many pixels
  check(3, 17, 33 * 31);
}

TEST(Layout, EmptyTensorsWriteNothing) {
  std::vector<float> y(4, 5.f);
  const float x[4] = {1, 2, 3, 4};
  fast::nchw_to_nhwc_f32(0, 2, 2, x, y.data());
  fast::nhwc_to_nchw_f32(2, 0, 2, x, y.data());
  fast::nchw_to_nhwc_f32(2, 2, 0, x, y.data());
  EXPECT_EQ(y, std::vector<float>(4, 5.f));
}

}  // namespace
// Any transpose equals the reference's element loop byte for byte: every permutation of ranks 1
// to 5 on shapes with axes of size 1 (dropped) and neighbours that stay neighbours (merged), for
// element sizes 1, 2, 4 and 8.
TEST(Transpose, EveryPermutationMatchesTheReference) {
  const std::vector<Shape> shapes = {{7},          {3, 5},          {1, 4, 6},     {2, 3, 4},
                                     {2, 1, 3, 5}, {3, 4, 1, 2, 5}, {1, 65, 4, 16}, {3, 33, 2, 17}};
  uint32_t seed = 5;
  for (const Shape& shape : shapes)
    for (size_t es : {size_t{1}, size_t{2}, size_t{4}, size_t{8}}) {
      std::vector<int64_t> perm(shape.size());
      for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
      const int64_t n = numel(shape);
      std::vector<uint8_t> x(static_cast<size_t>(n) * es);
      std::mt19937 gen(seed++);
      for (auto& b : x) b = static_cast<uint8_t>(gen());
      do {
        std::vector<uint8_t> want(x.size(), 0), got(x.size(), 0xAB);
        ref::transpose(x.data(), want.data(), shape, perm, es);
        fast::transpose(x.data(), got.data(), shape, perm, es);
        EXPECT_EQ(got, want) << "shape " << shape_str(shape) << " perm " << shape_str(perm) << " element size " << es;
      } while (std::next_permutation(perm.begin(), perm.end()));
    }
}

}  // namespace qs::kernels
