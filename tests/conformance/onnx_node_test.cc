// Runs ONNX's own backend node tests (Debian's libonnx-testdata) for every test whose ops
// qscope supports, and fails if any of them fails. Cases that need a feature qscope
// deliberately lacks are listed with their reason in known_unsupported.txt.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "onnx/import.h"
#include "ops/op.h"
#include "runtime/plan.h"

namespace fs = std::filesystem;

namespace {

const char* kNodeTestDir = "/usr/share/libonnx-testdata/data/node";

struct Case {
  std::string name;
  fs::path dir;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::map<std::string, std::string> known_unsupported() {
  std::map<std::string, std::string> m;
  std::ifstream f(std::string(QS_SOURCE_DIR) + "/tests/conformance/known_unsupported.txt");
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto sp = line.find_first_of(" \t");
    std::string name = line.substr(0, sp);
    std::string reason = sp == std::string::npos ? "" : line.substr(line.find_first_not_of(" \t#", sp));
    m[name] = reason;
  }
  return m;
}

std::vector<Case> all_cases() {
  std::vector<Case> v;
  std::error_code ec;
  if (!fs::is_directory(kNodeTestDir, ec)) return v;
  for (const auto& e : fs::directory_iterator(kNodeTestDir)) {
    if (!fs::exists(e.path() / "model.onnx")) continue;
    v.push_back({e.path().filename().string(), e.path()});
  }
  std::sort(v.begin(), v.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
  return v;
}

struct Tally {
  int ran = 0, passed = 0, known = 0, not_applicable = 0;
};
Tally g_tally;

std::vector<fs::path> numbered(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (int i = 0;; ++i) {
    fs::path p = dir / (prefix + std::to_string(i) + ".pb");
    if (!fs::exists(p)) break;
    files.push_back(p);
  }
  return files;
}

// Float outputs match within the backend suite's tolerance; everything else exactly.
std::string compare(const qs::Tensor& want, const qs::Tensor& got) {
  if (want.dtype() != got.dtype())
    return fmt::format("type {} != expected {}", qs::dtype_name(got.dtype()), qs::dtype_name(want.dtype()));
  if (want.shape() != got.shape())
    return fmt::format("shape {} != expected {}", qs::shape_str(got.shape()), qs::shape_str(want.shape()));
  const bool fl = qs::is_float(want.dtype());
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double a = got.GetAsDouble(i), b = want.GetAsDouble(i);
    if (fl) {
      if (std::isnan(a) && std::isnan(b)) continue;
      if (std::isinf(b) && a == b) continue;
      const double tol = want.dtype() == qs::DType::kFloat16 ? 1e-3 + 1e-3 * std::fabs(b) : 1e-5 + 1e-3 * std::fabs(b);
      if (!(std::fabs(a - b) <= tol)) return fmt::format("element {}: {} != expected {}", i, a, b);
    } else if (got.GetAsInt64(i) != want.GetAsInt64(i) || a != b) {
      return fmt::format("element {}: {} != expected {}", i, a, b);
    }
  }
  return "";
}

class OnnxNodeTest : public ::testing::TestWithParam<Case> {};

TEST_P(OnnxNodeTest, MatchesExpectedOutputs) {
  const Case& c = GetParam();
  static const auto known = known_unsupported();
  auto loaded = qs::onnx_io::load_model((c.dir / "model.onnx").string());
  if (!loaded.ok() && loaded.status().kind() == qs::ErrorKind::kUnsupported) {
    ++g_tally.not_applicable;  // e.g. string tensors, opsets before 7
    GTEST_SKIP() << loaded.status().message();
  }
  if (loaded.ok() && !qs::runtime::check_supported_ops(*loaded).ok()) {
    ++g_tally.not_applicable;
    GTEST_SKIP() << "uses ops qscope does not implement: " << qs::runtime::check_supported_ops(*loaded).message();
  }
  if (auto k = known.find(c.name); k != known.end()) {
    ++g_tally.known;
    GTEST_SKIP() << "known unsupported: " << k->second;
  }
  ++g_tally.ran;  // counted as failed unless it reaches the end with matching outputs
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  auto graph = std::make_shared<qs::ir::Graph>(std::move(loaded).value());
  const fs::path data = c.dir / "test_data_set_0";
  std::map<std::string, qs::Tensor> inputs;
  auto in_files = numbered(data, "input_");
  // Test data lists the graph inputs in order (optional trailing ones may be omitted).
  ASSERT_LE(in_files.size(), graph->inputs.size());
  std::vector<std::string> as_constants;
  for (size_t i = 0; i < in_files.size(); ++i) {
    auto t = qs::onnx_io::load_tensor_pb(in_files[i].string());
    ASSERT_TRUE(t.ok()) << t.status().message();
    const std::string& name = graph->inputs[i].name;
    // The node tests feed shape-deciding operands (axes, shapes, pads) as graph inputs; in
    // real models they are constants, which is what qscope requires, so bind them as such.
    if (qs::is_integer(t->dtype()) && t->rank() <= 1 && t->numel() <= 16) {
      graph->initializers[name] = *t;
      as_constants.push_back(name);
    } else {
      inputs[name] = *t;
    }
  }
  for (const auto& name : as_constants)
    std::erase_if(graph->inputs, [&](const qs::ir::ValueInfo& v) { return v.name == name; });
  // The model as it is, and the optimized plan that run, rank and sweep execute (fused FP32
  // convolutions, channels-last activations): both must give the expected outputs.
  qs::runtime::PlanOptions optimized;
  optimized.optimize = true;
  auto run_both = [&](std::shared_ptr<const qs::ir::Graph> g, const std::map<std::string, qs::Tensor>& in) {
    auto plain = qs::runtime::Engine(g).Run(in);
    auto opt = qs::runtime::Engine(g, optimized).Run(in);
    return std::make_pair(std::move(plain), std::move(opt));
  };
  auto [out, out_opt] = run_both(graph, inputs);
  if (!out.ok() && out.status().kind() == qs::ErrorKind::kUnsupported && !inputs.empty()) {
    // Some ops need even float or scalar operands constant (Range, ConstantOfShape): bind all.
    auto all_constant = std::make_shared<qs::ir::Graph>(*graph);
    for (const auto& [name, t] : inputs) all_constant->initializers[name] = t;
    all_constant->inputs.clear();
    std::tie(out, out_opt) = run_both(all_constant, {});
  }
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_TRUE(out_opt.ok()) << "optimized plan: " << out_opt.status().message();
  auto out_files = numbered(data, "output_");
  ASSERT_EQ(out_files.size(), graph->outputs.size());
  bool all_ok = true;
  for (size_t i = 0; i < out_files.size(); ++i) {
    auto want = qs::onnx_io::load_tensor_pb(out_files[i].string());
    ASSERT_TRUE(want.ok()) << want.status().message();
    const std::string diff = compare(*want, out->at(graph->outputs[i].name));
    const std::string diff_opt = compare(*want, out_opt->at(graph->outputs[i].name));
    if (!diff.empty() || !diff_opt.empty()) all_ok = false;
    EXPECT_EQ(diff, "") << "output '" << graph->outputs[i].name << "'";
    EXPECT_EQ(diff_opt, "") << "output '" << graph->outputs[i].name << "' of the optimized plan";
  }
  if (all_ok) ++g_tally.passed;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string n = info.param.name;
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Node, OnnxNodeTest, ::testing::ValuesIn(all_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OnnxNodeTest);

class SummaryPrinter : public ::testing::Environment {
 public:
  void TearDown() override {
    std::printf("ONNX node conformance: %d ran, %d passed, %d failed; %d known unsupported, %d use ops or types qscope lacks\n",
                g_tally.ran, g_tally.passed, g_tally.ran - g_tally.passed, g_tally.known, g_tally.not_applicable);
  }
};
const auto* const kSummary = ::testing::AddGlobalTestEnvironment(new SummaryPrinter);

}  // namespace
