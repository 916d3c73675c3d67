// Calibrators on synthetic distributions whose answer is known or can be reasoned, and the
// entropy calibrator against a plain, independent implementation of the published algorithm.
#include "quant/calibrators.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

namespace qs::quant {
namespace {

Histogram histogram_of(const std::vector<float>& v, int bins = 2048) {
  Histogram h(bins);
  h.Add(v);
  return h;
}

std::vector<float> uniform(int n, float hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-hi, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return v;
}

std::vector<float> gaussian_with_outliers(int n, int outliers, float outlier_value, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  for (int i = 0; i < outliers; ++i) v[static_cast<size_t>(i * 997 % n)] = (i % 2 ? -1.f : 1.f) * outlier_value;
  return v;
}

// ---- Known answers ----

TEST(CalibratorsTest, UniformKeepsNearlyTheWholeRange) {
  const Histogram h = histogram_of(uniform(400000, 2.f, 1));
  const float max = h.max_abs();
  EXPECT_EQ(minmax_range(h), max);
  // 99.99 % of |x| uniform on [0, 2] lies below 1.9998.
  EXPECT_NEAR(percentile_range(h, {}), 1.9998f, 2e-3f);
  // Nothing to gain by clipping a flat distribution: within a few bins of the max.
  EXPECT_GT(entropy_range(h, EntropyOptions::Tensorrt2048()), 0.97f * max);
  EXPECT_GT(entropy_range(h, EntropyOptions::Legacy1024()), 0.97f * max);
  EXPECT_GT(mse_range(h, {}), 0.97f * max);
  for (float r : {entropy_range(h, {}), mse_range(h, {}), percentile_range(h, {})}) EXPECT_LE(r, max);
}

TEST(CalibratorsTest, GaussianWithOutliersClipsTheOutliers) {
  // N(0, 1) with 20 values at +-100 among 200000: MinMax keeps 100, the others stay near the
  // bulk (a few sigma), far below the outliers.
  const Histogram h = histogram_of(gaussian_with_outliers(200000, 20, 100.f, 2));
  EXPECT_EQ(minmax_range(h), 100.f);
  // The 99.99th percentile of |N(0,1)| is 3.89 (20 outliers are 0.01 % of the data: just at the edge).
  const float p = percentile_range(h, {});
  EXPECT_GT(p, 3.3f);
  EXPECT_LT(p, 5.f);
  EXPECT_NEAR(percentile_range(h, {99.0}), 2.576f, 0.1f);  // |N(0,1)| 99th percentile
  for (float r : {entropy_range(h, EntropyOptions::Tensorrt2048()), entropy_range(h, EntropyOptions::Legacy1024())}) {
    EXPECT_GT(r, 2.f);
    EXPECT_LT(r, 15.f) << "the outliers must not set the range";
  }
  // MSE weighs each clipped outlier by its squared error: 20 at 100 cost more than the
  // rounding error of 200000 values at scale 100/127 (20 * 96^2 > 200000 * 0.79^2 / 12), so it
  // keeps them. With one outlier at 40 the error is about (40 - r)^2 + N (r / 127)^2 / 12,
  // smallest at r = 40 / (1 + N / (12 * 127^2)) = 19.7 for N = 200000.
  EXPECT_GT(mse_range(h, {}), 90.f);
  const Histogram one = histogram_of(gaussian_with_outliers(200000, 1, 40.f, 2));
  EXPECT_NEAR(mse_range(one, {}), 40.0 / (1.0 + 200000.0 / (12.0 * 127 * 127)), 1.0);
}

TEST(CalibratorsTest, AllZerosGiveZero) {
  const Histogram h = histogram_of(std::vector<float>(1000, 0.f));
  EXPECT_EQ(minmax_range(h), 0.f);
  EXPECT_EQ(entropy_range(h, {}), 0.f);
  EXPECT_EQ(entropy_range(h, EntropyOptions::Legacy1024()), 0.f);
  EXPECT_EQ(percentile_range(h, {}), 0.f);
  EXPECT_EQ(mse_range(h, {}), 0.f);
  EXPECT_EQ(entropy_range(Histogram(2048), {}), 0.f) << "no data at all";
}

TEST(CalibratorsTest, OneValueKeepsThatValue) {
  for (float value : {3.5f, -0.02f, 1e4f}) {
    const Histogram h = histogram_of(std::vector<float>(5000, value));
    const float v = std::fabs(value);
    EXPECT_EQ(minmax_range(h), v);
    // Every method lands in the value's bin: within one bin width (1/2048 of the range).
    for (float r : {entropy_range(h, {}), entropy_range(h, EntropyOptions::Legacy1024()), percentile_range(h, {}),
                    mse_range(h, {})}) {
      EXPECT_LE(r, v);
      EXPECT_GE(r, v * (1.f - 1.f / 1024.f)) << value;
    }
  }
}

TEST(CalibratorsTest, ReluLikeSpikeAtZeroDoesNotCollapseTheDefaultEntropyRange) {
  // Half exact zeros (ReLU) and half |N(0,1)|: the zero spike must not drag the cut down to
  // the first 128 bins (which would clip at max/16).
  std::vector<float> v = gaussian_with_outliers(100000, 0, 0.f, 3);
  for (size_t i = 0; i < v.size(); i += 2) v[i] = 0.f;
  const Histogram h = histogram_of(v);
  EXPECT_GT(entropy_range(h, {}), 0.4f * h.max_abs());
  EXPECT_GT(entropy_range(h, EntropyOptions::Legacy1024()), 0.4f * h.max_abs());
}

// ---- Entropy against an independent implementation ----

// Written from the published description (Migacz, "8-bit Inference with TensorRT", GTC 2017,
// and INT8.md item 12), plainly, with explicit P and Q vectors:
//   for i in [start, nbins]:
//     P = bins[0..i-1];  P[i-1] += sum(bins[i..])           (outliers folded into the cut bin)
//     Q = quantize bins[0..i-1] into `levels` levels          (i / levels bins each, last takes the rest)
//     expand each level over the bins where P is non-zero, evenly
//     where P is non-zero and Q is zero, Q = eps (a count; MXNet's smoothing)
//     normalize P and Q; KL = sum p log(p / q) (infinite where q == 0 < p, when eps = 0)
//   pick the i with the smallest KL (the last among ties); range = (i - 0.5) * bin width.
float reference_entropy(std::vector<double> bins, double bin_width, float max_abs, int levels, int start,
                        EntropyOptions::FirstBin first, double eps) {
  if (first == EntropyOptions::FirstBin::kDrop) bins[0] = 0;
  if (first == EntropyOptions::FirstBin::kLikeSecond) bins[0] = bins[1];
  const int nbins = static_cast<int>(bins.size());
  double best_kl = std::numeric_limits<double>::infinity();
  int best_i = nbins;
  for (int i = std::max(start, levels); i <= nbins; ++i) {
    std::vector<double> p(bins.begin(), bins.begin() + i);
    for (int k = i; k < nbins; ++k) p[static_cast<size_t>(i - 1)] += bins[static_cast<size_t>(k)];
    std::vector<double> q(static_cast<size_t>(i), 0.0);
    const int merged = i / levels;
    for (int level = 0; level < levels; ++level) {
      const int lo = level * merged;
      const int hi = level == levels - 1 ? i : lo + merged;
      double total = 0;
      int nonzero = 0;
      for (int k = lo; k < hi; ++k) {
        total += bins[static_cast<size_t>(k)];
        if (p[static_cast<size_t>(k)] != 0) ++nonzero;
      }
      for (int k = lo; k < hi; ++k)
        if (p[static_cast<size_t>(k)] != 0) q[static_cast<size_t>(k)] = total / nonzero;
    }
    for (int k = 0; k < i; ++k)
      if (p[static_cast<size_t>(k)] != 0 && q[static_cast<size_t>(k)] == 0) q[static_cast<size_t>(k)] = eps;
    const double ps = std::accumulate(p.begin(), p.end(), 0.0), qs = std::accumulate(q.begin(), q.end(), 0.0);
    double kl = 0;
    for (int k = 0; k < i; ++k) {
      const double pk = p[static_cast<size_t>(k)] / ps, qk = qs > 0 ? q[static_cast<size_t>(k)] / qs : 0.0;
      if (pk == 0) continue;
      kl += qk == 0 ? std::numeric_limits<double>::infinity() : pk * std::log(pk / qk);
    }
    if (kl <= best_kl) {
      best_kl = kl;
      best_i = i;
    }
  }
  return std::min(static_cast<float>((best_i - 0.5) * bin_width), max_abs);
}

float reference_entropy(const Histogram& h, const EntropyOptions& o) {
  std::vector<double> bins(h.counts().begin(), h.counts().end());
  return reference_entropy(bins, h.bin_width(), h.max_abs(), o.levels, o.start_bin, o.first_bin, o.smoothing);
}

TEST(CalibratorsTest, EntropyMatchesThePlainImplementation) {
  struct Case {
    const char* name;
    std::vector<float> data;
  };
  std::mt19937 rng(11);
  std::exponential_distribution<float> expo(1.f);
  std::gamma_distribution<float> gamma(2.f, 1.f);
  std::vector<float> e(100000), g(100000), relu(100000), bimodal(100000);
  for (float& x : e) x = expo(rng);
  for (float& x : g) x = gamma(rng);
  std::normal_distribution<float> n(0.f, 1.f);
  for (float& x : relu) x = std::max(0.f, n(rng));
  for (size_t i = 0; i < bimodal.size(); ++i) bimodal[i] = (i % 3 ? 1.f : 6.f) + 0.3f * n(rng);
  const std::vector<Case> cases = {{"exponential", e},
                                   {"gamma", g},
                                   {"relu", relu},
                                   {"bimodal", bimodal},
                                   {"gaussian+outliers", gaussian_with_outliers(100000, 10, 50.f, 4)},
                                   {"uniform", uniform(100000, 1.f, 5)}};
  const std::vector<EntropyOptions> variants = {EntropyOptions::Tensorrt2048(), EntropyOptions::Legacy1024(),
                                                {2048, 128, 128, EntropyOptions::FirstBin::kKeep, 1e-4},
                                                {512, 127, 200, EntropyOptions::FirstBin::kLikeSecond, 0.0},
                                                {1024, 128, 128, EntropyOptions::FirstBin::kDrop, 0.5}};
  for (const auto& c : cases) {
    for (const auto& o : variants) {
      const Histogram h = histogram_of(c.data, o.bins);
      EXPECT_FLOAT_EQ(entropy_range(h, o), reference_entropy(h, o))
          << c.name << " bins " << o.bins << " levels " << o.levels << " start " << o.start_bin;
    }
  }
}

TEST(CalibratorsTest, EntropyOnAStreamedHistogramMatchesTooAfterDoubling) {
  std::mt19937 rng(12);
  std::normal_distribution<float> n(0.f, 1.f);
  Histogram h(1024);
  for (int b = 1; b <= 6; ++b) {
    std::vector<float> batch(20000);
    for (float& x : batch) x = n(rng) * static_cast<float>(b);
    h.Add(batch);
  }
  const EntropyOptions o = EntropyOptions::Legacy1024();
  EXPECT_FLOAT_EQ(entropy_range(h, o), reference_entropy(h, o));
}

TEST(CalibratorsTest, MseIsTheSmallestErrorAmongCandidates) {
  // Brute force over every candidate range with the same error definition.
  const Histogram h = histogram_of(gaussian_with_outliers(50000, 5, 30.f, 6), 256);
  const float chosen = mse_range(h, {32});
  auto error = [&](double r) {
    const double s = r / 127.0, w = h.bin_width();
    double err = 0;
    for (int b = 0; b < h.bins(); ++b) {
      const double x = (b + 0.5) * w;
      const double d = x - std::min(std::nearbyint(x / s), 127.0) * s;
      err += static_cast<double>(h.counts()[static_cast<size_t>(b)]) * d * d;
    }
    return err;
  };
  for (int c = 31; c < h.bins(); ++c) EXPECT_LE(error(chosen), error((c + 1) * h.bin_width()) * (1 + 1e-9)) << c;
}

}  // namespace
}  // namespace qs::quant
