#include "quant/calibrate.h"

#include <set>

#include "quant/int8_math.h"

namespace qs::quant {

std::optional<CalibMethod> parse_calib_method(std::string_view name) {
  if (name == "entropy") return CalibMethod::kEntropy;
  if (name == "minmax") return CalibMethod::kMinMax;
  if (name == "percentile") return CalibMethod::kPercentile;
  if (name == "mse") return CalibMethod::kMse;
  return std::nullopt;
}

std::string_view calib_method_name(CalibMethod m) {
  switch (m) {
    case CalibMethod::kEntropy: return "entropy";
    case CalibMethod::kMinMax: return "minmax";
    case CalibMethod::kPercentile: return "percentile";
    case CalibMethod::kMse: return "mse";
  }
  return "?";
}

std::string calib_algorithm_name(CalibMethod m) {
  switch (m) {
    case CalibMethod::kEntropy: return "EntropyCalibration2";
    case CalibMethod::kMinMax: return "MinMaxCalibration";
    case CalibMethod::kPercentile: return "Percentile";
    case CalibMethod::kMse: return "MSE";
  }
  return "?";
}

// Calibration observes every tensor of the model, so its plans run the model as it is (no
// fused FP32 blocks, no channels-last copies).
static runtime::PlanOptions unoptimized(runtime::PlanOptions o) {
  o.optimize = false;
  return o;
}

Calibrator::Calibrator(std::shared_ptr<const ir::Graph> graph, CalibrateOptions options,
                       runtime::PlanOptions plan_options)
    : options_(options), engine_(std::move(graph), unoptimized(plan_options)) {}

void Calibrator::Record(const std::string& name, const Tensor& t) {
  if (t.dtype() != DType::kFloat32 || name.empty()) return;
  auto it = histograms_.find(name);
  if (it == histograms_.end()) it = histograms_.emplace(name, Histogram(options_.entropy.bins)).first;
  it->second.Add(t.values<float>());
}

Status Calibrator::AddBatch(const std::map<std::string, Tensor>& inputs) {
  for (const auto& [name, t] : inputs) Record(name, t);
  auto out = engine_.Run(inputs, [this](size_t, const ir::Node& node, std::span<const Tensor* const> outs) {
    for (size_t i = 0; i < outs.size() && i < node.outputs.size(); ++i)
      if (outs[i]) Record(node.outputs[i], *outs[i]);
  });
  if (!out.ok()) return out.status();
  ++batches_;
  return Status::Ok();
}

float Calibrator::RangeOf(const Histogram& h) const {
  switch (options_.method) {
    case CalibMethod::kEntropy: return entropy_range(h, options_.entropy);
    case CalibMethod::kMinMax: return minmax_range(h);
    case CalibMethod::kPercentile: return percentile_range(h, options_.percentile);
    case CalibMethod::kMse: return mse_range(h, options_.mse);
  }
  return minmax_range(h);
}

CalibResult Calibrator::Finish() const {
  CalibResult r;
  r.cache.algorithm = calib_algorithm_name(options_.method);
  r.batches = batches_;
  r.histograms = histograms_;
  for (const auto& [name, h] : histograms_) {
    const float range = RangeOf(h);
    r.cache.scales[name] = scale_from_range(range);
    if (!(range > 0.0f)) r.zero_tensors.push_back(name);
    if (h.non_finite() > 0) r.non_finite_tensors.push_back(name);
  }
  return r;
}

std::vector<std::string> tensors_missing_from(const runtime::Plan& plan, const std::map<std::string, float>& scales) {
  std::vector<std::string> missing;
  std::set<std::string> seen;
  auto check = [&](const std::string& name) {
    if (name.empty() || !seen.insert(name).second) return;
    auto info = plan.value_infos().find(name);
    if (info == plan.value_infos().end() || info->second.dtype != DType::kFloat32) return;
    if (!scales.count(name)) missing.push_back(name);
  };
  for (const auto& in : plan.graph().inputs) check(in.name);
  for (const auto& step : plan.steps())
    for (const auto& o : step.node->outputs) check(o);
  return missing;
}

}  // namespace qs::quant
