// FP32 inference latency of qscope's engine, the counterpart of bench/ort_bench.js.
//
//   infer_bench MODEL BATCH ITERS [INPUT.npy [OUTPUT.npy]] [--ops] [--int8 CACHE]
//
// With --int8 CACHE every layer that can runs INT8 with the cache's ranges (the rest FP32).
//
// Loads MODEL with qs::app::load_model, builds a qs::runtime::Engine and runs it on one input of
// batch BATCH: INPUT.npy (float32; its first BATCH items along axis 0, repeated when it has fewer)
// or, without it, a seeded random normal tensor of the model input's shape. The first run builds
// the plan; then warm-up runs and ITERS timed runs. Thread count: OMP_NUM_THREADS (oneDNN uses
// OpenMP). Prints one line:
//   qscope <model> batch=B threads=T iters=N median_ms=M min_ms=M
// writes the first graph output of the timed input to OUTPUT.npy when given, and with --ops prints
// the median time per op type and of the 10 slowest nodes (INFER_BENCH_TOP=N for N) over the timed runs (measured between step-observer calls, so it
// includes a little overhead).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "app/model.h"
#include "quant/calib_cache.h"
#include "io/npy.h"
#include "runtime/plan.h"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "infer_bench: %s\n", msg.c_str());
  std::exit(1);
}

// The first `batch` items of x along axis 0, repeated when x has fewer.
qs::Tensor to_batch(const qs::Tensor& x, int64_t batch) {
  if (x.dtype() != qs::DType::kFloat32) die("input file must hold float32");
  if (x.rank() < 1 || x.dim(0) < 1) die("input file has no batch axis");
  qs::Shape shape = x.shape();
  shape[0] = batch;
  qs::Tensor out(qs::DType::kFloat32, shape);
  size_t per = static_cast<size_t>(x.numel() / x.dim(0));
  for (int64_t b = 0; b < batch; ++b)
    std::memcpy(out.data<float>() + b * per, x.data<float>() + (b % x.dim(0)) * per, per * sizeof(float));
  return out;
}

