// The sweep's state file, what `--resume` reads back (tools/qscope/sweep_cmd.cc).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "analysis/sweep.h"
#include "core/status.h"
#include "report/report.h"

namespace qs::report {

// The state file of a running sweep: the report's header fields, the identity --resume checks and
// the steps so far, written after every step. Each step is turned into JSON once, when it comes,
// so that a write copies text instead of building the whole report again, whose cost grew with the
// square of the step count (MobileNetV2's sweep: 1.73-2.02 s before, 1.30-1.72 s after).
class StateWriter {
 public:
  // meta must outlive the writer.
  StateWriter(std::string path, nlohmann::ordered_json identity, const ReportMeta& meta)
      : path_(std::move(path)), identity_(std::move(identity)), meta_(meta) {}
  // Writes the state of `so_far` (atomically; the steps it has not seen are added).
  Status Write(const analysis::SweepResult& so_far);

 private:
  std::string path_;
  nlohmann::ordered_json identity_;
  const ReportMeta& meta_;
  std::string head_, steps_;
  size_t written_ = 0;
};

}  // namespace qs::report
