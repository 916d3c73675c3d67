// Pooling reference kernels: hand-computed cases and a brute-force cross-check over many
// window geometries (1-D to 3-D, padding, dilation, ceil mode).
#include "kernels/reference/pool.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace qs::kernels::ref {
namespace {

PoolParams params_2d(int64_t h, int64_t w, int64_t k, int64_t s) {
  PoolParams p;
  p.in = {1, h, w};
  p.kernel = {1, k, k};
  p.stride = {1, s, s};
  p.out = {1, pool_output_size(h, k, s, 1, 0, 0, false), pool_output_size(w, k, s, 1, 0, 0, false)};
  return p;
}

TEST(PoolOutputSize, FloorAndCeil) {
  EXPECT_EQ(pool_output_size(6, 3, 2, 1, 0, 0, false), 2);
  EXPECT_EQ(pool_output_size(6, 3, 2, 1, 0, 0, true), 3);
  EXPECT_EQ(pool_output_size(5, 3, 2, 1, 1, 1, false), 3);
  EXPECT_EQ(pool_output_size(7, 2, 1, 3, 0, 0, false), 4);  // dilated extent 4
  EXPECT_EQ(pool_output_size(2, 3, 1, 1, 0, 0, false), 0);  // kernel larger than input
}

TEST(PoolOutputSize, CeilModeDropsWindowStartingInRightPadding) {
  // span = 6 + 1 - 2 = 5, ceil(5/2) + 1 = 4, but the 4th window would start at 6 = end of input.
  EXPECT_EQ(pool_output_size(6, 2, 2, 1, 0, 1, true), 3);
  // The same window starts inside the input once there is left padding.
  EXPECT_EQ(pool_output_size(6, 2, 2, 1, 1, 1, true), 4);
}

TEST(MaxPool, TwoByTwoStrideTwoWithIndices) {
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[i] = static_cast<float>(i + 1);
  const PoolParams p = params_2d(4, 4, 2, 2);
  std::vector<float> y(4);
  std::vector<int64_t> idx(4);
  max_pool_f32(p, x.data(), y.data(), idx.data(), false);
  EXPECT_EQ(y, (std::vector<float>{6, 8, 14, 16}));
  EXPECT_EQ(idx, (std::vector<int64_t>{5, 7, 13, 15}));
  // storage_order=1: spatial index h + w * H.
  max_pool_f32(p, x.data(), y.data(), idx.data(), true);
  EXPECT_EQ(idx, (std::vector<int64_t>{5, 13, 7, 15}));
}

TEST(MaxPool, IndicesCountBatchAndChannelPlanes) {
  PoolParams p = params_2d(2, 2, 2, 2);
  p.batch = 2;
  p.channels = 3;
  std::vector<float> x(24);
  for (int i = 0; i < 24; ++i) x[i] = static_cast<float>((i * 7) % 24);  // a permutation of 0..23
  std::vector<float> y(6);
  std::vector<int64_t> idx(6);
  max_pool_f32(p, x.data(), y.data(), idx.data(), false);
  for (int plane = 0; plane < 6; ++plane) {
    EXPECT_GE(idx[plane], plane * 4);
    EXPECT_LT(idx[plane], plane * 4 + 4);
    EXPECT_EQ(x[static_cast<size_t>(idx[plane])], y[plane]);
  }
}

TEST(MaxPool, DilatedOneD) {
  PoolParams p;
  p.spatial_rank = 1;
  p.in = {1, 1, 5};
  p.kernel = {1, 1, 2};
  p.dilation = {1, 1, 2};
  p.out = {1, 1, 3};
  const std::vector<float> x{1, 5, 2, 4, 3};
  std::vector<float> y(3);
  max_pool_f32(p, x.data(), y.data(), nullptr, false);
  EXPECT_EQ(y, (std::vector<float>{2, 5, 3}));
}

TEST(MaxPool, PaddingNeverWinsForNegativeInputs) {
  PoolParams p = params_2d(2, 2, 2, 1);
  p.pad_begin = {0, 1, 1};
  p.pad_end = {0, 1, 1};
  p.out = {1, 3, 3};
  const std::vector<float> x{-1, -2, -3, -4};
  std::vector<float> y(9);
  max_pool_f32(p, x.data(), y.data(), nullptr, false);
  EXPECT_EQ(y, (std::vector<float>{-1, -1, -2, -1, -1, -2, -3, -3, -4}));
}

TEST(MaxPool, Uint8) {
  const PoolParams p = params_2d(2, 2, 2, 1);
  const std::vector<uint8_t> x{3, 250, 7, 9};
  std::vector<uint8_t> y(1);
  max_pool_u8(p, x.data(), y.data(), nullptr, false);
  EXPECT_EQ(y[0], 250);
}

TEST(AveragePool, CountIncludePad) {
  PoolParams p = params_2d(2, 2, 2, 1);
  p.pad_begin = {0, 1, 1};
  p.pad_end = {0, 1, 1};
  p.out = {1, 3, 3};
  const std::vector<float> x{1, 2, 3, 4};
  std::vector<float> y(9);
  avg_pool_f32(p, x.data(), y.data());
  EXPECT_FLOAT_EQ(y[0], 1.f);    // only x[0,0] is real
  EXPECT_FLOAT_EQ(y[1], 1.5f);   // (1 + 2) / 2
  EXPECT_FLOAT_EQ(y[4], 2.5f);   // all four
  EXPECT_FLOAT_EQ(y[8], 4.f);
  p.count_include_pad = true;
  avg_pool_f32(p, x.data(), y.data());
  EXPECT_FLOAT_EQ(y[0], 0.25f);  // 1 / 4
  EXPECT_FLOAT_EQ(y[1], 0.75f);  // 3 / 4
  EXPECT_FLOAT_EQ(y[4], 2.5f);
}

TEST(AveragePool, CeilModeWindowPastPaddingIsNotCounted) {
  // 1-D, in = 5, k = 2, s = 2, ceil: windows [0,1], [2,3], [4,5): the last has one real tap
  // and its second tap lies past the input where there is no padding either.
  PoolParams p;
  p.spatial_rank = 1;
  p.in = {1, 1, 5};
  p.kernel = {1, 1, 2};
  p.stride = {1, 1, 2};
  p.out = {1, 1, pool_output_size(5, 2, 2, 1, 0, 0, true)};
  ASSERT_EQ(p.out[2], 3);
  const std::vector<float> x{1, 2, 3, 4, 5};
  std::vector<float> y(3);
  for (bool include : {false, true}) {
    p.count_include_pad = include;
    avg_pool_f32(p, x.data(), y.data());
    EXPECT_EQ(y, (std::vector<float>{1.5f, 3.5f, 5.f})) << include;
  }
}

TEST(LpPool, TwoNorm) {
  PoolParams p;
  p.spatial_rank = 1;
  p.in = {1, 1, 4};
  p.kernel = {1, 1, 2};
  p.stride = {1, 1, 2};
  p.out = {1, 1, 2};
  p.p = 2;
  const std::vector<float> x{3, -4, 5, 12};
  std::vector<float> y(2);
  lp_pool_f32(p, x.data(), y.data());
  EXPECT_FLOAT_EQ(y[0], 5.f);
  EXPECT_FLOAT_EQ(y[1], 13.f);
}

TEST(GlobalPool, AverageMaxLp) {
  const std::vector<float> x{1, 2, 3, 4, -5, -6, -7, -8};  // 2 planes of 4
  std::vector<float> y(2);
  global_avg_pool_f32(2, 4, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{2.5f, -6.5f}));
  global_max_pool_f32(2, 4, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{4.f, -5.f}));
  global_lp_pool_f32(2, 4, 1, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{10.f, 26.f}));
}

