// qscope analyze DUMPDIR: the sweep's table from dumps in the dump layout, written by qscope
// or by another engine.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "cli_common.h"
#include "commands.h"
#include "io/atomic_file.h"
#include "report/dump.h"

namespace qs::cli {

namespace {

struct AnalyzeArgs {
  std::string dir, metric, report, csv;
  std::optional<double> threshold;
  double auto_min_drop = 0.1, auto_factor = 10.0;
  int auto_window = 8;
  bool no_color = false;
};

int run_analyze(const AnalyzeArgs& a) {
  report::AnalyzeOptions o;
  if (!a.metric.empty()) {
    auto m = analysis::parse_metric(a.metric);
    if (!m) return report_error(UsageError("--metric is '{}', expected cosine, snr, mse, max-abs or top1", a.metric));
    o.metric = *m;
  }
  o.threshold = a.threshold;
  o.auto_rule = analysis::AutoRule{a.auto_min_drop, a.auto_factor, a.auto_window};
  auto r = report::analyze_dump(a.dir, o);
  if (!r.ok()) return report_error(r.status());
  report::TableOptions to;
  to.color = !a.no_color && ::isatty(STDOUT_FILENO);
  fmt::print("{}", report::format_table(r->result, r->meta, to));
  Status st;
  if (!a.report.empty()) st = io::write_file_atomic(a.report, report::to_json(r->result, r->meta).dump(2) + "\n");
  if (st.ok() && !a.csv.empty()) st = io::write_file_atomic(a.csv, report::to_csv(r->result));
  return st.ok() ? kOk : report_error(st);
}

}  // namespace

void add_analyze_command(CLI::App& app, std::function<int()>& action) {
  auto a = std::make_shared<AnalyzeArgs>();
  auto* cmd = app.add_subcommand("analyze", "The sweep's table from a dump folder (qscope's or another engine's)");
  cmd->add_option("dumpdir", a->dir, "Folder in the dump layout: reference/, steps/NNNN_<layer>/, manifest.json")->required();
  cmd->add_option("--metric", a->metric, "cosine (default, or the manifest's), snr, mse, max-abs or top1");
  cmd->add_option("--threshold", a->threshold, "Flag a step whose metric is worse than this (default: the auto rule)");
  cmd->add_option("--auto-min-drop", a->auto_min_drop, "Auto rule: smallest jump flagged, in points of loss (0.1)");
  cmd->add_option("--auto-factor", a->auto_factor, "Auto rule: times the median recent jump (10)");
  cmd->add_option("--auto-window", a->auto_window, "Auto rule: recent steps in the trend (8)")->check(CLI::PositiveNumber);
  cmd->add_option("--report", a->report, "Write the report JSON");
  cmd->add_option("--csv", a->csv, "Write the table as CSV");
  cmd->add_flag("--no-color", a->no_color, "No colour even on a terminal");
  cmd->callback([a, &action] { action = [a] { return run_analyze(*a); }; });
}

}  // namespace qs::cli
