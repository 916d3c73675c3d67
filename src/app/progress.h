// Progress of a long command (calibrate, rank, sweep): on a terminal one bar redrawn in
// place with '\r'; otherwise (a log, a pipe) one plain line per step, "calibrate: batch 3/16".
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace qs::app {

class Progress {
 public:
  enum class Style { kAuto, kBar, kLines, kOff };
  // label: the command ("calibrate"); unit: what is counted ("batch").
  Progress(std::string label, std::string unit, int64_t total, Style style = Style::kAuto, FILE* out = stderr);
  ~Progress();
  // `done` steps of `total` are finished; `note` is shown after the count (e.g. "412 img/s").
  void Update(int64_t done, const std::string& note = "");
  // Ends the bar's line (no-op for lines).
  void Finish();

 private:
  std::string label_, unit_;
  int64_t total_;
  Style style_;
  FILE* out_;
  bool open_line_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace qs::app
