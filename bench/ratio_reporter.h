// A Google Benchmark console reporter that also keeps each benchmark's time per iteration (in
// the benchmark's time unit), so that a benchmark's main can print the ratios of the pairs it
// compares after the run.
#pragma once
#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

namespace qs::bench {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs)
      if (r.run_type == Run::RT_Iteration && !r.error_occurred) times[r.benchmark_name()] = r.GetAdjustedRealTime();
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> times;
};

// Parses Google Benchmark's flags and runs the selected benchmarks with `reporter`; false (after
// naming them) for flags it does not know.
inline bool run_benchmarks(int* argc, char** argv, RatioReporter& reporter) {
  benchmark::Initialize(argc, argv);
  if (benchmark::ReportUnrecognizedArguments(*argc, argv)) return false;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  return true;
}

}  // namespace qs::bench
