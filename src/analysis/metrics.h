// How far a test output is from the FP32 reference: defined once, used by rank, the sweeps,
// the reports and the tests alike.
#pragma once
#include <optional>
#include <string_view>

#include "core/tensor.h"

namespace qs::analysis {

enum class Metric { kCosine, kSnr, kMse, kMaxAbs, kTop1 };

std::string_view metric_name(Metric m);
std::optional<Metric> parse_metric(std::string_view name);
// True when a larger value means closer to the reference (cosine, SNR, top-1).
bool higher_is_better(Metric m);

// Cosine similarity of the flattened tensors as a percentage (the seed's Similarity%).
// Both all-zero: 100. One all-zero: 0. Any NaN/Inf in either tensor: NaN (never 100%).
double cosine_percent(const Tensor& ref, const Tensor& test);
// Signal-to-noise ratio in dB: 10 log10(sum ref^2 / sum (ref - test)^2); +inf when equal.
double snr_db(const Tensor& ref, const Tensor& test);
double mean_squared_error(const Tensor& ref, const Tensor& test);
double max_abs_error(const Tensor& ref, const Tensor& test);
// Percentage of rows (first dim; the whole tensor when rank < 2) whose arg-max agrees.
double top1_agreement_percent(const Tensor& ref, const Tensor& test);
// Arg-max of row r of a [rows, ...] tensor.
int64_t argmax_row(const Tensor& t, int64_t row);

double compute(Metric m, const Tensor& ref, const Tensor& test);

}  // namespace qs::analysis
