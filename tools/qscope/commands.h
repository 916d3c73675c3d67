// The subcommands; each registers its options and sets `action` when chosen.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/inputs.h"
#include "core/status.h"
#include "quant/calibrate.h"
#include "report/report.h"
#include "runtime/plan.h"

namespace CLI {
class App;
}

namespace qs::cli {

void add_inspect_command(CLI::App& app, std::function<int()>& action);
void add_run_command(CLI::App& app, std::function<int()>& action);
void add_calibrate_command(CLI::App& app, std::function<int()>& action);
void add_rank_command(CLI::App& app, std::function<int()>& action);
void add_sweep_command(CLI::App& app, std::function<int()>& action);
void add_analyze_command(CLI::App& app, std::function<int()>& action);
void add_export_command(CLI::App& app, std::function<int()>& action);
void add_report_command(CLI::App& app, std::function<int()>& action);

// Calibration options shared by calibrate, rank (--calib-data) and the sweep; defined in
// calibrate_cmd.cc.
struct CalibArgs {
  std::string method = "entropy";
  std::string entropy_variant = "2048";
  double percentile = 99.99;
  int64_t batch = 32;
  std::string progress = "auto";
  void add_to(CLI::App* cmd);
  Expected<quant::CalibrateOptions> to_options() const;
};

// Streams `data` through the FP32 engine in batches with a progress display and returns the
// ranges; prints the throughput and peak memory line, and warnings for tensors that were all
// zero or held NaN/Inf, on stderr.
Expected<quant::CalibResult> calibrate_from_data(std::shared_ptr<const ir::Graph> graph, const std::string& model_path,
                                                 const std::vector<std::string>& data, const app::InputOptions& image,
                                                 const CalibArgs& args, const runtime::PlanOptions& plan_options);

// What the sweep's reports show about each layer besides its numbers (report_cmd.cc): the final
// plan's lowering (precision, fusion group), the range of the layer's output from `scales` and,
// when calibration ran (`calib`, else nullptr), the |x| histograms of the calibration data.
Expected<report::ReportExtra> sweep_report_extra(std::shared_ptr<const ir::Graph> graph,
                                                 const std::map<std::string, Tensor>& inputs,
                                                 const analysis::SweepResult& r, const std::map<std::string, float>& scales,
                                                 const quant::CalibResult* calib, const runtime::PlanOptions& plan_options);
// Writes the HTML page of a report JSON (report::render_html).
Status write_html_report(const std::string& path, const nlohmann::ordered_json& report);

}  // namespace qs::cli
