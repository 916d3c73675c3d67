// Channels-last pooling kernels against the reference: the input is drawn in NCHW, the reference
// pools it there, the NHWC kernel pools its transpose, and the NHWC output transposed back must
// equal the reference bit for bit (max, average and the global pools alike; max pools down to
// which NaN they return, average pools up to which NaN a NaN sum is).
// Geometries: ResNet's 3x3/2 pad 1 max pool, strides, dilations, symmetric and asymmetric pads,
// ceil mode, count_include_pad both ways, windows that see only padding, batch 2, and channel
// counts on both sides of the vector widths.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/fast/pool_fast.h"
#include "kernels/reference/pool.h"
#include "kernels/naive_layout.h"
#include "kernels/pool_test_params.h"

namespace qs::kernels {
namespace {

using ref::PoolParams;

using pool_test::bits;
using pool_test::describe;
using pool_test::set_dim;

std::vector<float> random_input(int64_t n, uint32_t seed, bool with_specials) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = dist(gen);
  // Ties and signed zeros (max keeps the first of equal values), and NaNs and infinities.
  for (size_t i = 0; i < x.size(); i += 5) x[i] = std::round(x[i]);
  for (size_t i = 3; i < x.size(); i += 11) x[i] = -0.f;
  if (with_specials) {
    for (size_t i = 7; i < x.size(); i += 97) x[i] = std::numeric_limits<float>::quiet_NaN();
    for (size_t i = 13; i < x.size(); i += 89) x[i] = -std::numeric_limits<float>::quiet_NaN();
    for (size_t i = 29; i < x.size(); i += 83) x[i] = std::numeric_limits<float>::infinity();
    for (size_t i = 41; i < x.size(); i += 79) x[i] = -std::numeric_limits<float>::infinity();
  }
  return x;
}

// The fast layout kernels have their own test: plain loops here.
using naive::to_nchw;
using naive::to_nhwc;

// Mismatching outputs (bitwise) between the reference on NCHW and the NHWC kernel; reports the
// first. any_nan: a NaN matches any NaN (sums: which NaN operand an addition passes on, and the sign
// of inf - inf's NaN, depend on the operand order the compiler picked, in the reference too).
int compare_bits(const std::vector<float>& want, const std::vector<float>& got, const std::string& what,
                 bool any_nan = false) {
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i)
    if (bits(want[i]) != bits(got[i]) && !(any_nan && std::isnan(want[i]) && std::isnan(got[i])) && bad++ == 0)
      ADD_FAILURE() << what << ": output " << i << " is " << got[i] << " (0x" << std::hex << bits(got[i])
                    << "), reference " << want[i] << " (0x" << bits(want[i]) << std::dec << ")";
  return bad;
}

enum class Pool { kMax, kAvg };

int compare(const PoolParams& p, Pool kind, bool with_specials) {
  const int64_t in_hw = p.in[1] * p.in[2], out_hw = p.out[1] * p.out[2];
  const auto x = random_input(p.batch * p.channels * in_hw,
                              static_cast<uint32_t>(p.channels * 7919 + in_hw * 31 + p.kernel[2] * 3 + p.stride[2]),
                              with_specials);
  std::vector<float> want(static_cast<size_t>(p.batch * p.channels * out_hw), 123.f);
  std::vector<float> got_nhwc(want.size(), -321.f);
  const auto x_nhwc = to_nhwc(p.batch, p.channels, in_hw, x);
  bool handled;
  if (kind == Pool::kMax) {
    ref::max_pool_f32(p, x.data(), want.data(), nullptr, false);
    handled = fast::max_pool_nhwc_f32(p, x_nhwc.data(), got_nhwc.data());
  } else {
    ref::avg_pool_f32(p, x.data(), want.data());
    handled = fast::avg_pool_nhwc_f32(p, x_nhwc.data(), got_nhwc.data());
  }
  if (!handled) {
    ADD_FAILURE() << "not handled: " << describe(p);
    return 1;
  }
  return compare_bits(want, to_nchw(p.batch, p.channels, out_hw, got_nhwc),
                      std::string(kind == Pool::kMax ? "max" : "avg") + " pool NHWC: " + describe(p),
                      kind == Pool::kAvg);
}

