// Execution plan: the graph bound to concrete input shapes. Every node is validated and
// given a kernel once; nodes that compute only from constants (or only from shapes) are
// folded into constants here and are not layers.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "ops/op.h"
#include "passes/lower.h"
#include "runtime/activation_cache.h"
#include "runtime/kernel_cache.h"
#include "passes/precision_plan.h"

namespace qs::runtime {

struct PlanOptions {
  ops::KernelOptions kernel;
  // How each node runs (precision, input scales), by node name; nullptr: everything FP32.
  const std::map<std::string, passes::NodeExec>* exec = nullptr;
  // Kernels prepared by earlier plans of the same model, reused and added to (kernel_cache.h).
  KernelCache* kernels = nullptr;
  // BatchNormalization folds of earlier lowerings of the same model.
  passes::FoldCache* folds = nullptr;
  // build_mixed_plan only: run FP32 convolution chains as fused blocks (BatchNormalization
  // folded, residual Add and activation applied in the convolution) and keep activations
  // channels-last between convolutions where oneDNN prefers it (passes/layout.h). Outputs
  // agree with the unfused plan to float rounding; the plan's inner values are no longer the
  // model's (fused away, or laid out NHWC under another name), so runs that observe them
  // (calibration, dumps) leave this off.
  bool optimize = false;
};

// A precision plan and the INT8 scales (tensor name -> range / 127) it may use.
struct PrecisionConfig {
  passes::PrecisionPlan plan;
  std::string plan_name;  // the plan's file, for messages ("" when given on the command line)
  std::map<std::string, float> scales;
};

// Called after each step with the node and its outputs (for dumps, calibration, debugging).
using StepObserver = std::function<void(size_t step, const ir::Node& node, std::span<const Tensor* const> outputs)>;

// Options of one run.
struct RunOptions {
  StepObserver observer;
  // Reuse and keep activations across runs (see activation_cache.h). input_key identifies
  // the input set (the cache holds values of several).
  ActivationCache* cache = nullptr;
  uint64_t input_key = 0;
  // Which computed values go into the cache: every one (a reference run, whose FP32 values
  // later runs reuse where no INT8 tensor reaches), or only those up to the plan's last
  // non-FP32 step (the quantized prefix that the next sweep step reuses).
  bool cache_everything = false;
};

// Nodes whose op qscope lacks, listed in one error that names them all.
Status check_supported_ops(const ir::Graph& g);

class Plan {
 public:
  struct Step {
    const ir::Node* node = nullptr;
    std::shared_ptr<ops::Kernel> kernel;
    std::vector<int> inputs;   // slot per node input, -1 when absent
    std::vector<int> outputs;  // slot per node output, -1 when absent
    std::vector<ops::TensorInfo> output_infos;  // per node output: planned dtype and shape
    std::vector<int> release;  // slots whose last reader is this step
    Precision precision = Precision::kFp32;
    std::vector<uint64_t> output_signatures;  // per output: what computes it (activation_cache.h)
    bool single_thread = false;               // too little work to share between threads (and the kernel does not pick)
    // The input (index) whose buffer output 0 takes over when this step holds its only
    // reference (ops::Kernel::in_place_input; this step is its last reader), or -1.
    int in_place = -1;
  };

  // input_shapes: shape of each graph input; types come from the model.
  static Expected<Plan> Build(std::shared_ptr<const ir::Graph> graph, const std::map<std::string, Shape>& input_shapes,
                              const PlanOptions& options = {});

  // Runs the plan; inputs must have the planned shapes and types (checked). Returns the graph outputs by name.
  Expected<std::map<std::string, Tensor>> Run(const std::map<std::string, Tensor>& inputs,
                                              const StepObserver& observer = nullptr) const;
  Expected<std::map<std::string, Tensor>> Run(const std::map<std::string, Tensor>& inputs, const RunOptions& options) const;

