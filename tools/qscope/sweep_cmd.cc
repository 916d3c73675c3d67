// qscope sweep MODEL --input F... (--calib CACHE | --calib-data P...): the seed's method,
// automated. Wiring only: the sweep is analysis::run_sweep, the outputs are report::*.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "analysis/diagnose.h"
#include "analysis/sweep.h"
#include "app/export.h"
#include "app/model.h"
#include "app/progress.h"
#include "cli_common.h"
#include "commands.h"
#include "core/hash.h"
#include "image_args.h"
#include "io/atomic_file.h"
#include "passes/precision_plan.h"
#include "report/dump.h"
#include "report/report.h"
#include "report/state.h"
#include "runtime/activation_cache.h"

namespace qs::cli {

namespace {

namespace fs = std::filesystem;

struct SweepArgs {
  std::string model;
  std::vector<std::string> inputs;
  std::string calib;
  std::vector<std::string> calib_data;
  CalibArgs calib_args;
  ImageArgs image;
  std::string mode = "prefix", metric = "cosine", fallback = "fp32";
  std::optional<double> threshold, target;
  bool auto_flag = false, no_fallback = false, minimize = false, resume = false, no_reuse = false, no_color = false;
  bool reference = false;
  double auto_min_drop = 0.1, auto_factor = 10.0;
  int auto_window = 8;
  int jobs = 1;
  int64_t cache_mb = 1024;
  std::string out_dir = "qscope-sweep";
  std::string export_path;  // --export: the Q/DQ model of the final plan
  std::string report, csv, plan_out, dump_dir, html;
};

// The file was read whole before (the model, the cache): only a file changed since reads "changed".
std::string file_digest(const std::string& path) {
  const std::optional<uint64_t> h = hash_file(path);
  return h ? fmt::format("{:016x}", *h) : "changed";
}

// What a state file must match to be resumed.
nlohmann::ordered_json sweep_identity(const SweepArgs& a, const analysis::SweepOptions& o,
                                      const std::vector<std::string>& stems, const std::string& calib_digest) {
  nlohmann::ordered_json j;
  j["model_digest"] = file_digest(a.model);
  j["inputs"] = stems;
  j["calib_digest"] = calib_digest;
  j["mode"] = a.mode;
  j["metric"] = a.metric;
  j["threshold"] = o.threshold ? nlohmann::ordered_json(*o.threshold) : nlohmann::ordered_json(nullptr);
  j["auto"] = {o.auto_rule.min_jump, o.auto_rule.factor, o.auto_rule.window};
  j["fallback"] = a.fallback;
  j["no_fallback"] = a.no_fallback;
  return j;
}

int run_sweep_command(SweepArgs a) {
  // A Q/DQ model is swept as its float graph, with its own scales unless --calib(-data) is given.
  auto loaded = app::load_model_qdq(a.model);
  if (!loaded.ok()) return report_error(loaded.status());
  const bool model_scales = loaded->has_qdq && a.calib.empty() && a.calib_data.empty();
  if (loaded->has_qdq && !a.export_path.empty())
    return report_error(UsageError("--export writes Q/DQ nodes into the float model; '{}' is already a Q/DQ model", a.model));
  for (const auto& w : loaded->warnings) fmt::print(stderr, "qscope: warning: {}\n", w);
  Expected<std::shared_ptr<const ir::Graph>> graph = loaded->float_graph;
  auto image = a.image.to_options();
  if (!image.ok()) return report_error(image.status());

  analysis::SweepOptions o;
  auto mode = analysis::parse_sweep_mode(a.mode);
  if (!mode) return report_error(UsageError("--mode is '{}', expected prefix, isolate or bisect", a.mode));
  o.mode = *mode;
  auto metric = analysis::parse_metric(a.metric);
  if (!metric) return report_error(UsageError("--metric is '{}', expected cosine, snr, mse, max-abs or top1", a.metric));
  o.metric = *metric;
  if (a.threshold && a.auto_flag) return report_error(UsageError("--threshold and --auto exclude each other"));
  o.threshold = a.threshold;
  o.auto_rule = analysis::AutoRule{a.auto_min_drop, a.auto_factor, a.auto_window};
  auto fb = parse_precision(a.fallback);
  if (!fb || *fb == Precision::kInt8) return report_error(UsageError("--fallback is '{}', expected fp32 or fp16", a.fallback));
  o.fallback = *fb;
  o.no_fallback = a.no_fallback;
  o.minimize = a.minimize;
  o.target = a.target;
  o.jobs = a.jobs;
  o.reuse = !a.no_reuse;
  o.cache_bytes = a.cache_mb << 20;
  o.plan_options.kernel.use_fast = !a.reference;
  o.plan_options.optimize = true;
  if (!model_scales && a.calib.empty() == a.calib_data.empty())
    return report_error(UsageError("give exactly one of --calib CACHE and --calib-data P..."));

  auto sets = app::resolve_inputs(**graph, a.inputs, *image);
  if (!sets.ok()) return report_error(sets.status());
  std::vector<std::map<std::string, Tensor>> inputs;
  report::ReportMeta meta;
  meta.model = a.model;
  for (const auto& s : *sets) {
    inputs.push_back(s.tensors);
    meta.inputs.push_back(s.stem);
  }

  std::map<std::string, float> scales;
  std::string calib_digest;
  std::optional<quant::CalibResult> calib_result;  // when --calib-data ran, for the report's histograms
  if (model_scales) {
    scales = loaded->scales;
    meta.calib = "the model's own Q/DQ scales";
    calib_digest = "qdq";
  } else if (!a.calib.empty()) {
    auto cache = quant::read_calib_cache(a.calib);
    if (!cache.ok()) return report_error(cache.status());
    for (const auto& w : cache->warnings) fmt::print(stderr, "qscope: warning: {}\n", w);
    scales = cache->scales;
    meta.calib = a.calib;
    calib_digest = file_digest(a.calib);
  } else {
    auto calib = calibrate_from_data(*graph, a.model, a.calib_data, *image, a.calib_args, o.plan_options);
    if (!calib.ok()) return report_error(calib.status());
    scales = calib->cache.scales;
    meta.calib = "calibrated from --calib-data (" + calib->cache.algorithm + ")";
    const std::string text = quant::format_calib_cache(calib->cache);
    calib_digest = fmt::format("{:016x}", hash_bytes(text.data(), text.size()));
    calib_result = std::move(calib).value();
  }

  std::error_code ec;
  fs::create_directories(a.out_dir, ec);
  if (ec) return report_error(IoError("cannot create output folder '{}': {}", a.out_dir, ec.message()));
  const std::string state_path = (fs::path(a.out_dir) / "state.json").string();
  const auto identity = sweep_identity(a, o, meta.inputs, calib_digest);
  std::optional<analysis::SweepResume> resume;
  if (a.resume) {
    std::ifstream f(state_path);
    if (!f) return report_error(IoError("--resume: no state file '{}' (run the sweep with the same --out first)", state_path));
    nlohmann::json state;
    try {
      state = nlohmann::json::parse(f);
    } catch (const nlohmann::json::exception&) {
      return report_error(InvalidInput("--resume: state file '{}' is not valid JSON", state_path));
    }
    if (!state.contains("identity") || state["identity"] != nlohmann::json(identity))
      return report_error(InvalidInput(
          "--resume: state file '{}' belongs to another sweep (model, inputs, calibration or options differ)", state_path));
    auto steps = report::steps_from_json(state);
    if (!steps.ok()) return report_error(steps.status().WithPrefix("--resume: state file '" + state_path + "': "));
    resume = analysis::SweepResume{std::move(steps).value()};
    fmt::print(stderr, "qscope: resuming after {} finished steps\n", resume->steps.size());
  }

  std::optional<report::DumpWriter> dump;
  const auto style = a.calib_args.progress == "off"     ? app::Progress::Style::kOff
                     : a.calib_args.progress == "lines" ? app::Progress::Style::kLines
                     : a.calib_args.progress == "bar"   ? app::Progress::Style::kBar
                                                        : app::Progress::Style::kAuto;
  std::optional<app::Progress> progress;  // made at the first step, when the step count is known
  Status hook_status;
  report::StateWriter state_writer(state_path, identity, meta);
  analysis::SweepHooks hooks;
  hooks.keep_outputs = !a.dump_dir.empty();
  hooks.on_step = [&](const analysis::SweepResult& so_far, const analysis::StepResult& step, int total) {
    if (!hook_status.ok()) return;
    if (dump) {
      hook_status = dump->WriteStep(so_far, step);
    } else if (!a.dump_dir.empty()) {
      auto w = report::DumpWriter::Create(a.dump_dir, meta.inputs, so_far.reference);
      if (!w.ok()) hook_status = w.status();
      else (dump = std::move(w).value(), hook_status = dump->WriteStep(so_far, step));
    }
    if (hook_status.ok()) hook_status = state_writer.Write(so_far);
    if (!progress) progress.emplace("sweep", "step", total, style);
    progress->Update(static_cast<int64_t>(so_far.steps.size()), so_far.layers[static_cast<size_t>(step.layer)].name);
  };
  auto result = analysis::run_sweep(*graph, inputs, scales, o, hooks, resume ? &*resume : nullptr);
  if (progress) progress->Finish();
  if (!result.ok()) return report_error(result.status().WithPrefix("sweep of '" + a.model + "': "));
  if (!hook_status.ok()) return report_error(hook_status);

  report::TableOptions to;
  to.color = !a.no_color && ::isatty(STDOUT_FILENO);
  fmt::print("{}", report::format_table(*result, meta, to));
  // Why each flagged layer loses; the sweep's result stands without it if it cannot be had.
  std::vector<std::string> flagged;
  for (const auto& step : result->steps) {
    const std::string& name = result->layers[static_cast<size_t>(step.layer)].name;
    if (step.flagged && std::find(flagged.begin(), flagged.end(), name) == flagged.end()) flagged.push_back(name);
  }
  // The first ones only: the diagnosis keeps the FP32 inputs of every layer it looks at.
  constexpr size_t kMaxDiagnosed = 16;
  const size_t all_flagged = flagged.size();
  if (flagged.size() > kMaxDiagnosed) flagged.resize(kMaxDiagnosed);
  auto diagnosis = analysis::diagnose_layers(*graph, inputs, scales, flagged, o.plan_options);
  if (!diagnosis.ok())
    fmt::print(stderr, "qscope: warning: no diagnosis of the flagged layers: {}\n", diagnosis.status().message());
  else
    fmt::print("{}", report::format_diagnosis(*diagnosis, to));
  if (diagnosis.ok() && all_flagged > flagged.size())
    fmt::print("(the first {} of {} flagged layers)\n", flagged.size(), all_flagged);
  fmt::print("{} runs in {:.1f} s ({} activations reused)\n", result->runs, result->seconds, result->cache.hits);

  // Each layer's group, final precision, range (and histograms for --html with --calib-data);
  // the report goes on without them if they cannot be had.
  auto extra = sweep_report_extra(*graph, inputs.front(), *result, scales, calib_result ? &*calib_result : nullptr,
                                  o.plan_options);
  if (!extra.ok()) fmt::print(stderr, "qscope: warning: the report lacks layer details: {}\n", extra.status().message());
  auto json = report::to_json(*result, meta, extra.ok() ? &*extra : nullptr);
  if (diagnosis.ok()) json["diagnosis"] = report::diagnosis_to_json(*diagnosis);
  const std::string report_path = a.report.empty() ? (fs::path(a.out_dir) / "report.json").string() : a.report;
  const std::string plan_path = a.plan_out.empty() ? (fs::path(a.out_dir) / "plan.json").string() : a.plan_out;
  Status st = io::write_file_atomic(report_path, json.dump(2) + "\n");
  if (st.ok()) st = passes::write_plan_json(plan_path, result->plan);
  if (st.ok() && !a.export_path.empty())
    st = app::write_qdq_model(a.model, *graph, inputs.front(), runtime::PrecisionConfig{result->plan, "", scales},
                              a.export_path);
  if (st.ok() && !a.csv.empty()) st = io::write_file_atomic(a.csv, report::to_csv(*result, extra.ok() ? &*extra : nullptr));
  if (st.ok() && !a.html.empty()) st = write_html_report(a.html, json);
  if (st.ok() && dump) st = dump->WriteManifest(*result, meta);
  if (st.ok()) {
    json["identity"] = identity;
    json["complete"] = true;
    st = io::write_file_atomic(state_path, json.dump(1) + "\n");
  }
  if (!st.ok()) return report_error(st);
  fmt::print("report: {}\nplan:   {}\n", report_path, plan_path);
  if (!a.export_path.empty()) fmt::print("export: {}\n", a.export_path);
  if (!a.html.empty()) fmt::print("html:   {}\n", a.html);
  return kOk;
}

}  // namespace

void add_sweep_command(CLI::App& app, std::function<int()>& action) {
  auto a = std::make_shared<SweepArgs>();
  auto* cmd = app.add_subcommand("sweep", "Find the layers that break INT8: the layer-by-layer sweep");
  cmd->add_option("model", a->model, "ONNX model file")->required();
  cmd->add_option("--input,-i", a->inputs, "Inputs to compare on (files, folders, name=FILE); one run each")->required();
  cmd->add_option("--calib", a->calib, "TensorRT calibration cache with the INT8 ranges");
  cmd->add_option("--calib-data", a->calib_data, "Calibrate from these files first (see qscope calibrate)");
  cmd->add_option("--mode", a->mode, "prefix (default: layers 0..i in INT8), isolate (only layer i) or bisect");
  cmd->add_option("--metric", a->metric, "cosine (default, Similarity%), snr, mse, max-abs or top1");
  cmd->add_option("--threshold", a->threshold, "Flag a step whose metric is worse than this");
  cmd->add_flag("--auto", a->auto_flag, "Flag steps whose loss jump stands out from the recent trend (default)");
  cmd->add_option("--auto-min-drop", a->auto_min_drop, "Auto rule: smallest jump flagged, in points of loss (0.1)");
  cmd->add_option("--auto-factor", a->auto_factor, "Auto rule: times the median recent jump (10)");
  cmd->add_option("--auto-window", a->auto_window, "Auto rule: recent steps in the trend (8)")->check(CLI::PositiveNumber);
  cmd->add_option("--fallback", a->fallback, "Precision for flagged layers: fp32 (default) or fp16");
  cmd->add_flag("--no-fallback", a->no_fallback, "Only record flags; flagged layers stay INT8");
  cmd->add_flag("--minimize", a->minimize, "Then try each fallback layer back in INT8, keeping it if the target holds");
  cmd->add_option("--target", a->target, "--minimize: the metric the final plan must meet (default: the final plan's, "
                                         "within the auto rule's min drop)");
  cmd->add_option("--jobs,-j", a->jobs, "Steps run in parallel")->check(CLI::PositiveNumber);
  cmd->add_flag("--resume", a->resume, "Continue a sweep that was cut off, from --out's state file");
  cmd->add_flag("--no-reuse", a->no_reuse, "Start every step from the model and inputs (share no activations, kernels or folds)");
  cmd->add_option("--cache-mb", a->cache_mb, "Memory for activations reused between steps (1024)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--out,-o", a->out_dir, "Output folder: state file, and report.json/plan.json by default");
  cmd->add_option("--report", a->report, "Report JSON (default OUT/report.json)");
  cmd->add_option("--csv", a->csv, "Table as CSV");
  cmd->add_option("--plan-out", a->plan_out, "Final plan JSON (default OUT/plan.json)");
  cmd->add_option("--export", a->export_path, "Write the Q/DQ ONNX model of the final plan");
  cmd->add_option("--html", a->html, "The report as one self-contained HTML page (chart, table, plan, export)");
  cmd->add_option("--dump-dir", a->dump_dir, "Write every step's outputs in the dump layout (see qscope analyze)");
  cmd->add_flag("--no-color", a->no_color, "No colour even on a terminal");
  cmd->add_flag("--reference-kernels", a->reference, "Use the plain reference kernels only (slow; for checking)");
  a->calib_args.add_to(cmd);
  a->image.add_to(cmd);
  cmd->callback([a, &action] { action = [a] { return run_sweep_command(*a); }; });
}

}  // namespace qs::cli
