#include "app/export.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "passes/qdq_plan.h"
#include "report/report.h"

namespace qs::app {

Expected<std::map<std::string, Shape>> declared_shapes(const ir::Graph& g, const std::string& model_path) {
  std::map<std::string, Shape> shapes;
  for (const auto& in : g.inputs) {
    if (!in.has_shape) return UsageError("cannot export '{}': input '{}' has no declared shape", model_path, in.name);
    Shape s = in.dims;
    for (auto& d : s)
      if (d < 0) d = 1;
    shapes[in.name] = s;
  }
  return shapes;
}

Expected<PlanExport> plan_export(std::shared_ptr<const ir::Graph> graph, const std::map<std::string, Shape>& shapes,
                                 const runtime::PrecisionConfig& config) {
  QS_ASSIGN_OR_RETURN(runtime::Plan fp32, runtime::build_view_plan(graph, shapes));
  const passes::GraphView view = runtime::graph_view(fp32);
  auto lowered = passes::lower_precision(view, config.plan, config.scales);
  if (!lowered.ok())
    return lowered.status().WithPrefix(config.plan_name.empty() ? "precision plan: "
                                                                : "plan '" + config.plan_name + "': ");
  PlanExport e;
  QS_ASSIGN_OR_RETURN(e.qdq, passes::make_qdq_plan(view, *lowered));
  e.layers = lowered->layers;
  return e;
}

Expected<std::string> qdq_model_bytes(const std::string& model_path, const PlanExport& e,
                                      onnx_io::QdqExportStats* stats) {
  return onnx_io::export_qdq_model(model_path, e.qdq, stats);
}

std::string trtexec_command(const std::string& model_path, const std::string& calib_path, const PlanExport& e) {
  std::vector<std::pair<std::string, Precision>> not_int8;
  for (const auto& l : e.layers)
    if (l.actual != Precision::kInt8) not_int8.emplace_back(l.name, l.actual);
  std::string flags = report::trtexec_flags(not_int8);
  if (!calib_path.empty()) {  // after the precision flags, before the per-layer constraints
    const size_t at = flags.find(" --precisionConstraints");
    flags.insert(at == std::string::npos ? flags.size() : at, " " + report::shell_quote("--calib=" + calib_path));
  }
  return "trtexec " + report::shell_quote("--onnx=" + model_path) + " " + flags;
}

std::string exclude_list_json(const PlanExport& e) {
  std::vector<std::string> names;
  for (const auto& l : e.layers)
    if (l.actual != Precision::kInt8) names.push_back(l.name);
  return report::exclude_list(names) + "\n";
}

}  // namespace qs::app

#include "io/atomic_file.h"

namespace qs::app {

Status write_qdq_model(const std::string& model_path, std::shared_ptr<const ir::Graph> graph,
                       const std::map<std::string, Tensor>& inputs, const runtime::PrecisionConfig& config,
                       const std::string& out) {
  std::map<std::string, Shape> shapes;
  for (const auto& [name, t] : inputs) shapes[name] = t.shape();
  auto e = plan_export(std::move(graph), shapes, config);
  if (!e.ok()) return e.status().WithPrefix("cannot export '" + model_path + "': ");
  QS_ASSIGN_OR_RETURN(std::string bytes, qdq_model_bytes(model_path, *e));
  return io::write_file_atomic(out, bytes);
}

}  // namespace qs::app