  const ir::Graph& graph() const { return *graph_; }
  const std::vector<Step>& steps() const { return steps_; }
  // Planned dtype and shape of every value (inputs, constants, intermediates, outputs).
  const std::unordered_map<std::string, ops::TensorInfo>& value_infos() const { return infos_; }
  const std::map<std::string, Shape>& input_shapes() const { return input_shapes_; }
  // Values known before running: initializers and the outputs of folded nodes.
  const std::unordered_map<std::string, Tensor>& constants() const { return constants_; }

 private:
  std::shared_ptr<const ir::Graph> graph_;
  std::map<std::string, Shape> input_shapes_;
  std::vector<Step> steps_;
  // Hashed: a sweep step plans the whole model, and ordered maps of names that share long
  // prefixes ("layernormalization12") spent their time in string comparisons.
  std::unordered_map<std::string, Tensor> constants_;
  std::unordered_map<std::string, ops::TensorInfo> infos_;  // value pointers are cleared; see constants_
  std::unordered_map<std::string, int> slot_of_;
  std::vector<Tensor> slot_init_;            // constants preloaded into their slots
  std::vector<std::pair<std::string, int>> input_slots_;
  std::vector<std::pair<std::string, int>> output_slots_;
  int num_slots_ = 0;
  int last_quantized_step_ = -1;  // index of the last non-FP32 step
};

// The passes' view of a plan: its layers, constants and value infos.
passes::GraphView graph_view(const Plan& plan);

// A plan built to be read (graph_view: layers, value infos, constants), not run fast: every
// node takes its reference kernel, so no weights are packed or reordered and no oneDNN primitive
// is made (a ResNet-50's fast FP32 kernels hold about 100 MiB of reordered weights), and none
// goes into options.kernels. It runs, slowly, with the reference kernels.
Expected<Plan> build_view_plan(std::shared_ptr<const ir::Graph> graph, const std::map<std::string, Shape>& shapes,
                               PlanOptions options = {});

// A model bound to input shapes with a precision plan applied: the lowered graph's plan and
// what the lowering decided for each original layer.
struct MixedPlan {
  std::unique_ptr<Plan> plan;
  // Null when no precision config was given. Its graph is the one the plan runs (after the
  // layout and int8 hand-off passes, when optimizing).
  std::unique_ptr<passes::Lowered> lowered;
};
// fp32: the graph's FP32 plan for these shapes when the caller has it (it is built otherwise).
// lowered: lower_mixed(*fp32, *config, options), when the caller made it already (ignored
// without fp32); null to lower here.
Expected<MixedPlan> build_mixed_plan(std::shared_ptr<const ir::Graph> graph, const std::map<std::string, Shape>& shapes,
                                     const PrecisionConfig* config, const PlanOptions& options = {},
                                     const Plan* fp32 = nullptr, std::unique_ptr<passes::Lowered> lowered = nullptr);
// The precision lowering that build_mixed_plan makes of config against fp32 (the graph's FP32
// plan) with options. For callers that read it before they build the plan (the sweep asks how a
// step's layer runs before it runs the step): they lower once and hand it to build_mixed_plan.
Expected<std::unique_ptr<passes::Lowered>> lower_mixed(const Plan& fp32, const PrecisionConfig& config,
                                                       const PlanOptions& options = {});

// Runs a graph on inputs of any shape, building (and caching) a plan per set of input shapes.
class Engine {
 public:
  explicit Engine(std::shared_ptr<const ir::Graph> graph, PlanOptions options = {},
                  std::optional<PrecisionConfig> precision = std::nullopt)
      : graph_(std::move(graph)), options_(options), precision_(std::move(precision)) {}
  // Input names, types and declared shapes are checked against the model.
  Expected<const MixedPlan*> PlanFor(const std::map<std::string, Tensor>& inputs);
  Expected<std::map<std::string, Tensor>> Run(const std::map<std::string, Tensor>& inputs,
                                              const StepObserver& observer = nullptr);
  const ir::Graph& graph() const { return *graph_; }

 private:
  std::shared_ptr<const ir::Graph> graph_;
  PlanOptions options_;
  std::optional<PrecisionConfig> precision_;
  std::map<std::map<std::string, Shape>, std::unique_ptr<MixedPlan>> plans_;
};

}  // namespace qs::runtime
