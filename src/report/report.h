// Sweep results as people and programs read them: the table, JSON (SPEC.md "report JSON"),
// CSV. Writers read analysis results only.
#pragma once
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analysis/diagnose.h"
#include "analysis/sweep.h"

namespace qs::report {

// What the report says besides the result.
struct ReportMeta {
  std::string model;
  std::vector<std::string> inputs;  // input file stems, in order
  std::string calib;                // the cache used
};

// A metric value as the table shows it: "99.9997" for percentages, "34.12" for SNR (dB).
std::string format_value(analysis::Metric m, double v);

struct TableOptions {
  bool color = false;  // ANSI colour (the commands set it only when stdout is a terminal)
  int max_name = 40;   // longer layer names are shortened in the middle
  int width = 80;      // fit the lines into this many columns (0: no limit)
};
// The seed's table (LayerName | LayerShape | Similarity%) with op, precision, the change from
// the step before, the worst input (several inputs) and a flag mark; then the summary lines.
// To fit `width`, long names are shortened in the middle (to no less than 12 characters), long
// op names abbreviated, notes cut, and when that is not enough the Worst column and then the Op
// column are left out (a line under the table says so).
std::string format_table(const analysis::SweepResult& r, const ReportMeta& meta, const TableOptions& options = {});

// The lines under the table that say why each flagged layer loses: each part of its step (an
// INT8 input, the weights) quantized alone, and the verdict.
std::string format_diagnosis(const std::vector<analysis::LayerDiagnosis>& diagnoses, const TableOptions& options = {});
// The same as the report JSON's "diagnosis".
nlohmann::ordered_json diagnosis_to_json(const std::vector<analysis::LayerDiagnosis>& diagnoses);

// What a report shows about each layer besides the sweep's numbers (the HTML page's layer
// columns), known to the command that ran the sweep: the lowering of the final plan and the
// calibration.
struct LayerDetail {
  Precision final_precision = Precision::kFp32;  // what the layer runs in under the final plan
  std::string final_reason;                       // why not what the plan asked
  int group = -1;                                 // fusion group under the final plan, -1: none
  std::string group_ops;                          // "Conv+BatchNormalization+Relu"
  std::string tensor;                             // its first output
  double range = NAN;                             // INT8 range of `tensor` (scale * 127); NaN: none
  // |x| histogram of the calibration data of `tensor` (empty: not known, e.g. with --calib CACHE):
  // counts of equal bins over [0, hist_edge], and the exact max |x|.
  std::vector<uint64_t> hist;
  double hist_edge = 0, calib_max = NAN;
};
struct ReportExtra {
  std::vector<LayerDetail> layers;  // one per SweepResult::layers entry, or empty
  std::string histograms;           // where the histograms come from ("" when none)
};

// SPEC's report JSON plus, per step, the worst input and the change; "layers" (each with its
// isolated similarity in isolate mode, and with `extra` its final precision, group, range and
// histogram), "plan" and "export" (trtexec flags and exclude list). The HTML page reads only this.
nlohmann::ordered_json to_json(const analysis::SweepResult& r, const ReportMeta& meta, const ReportExtra* extra = nullptr);
// Step i of r as the report JSON's "steps" hold it.
nlohmann::ordered_json step_to_json(const analysis::SweepResult& r, size_t i);
// One line per step; with `extra` also the layer's final precision, group and range.
std::string to_csv(const analysis::SweepResult& r, const ReportExtra* extra = nullptr);

// Quotes an argument for a POSIX shell when it needs it.
std::string shell_quote(const std::string& s);
// The trtexec flags that build a plan, from the layers that do not run INT8 and what they run
// in: "--int8 [--fp16] --precisionConstraints=obey --layerPrecisions=conv2:fp32,conv5:fp16"
// (just "--int8" when every layer runs INT8).
std::string trtexec_flags(const std::vector<std::pair<std::string, Precision>>& not_int8);
// The same for a plan's explicit layers (those whose precision differs from the default INT8).
std::string trtexec_flags(const passes::PrecisionPlan& plan);
// Layers as a JSON list (ONNX Runtime's / ModelOpt's nodes_to_exclude).
std::string exclude_list(const std::vector<std::string>& layers);
// Reduces a histogram (counts of equal bins over [0, edge]) to at most `max_bins` bins that
// end at its last non-empty bin; returns the new edge.
double downsample_histogram(const std::vector<uint64_t>& counts, double edge, int max_bins, std::vector<uint64_t>* out);

// The steps of a report or state JSON, for --resume.
Expected<std::vector<analysis::StepResult>> steps_from_json(const nlohmann::json& j);

// "conv1" -> "conv1"; a name with other characters than letters, digits, '.', '_' and '-'
// has them replaced by '_'.
std::string safe_name(const std::string& name);
// Shortens to at most `width` characters by cutting the middle ("resnet/layer4/...conv2").
std::string shorten_middle(const std::string& s, size_t width);

}  // namespace qs::report
