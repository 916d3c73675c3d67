#include "app/precision.h"

#include <fmt/format.h>

#include "quant/calib_cache.h"

namespace qs::app {

namespace {

// --plan replaces config's plan, --calib its scales (the cache's warnings go to stderr).
Status read_plan_and_cache(const PrecisionArgs& args, runtime::PrecisionConfig* config) {
  if (!args.plan_path.empty()) {
    QS_ASSIGN_OR_RETURN(config->plan, passes::read_plan_json(args.plan_path));
    config->plan_name = args.plan_path;
  }
  if (!args.calib_path.empty()) {
    QS_ASSIGN_OR_RETURN(quant::CalibCache cache, quant::read_calib_cache(args.calib_path));
    for (const auto& w : cache.warnings) fmt::print(stderr, "qscope: warning: {}\n", w);
    config->scales = std::move(cache.scales);
  }
  return Status::Ok();
}

}  // namespace

Expected<std::optional<runtime::PrecisionConfig>> load_precision_config(const PrecisionArgs& args) {
  auto p = parse_precision(args.precision);
  if (!p) return UsageError("--precision is '{}', expected fp32, fp16 or int8", args.precision);
  runtime::PrecisionConfig config;
  config.plan.default_precision = *p;
  QS_RETURN_IF_ERROR(read_plan_and_cache(args, &config));
  bool wants_int8 = config.plan.default_precision == Precision::kInt8;
  for (const auto& [layer, prec] : config.plan.layers) wants_int8 |= prec == Precision::kInt8;
  if (wants_int8 && args.calib_path.empty())
    return UsageError("INT8 needs activation ranges: pass --calib CACHE (a TensorRT calibration cache)");
  if (args.plan_path.empty() && args.calib_path.empty() && config.plan.default_precision == Precision::kFp32)
    return std::optional<runtime::PrecisionConfig>();
  return std::optional<runtime::PrecisionConfig>(std::move(config));
}

std::string describe_precisions(const runtime::MixedPlan& plan) {
  if (!plan.lowered) return "precision: all layers fp32\n";
  int n[3] = {0, 0, 0};
  for (const auto& l : plan.lowered->layers) ++n[static_cast<int>(l.actual)];
  int integer_blocks = 0, int8_steps = 0;
  for (const auto& s : plan.plan->steps()) {
    if (s.precision != Precision::kInt8) continue;
    ++int8_steps;
    if (s.kernel->impl().ends_with("-s8")) ++integer_blocks;
  }
  std::string out = fmt::format(
      "precision: {} layers int8, {} fp16, {} fp32; {} fusion blocks; {} int8 steps, {} with integer kernels\n",
      n[static_cast<int>(Precision::kInt8)], n[static_cast<int>(Precision::kFp16)], n[static_cast<int>(Precision::kFp32)],
      plan.lowered->groups.size(), int8_steps, integer_blocks);
  for (const auto& l : plan.lowered->layers)
    if (l.actual != l.requested)
      out += fmt::format("  {} ({}) runs {}, not {}: {}\n", l.name, l.op, precision_name(l.actual),
                         precision_name(l.requested), l.reason);
  return out;
}


Expected<RunSetup> resolve_run_setup(const LoadedModel& model, const PrecisionArgs& args) {
  RunSetup r;
  const bool int8_asked = args.precision == "int8" || !args.plan_path.empty();
  if (!model.has_qdq || !int8_asked) {
    r.graph = model.graph;
    QS_ASSIGN_OR_RETURN(r.config, load_precision_config(args));
    return r;
  }
  r.graph = model.float_graph;
  runtime::PrecisionConfig config;
  config.plan = model.plan;
  config.scales = model.scales;
  QS_RETURN_IF_ERROR(read_plan_and_cache(args, &config));
  r.config = std::move(config);
  return r;
}

}  // namespace qs::app
