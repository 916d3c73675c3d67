#include "analysis/flagging.h"

#include <algorithm>
#include <cmath>

namespace qs::analysis {

double loss_percent(Metric m, double v, double ref_scale) {
  if (std::isnan(v)) return v;
  switch (m) {
    case Metric::kCosine: return 100.0 - v;
    case Metric::kTop1: return 100.0 - v;
    case Metric::kSnr: return 100.0 * std::pow(10.0, -v / 10.0);
    case Metric::kMse: return ref_scale > 0 ? 100.0 * v / ref_scale : (v > 0 ? 100.0 : 0.0);
    case Metric::kMaxAbs: return ref_scale > 0 ? 100.0 * v / ref_scale : (v > 0 ? 100.0 : 0.0);
  }
  return v;
}

bool Flagger::StepIndependent(double value, double loss) {
  prev_loss_ = 0.0;
  return Step(value, loss);
}

bool Flagger::Step(double value, double loss) {
  bool flag;
  const double jump = loss - prev_loss_;
  if (std::isnan(value) || std::isnan(loss)) {
    flag = true;
  } else if (threshold_) {
    flag = higher_is_better(metric_) ? value < *threshold_ : value > *threshold_;
  } else {
    double typical = 0.0;
    if (!jumps_.empty()) {
      const size_t n = std::min(jumps_.size(), static_cast<size_t>(std::max(1, rule_.window)));
      std::vector<double> recent(jumps_.end() - static_cast<std::ptrdiff_t>(n), jumps_.end());
      std::nth_element(recent.begin(), recent.begin() + static_cast<std::ptrdiff_t>(n / 2), recent.end());
      typical = recent[n / 2];
    }
    flag = jump > std::max(rule_.min_jump, rule_.factor * typical);
  }
  if (!flag) {
    jumps_.push_back(std::fabs(jump));
    prev_loss_ = loss;
  }
  return flag;
}

}  // namespace qs::analysis