// Brute force straight from the ONNX definition: visit every tap, skip the ones outside the input.
void naive_pool(const PoolParams& p, const std::vector<float>& x, std::vector<float>& ymax, std::vector<float>& yavg) {
  const int64_t in_plane = p.in[0] * p.in[1] * p.in[2];
  ymax.clear();
  yavg.clear();
  for (int64_t plane = 0; plane < p.batch * p.channels; ++plane)
    for (int64_t a = 0; a < p.out[0]; ++a)
      for (int64_t b = 0; b < p.out[1]; ++b)
        for (int64_t c = 0; c < p.out[2]; ++c) {
          float mx = -std::numeric_limits<float>::infinity(), sum = 0.f;
          int64_t n = 0, n_pad = 0;
          for (int64_t ka = 0; ka < p.kernel[0]; ++ka)
            for (int64_t kb = 0; kb < p.kernel[1]; ++kb)
              for (int64_t kc = 0; kc < p.kernel[2]; ++kc) {
                const int64_t pos[3] = {a * p.stride[0] - p.pad_begin[0] + ka * p.dilation[0],
                                        b * p.stride[1] - p.pad_begin[1] + kb * p.dilation[1],
                                        c * p.stride[2] - p.pad_begin[2] + kc * p.dilation[2]};
                bool inside = true, in_padded = true;
                for (int d = 0; d < 3; ++d) {
                  inside = inside && pos[d] >= 0 && pos[d] < p.in[d];
                  in_padded = in_padded && pos[d] >= -p.pad_begin[d] && pos[d] < p.in[d] + p.pad_end[d];
                }
                n_pad += in_padded;
                if (!inside) continue;
                const int64_t at = plane * in_plane + (pos[0] * p.in[1] + pos[1]) * p.in[2] + pos[2];
                const float v = x[static_cast<size_t>(at)];
                mx = std::max(mx, v);
                sum += v;
                ++n;
              }
          ymax.push_back(mx);
          yavg.push_back(sum / static_cast<float>(p.count_include_pad ? n_pad : n));
        }
}

