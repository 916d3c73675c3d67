// The seed's method, automated (SPEC.md "The sweep"): run FP32 once; then, layer by layer,
// run with a growing INT8 prefix (or one layer alone, or a bisection), compare the final
// outputs with FP32, send a layer whose step loses a lot to higher precision, and go on.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analysis/flagging.h"
#include "analysis/metrics.h"
#include "core/precision.h"
#include "passes/precision_plan.h"
#include "runtime/plan.h"

namespace qs::analysis {

enum class SweepMode { kPrefix, kIsolate, kBisect };
std::string_view sweep_mode_name(SweepMode m);
std::optional<SweepMode> parse_sweep_mode(std::string_view s);

struct SweepOptions {
  SweepMode mode = SweepMode::kPrefix;
  Metric metric = Metric::kCosine;
  std::optional<double> threshold;  // flag when the metric is worse; nullopt: the auto rule
  AutoRule auto_rule;
  Precision fallback = Precision::kFp32;
  bool no_fallback = false;  // only record flags
  bool minimize = false;
  std::optional<double> target;  // --minimize keeps a layer in INT8 while the final plan meets this
  int jobs = 1;
  bool reuse = true;  // share activations, prepared kernels and BatchNorm folds between steps
  int64_t cache_bytes = int64_t{1} << 30;
  runtime::PlanOptions plan_options;
};

// The OpenMP threads each of `jobs` steps run in parallel gets: the calling thread's budget
// (omp_get_max_threads: OMP_NUM_THREADS, else the cores the process may run on) split evenly,
// at least one each.
int threads_per_job(int jobs);

// A layer of the model as the sweep sees it.
struct SweepLayer {
  std::string name, op;
  Shape shape;        // its first output's shape
  bool int8_capable;  // has an INT8 implementation (a range may still be missing)
};

struct StepResult {
  int index = 0;     // step number (prefix/isolate: the layer's index)
  int layer = 0;     // index into SweepResult::layers
  Precision precision = Precision::kFp32;  // what the layer ran in at this step
  std::string reason;                      // why not INT8, when it was asked to be
  std::vector<double> values;              // per input: the worst output's metric
  double mean = 0, min = 0;                // over inputs (min: the worst input)
  double loss = 0;                         // mean loss in percent (flagging.h)
  bool flagged = false;
  bool computed = true;  // false when the step equals the previous one (no INT8 change) and was not run
  // Per input, per output: the step's outputs (kept only when SweepHooks::keep_outputs).
  std::vector<std::map<std::string, Tensor>> outputs;
};

struct SweepResult {
  SweepMode mode = SweepMode::kPrefix;
  Metric metric = Metric::kCosine;
  std::vector<SweepLayer> layers;
  std::vector<StepResult> steps;
  std::vector<std::string> fallback;  // in the order flagged (after --minimize: those still needed)
  std::vector<std::string> minimized_back;  // fallback layers --minimize returned to INT8
  double all_int8_mean = 0, all_int8_min = 0;
  double final_mean = 0, final_min = 0;
  passes::PrecisionPlan plan;  // the final plan: INT8 but the fallback layers
  std::vector<std::map<std::string, Tensor>> reference;  // FP32 outputs per input
  int runs = 0;           // inference runs made (all inputs counted)
  double seconds = 0;
  runtime::ActivationCache::Stats cache;
};

// Called as the sweep goes: after each step (in order), so that a caller can report progress,
// write dumps and save the state that --resume continues from.
struct SweepHooks {
  std::function<void(const SweepResult& so_far, const StepResult& step, int total_steps)> on_step;
  bool keep_outputs = false;
};

// A finished part of an earlier, interrupted sweep (prefix and isolate modes): its steps in order.
struct SweepResume {
  std::vector<StepResult> steps;
};

Expected<SweepResult> run_sweep(std::shared_ptr<const ir::Graph> graph, const std::vector<std::map<std::string, Tensor>>& inputs,
                                const std::map<std::string, float>& scales, const SweepOptions& options,
                                const SweepHooks& hooks = {}, const SweepResume* resume = nullptr);

}  // namespace qs::analysis
