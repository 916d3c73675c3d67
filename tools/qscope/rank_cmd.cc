// qscope rank MODEL --data P... --calib CACHE: the seed's first step. Runs FP32 and full
// INT8 on every input and lists the inputs worst first by output similarity, so that the
// sweep can start from the worst one.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "analysis/metrics.h"
#include "app/batches.h"
#include "app/model.h"
#include "app/precision.h"
#include "app/progress.h"
#include "cli_common.h"
#include "commands.h"
#include "image_args.h"
#include "io/atomic_file.h"
#include "quant/calib_cache.h"

namespace qs::cli {

namespace {

struct RankArgs {
  std::string model;
  std::vector<std::string> data;
  std::string calib_path;
  std::vector<std::string> calib_data;
  std::string metric = "cosine";
  std::string json_path;
  int show = 0;
  CalibArgs calib;
  ImageArgs image;
  bool reference = false;
};

struct Row {
  size_t index = 0;
  std::string input;
  double similarity = 0;  // cosine %, worst output
  double metric = 0;      // the chosen metric, worst output
  int64_t top1_fp32 = -1, top1_int8 = -1;  // first [1,K] output; -1 when there is none
};

// NaN (a broken output) sorts as the worst.
bool worse(double a, double b, bool higher_better) {
  if (std::isnan(a) != std::isnan(b)) return std::isnan(a);
  return higher_better ? a < b : a > b;
}

nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

int run_rank(const RankArgs& a) {
  auto metric = analysis::parse_metric(a.metric);
  if (!metric) return report_error(UsageError("--metric is '{}', expected cosine, snr, mse, max-abs or top1", a.metric));
  if (a.calib_path.empty() == a.calib_data.empty())
    return report_error(UsageError("rank needs INT8 ranges: pass either --calib CACHE or --calib-data P..."));
  auto calib_options = a.calib.to_options();
  if (!calib_options.ok()) return report_error(calib_options.status());
  auto graph = app::load_model(a.model);
  if (!graph.ok()) return report_error(graph.status());
  auto image = a.image.to_options();
  if (!image.ok()) return report_error(image.status());
  runtime::PlanOptions popt;
  popt.kernel.use_fast = !a.reference;
  popt.optimize = true;
  auto reader = app::BatchReader::Open(**graph, a.data, *image, 1);
  if (!reader.ok()) return report_error(reader.status());

  runtime::PrecisionConfig config;
  config.plan.default_precision = Precision::kInt8;
  std::string cache_name = a.calib_path;
  if (!a.calib_path.empty()) {
    auto cache = quant::read_calib_cache(a.calib_path);
    if (!cache.ok()) return report_error(cache.status());
    for (const auto& w : cache->warnings) fmt::print(stderr, "qscope: warning: {}\n", w);
    config.scales = std::move(cache->scales);
  } else {
    auto result = calibrate_from_data(*graph, a.model, a.calib_data, *image, a.calib, popt);
    if (!result.ok()) return report_error(result.status());
    config.scales = std::move(result->cache.scales);
    cache_name = "--calib-data";
  }
  runtime::Engine fp32(*graph, popt);
  runtime::Engine int8(*graph, popt, config);

  std::vector<Row> rows;
  app::Progress progress("rank", "input", reader->samples(), a.calib.progress == "auto" ? app::Progress::Style::kAuto
                                                                   : a.calib.progress == "bar" ? app::Progress::Style::kBar
                                                                   : a.calib.progress == "lines" ? app::Progress::Style::kLines
                                                                                                 : app::Progress::Style::kOff);
  const runtime::MixedPlan* described = nullptr;
  app::Batch batch;
  for (;;) {
    auto more = reader->Next(&batch);
    if (!more.ok()) return report_error(more.status());
    if (!*more) break;
    const std::string label = batch.labels.empty() ? "input " + std::to_string(rows.size()) : batch.labels.front();
    auto fplan = fp32.PlanFor(batch.tensors);
    if (!fplan.ok()) return report_error(fplan.status().WithPrefix("cannot run '" + a.model + "' on '" + label + "': "));
    if (rows.empty()) {
      // The model's own tensors: the unoptimized FP32 plan's (the engine's fuses them).
      auto model_plan = runtime::build_view_plan(*graph, (*fplan)->plan->input_shapes());
      if (!model_plan.ok()) return report_error(model_plan.status());
      auto missing = quant::tensors_missing_from(*model_plan, config.scales);
      if (!missing.empty())
        fmt::print(stderr, "qscope: warning: calibration cache '{}' lacks {} tensor(s) of the model (layers that read them "
                   "in INT8 stay in floating point): {}\n", cache_name, missing.size(), fmt::join(missing, ", "));
    }
    auto iplan = int8.PlanFor(batch.tensors);
    if (!iplan.ok()) return report_error(iplan.status().WithPrefix("cannot plan '" + a.model + "': "));
    if (*iplan != described) {
      progress.Finish();
      fmt::print("{}", app::describe_precisions(**iplan));
      described = *iplan;
    }
    auto ref = (*fplan)->plan->Run(batch.tensors);
    if (!ref.ok()) return report_error(ref.status().WithPrefix("cannot run '" + a.model + "' on '" + label + "': "));
    auto out = (*iplan)->plan->Run(batch.tensors);
    if (!out.ok()) return report_error(out.status().WithPrefix("cannot run '" + a.model + "' in INT8 on '" + label + "': "));
    Row r;
    r.index = rows.size();
    r.input = label;
    bool first = true, classifier_seen = false;
    for (const auto& o : (*graph)->outputs) {
      const Tensor& x = ref->at(o.name);
      const Tensor& y = out->at(o.name);
      const double c = analysis::cosine_percent(x, y);
      const double m = analysis::compute(*metric, x, y);
      if (first || worse(c, r.similarity, true)) r.similarity = c;
      if (first || worse(m, r.metric, analysis::higher_is_better(*metric))) r.metric = m;
      first = false;
      if (!classifier_seen && x.rank() == 2 && x.dim(0) == 1 && is_float(x.dtype())) {
        r.top1_fp32 = analysis::argmax_row(x, 0);
        r.top1_int8 = analysis::argmax_row(y, 0);
        classifier_seen = true;
      }
    }
    rows.push_back(r);
    progress.Update(static_cast<int64_t>(rows.size()));
  }
  progress.Finish();

  const bool hb = analysis::higher_is_better(*metric);
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& x, const Row& y) {
    return *metric == analysis::Metric::kCosine ? worse(x.similarity, y.similarity, true)
                                                : worse(x.metric, y.metric, hb);
  });
  const bool classifier = !rows.empty() && rows[0].top1_fp32 >= 0;
  const bool extra = *metric != analysis::Metric::kCosine;
  fmt::print("{:>5}  {:<24} {:>12}{}{}\n", "rank", "input", "Similarity%",
             extra ? fmt::format(" {:>12}", analysis::metric_name(*metric)) : "",
             classifier ? "  top-1 fp32->int8" : "");
  double sum = 0, min_sim = INFINITY;
  size_t changed = 0, finite = 0, not_finite = 0;
  // NaN (an output held NaN or Inf) prints as NaN, and makes the summary's minimum NaN.
  auto pct = [](double v) { return std::isnan(v) ? fmt::format("{:>12}", "NaN") : fmt::format("{:>12.4f}", v); };
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    if (std::isfinite(r.similarity)) {
      sum += r.similarity;
      ++finite;
      min_sim = std::min(min_sim, r.similarity);
    } else {
      ++not_finite;
    }
    const bool ch = classifier && r.top1_fp32 != r.top1_int8;
    changed += ch;
    if (a.show > 0 && i >= static_cast<size_t>(a.show)) continue;
    fmt::print("{:>5}  {:<24} {}{}{}\n", i + 1, r.input, pct(r.similarity),
               extra ? fmt::format(" {:>12.6g}", r.metric) : "",
               classifier ? fmt::format("  {} -> {}{}", r.top1_fp32, r.top1_int8, ch ? "  CHANGED" : "") : "");
  }
  if (a.show > 0 && rows.size() > static_cast<size_t>(a.show))
    fmt::print("  ... {} more (--show 0 lists all)\n", rows.size() - static_cast<size_t>(a.show));
  const double mean = finite ? sum / static_cast<double>(finite) : NAN;
  if (not_finite || !finite) min_sim = NAN;
  fmt::print("{} inputs: similarity mean {:.4f}%{}, min {}%{}\n", rows.size(), mean,
             not_finite ? fmt::format(" of the {} finite", finite) : "",
             std::isnan(min_sim) ? std::string("NaN") : fmt::format("{:.4f}", min_sim),
             classifier ? fmt::format("; top-1 changed on {} ({:.2f}%)", changed,
                                      rows.empty() ? 0.0 : 100.0 * changed / rows.size())
                        : "");

  if (!a.json_path.empty()) {
    nlohmann::json j;
    j["model"] = a.model;
    j["calib"] = cache_name;
    j["metric"] = analysis::metric_name(*metric);
    j["inputs"] = nlohmann::json::array();
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      nlohmann::json e{{"rank", i + 1}, {"input", r.input}, {"index", r.index}, {"similarity", number(r.similarity)}};
      if (extra) e["metric_value"] = number(r.metric);
      if (classifier) {
        e["top1_fp32"] = r.top1_fp32;
        e["top1_int8"] = r.top1_int8;
        e["top1_changed"] = r.top1_fp32 != r.top1_int8;
      }
      j["inputs"].push_back(e);
    }
    j["mean_similarity"] = number(mean);
    j["min_similarity"] = number(min_sim);
    if (classifier) j["top1_changed"] = changed;
    Status st = io::write_file_atomic(a.json_path, j.dump(2) + "\n");
    if (!st.ok()) return report_error(st);
  }
  return kOk;
}

}  // namespace