TEST(Pool, MatchesBruteForceOverGeometries) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> small(1, 3);
  std::uniform_real_distribution<float> val(-3.f, 3.f);
  int checked = 0;
  for (int trial = 0; trial < 400; ++trial) {
    PoolParams p;
    p.spatial_rank = 1 + trial % 3;
    p.batch = small(rng);
    p.channels = small(rng);
    p.count_include_pad = trial % 2 == 0;
    const bool ceil_mode = trial % 4 >= 2;
    bool valid = true;
    for (int d = 3 - p.spatial_rank; d < 3; ++d) {
      p.in[d] = 1 + static_cast<int64_t>(rng() % 7);
      p.kernel[d] = small(rng);
      p.stride[d] = small(rng);
      p.dilation[d] = small(rng);
      const int64_t extent = p.dilation[d] * (p.kernel[d] - 1) + 1;
      p.pad_begin[d] = static_cast<int64_t>(rng() % static_cast<unsigned>(extent));
      p.pad_end[d] = static_cast<int64_t>(rng() % static_cast<unsigned>(extent));
      p.out[d] = pool_output_size(p.in[d], p.kernel[d], p.stride[d], p.dilation[d], p.pad_begin[d], p.pad_end[d],
                                  ceil_mode);
      valid = valid && p.out[d] >= 1;
    }
    if (!valid) continue;
    std::vector<float> x(static_cast<size_t>(p.batch * p.channels * p.in[0] * p.in[1] * p.in[2]));
    for (float& v : x) v = val(rng);
    std::vector<float> want_max, want_avg;
    naive_pool(p, x, want_max, want_avg);
    std::vector<float> got_max(want_max.size()), got_avg(want_avg.size());
    max_pool_f32(p, x.data(), got_max.data(), nullptr, false);
    avg_pool_f32(p, x.data(), got_avg.data());
    for (size_t i = 0; i < want_max.size(); ++i) {
      if (std::isinf(want_max[i])) {
        // A dilated window can skip over the whole input; the kernel reports lowest() there.
        EXPECT_EQ(got_max[i], std::numeric_limits<float>::lowest()) << "trial " << trial;
        continue;
      }
      ASSERT_EQ(got_max[i], want_max[i]) << "trial " << trial << " at " << i;
      ASSERT_NEAR(got_avg[i], want_avg[i], 1e-5f) << "trial " << trial << " at " << i;
    }
    ++checked;
  }
  EXPECT_GT(checked, 200);
}

}  // namespace
}  // namespace qs::kernels::ref
