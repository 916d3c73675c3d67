#include "analysis/metrics.h"

#include <cmath>
#include <limits>

namespace qs::analysis {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool finite_and_same_size(const Tensor& a, const Tensor& b) {
  if (a.numel() != b.numel()) return false;
  for (int64_t i = 0; i < a.numel(); ++i)
    if (!std::isfinite(a.GetAsDouble(i)) || !std::isfinite(b.GetAsDouble(i))) return false;
  return true;
}
}  // namespace

std::string_view metric_name(Metric m) {
  switch (m) {
    case Metric::kCosine: return "cosine";
    case Metric::kSnr: return "snr";
    case Metric::kMse: return "mse";
    case Metric::kMaxAbs: return "max-abs";
    case Metric::kTop1: return "top1";
  }
  return "cosine";
}

std::optional<Metric> parse_metric(std::string_view n) {
  for (Metric m : {Metric::kCosine, Metric::kSnr, Metric::kMse, Metric::kMaxAbs, Metric::kTop1})
    if (metric_name(m) == n) return m;
  return std::nullopt;
}

bool higher_is_better(Metric m) { return m == Metric::kCosine || m == Metric::kSnr || m == Metric::kTop1; }

double cosine_percent(const Tensor& ref, const Tensor& test) {
  if (!finite_and_same_size(ref, test)) return kNaN;
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    const double a = ref.GetAsDouble(i), b = test.GetAsDouble(i);
    ab += a * b;
    aa += a * a;
    bb += b * b;
  }
  if (aa == 0 && bb == 0) return 100.0;
  if (aa == 0 || bb == 0) return 0.0;
  return 100.0 * ab / std::sqrt(aa * bb);
}

double snr_db(const Tensor& ref, const Tensor& test) {
  if (!finite_and_same_size(ref, test)) return kNaN;
  double s = 0, n = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    const double a = ref.GetAsDouble(i), d = a - test.GetAsDouble(i);
    s += a * a;
    n += d * d;
  }
  if (n == 0) return std::numeric_limits<double>::infinity();
  if (s == 0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(s / n);
}

double mean_squared_error(const Tensor& ref, const Tensor& test) {
  if (!finite_and_same_size(ref, test)) return kNaN;
  double e = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    const double d = ref.GetAsDouble(i) - test.GetAsDouble(i);
    e += d * d;
  }
  return ref.numel() ? e / static_cast<double>(ref.numel()) : 0.0;
}

double max_abs_error(const Tensor& ref, const Tensor& test) {
  if (!finite_and_same_size(ref, test)) return kNaN;
  double e = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) e = std::max(e, std::fabs(ref.GetAsDouble(i) - test.GetAsDouble(i)));
  return e;
}

int64_t argmax_row(const Tensor& t, int64_t row) {
  const int64_t rows = t.rank() >= 2 ? t.dim(0) : 1;
  const int64_t k = rows ? t.numel() / rows : 0;
  int64_t best = 0;
  for (int64_t j = 1; j < k; ++j)
    if (t.GetAsDouble(row * k + j) > t.GetAsDouble(row * k + best)) best = j;
  return best;
}

double top1_agreement_percent(const Tensor& ref, const Tensor& test) {
  if (!finite_and_same_size(ref, test)) return kNaN;
  const int64_t rows = ref.rank() >= 2 ? ref.dim(0) : 1;
  if (rows == 0) return 100.0;
  int64_t same = 0;
  for (int64_t r = 0; r < rows; ++r) same += argmax_row(ref, r) == argmax_row(test, r);
  return 100.0 * static_cast<double>(same) / static_cast<double>(rows);
}

double compute(Metric m, const Tensor& ref, const Tensor& test) {
  switch (m) {
    case Metric::kCosine: return cosine_percent(ref, test);
    case Metric::kSnr: return snr_db(ref, test);
    case Metric::kMse: return mean_squared_error(ref, test);
    case Metric::kMaxAbs: return max_abs_error(ref, test);
    case Metric::kTop1: return top1_agreement_percent(ref, test);
  }
  return kNaN;
}

}  // namespace qs::analysis
