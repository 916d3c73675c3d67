// qscope run MODEL --input F...: one inference per input set, outputs printed and saved.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "app/inputs.h"
#include "app/model.h"
#include "app/precision.h"
#include "cli_common.h"
#include "commands.h"
#include "image_args.h"
#include "io/npy.h"
#include "runtime/plan.h"

namespace qs::cli {

namespace {

struct RunArgs {
  std::string model;
  std::vector<std::string> inputs;
  std::string save_dir;
  ImageArgs image;
  app::PrecisionArgs precision;
  bool reference = false;
  int top = 5;
};

// One line per output: shape, value range, and for [N,K] outputs the top classes of each row.
void print_output(const std::string& name, const Tensor& t, int top) {
  if (!is_float(t.dtype()) || t.numel() == 0) {
    fmt::print("  {} {} {}\n", name, dtype_name(t.dtype()), shape_str(t.shape()));
    return;
  }
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  int64_t bad = 0;
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double v = t.GetAsDouble(i);
    if (!std::isfinite(v)) { ++bad; continue; }
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
  }
  fmt::print("  {} {} {}: min {:.6g} max {:.6g} mean {:.6g}{}\n", name, dtype_name(t.dtype()), shape_str(t.shape()), lo,
             hi, sum / static_cast<double>(std::max<int64_t>(1, t.numel() - bad)),
             bad ? fmt::format(" ({} NaN/Inf values)", bad) : "");
  if (t.rank() != 2 || top <= 0) return;
  const int64_t rows = t.dim(0), k = t.dim(1);
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<int64_t> idx(static_cast<size_t>(k));
    for (int64_t j = 0; j < k; ++j) idx[static_cast<size_t>(j)] = j;
    const int64_t n = std::min<int64_t>(top, k);
    // NaN ranks last: a comparison with NaN is no strict weak ordering, which std::partial_sort needs.
    auto key = [&](int64_t j) {
      const double v = t.GetAsDouble(r * k + j);
      return std::isnan(v) ? -INFINITY : v;
    };
    std::partial_sort(idx.begin(), idx.begin() + n, idx.end(), [&](int64_t a, int64_t b) { return key(a) > key(b); });
    std::string line;
    for (int64_t j = 0; j < n; ++j)
      line += fmt::format("{}{}:{:.4f}", j ? " " : "", idx[static_cast<size_t>(j)], t.GetAsDouble(r * k + idx[static_cast<size_t>(j)]));
    fmt::print("    row {} top-{}: {}\n", r, n, line);
  }
}

int run_run(const RunArgs& a) {
  // A Q/DQ model runs as written, or with --precision int8 / --plan as its float graph with its
  // own plan and scales (app::resolve_run_setup).
  auto loaded = app::load_model_qdq(a.model);
  if (!loaded.ok()) return report_error(loaded.status());
  auto setup = app::resolve_run_setup(*loaded, a.precision);
  if (!setup.ok()) return report_error(setup.status());
  if (loaded->has_qdq) fmt::print("{}\n", loaded->summary);
  for (const auto& w : loaded->warnings) fmt::print(stderr, "qscope: warning: {}\n", w);
  Expected<std::shared_ptr<const ir::Graph>> graph = setup->graph;
  auto opt = a.image.to_options();
  if (!opt.ok()) return report_error(opt.status());
  auto sets = app::resolve_inputs(**graph, a.inputs, *opt);
  if (!sets.ok()) return report_error(sets.status());
  namespace fs = std::filesystem;
  if (!a.save_dir.empty()) {
    std::error_code ec;
    fs::create_directories(a.save_dir, ec);
    if (ec) return report_error(IoError("cannot create folder '{}': {}", a.save_dir, ec.message()));
  }
  const auto* config = &setup->config;
  runtime::PlanOptions popt;
  popt.kernel.use_fast = !a.reference;
  popt.optimize = true;
  runtime::Engine engine(*graph, popt, *config);
  const runtime::MixedPlan* described = nullptr;
  for (const auto& set : *sets) {
    auto plan = engine.PlanFor(set.tensors);
    if (!plan.ok()) return report_error(plan.status().WithPrefix("cannot plan '" + a.model + "': "));
    if (*plan != described) {
      fmt::print("{}", app::describe_precisions(**plan));
      described = *plan;
    }
    auto out = (*plan)->plan->Run(set.tensors);
    if (!out.ok()) return report_error(out.status().WithPrefix("cannot run '" + a.model + "' on '" + set.stem + "': "));
    fmt::print("{}:\n", set.stem);
    for (const auto& o : (*graph)->outputs) print_output(o.name, out->at(o.name), a.top);
    if (a.save_dir.empty()) continue;
    fs::path dir = sets->size() == 1 ? fs::path(a.save_dir) : fs::path(a.save_dir) / app::sanitize_name(set.stem);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return report_error(IoError("cannot create folder '{}': {}", dir.string(), ec.message()));
    for (const auto& o : (*graph)->outputs) {
      Status st = io::write_npy((dir / (app::sanitize_name(o.name) + ".npy")).string(), out->at(o.name));
      if (!st.ok()) return report_error(st);
    }
  }
  return kOk;
}

}  // namespace

void add_run_command(CLI::App& app, std::function<int()>& action) {
  auto a = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Run inference once per input and print or save the outputs");
  cmd->add_option("model", a->model, "ONNX model file")->required();
  cmd->add_option("--input,-i", a->inputs, "Input files or folders (.npy, .pb, .png/.jpg/.pgm); name=FILE binds a model input")
      ->required();
  cmd->add_option("--save-outputs", a->save_dir, "Write one .npy per output (DIR/<stem>/<output>.npy for several inputs)");
  cmd->add_option("--precision", a->precision.precision, "Default layer precision: fp32, fp16 or int8")
      ->check(CLI::IsMember({"fp32", "fp16", "int8"}));
  cmd->add_option("--plan", a->precision.plan_path, "Precision plan JSON ({\"default\": ..., \"layers\": {...}})");
  cmd->add_option("--calib", a->precision.calib_path, "TensorRT calibration cache with the INT8 ranges");
  cmd->add_flag("--reference-kernels", a->reference, "Use the plain reference kernels only (slow; for checking)");
  cmd->add_option("--top", a->top, "Classes to show per row of a [N,K] output (0: none)")->check(CLI::NonNegativeNumber);
  a->image.add_to(cmd);
  cmd->callback([a, &action] { action = [a] { return run_run(*a); }; });
}

}  // namespace qs::cli