TEST(PoolNhwc, ResNetStemMaxPool) {
  PoolParams p;  // 3x3, stride 2, pad 1 on 2 x 64 x 112 x 112 -> 56 x 56
  p.batch = 2;
  p.channels = 64;
  ASSERT_TRUE(set_dim(p, 1, 112, 3, 2, 1, 1, 1, false));
  ASSERT_TRUE(set_dim(p, 2, 112, 3, 2, 1, 1, 1, false));
  ASSERT_EQ(p.out[1], 56);
  ASSERT_EQ(p.out[2], 56);
  EXPECT_EQ(compare(p, Pool::kMax, false), 0);
  EXPECT_EQ(compare(p, Pool::kMax, true), 0);
  for (bool include_pad : {false, true}) {
    p.count_include_pad = include_pad;
    EXPECT_EQ(compare(p, Pool::kAvg, false), 0);
    EXPECT_EQ(compare(p, Pool::kAvg, true), 0);
  }
}

TEST(PoolNhwc, TwoDimensionalGeometries) {
  int cases = 0;
  for (int64_t c : {1, 3, 17})
    for (int64_t w : {1, 7, 9, 16, 17})
      for (int64_t h : {1, 6, 9})
        for (int64_t k : {1, 2, 3, 5})
          for (int64_t s : {1, 2, 3})
            for (int64_t d : {1, 2})
              for (int64_t pad : {0, 1, 2})
                for (bool ceil : {false, true}) {
                  PoolParams p;
                  p.batch = 2;
                  p.channels = c;
                  // Asymmetric: kernel (k - 1 or 1) x k, pads (pad, 0) in H and (pad, pad) in W.
                  const int64_t kh = std::max<int64_t>(1, k - 1);
                  if (!set_dim(p, 1, h, kh, s, 1, std::min(pad, kh - 1), 0, ceil)) continue;
                  if (!set_dim(p, 2, w, k, s, d, pad, pad, ceil)) continue;
                  for (bool include_pad : {false, true}) {
                    p.count_include_pad = include_pad;
                    if (compare(p, Pool::kAvg, include_pad)) return;
                    ++cases;
                  }
                  if (compare(p, Pool::kMax, true)) return;
                }
  EXPECT_GT(cases, 1000);
}

TEST(PoolNhwc, ChannelCountsAndTypicalNetworkPools) {
  struct Case {
    int64_t c, h, w, k, s, pad;
    bool ceil;
  };
  const Case cases[] = {
      {16, 56, 56, 2, 2, 0, false},  {17, 55, 55, 3, 2, 0, true},  {33, 28, 28, 3, 1, 1, false},
      {8, 14, 14, 2, 1, 0, false},   {7, 13, 13, 3, 2, 1, true},   {9, 7, 7, 7, 1, 0, false},
      {31, 33, 31, 3, 2, 1, false},  {15, 17, 16, 2, 2, 1, true},  {256, 14, 14, 3, 2, 1, true},
      {1000, 5, 5, 3, 1, 1, false},  {2048, 7, 7, 7, 1, 0, false}, {96, 54, 54, 3, 2, 0, true},
  };
  for (const Case& c : cases) {
    PoolParams p;
    p.batch = 2;
    p.channels = c.c;
    ASSERT_TRUE(set_dim(p, 1, c.h, c.k, c.s, 1, c.pad, c.pad, c.ceil));
    ASSERT_TRUE(set_dim(p, 2, c.w, c.k, c.s, 1, c.pad, c.pad, c.ceil));
    EXPECT_EQ(compare(p, Pool::kMax, true), 0);
    for (bool include_pad : {false, true}) {
      p.count_include_pad = include_pad;
      EXPECT_EQ(compare(p, Pool::kAvg, false), 0);
    }
  }
}

TEST(PoolNhwc, CeilModeWindowsPastThePadding) {
  // 6 wide, kernel 3, stride 2, pad 1 each side, ceil mode: the last window runs past the
  // right padding, so count_include_pad counts 2 columns for it, not 3.
  PoolParams p;
  p.batch = 2;
  p.channels = 5;
  ASSERT_TRUE(set_dim(p, 1, 6, 3, 2, 1, 1, 1, true));
  ASSERT_TRUE(set_dim(p, 2, 6, 3, 2, 1, 1, 1, true));
  ASSERT_EQ(p.out[2], 4);
  EXPECT_EQ(compare(p, Pool::kMax, true), 0);
  for (bool include_pad : {false, true}) {
    p.count_include_pad = include_pad;
    EXPECT_EQ(compare(p, Pool::kAvg, false), 0);
  }
}

