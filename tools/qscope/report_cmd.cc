// qscope report R.json -o R.html: the HTML page of a saved sweep report; and what the sweep
// command adds to its reports for that page (each layer's fusion group, final precision, range
// and calibration histogram). Wiring only: the page is report::render_html.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "app/batches.h"
#include "app/progress.h"
#include "cli_common.h"
#include "commands.h"
#include "io/atomic_file.h"
#include "passes/lower.h"
#include "report/html.h"
#include "runtime/plan.h"

namespace qs::cli {


Expected<report::ReportExtra> sweep_report_extra(
    std::shared_ptr<const ir::Graph> graph, const std::map<std::string, Tensor>& inputs, const analysis::SweepResult& r,
    const std::map<std::string, float>& scales, const quant::CalibResult* calib,
    const runtime::PlanOptions& plan_options) {
  std::map<std::string, Shape> shapes;
  for (const auto& [name, t] : inputs) shapes[name] = t.shape();
  QS_ASSIGN_OR_RETURN(runtime::Plan plan, runtime::build_view_plan(graph, shapes, plan_options));
  const passes::GraphView view = runtime::graph_view(plan);
  QS_ASSIGN_OR_RETURN(passes::Lowered lowered, passes::lower_precision(view, r.plan, scales));
  std::map<std::string, const passes::LayerPrecision*> by_name;
  for (const auto& l : lowered.layers) by_name[l.name] = &l;
  std::map<std::string, const ir::Node*> nodes;
  for (const ir::Node* n : view.layers) nodes[n->name] = n;
  static const std::map<std::string, quant::Histogram> kNone;
  const auto& hists = calib ? calib->histograms : kNone;
  report::ReportExtra extra;
  if (calib)
    extra.histograms = fmt::format("|x| of every tensor on the --calib-data files ({} calibration)", calib->cache.algorithm);
  for (const auto& layer : r.layers) {
    report::LayerDetail d;
    if (auto it = by_name.find(layer.name); it != by_name.end()) {
      d.final_precision = it->second->actual;
      d.final_reason = it->second->reason;
      d.group = it->second->group;
      if (d.group >= 0 && static_cast<size_t>(d.group) < lowered.groups.size())
        d.group_ops = lowered.groups[static_cast<size_t>(d.group)].describe();
    }
    if (auto it = nodes.find(layer.name); it != nodes.end() && !it->second->outputs.empty()) {
      d.tensor = it->second->outputs.front();
      if (auto s = scales.find(d.tensor); s != scales.end()) d.range = static_cast<double>(s->second) * 127.0;
      if (auto h = hists.find(d.tensor); h != hists.end() && h->second.edge() > 0) {
        d.hist_edge = report::downsample_histogram(h->second.counts(), h->second.edge(), 40, &d.hist);
        d.calib_max = h->second.max_abs();
      }
    }
    extra.layers.push_back(std::move(d));
  }
  return extra;
}

Status write_html_report(const std::string& path, const nlohmann::ordered_json& report) {
  auto page = report::render_html(report);
  if (!page.ok()) return page.status().WithPrefix("cannot write '" + path + "': ");
  return io::write_file_atomic(path, *page);
}

namespace {

struct ReportArgs {
  std::string input, output, isolate;
};

Expected<nlohmann::ordered_json> read_report(const std::string& path) {
  std::ifstream f(path);
  if (!f) return IoError("cannot read '{}'", path);
  try {
    return nlohmann::ordered_json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    return InvalidInput("'{}' is not valid JSON: {}", path, e.what());
  }
}

int run_report(const ReportArgs& a) {
  auto j = read_report(a.input);
  if (!j.ok()) return report_error(j.status());
  if (!a.isolate.empty()) {
    // Each step of an isolate-mode report is its layer's isolated sensitivity.
    auto iso = read_report(a.isolate);
    if (!iso.ok()) return report_error(iso.status());
    if ((*iso).value("mode", "") != "isolate" || !(*iso).contains("steps"))
      return report_error(InvalidInput("--isolate: '{}' is not a report of --mode isolate", a.isolate));
    if ((*iso).value("metric", "") != (*j).value("metric", ""))
      return report_error(InvalidInput("--isolate: '{}' uses another metric", a.isolate));
    std::map<std::string, nlohmann::ordered_json> value;
    for (const auto& s : (*iso)["steps"]) value[s.value("layer", "")] = s.value("similarity", nlohmann::ordered_json());
    if (j->contains("layers") && (*j)["layers"].is_array())
      for (auto& l : (*j)["layers"])
        if (auto it = value.find(l.value("name", "")); it != value.end()) l["isolated_similarity"] = it->second;
  }
  std::string out = a.output;
  if (out.empty()) out = std::filesystem::path(a.input).replace_extension(".html").string();
  auto page = report::render_html(*j);
  if (!page.ok()) return report_error(page.status().WithPrefix("'" + a.input + "': "));
  Status st = io::write_file_atomic(out, *page);
  if (!st.ok()) return report_error(st);
  fmt::print("html: {}\n", out);
  return kOk;
}

}  // namespace

void add_report_command(CLI::App& app, std::function<int()>& action) {
  auto a = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand("report", "Write the HTML page of a saved sweep report (qscope sweep --report)");
  cmd->add_option("report", a->input, "Report JSON written by qscope sweep (or analyze)")->required();
  cmd->add_option("-o,--output", a->output, "HTML file to write (default: the report's name with .html)");
  cmd->add_option("--isolate", a->isolate, "Report of a --mode isolate sweep: adds each layer's isolated sensitivity");
  cmd->callback([a, &action] { action = [a] { return run_report(*a); }; });
}

}  // namespace qs::cli
