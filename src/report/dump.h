// The dump layout (SPEC.md): DIR/reference/<output>.npy holds FP32's outputs,
// DIR/steps/<NNNN>_<layer>/<output>.npy each step's, DIR/manifest.json what qscope knows
// besides. With several inputs each has its own DIR/<input stem>/{reference,steps}. `analyze`
// reads the layout back, with or without the manifest, so that dumps written by another
// engine (TensorRT driven by the seed's sample, say) get the same table.
#pragma once
#include <string>
#include <vector>

#include "analysis/sweep.h"
#include "report/report.h"

namespace qs::report {

class DumpWriter {
 public:
  // Creates DIR (and per-input folders) and writes the reference outputs.
  static Expected<DumpWriter> Create(const std::string& dir, const std::vector<std::string>& input_stems,
                                     const std::vector<std::map<std::string, Tensor>>& reference);
  Status WriteStep(const analysis::SweepResult& r, const analysis::StepResult& step);
  Status WriteManifest(const analysis::SweepResult& r, const ReportMeta& meta);

 private:
  std::string dir_;
  std::vector<std::string> input_dirs_;
};

struct AnalyzeOptions {
  std::optional<analysis::Metric> metric;  // default: the manifest's, else cosine
  std::optional<double> threshold;
  analysis::AutoRule auto_rule;
};

struct Analyzed {
  analysis::SweepResult result;
  ReportMeta meta;
  bool from_manifest = false;
};

// Computes every step's metric against the reference and flags steps by the same rules as
// the sweep (the fallback set and final numbers come from the manifest when there is one).
Expected<Analyzed> analyze_dump(const std::string& dir, const AnalyzeOptions& options);

}  // namespace qs::report
