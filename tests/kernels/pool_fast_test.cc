// Fast pooling kernels against the reference: many window geometries (1-D to 3-D, strides,
// dilations, symmetric and asymmetric padding, ceil mode, count_include_pad) on widths and
// channel counts that straddle the vector widths. Max and average pooling must match the
// reference bit for bit (same taps in the same order); the failing case prints its parameters.
#include "kernels/fast/pool_fast.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/reference/pool.h"
#include "kernels/pool_test_params.h"

namespace qs::kernels {
namespace {

using ref::PoolParams;

const int64_t kSizes[] = {1, 7, 8, 9, 15, 16, 17, 31, 33};

using pool_test::bits;
using pool_test::describe;
using pool_test::set_dim;

int64_t in_size(const PoolParams& p) { return p.batch * p.channels * p.in[0] * p.in[1] * p.in[2]; }
int64_t out_size(const PoolParams& p) { return p.batch * p.channels * p.out[0] * p.out[1] * p.out[2]; }

std::vector<float> random_input(int64_t n, uint32_t seed, bool with_specials) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = dist(gen);
  // Ties and signed zeros (max keeps the first of equal values), and a few NaNs and infinities.
  for (size_t i = 0; i < x.size(); i += 5) x[i] = std::round(x[i]);
  for (size_t i = 3; i < x.size(); i += 11) x[i] = -0.f;
  if (with_specials && x.size() > 20) {
    x[x.size() / 3] = std::numeric_limits<float>::quiet_NaN();
    x[x.size() / 2] = std::numeric_limits<float>::infinity();
    x[x.size() / 5] = -std::numeric_limits<float>::infinity();
  }
  return x;
}

// Returns the number of mismatching outputs; reports the first one.
int compare(const PoolParams& p, const char* what, bool with_specials) {
  const auto x = random_input(in_size(p), static_cast<uint32_t>(in_size(p) * 31 + p.kernel[2]), with_specials);
  const bool is_max = std::string(what) == "max";
  std::vector<float> want(static_cast<size_t>(out_size(p)), 123.f), got(want.size(), -321.f);
  if (is_max) {
    ref::max_pool_f32(p, x.data(), want.data(), nullptr, false);
    fast::max_pool_f32(p, x.data(), got.data());
  } else {
    ref::avg_pool_f32(p, x.data(), want.data());
    fast::avg_pool_f32(p, x.data(), got.data());
  }
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const bool same = bits(want[i]) == bits(got[i]) || (std::isnan(want[i]) && std::isnan(got[i]));
    if (!same && bad++ == 0)
      ADD_FAILURE() << what << " pool: " << describe(p) << ": output " << i << " is " << got[i] << ", reference "
                    << want[i];
  }
  return bad;
}

TEST(PoolFast, TwoDimensionalGeometries) {
  int cases = 0;
  for (int64_t w : kSizes)
    for (int64_t h : {1, 7, 9, 16})
      for (int64_t k : {1, 2, 3, 5})
        for (int64_t s : {1, 2, 3, 4, 5})
          for (int64_t d : {1, 2})
            for (int64_t pad : {0, 1, 2})
              for (bool ceil : {false, true}) {
                PoolParams p;
                p.batch = 2;
                p.channels = 3;
                // Asymmetric: kernel k x (k - 1 or 1) in H, pads (pad, 0) in H.
                const int64_t kh = std::max<int64_t>(1, k - 1);
                if (!set_dim(p, 1, h, kh, s, 1, std::min(pad, kh - 1), 0, ceil)) continue;
                if (!set_dim(p, 2, w, k, s, d, pad, pad, ceil)) continue;
                for (bool include_pad : {false, true}) {
                  p.count_include_pad = include_pad;
                  if (compare(p, "avg", false)) return;
                  ++cases;
                }
                if (compare(p, "max", true)) return;
              }
  EXPECT_GT(cases, 1000);
}

TEST(PoolFast, ChannelsAndTypicalNetworkPools) {
  struct Case {
    int64_t c, h, w, k, s, pad;
    bool ceil;
  };
  const Case cases[] = {
      {64, 112, 112, 3, 2, 1, false},  // ResNet pool1
      {16, 56, 56, 2, 2, 0, false},    {17, 55, 55, 3, 2, 0, true}, {33, 28, 28, 3, 1, 1, false},
      {8, 14, 14, 2, 1, 0, false},     {7, 13, 13, 3, 2, 1, true},  {9, 7, 7, 7, 1, 0, false},
      {31, 33, 31, 3, 2, 1, false},    {15, 17, 16, 2, 2, 1, true},
  };
  for (const Case& c : cases) {
    PoolParams p;
    p.channels = c.c;
    ASSERT_TRUE(set_dim(p, 1, c.h, c.k, c.s, 1, c.pad, c.pad, c.ceil));
    ASSERT_TRUE(set_dim(p, 2, c.w, c.k, c.s, 1, c.pad, c.pad, c.ceil));
    EXPECT_EQ(compare(p, "max", true), 0);
    for (bool include_pad : {false, true}) {
      p.count_include_pad = include_pad;
      EXPECT_EQ(compare(p, "avg", false), 0);
    }
  }
}

