// The calibration driver: runs the FP32 engine on the unfused graph batch by batch, streams
// every float activation (graph inputs and every step's outputs) into a histogram per tensor,
// and turns the histograms into a TensorRT calibration cache (INT8.md items 12-17).
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "quant/calib_cache.h"
#include "quant/calibrators.h"
#include "quant/histogram.h"
#include "runtime/plan.h"

namespace qs::quant {

enum class CalibMethod { kEntropy, kMinMax, kPercentile, kMse };

std::optional<CalibMethod> parse_calib_method(std::string_view name);
std::string_view calib_method_name(CalibMethod m);
// The cache header's algorithm: EntropyCalibration2 and MinMaxCalibration as TensorRT writes
// them; "Percentile" and "MSE" for the two that TensorRT lacks (qscope's names; TensorRT
// reads a cache only with its own algorithm, so use these with qscope or a Q/DQ export).
std::string calib_algorithm_name(CalibMethod m);

struct CalibrateOptions {
  CalibMethod method = CalibMethod::kEntropy;
  EntropyOptions entropy;        // also sets the histogram's bin count for every method
  PercentileOptions percentile;
  MseOptions mse;
};

// What calibration found besides the cache.
struct CalibResult {
  CalibCache cache;
  std::vector<std::string> zero_tensors;        // all zero on the data: range 0, their INT8 readers stay float
  std::vector<std::string> non_finite_tensors;  // held NaN/Inf (skipped)
  int64_t batches = 0;
  std::map<std::string, Histogram> histograms;  // |x| of every tensor, for reports
};

class Calibrator {
 public:
  Calibrator(std::shared_ptr<const ir::Graph> graph, CalibrateOptions options, runtime::PlanOptions plan_options = {});
  // Runs FP32 on one batch (a value per model input) and adds every float tensor to its histogram.
  Status AddBatch(const std::map<std::string, Tensor>& inputs);
  // The ranges by the chosen method, as scales (range / 127) under the model's tensor names.
  CalibResult Finish() const;
  float RangeOf(const Histogram& h) const;
  const std::map<std::string, Histogram>& histograms() const { return histograms_; }

 private:
  void Record(const std::string& name, const Tensor& t);
  CalibrateOptions options_;
  runtime::Engine engine_;
  std::map<std::string, Histogram> histograms_;
  int64_t batches_ = 0;
};

// The model's float activation tensors (graph inputs and step outputs of the FP32 plan) that
// `scales` lacks, in step order.
std::vector<std::string> tensors_missing_from(const runtime::Plan& fp32_plan, const std::map<std::string, float>& scales);

}  // namespace qs::quant
