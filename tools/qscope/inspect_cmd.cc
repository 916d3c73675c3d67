// qscope inspect MODEL: the layers in order with op, output shape and INT8 capability.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <map>

#include "app/model.h"
#include "cli_common.h"
#include "commands.h"
#include "passes/int8_capability.h"
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
  auto plan = runtime::Plan::Build(*graph, shapes);
  if (!plan.ok()) return report_error(plan.status().WithPrefix("cannot plan '" + a.model + "': "));
  fmt::print("model: {} (opset {}, {} nodes, {} layers)\n", a.model, g.opset, g.nodes.size(), plan->steps().size());
  for (const auto& in : g.inputs) fmt::print("input:  {} {} {}\n", in.name, dtype_name(in.dtype), shape_str(shapes[in.name]));
  for (const auto& out : g.outputs) {
    const auto& info = plan->value_infos().at(out.name);
    fmt::print("output: {} {} {}\n", out.name, dtype_name(info.dtype), shape_str(info.shape));
  }
  fmt::print("\n{:>4}  {:<32} {:<20} {:<20} {}\n", "#", "layer", "op", "output shape", "int8");
  size_t i = 0;
  for (const auto& step : plan->steps()) {
    const ir::Node& n = *step.node;
    const auto& info = plan->value_infos().at(n.outputs.front());
    const auto cap = passes::int8_capability(n, plan->constants());
    fmt::print("{:>4}  {:<32} {:<20} {:<20} {}\n", i++, n.name, n.op_type, shape_str(info.shape),
               cap.capable ? "yes" : "no (" + cap.reason + ")");
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