TEST(PoolFast, OneAndThreeDimensional) {
  for (int64_t w : kSizes)
    for (int64_t k : {1, 2, 3})
      for (int64_t s : {1, 2})
        for (int64_t pad : {0, 1})
          for (bool ceil : {false, true}) {
            PoolParams p;  // 1-D: slots 0 and 1 stay size 1
            p.spatial_rank = 1;
            p.channels = 5;
            if (!set_dim(p, 2, w, k, s, 1, pad, pad, ceil)) continue;
            EXPECT_EQ(compare(p, "max", true), 0);
            EXPECT_EQ(compare(p, "avg", false), 0);
            PoolParams q;  // 3-D
            q.spatial_rank = 3;
            q.channels = 2;
            if (!set_dim(q, 0, 5, 2, 2, 1, 1, 0, ceil) || !set_dim(q, 1, 6, k, s, 1, pad, pad, ceil) ||
                !set_dim(q, 2, w, k, s, 2, pad, pad, ceil))
              continue;
            EXPECT_EQ(compare(q, "max", true), 0);
            q.count_include_pad = true;
            EXPECT_EQ(compare(q, "avg", false), 0);
          }
}

TEST(PoolFast, WindowsThatSeeOnlyPadding) {
  // Dilation 3 over an input of 1 row padded by 2 on both sides: both windows' taps (-2, 1)
  // and (-1, 2) miss the input.
  PoolParams p;
  p.channels = 3;
  ASSERT_TRUE(set_dim(p, 1, 1, 2, 1, 3, 2, 2, false));
  ASSERT_EQ(p.out[1], 2);
  ASSERT_TRUE(set_dim(p, 2, 9, 3, 2, 1, 1, 1, true));
  EXPECT_EQ(compare(p, "max", false), 0);
  EXPECT_EQ(compare(p, "avg", false), 0);
  p.count_include_pad = true;
  EXPECT_EQ(compare(p, "avg", false), 0);
}

TEST(PoolFast, GlobalPools) {
  for (int64_t planes : kSizes)
    for (int64_t spatial : {1, 7, 8, 9, 15, 16, 17, 31, 33, 49, 196, 3136}) {
      const auto x = random_input(planes * spatial, static_cast<uint32_t>(planes * 1000 + spatial), false);
      std::vector<float> want(static_cast<size_t>(planes)), got(want.size());
      ref::global_max_pool_f32(planes, spatial, x.data(), want.data());
      fast::global_max_pool_f32(planes, spatial, x.data(), got.data());
      for (int64_t c = 0; c < planes; ++c)
        ASSERT_EQ(got[c], want[c]) << "global max pool planes=" << planes << " spatial=" << spatial << " plane " << c;
      ref::global_avg_pool_f32(planes, spatial, x.data(), want.data());
      fast::global_avg_pool_f32(planes, spatial, x.data(), got.data());
      // Bit for bit: an INT8 reader requantizes the mean, and means of quantized values often sit
      // exactly halfway between two steps.
      for (int64_t c = 0; c < planes; ++c)
        ASSERT_EQ(got[c], want[c]) << "global average pool planes=" << planes << " spatial=" << spatial << " plane " << c;
    }
}

TEST(PoolFast, GlobalMaxNaNFirstWins) {
  std::vector<float> x(40, 1.f);
  x[0] = std::numeric_limits<float>::quiet_NaN();
  x[20] = 5.f;
  float want = 0, got = 0;
  ref::global_max_pool_f32(1, 40, x.data(), &want);
  fast::global_max_pool_f32(1, 40, x.data(), &got);
  EXPECT_TRUE(std::isnan(want));
  EXPECT_TRUE(std::isnan(got));
  x[0] = 1.f;
  x[3] = std::numeric_limits<float>::quiet_NaN();
  fast::global_max_pool_f32(1, 40, x.data(), &got);
  EXPECT_EQ(got, 5.f);
}

}  // namespace
}  // namespace qs::kernels
