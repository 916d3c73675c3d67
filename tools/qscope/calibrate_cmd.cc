// qscope calibrate MODEL --data P... -o CACHE: activation ranges from calibration data,
// written as a TensorRT calibration cache. Also the calibration options and loop that rank
// (--calib-data) shares.
#include <fmt/format.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>

#include "app/batches.h"
#include "app/model.h"
#include "app/progress.h"
#include "cli_common.h"
#include "commands.h"
#include "image_args.h"

namespace qs::cli {

void CalibArgs::add_to(CLI::App* cmd) {
  auto* g = "Calibration";
  cmd->add_option("--method", method, "entropy (default; TensorRT's EntropyCalibrator2), minmax, percentile or mse")
      ->group(g);
  cmd->add_option("--entropy-variant", entropy_variant,
                  "2048 (default: 2048 bins, 128 levels, scan from bin 128) or 1024 (1024 bins, 127 levels, bin 0 dropped)")
      ->group(g);
  cmd->add_option("--percentile", percentile, "Percentile of |x| for --method percentile (default 99.99)")->group(g);
  cmd->add_option("--batch", batch, "Samples per FP32 run (default 32; 1 when the model's batch size is fixed)")->group(g);
  cmd->add_option("--progress", progress, "auto (a bar on a terminal, lines otherwise), bar, lines or off")->group(g);
}

Expected<quant::CalibrateOptions> CalibArgs::to_options() const {
  quant::CalibrateOptions o;
  auto m = quant::parse_calib_method(method);
  if (!m) return UsageError("--method is '{}', expected entropy, minmax, percentile or mse", method);
  o.method = *m;
  if (entropy_variant == "2048") o.entropy = quant::EntropyOptions::Tensorrt2048();
  else if (entropy_variant == "1024") o.entropy = quant::EntropyOptions::Legacy1024();
  else return UsageError("--entropy-variant is '{}', expected 2048 or 1024", entropy_variant);
  if (!(percentile > 0.0 && percentile <= 100.0)) return UsageError("--percentile is {}, expected (0, 100]", percentile);
  o.percentile.percentile = percentile;
  if (batch < 1) return UsageError("--batch is {}, expected 1 or more", batch);
  if (progress != "auto" && progress != "bar" && progress != "lines" && progress != "off")
    return UsageError("--progress is '{}', expected auto, bar, lines or off", progress);
  return o;
}

namespace {

app::Progress::Style progress_style(const std::string& s) {
  if (s == "bar") return app::Progress::Style::kBar;
  if (s == "lines") return app::Progress::Style::kLines;
  if (s == "off") return app::Progress::Style::kOff;
  return app::Progress::Style::kAuto;
}

double peak_rss_mib() {
  struct rusage u {};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace

Expected<quant::CalibResult> calibrate_from_data(std::shared_ptr<const ir::Graph> graph, const std::string& model_path,
                                                 const std::vector<std::string>& data, const app::InputOptions& image,
                                                 const CalibArgs& args, const runtime::PlanOptions& plan_options) {
  QS_ASSIGN_OR_RETURN(quant::CalibrateOptions options, args.to_options());
  QS_ASSIGN_OR_RETURN(app::BatchReader reader, app::BatchReader::Open(*graph, data, image, args.batch));
  quant::Calibrator calibrator(graph, options, plan_options);
  app::Progress progress("calibrate", "batch", reader.batches(), progress_style(args.progress));
  const auto t0 = std::chrono::steady_clock::now();
  int64_t done = 0, samples = 0;
  app::Batch batch;
  for (;;) {
    QS_ASSIGN_OR_RETURN(bool more, reader.Next(&batch));
    if (!more) break;
    const std::string first = batch.labels.empty() ? "batch " + std::to_string(done + 1) : batch.labels.front();
    Status st = calibrator.AddBatch(batch.tensors);
    if (!st.ok()) {
      progress.Finish();
      return st.WithPrefix("cannot calibrate '" + model_path + "' on '" + first + "': ");
    }
    samples += static_cast<int64_t>(batch.labels.size());
    ++done;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    progress.Update(done, fmt::format("{:.0f} samples/s", s > 0 ? static_cast<double>(samples) / s : 0.0));
  }
  progress.Finish();
  const double run_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  quant::CalibResult result = calibrator.Finish();
  const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print(
      "calibrate: {} samples in {} batches of up to {}, method {} ({}); FP32 runs {:.2f} s ({:.1f} samples/s), "
      "ranges {:.2f} s, total {:.2f} s ({:.1f} samples/s); peak memory {:.1f} MiB\n",
      samples, done, reader.batch_size(), quant::calib_method_name(options.method), result.cache.algorithm, run_s,
      run_s > 0 ? samples / run_s : 0.0, total_s - run_s, total_s, total_s > 0 ? samples / total_s : 0.0,
      peak_rss_mib());
  if (!result.zero_tensors.empty())
    fmt::print(stderr, "qscope: warning: {} tensor(s) were zero on all calibration data (range 0: layers reading them in INT8 stay in floating point): {}\n",
               result.zero_tensors.size(), fmt::join(result.zero_tensors, ", "));
  if (!result.non_finite_tensors.empty())
    fmt::print(stderr, "qscope: warning: {} tensor(s) held NaN or Inf values, left out of their ranges: {}\n",
               result.non_finite_tensors.size(), fmt::join(result.non_finite_tensors, ", "));
  return result;
}

namespace {

struct CalibrateArgs {
  std::string model;
  std::vector<std::string> data;
  std::string output;
  CalibArgs calib;
  ImageArgs image;
  bool reference = false;
};

int run_calibrate(const CalibrateArgs& a) {
  auto options = a.calib.to_options();
  if (!options.ok()) return report_error(options.status());
  // Fail before the long part when the cache cannot be written where asked.
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path parent = fs::path(a.output).parent_path();
  if (!fs::is_directory(parent.empty() ? fs::path(".") : parent, ec))
    return report_error(IoError("cannot write '{}': folder '{}' does not exist", a.output, parent.string()));
  if (fs::is_directory(a.output, ec)) return report_error(IoError("cannot write '{}': it is a folder", a.output));
  auto graph = app::load_model(a.model);
  if (!graph.ok()) return report_error(graph.status());
  auto image = a.image.to_options();
  if (!image.ok()) return report_error(image.status());
  runtime::PlanOptions popt;
  popt.kernel.use_fast = !a.reference;
  auto result = calibrate_from_data(*graph, a.model, a.data, *image, a.calib, popt);
  if (!result.ok()) return report_error(result.status());
  Status st = quant::write_calib_cache(a.output, result->cache);
  if (!st.ok()) return report_error(st);
  fmt::print("wrote {}: {} tensors, TRT-{}-{}\n", a.output, result->cache.scales.size(), result->cache.version,
             result->cache.algorithm);
  return kOk;
}

}  // namespace

void add_calibrate_command(CLI::App& app, std::function<int()>& action) {
  auto a = std::make_shared<CalibrateArgs>();
  auto* cmd = app.add_subcommand("calibrate", "Compute INT8 activation ranges from data; write a TensorRT calibration cache");
  cmd->add_option("model", a->model, "ONNX model file")->required();
  cmd->add_option("--data,-d", a->data,
                  "Calibration files or folders (.npy [N,...], .pb, .png/.jpg/.pgm); name=FILE binds a model input")
      ->required();
  cmd->add_option("-o,--output", a->output, "Calibration cache to write (TensorRT format)")->required();
  a->calib.add_to(cmd);
  cmd->add_flag("--reference-kernels", a->reference, "Use the plain reference kernels only (slow; for checking)");
  a->image.add_to(cmd);
  cmd->callback([a, &action] { action = [a] { return run_calibrate(*a); }; });
}

}  // namespace qs::cli
