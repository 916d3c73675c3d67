#include "quant/calibrators.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace qs::quant {

namespace {

// KL(P||Q) for the cut that keeps bins [0, kept). P is bins[0..kept) with every count above
// the cut folded into the last kept bin. Q quantizes the kept bins as they were (without the
// folded counts, as in NVIDIA's pseudo-code: the clipped values are what quantization loses)
// into `levels` levels and spreads each level's count evenly over that level's bins that are
// non-empty in P. A bin where P > 0 and Q = 0 (clipped values folded into an empty bin) gets
// Q = `smoothing` (a count). P and Q are each normalized.
double kl_for_cut(const std::vector<double>& bins, double above, int kept, int levels, double smoothing) {
  double p_total = above, q_total = 0.0;
  for (int b = 0; b < kept; ++b) p_total += bins[static_cast<size_t>(b)];
  if (p_total <= 0.0) return 0.0;
  const int per_level = kept / levels;
  struct Level {
    double q;  // Q's value on each of the level's bins that are non-empty in P
  };
  std::vector<Level> level(static_cast<size_t>(levels));
  for (int j = 0; j < levels; ++j) {
    const int b0 = j * per_level;
    const int b1 = j == levels - 1 ? kept : b0 + per_level;
    double sum = 0.0;
    int nonzero = 0;
    for (int b = b0; b < b1; ++b) {
      const double p = bins[static_cast<size_t>(b)] + (b == kept - 1 ? above : 0.0);
      sum += bins[static_cast<size_t>(b)];
      nonzero += p > 0.0;
    }
    level[static_cast<size_t>(j)].q = nonzero ? sum / nonzero : 0.0;
    if (nonzero) q_total += sum > 0.0 ? sum : smoothing * nonzero;
  }
  if (q_total <= 0.0) return std::numeric_limits<double>::infinity();
  double kl = 0.0;
  for (int b = 0; b < kept; ++b) {
    const double p = bins[static_cast<size_t>(b)] + (b == kept - 1 ? above : 0.0);
    if (p <= 0.0) continue;
    const int j = std::min(b / per_level, levels - 1);
    double q = level[static_cast<size_t>(j)].q;
    if (q <= 0.0) q = smoothing;
    if (q <= 0.0) return std::numeric_limits<double>::infinity();
    kl += (p / p_total) * std::log((p / p_total) / (q / q_total));
  }
  return kl;
}

float clamp_to_max(double r, const Histogram& h) {
  return static_cast<float>(std::min<double>(r, h.max_abs()));
}

}  // namespace

float minmax_range(const Histogram& h) { return h.max_abs(); }

float entropy_range(const Histogram& h, const EntropyOptions& o) {
  if (h.edge() <= 0.0) return 0.0f;
  std::vector<double> bins(h.counts().begin(), h.counts().end());
  if (o.first_bin == EntropyOptions::FirstBin::kDrop) bins[0] = 0.0;
  if (o.first_bin == EntropyOptions::FirstBin::kLikeSecond && bins.size() > 1) bins[0] = bins[1];
  const int n = static_cast<int>(bins.size());
  const int levels = std::max(1, o.levels);
  const int first = std::clamp(std::max(o.start_bin, levels), 1, n);
  if (n < levels) return h.max_abs();  // too few bins to merge: keep everything
  // Counts above each cut, from the top down.
  std::vector<double> above(static_cast<size_t>(n) + 1, 0.0);
  for (int b = n - 1; b >= 0; --b) above[static_cast<size_t>(b)] = above[static_cast<size_t>(b) + 1] + bins[static_cast<size_t>(b)];
  double best = std::numeric_limits<double>::infinity();
  int best_kept = n;
  for (int kept = first; kept <= n; ++kept) {
    const double kl = kl_for_cut(bins, above[static_cast<size_t>(kept)], kept, levels, o.smoothing);
    if (kl <= best) {
      best = kl;
      best_kept = kept;
    }
  }
  return clamp_to_max((best_kept - 0.5) * h.bin_width(), h);
}

float percentile_range(const Histogram& h, const PercentileOptions& o) {
  if (h.edge() <= 0.0 || h.total() == 0) return 0.0f;
  const double target = std::clamp(o.percentile, 0.0, 100.0) / 100.0 * static_cast<double>(h.total());
  double cum = 0.0;
  const auto& c = h.counts();
  for (size_t b = 0; b < c.size(); ++b) {
    const double next = cum + static_cast<double>(c[b]);
    if (next >= target && c[b] > 0) {
      const double frac = (target - cum) / static_cast<double>(c[b]);
      return clamp_to_max((static_cast<double>(b) + frac) * h.bin_width(), h);
    }
    cum = next;
  }
  return h.max_abs();
}

float mse_range(const Histogram& h, const MseOptions& o) {
  if (h.edge() <= 0.0) return 0.0f;
  const auto& c = h.counts();
  const int n = static_cast<int>(c.size());
  const double w = h.bin_width();
  double best = std::numeric_limits<double>::infinity();
  double best_r = h.edge();
  for (int cut = std::clamp(o.start_bin - 1, 0, n - 1); cut < n; ++cut) {
    const double r = (cut + 1) * w;
    const double s = r / 127.0;
    double err = 0.0;
    for (int b = 0; b < n; ++b) {
      if (c[static_cast<size_t>(b)] == 0) continue;
      const double x = (b + 0.5) * w;
      const double q = std::min(std::nearbyint(x / s), 127.0);
      const double d = x - q * s;
      err += static_cast<double>(c[static_cast<size_t>(b)]) * d * d;
    }
    if (err <= best * (1.0 + 1e-12)) {
      best = std::min(best, err);
      best_r = r;
    }
  }
  return clamp_to_max(best_r, h);
}

}  // namespace qs::quant
