// Axis scaling for the HTML report's charts: pure functions from values to pixels.
//
// A sweep's similarities sit near 100% and differ in the 3rd or 4th decimal, so a linear
// axis from 0 to 100 draws a flat line. Percent metrics where 100 is perfect (cosine, top-1
// agreement) are drawn on a log scale of the loss (100 - value), whole decades, best at the
// top: 99.9999, 99.999, 99.99, 99.9, 99, 90, 0. Error metrics (MSE, max-abs) are drawn on a
// log scale of the value (smallest at the top); SNR on a linear axis with a rounded range.
// NaN has no place on an axis: px() returns NaN and the chart draws it apart.
#pragma once
#include <span>
#include <string>
#include <vector>

#include "analysis/metrics.h"

namespace qs::report::chart {

enum class AxisKind {
  kLogLoss,  // log10(100 - v), decades; higher values drawn higher
  kLog,      // log10(v), decades; lower values drawn higher
  kLinear,   // v; higher values drawn higher
};

struct Tick {
  double value = 0;  // in metric units
  double px = 0;
  std::string label;
};

struct YScale {
  AxisKind kind = AxisKind::kLinear;
  double lo = 0, hi = 1;  // axis units: log10 of the loss/value for the log kinds (lo drawn at the top), else values
                          // (hi at the top)
  double top_px = 0, bottom_px = 100;
  double tick_step = 1;  // linear: distance between ticks

  // Pixel row of a value: clamped into [top_px, bottom_px] (a loss of 0 or below the floor goes to
  // the top, +-inf to the matching edge); NaN for NaN.
  double px(double v) const;
  std::vector<Tick> ticks() const;
};

// Smallest loss (percent) the log-loss axis shows: below the table's 4 decimals.
inline constexpr double kMinLoss = 1e-5;

// The scale for these values (NaN ignored; include reference lines in `values` so they fit).
// One value, all values equal, or no finite value give a range of one decade (log) or +-1 around it (linear).
YScale log_loss_scale(std::span<const double> values, double top_px, double bottom_px);
YScale log_scale(std::span<const double> values, double top_px, double bottom_px);
YScale linear_scale(std::span<const double> values, double top_px, double bottom_px);
YScale scale_for(analysis::Metric m, std::span<const double> values, double top_px, double bottom_px);

// Column of step i of n, evenly spread over [left, right]; one step sits in the middle.
double x_px(size_t i, size_t n, double left, double right);
// Steps that get a label on the x axis: about `max_labels` at round intervals (1, 2, 5, 10, ...), always step 0.
std::vector<size_t> x_ticks(size_t n, size_t max_labels = 12);

// 1, 2 or 5 times a power of ten, the smallest at least `x` (x > 0).
double nice_step(double x);

}  // namespace qs::report::chart
