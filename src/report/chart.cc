#include "report/chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace qs::report::chart {

namespace {

constexpr double kMaxPercentLoss = 200.0;  // cosine -100%

double clamp01(double t) { return std::clamp(t, 0.0, 1.0); }

// lo/hi in decades of the positive badness values b (b <= 0 means perfect: drawn at the top).
void decade_range(const std::vector<double>& b, double floor_value, double* lo, double* hi) {
  double mn = std::numeric_limits<double>::infinity(), mx = 0;
  for (double x : b) {
    if (!std::isfinite(x) || x <= 0) continue;
    mn = std::min(mn, std::max(x, floor_value));
    mx = std::max(mx, x);
  }
  if (!std::isfinite(mn)) {  // nothing positive: everything perfect (or no finite value)
    *lo = std::floor(std::log10(floor_value));
    *hi = *lo + 1;
    return;
  }
  *lo = std::floor(std::log10(mn) + 1e-12);
  *hi = std::ceil(std::log10(std::max(mx, floor_value)) - 1e-12);
  if (*hi <= *lo) *hi = *lo + 1;
}

std::string decade_label(AxisKind kind, double d) {
  if (kind == AxisKind::kLogLoss) {
    const double v = 100.0 - std::pow(10.0, d);
    const int decimals = std::max(0, static_cast<int>(std::lround(-std::floor(d))));
    return fmt::format("{:.{}f}", std::fabs(v) < 1e-12 ? 0.0 : v, decimals);
  }
  return fmt::format("{:g}", std::pow(10.0, d));
}

}  // namespace

double nice_step(double x) {
  if (!(x > 0) || !std::isfinite(x)) return 1.0;
  const double p = std::pow(10.0, std::floor(std::log10(x)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= x * (1 - 1e-12)) return m * p;
  return 10 * p;
}

double YScale::px(double v) const {
  if (std::isnan(v)) return std::numeric_limits<double>::quiet_NaN();
  double t = 0;  // 0: top, 1: bottom
  switch (kind) {
    case AxisKind::kLogLoss:
    case AxisKind::kLog: {
      const double b = kind == AxisKind::kLogLoss ? 100.0 - v : v;
      if (b == std::numeric_limits<double>::infinity())
        t = 1;
      else if (!(b > 0))
        t = 0;  // perfect, or -inf
      else
        t = (std::log10(b) - lo) / (hi - lo);
      break;
    }
    case AxisKind::kLinear:
      if (std::isinf(v))
        t = v > 0 ? 0 : 1;
      else
        t = (hi - v) / (hi - lo);
      break;
  }
  return top_px + clamp01(t) * (bottom_px - top_px);
}

std::vector<Tick> YScale::ticks() const {
  std::vector<Tick> out;
  if (kind == AxisKind::kLinear) {
    const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(tick_step) + 1e-12)));
    const int n = static_cast<int>(std::lround((hi - lo) / tick_step));
    for (int k = 0; k <= n; ++k) {
      const double v = lo + k * tick_step;
      out.push_back({v, px(v), fmt::format("{:.{}f}", std::fabs(v) < tick_step * 1e-9 ? 0.0 : v, decimals)});
    }
    return out;
  }
  for (double d = std::ceil(lo - 1e-9); d <= hi + 1e-9; d += 1) {
    const double b = std::pow(10.0, d);
    const double v = kind == AxisKind::kLogLoss ? 100.0 - b : b;
    out.push_back({v, px(v), decade_label(kind, d)});
  }
  if (std::fabs(hi - std::round(hi)) > 1e-9) {  // a capped end (cosine -100%)
    const double b = std::pow(10.0, hi);
    const double v = kind == AxisKind::kLogLoss ? 100.0 - b : b;
    out.push_back({v, px(v), fmt::format("{:g}", std::round(v * 1e4) / 1e4)});
  }
  return out;
}

YScale log_loss_scale(std::span<const double> values, double top_px, double bottom_px) {
  std::vector<double> loss;
  for (double v : values)
    if (!std::isnan(v)) loss.push_back(100.0 - v);
  YScale s;
  s.kind = AxisKind::kLogLoss;
  s.top_px = top_px;
  s.bottom_px = bottom_px;
  decade_range(loss, kMinLoss, &s.lo, &s.hi);
  if (s.hi > std::log10(kMaxPercentLoss)) s.hi = std::log10(kMaxPercentLoss);
  if (s.lo >= s.hi) s.lo = std::floor(s.hi) - 1;
  return s;
}

YScale log_scale(std::span<const double> values, double top_px, double bottom_px) {
  std::vector<double> b;
  double mx = 0;
  for (double v : values)
    if (std::isfinite(v)) b.push_back(v), mx = std::max(mx, v);
  YScale s;
  s.kind = AxisKind::kLog;
  s.top_px = top_px;
  s.bottom_px = bottom_px;
  // The floor: eight decades under the largest value (an exact zero would otherwise ask for -inf).
  decade_range(b, mx > 0 ? mx * 1e-8 : 1e-8, &s.lo, &s.hi);
  return s;
}

YScale linear_scale(std::span<const double> values, double top_px, double bottom_px) {
  double mn = std::numeric_limits<double>::infinity(), mx = -mn;
  for (double v : values)
    if (std::isfinite(v)) mn = std::min(mn, v), mx = std::max(mx, v);
  if (!std::isfinite(mn)) mn = 0, mx = 1;
  if (mx - mn < 1e-12 * std::max(1.0, std::fabs(mx))) {
    const double pad = std::max(1.0, std::fabs(mx) * 0.01);
    mn -= pad, mx += pad;
  }
  YScale s;
  s.kind = AxisKind::kLinear;
  s.top_px = top_px;
  s.bottom_px = bottom_px;
  s.tick_step = nice_step((mx - mn) / 5);
  s.lo = std::floor(mn / s.tick_step + 1e-9) * s.tick_step;
  s.hi = std::ceil(mx / s.tick_step - 1e-9) * s.tick_step;
  if (s.hi <= s.lo) s.hi = s.lo + s.tick_step;
  return s;
}

YScale scale_for(analysis::Metric m, std::span<const double> values, double top_px, double bottom_px) {
  switch (m) {
    case analysis::Metric::kCosine:
    case analysis::Metric::kTop1:
      return log_loss_scale(values, top_px, bottom_px);
    case analysis::Metric::kMse:
    case analysis::Metric::kMaxAbs:
      return log_scale(values, top_px, bottom_px);
    case analysis::Metric::kSnr:
      return linear_scale(values, top_px, bottom_px);
  }
  return linear_scale(values, top_px, bottom_px);
}

double x_px(size_t i, size_t n, double left, double right) {
  if (n <= 1) return (left + right) / 2;
  return left + static_cast<double>(i) * (right - left) / static_cast<double>(n - 1);
}

std::vector<size_t> x_ticks(size_t n, size_t max_labels) {
  std::vector<size_t> out;
  if (n == 0) return out;
  const double step = nice_step(static_cast<double>(n) / static_cast<double>(std::max<size_t>(1, max_labels)));
  const size_t s = std::max<size_t>(1, static_cast<size_t>(std::llround(step)));
  for (size_t i = 0; i < n; i += s) out.push_back(i);
  return out;
}

}  // namespace qs::report::chart
