// The streaming histogram of |x|: exact counts, the doubling rule, bounded memory.
#include "quant/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace qs::quant {
namespace {

TEST(HistogramTest, FirstBatchSetsTheRangeAndCountsAbsoluteValues) {
  Histogram h(4);
  std::vector<float> v = {0.f, -0.3f, 0.3f, 0.6f, -1.f, 0.99f};
  h.Add(v);
  EXPECT_EQ(h.edge(), 1.0);
  EXPECT_EQ(h.max_abs(), 1.0f);
  EXPECT_EQ(h.total(), 6u);
  // bins of width 0.25: [0, .25] (.25, .5] (.5, .75] (.75, 1].
  EXPECT_EQ(h.counts(), (std::vector<uint64_t>{1, 2, 1, 2}));
}

TEST(HistogramTest, LargerLaterBatchDoublesTheRangeAndMergesPairsExactly) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> small(-1.f, 1.f), large(-4.f, 4.f);
  std::vector<float> a(5000), b(5000);
  for (float& x : a) x = small(rng);
  for (float& x : b) x = large(rng);
  a[0] = 1.0f;  // first batch: edge 1
  b[0] = 4.0f;  // second batch: edge 1 -> 2 -> 4
  Histogram streamed(64);
  streamed.Add(a);
  streamed.Add(b);
  EXPECT_EQ(streamed.edge(), 4.0);
  // The same data binned directly over [0, 4): identical counts, since every old bin lies in one new bin.
  Histogram direct(64);
  const std::vector<float> four = {4.0f};
  direct.Add(four);
  direct.Add(a);
  direct.Add(b);
  std::vector<uint64_t> want = direct.counts();
  want[63] -= 1;  // the extra 4.0
  EXPECT_EQ(streamed.counts(), want);
  EXPECT_EQ(streamed.total(), 10000u);
  EXPECT_EQ(streamed.max_abs(), 4.0f);
}

TEST(HistogramTest, RangeDoublesUntilItCoversTheMax) {
  Histogram h(8);
  const std::vector<float> a = {1.0f}, b = {5.0f};
  h.Add(a);
  h.Add(b);
  EXPECT_EQ(h.edge(), 8.0);  // 1 -> 2 -> 4 -> 8
  EXPECT_EQ(h.max_abs(), 5.0f);
  uint64_t sum = 0;
  for (auto c : h.counts()) sum += c;
  EXPECT_EQ(sum, 2u);
  EXPECT_EQ(h.counts()[0], 1u);  // 1.0 in [0, 1]
  EXPECT_EQ(h.counts()[4], 1u);  // 5.0 in (4, 5]
}

TEST(HistogramTest, ZerosBeforeDataStayInBinZero) {
  Histogram h(16);
  const std::vector<float> zeros(100, 0.f), data = {2.f};
  h.Add(zeros);
  EXPECT_EQ(h.edge(), 0.0);
  EXPECT_EQ(h.counts()[0], 100u);
  h.Add(data);
  EXPECT_EQ(h.edge(), 2.0);
  EXPECT_EQ(h.counts()[0], 100u);
  EXPECT_EQ(h.counts()[15], 1u);
}

TEST(HistogramTest, NonFiniteValuesAreSkippedAndCounted) {
  Histogram h(8);
  const std::vector<float> v = {1.f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), -2.f};
  h.Add(v);
  EXPECT_EQ(h.total(), 2u);
  EXPECT_EQ(h.non_finite(), 2u);
  EXPECT_EQ(h.max_abs(), 2.0f);
}

TEST(HistogramTest, MemoryDoesNotGrowWithData) {
  Histogram h(2048);
  std::mt19937 rng(1);
  std::normal_distribution<float> n(0.f, 1.f);
  std::vector<float> batch(4096);
  for (int i = 0; i < 50; ++i) {
    for (float& x : batch) x = n(rng) * static_cast<float>(1 + i);  // the range keeps growing
    h.Add(batch);
    ASSERT_EQ(h.counts().size(), 2048u);
  }
  EXPECT_EQ(h.total(), 50u * 4096u);
}

}  // namespace
}  // namespace qs::quant
