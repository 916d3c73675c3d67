// When a sweep step loses "a lot" (the seed: "there is no fixed threshold ... you can get a
// sense from the loss trend during recent iterations").
//
// Every metric is turned into a loss in percent, where 0 means identical to FP32:
//   cosine: 100 - similarity%         top1: 100 - agreement%
//   snr:    100 * 10^(-SNR/10)        (noise power as a percentage of signal power)
//   mse:    100 * MSE / mean(ref^2)   (the same quantity from the MSE)
//   max-abs: 100 * max|err| / max|ref|
// The auto rule (the default): step i is flagged when its loss jump over the last accepted
// step, d_i = loss_i - loss_prev, exceeds
//     max(min_jump, factor * median(|d_j|) over the last `window` accepted steps)
// (no history: max(min_jump, 0)). Defaults: min_jump 0.1 (points of loss), factor 10,
// window 8. A flagged step is not accepted: the next step's jump is measured from the same
// loss_prev, since the flagged layer goes back to higher precision. A NaN loss (NaN/Inf in
// the output) is always flagged.
// The threshold rule (--threshold S): a step is flagged when its metric is worse than S.
#pragma once
#include <optional>
#include <vector>

#include "analysis/metrics.h"

namespace qs::analysis {

struct AutoRule {
  double min_jump = 0.1;
  double factor = 10.0;
  int window = 8;
};

// Loss in percent from a metric value; ref_scale is mean(ref^2) for mse and max|ref| for
// max-abs (ignored otherwise).
double loss_percent(Metric m, double value, double ref_scale = 1.0);

class Flagger {
 public:
  // threshold: flag when the metric is worse than it; nullopt: the auto rule.
  Flagger(Metric metric, std::optional<double> threshold, AutoRule rule = {})
      : metric_(metric), threshold_(threshold), rule_(rule) {}
  // Decides a step from its metric value and its loss (loss_percent); accepted steps become
  // the trend the next steps are judged against.
  bool Step(double value, double loss);
  // For steps that do not build on each other (isolate mode): the jump is the loss itself.
  bool StepIndependent(double value, double loss);
  double last_accepted_loss() const { return prev_loss_; }

 private:
  Metric metric_;
  std::optional<double> threshold_;
  AutoRule rule_;
  double prev_loss_ = 0.0;
  std::vector<double> jumps_;  // accepted steps' |d|
};

}  // namespace qs::analysis
