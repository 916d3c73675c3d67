#include "quant/histogram.h"

#include <algorithm>
#include <cmath>

namespace qs::quant {

Histogram::Histogram(int bins) : counts_(static_cast<size_t>(std::max(bins, 1)), 0) {}

void Histogram::GrowTo(double max_abs) {
  if (edge_ == 0.0) {  // zeros seen so far all sit in bin 0, whatever the edge becomes
    edge_ = max_abs;
    return;
  }
  const size_t n = counts_.size();
  while (edge_ < max_abs) {
    for (size_t i = 0; i < n; ++i) {
      const uint64_t a = 2 * i < n ? counts_[2 * i] : 0;
      const uint64_t b = 2 * i + 1 < n ? counts_[2 * i + 1] : 0;
      counts_[i] = a + b;  // reads indices >= i only, so in place is safe
    }
    edge_ *= 2.0;
  }
}

void Histogram::Add(std::span<const float> values) {
  float m = 0.0f;
  uint64_t finite = 0;
  for (float v : values) {
    if (!std::isfinite(v)) continue;
    m = std::max(m, std::fabs(v));
    ++finite;
  }
  non_finite_ += values.size() - finite;
  if (m > 0.0f && m > edge_) GrowTo(m);
  max_abs_ = std::max(max_abs_, m);
  total_ += finite;
  if (edge_ == 0.0) {  // all zeros so far
    counts_[0] += finite;
    return;
  }
  const double inv = static_cast<double>(counts_.size()) / edge_;
  const int64_t last = static_cast<int64_t>(counts_.size()) - 1;
  for (float v : values) {
    if (!std::isfinite(v)) continue;
    // Bin b holds (b * width, (b + 1) * width]; bin 0 also holds 0. Closed at the top, so a
    // value on an edge stays in the same bin whichever doubling it went through.
    const int64_t b = std::clamp(static_cast<int64_t>(std::ceil(std::fabs(v) * inv)) - 1, int64_t{0}, last);
    ++counts_[static_cast<size_t>(b)];
  }
}

}  // namespace qs::quant