void add_rank_command(CLI::App& app, std::function<int()>& action) {
  auto a = std::make_shared<RankArgs>();
  auto* cmd = app.add_subcommand("rank", "Run FP32 and full INT8 on every input; list the inputs worst first");
  cmd->add_option("model", a->model, "ONNX model file")->required();
  cmd->add_option("--data,-d", a->data, "Inputs to rank: files or folders (.npy [N,...] gives N inputs, .pb, images)")
      ->required();
  cmd->add_option("--calib", a->calib_path, "TensorRT calibration cache with the INT8 ranges");
  cmd->add_option("--calib-data", a->calib_data, "Calibrate first on these files or folders (see calibrate)");
  cmd->add_option("--metric", a->metric, "Also rank by: cosine (default), snr, mse, max-abs or top1");
  cmd->add_option("--json", a->json_path, "Write the ranking as JSON");
  cmd->add_option("--show", a->show, "List only the N worst inputs (0: all)")->check(CLI::NonNegativeNumber);
  a->calib.add_to(cmd);
  cmd->add_flag("--reference-kernels", a->reference, "Use the plain reference kernels only (slow; for checking)");
  a->image.add_to(cmd);
  cmd->callback([a, &action] { action = [a] { return run_rank(*a); }; });
}

}  // namespace qs::cli
