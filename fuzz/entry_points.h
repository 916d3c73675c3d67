// The entry points that the fuzz targets (fuzz/fuzz_*.cc) and the regression test
// (tests/fuzz_regressions/fuzz_regressions_test.cc) feed bytes to: every reader of input that
// comes from strangers. Each returns normally on any input (an error Status is fine); a crash,
// an out-of-bounds access, an uncaught exception or undefined behaviour is a bug.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/shape.h"
#include "core/tensor.h"
#include "io/image.h"
#include "io/npy.h"
#include "io/wav.h"
#include "onnx/import.h"
#include "passes/precision_plan.h"
#include "passes/qdq_import.h"
#include "quant/calib_cache.h"
#include "report/html.h"
#include "report/report.h"
#include "runtime/plan.h"

namespace qs::fuzz {

// Tensors above this size are refused by the checked shape arithmetic, so that the fuzzers
// explore errors instead of running out of memory (the CLI's --max-tensor-mb does the same).
inline constexpr int64_t kFuzzMaxTensorBytes = int64_t{64} << 20;

inline void init() { set_max_tensor_bytes(kFuzzMaxTensorBytes); }

// Writes bytes to a private temporary file (for the readers that take a path) and removes it after use.
class TempFile {
 public:
  TempFile(std::string_view bytes, const char* suffix) {
    const char* tmp = std::getenv("TMPDIR");
    path_ = std::string(tmp && *tmp ? tmp : "/tmp") + "/qscope-fuzz-XXXXXX" + suffix;
    const int fd = ::mkstemps(path_.data(), static_cast<int>(std::string_view(suffix).size()));
    if (fd < 0) { path_.clear(); return; }
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fd);
  }
  ~TempFile() { if (!path_.empty()) ::unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Shapes for the graph's inputs from their declared dims (unknown dims -> 1), or false when a
// declared shape is missing, negative or too big for the cap.
inline bool declared_shapes(const ir::Graph& g, std::map<std::string, Shape>* shapes) {
  for (const ir::ValueInfo& in : g.inputs) {
    if (!in.has_shape) return false;
    Shape s = in.dims;
    for (int64_t& d : s)
      if (d < 0) d = 1;
    if (!checked_numel(s, 8).ok()) return false;
    (*shapes)[in.name] = s;
  }
  return true;
}

// Plans the graph for its declared input shapes and, when that works, runs it once on zeros.
inline void plan_and_run(const ir::Graph& parsed) {
  std::map<std::string, Shape> shapes;
  if (!declared_shapes(parsed, &shapes)) return;
  auto graph = std::make_shared<const ir::Graph>(parsed);
  auto plan = runtime::Plan::Build(graph, shapes);
  if (!plan.ok()) return;
  std::map<std::string, Tensor> inputs;
  for (const ir::ValueInfo& in : graph->inputs) {
    auto t = Tensor::Create(in.dtype, shapes[in.name]);
    if (!t.ok()) return;
    inputs.emplace(in.name, std::move(*t));
  }
  (void)plan->Run(inputs);
}

// ONNX model bytes: parse (checker, shape inference), the supported-op check, plan and run.
inline void onnx_model(std::string_view bytes) {
  onnx_io::LoadOptions opt;
  opt.max_model_bytes = int64_t{16} << 20;
  // External data resolves against a folder that holds nothing.
  auto g = onnx_io::load_model_bytes(bytes, "fuzz.onnx", "/nonexistent-qscope-fuzz-dir", opt);
  if (!g.ok()) return;
  if (!runtime::check_supported_ops(*g).ok()) return;
  plan_and_run(*g);
}

// A Q/DQ model: parse, import its Q/DQ pairs as plan + scales, plan the float graph.
inline void qdq_model(std::string_view bytes) {
  onnx_io::LoadOptions opt;
  opt.max_model_bytes = int64_t{16} << 20;
  auto g = onnx_io::load_model_bytes(bytes, "fuzz.onnx", "/nonexistent-qscope-fuzz-dir", opt);
  if (!g.ok()) return;
  if (!runtime::check_supported_ops(*g).ok()) return;
  auto imported = passes::import_qdq(*g);
  if (!imported.ok()) return;
  std::map<std::string, Shape> shapes;
  if (!declared_shapes(imported->graph, &shapes)) return;
  auto graph = std::make_shared<const ir::Graph>(imported->graph);
  runtime::PrecisionConfig config{imported->plan, "fuzz", imported->scales};
  (void)runtime::build_mixed_plan(graph, shapes, &config);
}

inline void npy(std::string_view bytes) {
  TempFile f(bytes, ".npy");
  if (!f.path().empty()) (void)io::read_npy(f.path());
}

inline void wav(std::string_view bytes) {
  TempFile f(bytes, ".wav");
  if (!f.path().empty()) (void)io::read_wav(f.path());
}

inline void tensor_pb(std::string_view bytes) {
  TempFile f(bytes, ".pb");
  std::string name;
  if (!f.path().empty()) (void)onnx_io::load_tensor_pb(f.path(), &name);
}

// The first byte picks the preprocessing (channels, resize), the rest is the file.
inline void image(std::string_view bytes) {
  if (bytes.empty()) return;
  const uint8_t sel = static_cast<uint8_t>(bytes[0]);
  io::ImageOptions opt;
  opt.channels = sel % 3 == 0 ? io::ImageOptions::Channels::kGray
                 : sel % 3 == 1 ? io::ImageOptions::Channels::kRgb
                                : io::ImageOptions::Channels::kBgr;
  if (sel & 0x10) opt.height = opt.width = 1 + (sel >> 5);
  TempFile f(bytes.substr(1), ".img");
  if (!f.path().empty()) (void)io::read_image(f.path(), opt);
}

inline void calib_cache(std::string_view bytes) {
  auto c = quant::parse_calib_cache(std::string(bytes), "fuzz.cache");
  if (c.ok()) (void)quant::format_calib_cache(*c);
}

inline void plan_json(std::string_view bytes) {
  auto p = passes::parse_plan_json(std::string(bytes), "fuzz.json");
  if (p.ok()) (void)passes::format_plan_json(*p);
}

// The report command's reader: JSON, then the HTML page; and the sweep's resume reader of steps.
inline void report_json(std::string_view bytes) {
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(bytes);
  } catch (const nlohmann::json::exception&) {
    return;
  }
  (void)report::render_html(j);
  (void)report::steps_from_json(nlohmann::json(j));
}

}  // namespace qs::fuzz