qs::Tensor random_input(const qs::ir::ValueInfo& info, int64_t batch) {
  if (info.dtype != qs::DType::kFloat32) die("input '" + info.name + "' is not float32");
  if (!info.has_shape || info.dims.empty()) die("input '" + info.name + "' has no declared shape; give an input file");
  qs::Shape shape = info.dims;
  shape[0] = batch;
  for (int64_t d : shape)
    if (d < 0) die("input '" + info.name + "' has a symbolic dimension other than the batch; give an input file");
  qs::Tensor t(qs::DType::kFloat32, shape);
  std::mt19937 gen(42);
  std::normal_distribution<float> dist(0.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(gen);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args;
  bool per_op = false;
  std::string int8_cache;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--ops") == 0)
      per_op = true;
    else if (std::strcmp(argv[i], "--int8") == 0 && i + 1 < argc)
      int8_cache = argv[++i];
    else
      args.emplace_back(argv[i]);
  }
  if (args.size() < 3 || args.size() > 5) {
    std::fprintf(stderr, "usage: infer_bench MODEL BATCH ITERS [INPUT.npy [OUTPUT.npy]] [--ops] [--int8 CACHE]\n");
    return 2;
  }
  const std::string model_path = args[0];
  const int64_t batch = std::atoll(args[1].c_str());
  const int iters = std::atoi(args[2].c_str());
  if (batch < 1 || iters < 1) die("BATCH and ITERS must be positive");

  auto graph = qs::app::load_model(model_path);
  if (!graph.ok()) die(graph.status().message());
  const qs::ir::Graph& g = **graph;
  if (g.inputs.size() != 1) die("the model must have exactly one (non-initializer) input");
  const qs::ir::ValueInfo& in = g.inputs[0];

  qs::Tensor x;
  if (args.size() >= 4) {
    auto t = qs::io::read_npy(args[3]);
    if (!t.ok()) die(t.status().message());
    x = to_batch(*t, batch);
  } else {
    x = random_input(in, batch);
  }
  const std::map<std::string, qs::Tensor> feeds = {{in.name, x}};

  std::optional<qs::runtime::PrecisionConfig> precision;
  if (!int8_cache.empty()) {
    auto cache = qs::quant::read_calib_cache(int8_cache);
    if (!cache.ok()) die(cache.status().message());
    precision = qs::runtime::PrecisionConfig{};
    precision->plan.default_precision = qs::Precision::kInt8;
    precision->scales = cache->scales;
  }
  qs::runtime::PlanOptions options;
  options.optimize = std::getenv("QSCOPE_NO_OPTIMIZE") == nullptr;
  qs::runtime::Engine engine(*graph, options, precision);
  auto t0 = Clock::now();
  auto first = engine.Run(feeds);  // builds the plan
  if (!first.ok()) die(first.status().message());
  const double first_ms = ms_since(t0);

  const int warmup = std::max(3, std::min(10, (iters + 4) / 5));
  for (int i = 0; i < warmup - 1; ++i)
    if (auto r = engine.Run(feeds); !r.ok()) die(r.status().message());

  std::vector<double> times;
  times.reserve(iters);
  std::map<std::string, std::vector<double>> op_ms;  // per op type: time in each timed run
  std::map<std::string, int> op_count;  // nodes per op type
  std::map<size_t, std::vector<double>> step_ms;  // per step: time in each timed run
  std::map<size_t, std::string> step_name;
  std::map<std::string, qs::Tensor> out;
  for (int i = 0; i < iters; ++i) {
    qs::runtime::StepObserver observer = nullptr;
    Clock::time_point last;
    if (per_op) {
      observer = [&](size_t step, const qs::ir::Node& node, std::span<const qs::Tensor* const>) {
        auto now = Clock::now();
        const double ms = std::chrono::duration<double, std::milli>(now - last).count();
        step_ms[step].push_back(ms);
        if (i == 0) step_name[step] = node.name + " (" + node.op_type + ")";
        auto& v = op_ms[node.op_type];
        v.resize(static_cast<size_t>(i) + 1, 0.0);
        v[static_cast<size_t>(i)] += ms;
        if (i == 0) op_count[node.op_type]++;
        last = Clock::now();
      };
    }
    auto s = Clock::now();
    last = s;
    auto r = engine.Run(feeds, observer);
    times.push_back(ms_since(s));
    if (!r.ok()) die(r.status().message());
    if (i == iters - 1) out = std::move(r).value();
  }

  const char* omp = std::getenv("OMP_NUM_THREADS");
  const std::string model_name = model_path.substr(model_path.find_last_of('/') + 1);
  std::printf("qscope%s %s batch=%lld threads=%s iters=%d median_ms=%.3f min_ms=%.3f first_run_ms=%.1f\n",
              int8_cache.empty() ? "" : "-int8",
              model_name.c_str(), static_cast<long long>(batch), omp ? omp : "default", iters, median(times),
              *std::min_element(times.begin(), times.end()), first_ms);

  if (per_op) {
    std::vector<std::pair<double, std::string>> rows;
    double total = 0;
    for (auto& [op, v] : op_ms) {
      double m = median(v);
      rows.emplace_back(m, op);
      total += m;
    }
    std::sort(rows.rbegin(), rows.rend());
    std::printf("  %-22s %6s %10s %6s   (median over the timed runs)\n", "op", "nodes", "ms/run", "%");
    for (auto& [ms, op] : rows)
      std::printf("  %-22s %6d %10.3f %5.1f%%\n", op.c_str(), op_count[op], ms, 100.0 * ms / total);
    std::vector<std::pair<double, size_t>> steps;
    for (auto& [step, v] : step_ms) steps.emplace_back(median(v), step);
    std::sort(steps.rbegin(), steps.rend());
    const char* top_env = std::getenv("INFER_BENCH_TOP");  // how many nodes to list (10)
    const size_t top = top_env ? std::strtoul(top_env, nullptr, 10) : 10;
    std::printf("  slowest nodes (median ms/run):\n");
    for (size_t k = 0; k < steps.size() && k < top; ++k)
      std::printf("  %10.3f  %s\n", steps[k].first, step_name[steps[k].second].c_str());
  }

  if (args.size() == 5) {
    const std::string& name = g.outputs.at(0).name;
    auto it = out.find(name);
    if (it == out.end()) die("output '" + name + "' missing from the run's results");
    qs::Status st = qs::io::write_npy(args[4], it->second);
    if (!st.ok()) die(st.message());
  }
  return 0;
}
