// qscope inspect MODEL: the layers in order with op, output shape and INT8 capability.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <map>

#include "app/model.h"
#include "cli_common.h"
#include "commands.h"
#include "passes/int8_capability.h"
#include "passes/lower.h"
#include "runtime/plan.h"

namespace qs::cli {

namespace {
struct InspectArgs {
  std::string model;
  int64_t batch = 1;
};

int run_inspect(const InspectArgs& a) {
  auto graph = app::load_model(a.model);
  if (!graph.ok()) return report_error(graph.status());
  const ir::Graph& g = **graph;
  // Plan with the declared input shapes; unknown dimensions take --batch (first) or 1.
  std::map<std::string, Shape> shapes;
  for (const auto& in : g.inputs) {
    if (!in.has_shape) return report_error(UsageError("cannot inspect '{}': input '{}' has no declared shape", a.model, in.name));
    Shape s = in.dims;
    for (size_t d = 0; d < s.size(); ++d)
      if (s[d] < 0) s[d] = d == 0 ? a.batch : 1;
    shapes[in.name] = s;
  }
  auto plan = runtime::build_view_plan(*graph, shapes);
  if (!plan.ok()) return report_error(plan.status().WithPrefix("cannot plan '" + a.model + "': "));
  fmt::print("model: {} (opset {}, {} nodes, {} layers)\n", a.model, g.opset, g.nodes.size(), plan->steps().size());
  for (const auto& in : g.inputs) fmt::print("input:  {} {} {}\n", in.name, dtype_name(in.dtype), shape_str(shapes[in.name]));
  for (const auto& out : g.outputs) {
    const auto& info = plan->value_infos().at(out.name);
    fmt::print("output: {} {} {}\n", out.name, dtype_name(info.dtype), shape_str(info.shape));
  }
  // Fusion groups as they form when every layer runs INT8 (INT8.md items 9-11).
  const passes::GraphView view = runtime::graph_view(*plan);
  passes::PrecisionPlan all_int8;
  all_int8.default_precision = Precision::kInt8;
  auto lowered = passes::lower_precision(view, all_int8, {}, passes::LowerOptions{false});
  if (!lowered.ok()) return report_error(lowered.status().WithPrefix("cannot inspect '" + a.model + "': "));
  fmt::print("\n{:>4}  {:<32} {:<20} {:<20} {:<6} {}\n", "#", "layer", "op", "output shape", "group", "int8");
  for (size_t i = 0; i < view.layers.size(); ++i) {
    const ir::Node& n = *view.layers[i];
    const auto& info = plan->value_infos().at(n.outputs.front());
    const auto cap = passes::int8_capability(view, n);
    const int group = lowered->layers[i].group;
    // A Sigmoid has no INT8 kernel, but as the SiLU of an INT8 block it runs INT8 with it.
    const std::string int8 = cap.capable ? "yes"
                             : lowered->layers[i].actual == Precision::kInt8 ? "yes (the SiLU of its group)"
                                                                              : "no (" + cap.reason + ")";
    fmt::print("{:>4}  {:<32} {:<20} {:<20} {:<6} {}\n", i, n.name, n.op_type, shape_str(info.shape),
               group < 0 ? "-" : "G" + std::to_string(group), int8);
  }
  if (!lowered->groups.empty()) fmt::print("\nfusion groups (when all layers run INT8; only their boundary tensors are quantized):\n");
  for (size_t gi = 0; gi < lowered->groups.size(); ++gi) {
    const auto& g = lowered->groups[gi];
    std::string names;
    for (const ir::Node* m : g.members) names += (names.empty() ? "" : ", ") + m->name;
    std::string quantized = g.head()->input(0);
    if (!g.residual.empty()) quantized += ", " + g.residual;
    fmt::print("  G{:<4} {:<40} {} -> {}   (quantized inputs: {})\n", gi, g.describe(), names, g.output(), quantized);
  }
  return kOk;
}
}  // namespace

void add_inspect_command(CLI::App& app, std::function<int()>& action) {
  auto a = std::make_shared<InspectArgs>();
  auto* cmd = app.add_subcommand("inspect", "List the layers in order: op, output shape, INT8 capability");
  cmd->add_option("model", a->model, "ONNX model file")->required();
  cmd->add_option("--batch", a->batch, "Size for an unknown first (batch) dimension")->check(CLI::PositiveNumber);
  cmd->callback([a, &action] { action = [a] { return run_inspect(*a); }; });
}

}  // namespace qs::cli
