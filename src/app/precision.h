// The precision options the commands share: --precision, --plan, --calib.
#pragma once
#include <optional>
#include <string>

#include "core/status.h"
#include "runtime/plan.h"

namespace qs::app {

struct PrecisionArgs {
  std::string precision = "fp32";  // the default for layers the plan does not name
  std::string plan_path;            // plan JSON; its "default" wins over `precision`
  std::string calib_path;           // TensorRT calibration cache with the INT8 ranges
};

// nullopt for a plain FP32 run (no plan, fp32, no cache). Errors name the file.
Expected<std::optional<runtime::PrecisionConfig>> load_precision_config(const PrecisionArgs& args);

// One line per fact: how many layers run in each precision, how many INT8 layers run integer
// kernels, and each layer that did not get the precision it asked for, with the reason.
std::string describe_precisions(const runtime::MixedPlan& plan);

}  // namespace qs::app

#include "app/model.h"

namespace qs::app {

// What `run` executes for a model that may be a Q/DQ model: a plain model gets
// load_precision_config(args). A Q/DQ model runs as written (Q/DQ in float) unless INT8 is
// asked for (--precision int8 or --plan): then its float graph runs with the model's own plan
// (or --plan's) and the model's own scales (or --calib's).
struct RunSetup {
  std::shared_ptr<const ir::Graph> graph;
  std::optional<runtime::PrecisionConfig> config;
};
Expected<RunSetup> resolve_run_setup(const LoadedModel& model, const PrecisionArgs& args);

}  // namespace qs::app
