// Sweep results as people and programs read them: the table, JSON (SPEC.md "report JSON"),
// CSV. Writers read analysis results only.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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
  bool color = false;
  int max_name = 40;  // longer layer names are shortened in the middle
};
// The seed's table (LayerName | LayerShape | Similarity%) with op, precision, the change from
// the step before, the worst input (several inputs) and a flag mark; then the summary lines.
std::string format_table(const analysis::SweepResult& r, const ReportMeta& meta, const TableOptions& options = {});

nlohmann::ordered_json to_json(const analysis::SweepResult& r, const ReportMeta& meta);
std::string to_csv(const analysis::SweepResult& r);

// The steps of a report or state JSON, for --resume.
Expected<std::vector<analysis::StepResult>> steps_from_json(const nlohmann::json& j);

// "conv1" -> "conv1"; a name with other characters than letters, digits, '.', '_' and '-'
// has them replaced by '_'.
std::string safe_name(const std::string& name);
// Shortens to at most `width` characters by cutting the middle ("resnet/layer4/...conv2").
std::string shorten_middle(const std::string& s, size_t width);

}  // namespace qs::report
