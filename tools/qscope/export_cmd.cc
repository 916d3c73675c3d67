// qscope export MODEL --calib CACHE [--plan PLAN.json] -o OUT.onnx [--trtexec] [--exclude-list F]
// [--cache-out CACHE]: the plan in the forms deployment tools take. Wiring only: app/export.h.
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "app/export.h"
#include "app/model.h"
#include "app/precision.h"
#include "cli_common.h"
#include "commands.h"
#include "io/atomic_file.h"
#include "quant/calib_cache.h"

namespace qs::cli {

namespace {

struct ExportArgs {
  std::string model;
  app::PrecisionArgs precision{"int8", "", ""};
  std::string out, exclude_list, cache_out;
  bool trtexec = false;
};

int run_export(const ExportArgs& a) {
  if (a.out.empty() && !a.trtexec && a.exclude_list.empty() && a.cache_out.empty())
    return report_error(UsageError("nothing to export: give -o OUT.onnx, --trtexec, --exclude-list FILE or --cache-out FILE"));
  auto model = app::load_model_qdq(a.model);
  if (!model.ok()) return report_error(model.status());
  if (model->has_qdq)
    return report_error(Unsupported("cannot export '{}': it is already a Q/DQ model; export from the float model",
                                    a.model));
  auto config = app::load_precision_config(a.precision);
  if (!config.ok()) return report_error(config.status());
  runtime::PrecisionConfig c = *config ? **config : runtime::PrecisionConfig{};
  auto shapes = app::declared_shapes(*model->graph, a.model);
  if (!shapes.ok()) return report_error(shapes.status());
  auto e = app::plan_export(model->graph, *shapes, c);
  if (!e.ok()) return report_error(e.status().WithPrefix("cannot export '" + a.model + "': "));

  // Everything is computed before any file is written.
  std::string onnx_bytes;
  onnx_io::QdqExportStats stats;
  if (!a.out.empty()) {
    auto bytes = app::qdq_model_bytes(a.model, *e, &stats);
    if (!bytes.ok()) return report_error(bytes.status());
    onnx_bytes = std::move(bytes).value();
  }
  std::optional<quant::CalibCache> cache;
  if (!a.cache_out.empty()) {
    if (a.precision.calib_path.empty()) return report_error(UsageError("--cache-out needs --calib CACHE"));
    auto read = quant::read_calib_cache(a.precision.calib_path);
    if (!read.ok()) return report_error(read.status());
    cache = std::move(read).value();
  }
  int int8 = 0;
  for (const auto& l : e->layers) int8 += l.actual == Precision::kInt8;
  Status st;
  if (!a.out.empty()) st = io::write_file_atomic(a.out, onnx_bytes);
  if (st.ok() && !a.exclude_list.empty()) st = io::write_file_atomic(a.exclude_list, app::exclude_list_json(*e));
  if (st.ok() && cache) st = quant::write_calib_cache(a.cache_out, *cache);
  if (!st.ok()) return report_error(st);
  fmt::print(stderr, "plan: {} of {} layers int8\n", int8, e->layers.size());
  if (!a.out.empty())
    fmt::print(stderr, "wrote {}: {} QuantizeLinear, {} DequantizeLinear, {} int8 weights, {} BatchNormalization folded, opset {}{}\n",
               a.out, stats.quantize_nodes, stats.dequantize_nodes, stats.weights, stats.folded_nodes,
               stats.opset_after, stats.opset_before != stats.opset_after ? fmt::format(" (was {})", stats.opset_before) : "");
  if (!a.exclude_list.empty()) fmt::print(stderr, "wrote {}\n", a.exclude_list);
  if (cache) fmt::print(stderr, "wrote {}\n", a.cache_out);
  if (a.trtexec) fmt::print("{}\n", app::trtexec_command(a.model, a.precision.calib_path, *e));
  return kOk;
}

}  // namespace

void add_export_command(CLI::App& app, std::function<int()>& action) {
  auto a = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand("export", "Write a precision plan as a Q/DQ ONNX model, trtexec flags, an exclude list");
  cmd->add_option("model", a->model, "ONNX model file (the float model)")->required();
  cmd->add_option("--calib", a->precision.calib_path, "TensorRT calibration cache with the INT8 ranges");
  cmd->add_option("--plan", a->precision.plan_path, "Precision plan JSON (default: every layer int8)");
  cmd->add_option("--precision", a->precision.precision, "Default layer precision without --plan (int8)")
      ->check(CLI::IsMember({"fp32", "fp16", "int8"}));
  cmd->add_option("-o,--out", a->out, "Q/DQ ONNX model to write");
  cmd->add_flag("--trtexec", a->trtexec, "Print the trtexec command line that builds the plan (TensorRT 8 style)");
  cmd->add_option("--exclude-list", a->exclude_list, "Write the layers that do not run INT8 as a JSON nodes_to_exclude list");
  cmd->add_option("--cache-out", a->cache_out, "Write the TensorRT calibration cache (from --calib)");
  cmd->callback([a, &action] { action = [a] { return run_export(*a); }; });
}

}  // namespace qs::cli