TEST(PoolNhwc, WindowsThatSeeOnlyPadding) {
  // Dilation 3 over one input row padded by 2 on both sides: both windows' taps (-2, 1) and
  // (-1, 2) miss the input (max: the lowest float; average: 0).
  PoolParams p;
  p.channels = 19;
  ASSERT_TRUE(set_dim(p, 1, 1, 2, 1, 3, 2, 2, false));
  ASSERT_EQ(p.out[1], 2);
  ASSERT_TRUE(set_dim(p, 2, 9, 3, 2, 1, 1, 1, true));
  EXPECT_EQ(compare(p, Pool::kMax, false), 0);
  EXPECT_EQ(compare(p, Pool::kAvg, false), 0);
  p.count_include_pad = true;
  EXPECT_EQ(compare(p, Pool::kAvg, false), 0);
}

TEST(PoolNhwc, MaxPoolNaNs) {
  // 1 x 2 channels x 2 x 2, one 2x2 window: channel 0 has a NaN at its first tap (it wins, as in
  // the reference), channel 1 at a later tap (ignored).
  PoolParams p;
  p.channels = 2;
  ASSERT_TRUE(set_dim(p, 1, 2, 2, 1, 1, 0, 0, false));
  ASSERT_TRUE(set_dim(p, 2, 2, 2, 1, 1, 0, 0, false));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x = {nan, 1.f, 5.f, 2.f, /* channel 1 */ 1.f, nan, 3.f, -0.f};
  float want[2], got[2];
  ref::max_pool_f32(p, x.data(), want, nullptr, false);
  ASSERT_TRUE(fast::max_pool_nhwc_f32(p, to_nhwc(1, 2, 4, x).data(), got));
  EXPECT_TRUE(std::isnan(want[0]));
  EXPECT_EQ(bits(got[0]), bits(want[0]));
  EXPECT_EQ(want[1], 3.f);
  EXPECT_EQ(got[1], 3.f);
}

TEST(PoolNhwc, OtherRanksAreNotHandled) {
  PoolParams p1;  // 1-D
  p1.spatial_rank = 1;
  ASSERT_TRUE(set_dim(p1, 2, 9, 3, 1, 1, 0, 0, false));
  PoolParams p3;  // 3-D
  p3.spatial_rank = 3;
  ASSERT_TRUE(set_dim(p3, 0, 4, 2, 1, 1, 0, 0, false));
  ASSERT_TRUE(set_dim(p3, 1, 4, 2, 1, 1, 0, 0, false));
  ASSERT_TRUE(set_dim(p3, 2, 4, 2, 1, 1, 0, 0, false));
  const std::vector<float> x(64, 1.f);
  std::vector<float> y(64, 7.f);
  for (const PoolParams& p : {p1, p3}) {
    EXPECT_FALSE(fast::max_pool_nhwc_f32(p, x.data(), y.data()));
    EXPECT_FALSE(fast::avg_pool_nhwc_f32(p, x.data(), y.data()));
  }
  EXPECT_EQ(y, std::vector<float>(64, 7.f));
}

TEST(PoolNhwc, GlobalPools) {
  // Both global pools reduce each channel over the pixels in the reference's order: exact.
  for (int64_t n : {1, 2})
    for (int64_t c : {1, 3, 7, 16, 17, 64, 300, 1000, 2048})
      for (int64_t hw : {1, 7, 16, 17, 49, 196, 3136}) {
        if (n * c * hw > 4'000'000) continue;
        for (bool with_specials : {false, true}) {
          const auto x = random_input(n * c * hw, static_cast<uint32_t>(n * 7 + c * 1000 + hw), with_specials);
          const auto x_nhwc = to_nhwc(n, c, hw, x);
          std::vector<float> want(static_cast<size_t>(n * c), 123.f), got(want.size(), -321.f);
          const std::string shape =
              "n=" + std::to_string(n) + " c=" + std::to_string(c) + " hw=" + std::to_string(hw);
          ref::global_max_pool_f32(n * c, hw, x.data(), want.data());
          fast::global_max_pool_nhwc_f32(n, hw, c, x_nhwc.data(), got.data());
          ASSERT_EQ(compare_bits(want, got, "global max pool NHWC " + shape), 0);
          ref::global_avg_pool_f32(n * c, hw, x.data(), want.data());
          fast::global_avg_pool_nhwc_f32(n, hw, c, x_nhwc.data(), got.data());
          ASSERT_EQ(compare_bits(want, got, "global average pool NHWC " + shape, true), 0);
        }
      }
}

}  // namespace
}  // namespace qs::kernels
