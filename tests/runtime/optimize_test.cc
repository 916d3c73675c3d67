// Optimized plans (PlanOptions::optimize: FP32 fusion, channels-last activations) against the
// model as it is: same outputs, and the layout decisions of passes/layout.h on a model with
// one of each case (tests/data/layout/gen_layout.py).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>

#include "app/model.h"
#include "io/npy.h"
#include "kernels/fast/conv_onednn.h"
#include "passes/layout.h"
#include "quant/calibrate.h"
#include "quant/minmax.h"
#include "runtime/plan.h"

namespace qs {
namespace {

const std::string kData = QS_TEST_DATA_DIR;

std::shared_ptr<const ir::Graph> model(const std::string& rel) {
  auto g = app::load_model(kData + "/" + rel);
  EXPECT_TRUE(g.ok()) << g.status().message();
  return g.ok() ? *g : nullptr;
}

Tensor input_for(const ir::Graph& g, const std::string& npy_rel) {
  if (!npy_rel.empty()) {
    auto t = io::read_npy(kData + "/" + npy_rel);
    EXPECT_TRUE(t.ok()) << t.status().message();
    return *t;
  }
  Shape s = g.inputs[0].dims;
  for (int64_t& d : s)
    if (d < 0) d = 1;
  Tensor t(DType::kFloat32, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = std::sin(0.37f * static_cast<float>(i)) * 1.5f;
  return t;
}

// max |a - b| / (1 + max |b|) over the elements.
double rel_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double d = 0, m = 0;
  for (int64_t i = 0; i < b.numel() && i < a.numel(); ++i) {
    d = std::max(d, std::fabs(a.GetAsDouble(i) - b.GetAsDouble(i)));
    m = std::max(m, std::fabs(b.GetAsDouble(i)));
  }
  return d / (1 + m);
}

struct Outcome {
  std::map<std::string, Tensor> out;
  std::map<std::string, int> ops;  // steps by op type
  int channels_last_convs = 0;     // FusedConv steps that write channels-last
  int int8_handoffs = 0;           // FusedConv steps that write int8 for INT8 readers
  int steps = 0;
};

Outcome run(std::shared_ptr<const ir::Graph> g, const Tensor& x, bool optimize,
        const runtime::PrecisionConfig* config = nullptr, bool fast = true) {
  runtime::PlanOptions o;
  o.optimize = optimize;
  o.kernel.use_fast = fast;
  auto mp = runtime::build_mixed_plan(g, {{g->inputs[0].name, x.shape()}}, config, o);
  EXPECT_TRUE(mp.ok()) << mp.status().message();
  Outcome r;
  if (!mp.ok()) return r;
  auto out = mp->plan->Run({{g->inputs[0].name, x}});
  EXPECT_TRUE(out.ok()) << out.status().message();
  if (out.ok()) r.out = *out;
  for (const auto& s : mp->plan->steps()) {
    ++r.ops[s.node->op_type];
    ++r.steps;
    if (s.node->op_type == "FusedConv" && s.node->attr_int("y_channels_last", 0).ok() &&
        *s.node->attr_int("y_channels_last", 0) == 1)
      ++r.channels_last_convs;
    if (s.node->attr_float("y_int8_scale", 0.f).ok() && *s.node->attr_float("y_int8_scale", 0.f) > 0.f)
      ++r.int8_handoffs;
  }
  return r;
}

void expect_same_outputs(const Outcome& a, const Outcome& b, double tol, const std::string& what) {
  ASSERT_EQ(a.out.size(), b.out.size()) << what;
  for (const auto& [name, t] : b.out) {
    ASSERT_TRUE(a.out.count(name)) << what << ": output " << name << " missing";
    EXPECT_LE(rel_diff(a.out.at(name), t), tol) << what << ": output " << name;
  }
}

std::map<std::string, float> minmax_scales(std::shared_ptr<const ir::Graph> g, const Tensor& x) {
  runtime::Engine fp32(g);
  quant::MinMaxObserver obs;
  EXPECT_TRUE(obs.Observe(fp32, {{g->inputs[0].name, x}}).ok());
  return obs.ToCache().scales;
}

struct ModelCase {
  std::string path, input;
};
const ModelCase kModels[] = {
    {"layout/layout_mix.onnx", "layout/layout_mix.input.npy"},
    {"fmnist/lenet_fmnist.onnx", "fmnist/ref/fmnist_test_0-7.input.npy"},
    {"fmnist/mobilenet_tiny_fmnist.onnx", "fmnist/ref/fmnist_test_0-7.input.npy"},
    {"planted/clean_res.onnx", ""},
    {"planted/clean_cat.onnx", ""},
};

TEST(Optimize, Fp32OutputsMatchTheUnoptimizedPlan) {
  for (const ModelCase& m : kModels) {
    auto g = model(m.path);
    ASSERT_NE(g, nullptr);
    const Tensor x = input_for(*g, m.input);
    const Outcome plain = run(g, x, false), fast = run(g, x, true), ref = run(g, x, false, nullptr, false);
    // Folding BatchNormalization and fusing change float rounding only.
    expect_same_outputs(fast, plain, 1e-5, m.path);
    expect_same_outputs(fast, ref, 1e-5, m.path + " vs reference kernels");
    EXPECT_EQ(plain.ops.count("FusedConv"), 0u) << m.path;
    EXPECT_GT(fast.ops.count("FusedConv") ? fast.ops.at("FusedConv") : 0, 0) << m.path;
    EXPECT_LE(fast.steps, plain.steps) << m.path;
    if (m.path.find("layout_mix") != std::string::npos || m.path.find("mobilenet") != std::string::npos)
      EXPECT_LT(fast.steps, plain.steps) << m.path << ": BatchNormalization, Add and activations fuse";
  }
}

TEST(Optimize, Int8OutputsMatchTheUnoptimizedPlan) {
  for (const ModelCase& m : kModels) {
    auto g = model(m.path);
    ASSERT_NE(g, nullptr);
    const Tensor x = input_for(*g, m.input);
    runtime::PrecisionConfig config;
    config.plan.default_precision = Precision::kInt8;
    config.scales = minmax_scales(g, x);
    const Outcome plain = run(g, x, false, &config), fast = run(g, x, true, &config);
    const Outcome ref = run(g, x, false, &config, false);
    // INT8 blocks are the same either way and their kernels exact (channels-last, the fused
    // epilogue, int8 handed from block to block): the same bits.
    expect_same_outputs(fast, plain, 0.0, m.path + " int8");
    expect_same_outputs(fast, ref, 0.0, m.path + " int8 vs reference kernels");
    // The hand-off with the reference kernels (int8 X dequantized and quantized again, float Y
    // quantized after the epilogue): the same bits too.
    const Outcome ref_optimized = run(g, x, true, &config, false);
    expect_same_outputs(ref_optimized, ref, 0.0, m.path + " int8 optimized with reference kernels");
    if (m.path.find("lenet") == std::string::npos) {  // LeNet's convolutions feed pools
      EXPECT_GT(fast.int8_handoffs, 0) << m.path << ": some INT8 block hands int8 on";
      EXPECT_GT(ref_optimized.int8_handoffs, 0) << m.path << ": with the reference kernels too";
    }
  }
}

// A mixed plan as a sweep step makes it: the first half of the layers INT8, the rest FP32.
TEST(Optimize, MixedPlanOutputsMatchTheUnoptimizedPlan) {
  for (const ModelCase& m : kModels) {
    auto g = model(m.path);
    ASSERT_NE(g, nullptr);
    const Tensor x = input_for(*g, m.input);
    auto fp32 = runtime::Plan::Build(g, {{g->inputs[0].name, x.shape()}});
    ASSERT_TRUE(fp32.ok()) << fp32.status().message();
    runtime::PrecisionConfig config;
    config.scales = minmax_scales(g, x);
    const auto& steps = fp32->steps();
    for (size_t i = 0; i < steps.size() / 2; ++i) config.plan.layers[steps[i].node->name] = Precision::kInt8;
    const Outcome plain = run(g, x, false, &config), fast = run(g, x, true, &config);
    expect_same_outputs(fast, plain, 1e-5, m.path + " mixed");
  }
}

// The decisions passes/layout.h documents, one per case of gen_layout.py.
TEST(Optimize, ChannelsLastDecisions) {
  auto g = model("layout/layout_mix.onnx");
  ASSERT_NE(g, nullptr);
  const Tensor x = input_for(*g, "layout/layout_mix.input.npy");
  runtime::PlanOptions o;
  o.optimize = true;
  auto mp = runtime::build_mixed_plan(g, {{"x", x.shape()}}, nullptr, o);
  ASSERT_TRUE(mp.ok()) << mp.status().message();
  std::map<std::string, const ir::Node*> by_name;
  for (const auto& s : mp->plan->steps()) by_name[s.node->name] = s.node;
  if (!kernels::fast::channels_last_preferred()) {
    for (const auto& [name, n] : by_name) EXPECT_NE(n->op_type, passes::kToNchwOp) << name;
    GTEST_SKIP() << "oneDNN prefers blocked layouts on this CPU: no channels-last activations";
  }
  auto flag = [&](const std::string& node, const std::string& attr) {
    auto it = by_name.find(node);
    if (it == by_name.end()) return -1;
    auto v = it->second->attr_int(attr, 0);
    return v.ok() ? static_cast<int>(*v) : -1;
  };
  // conv -> x channels-last?, y channels-last?
  const std::map<std::string, std::pair<int, int>> convs = {
      {"conv_a", {0, 1}},  // reads the graph input
      {"conv_b", {1, 1}},  // reads the max pool, residual P channels-last
      {"conv_c", {1, 1}},  // reads the average pool
      {"conv_e", {0, 0}},  // reads M (plain: broadcast Mul), residual M plain
      {"conv_d", {0, 1}},  // reads E (plain)
      {"conv_f", {1, 1}},  // residual D channels-last
  };
  for (const auto& [name, want] : convs) {
    EXPECT_EQ(flag(name, "x_channels_last"), want.first) << name;
    EXPECT_EQ(flag(name, "y_channels_last"), want.second) << name;
  }
  EXPECT_EQ(flag("P", "channels_last"), 1);
  EXPECT_EQ(flag("Q", "channels_last"), 1);
  EXPECT_EQ(flag("G", "channels_last"), 1);
  // S is channels-last (Sigmoid of channels-last C); M reads it plain, so it has one ToNCHW;
  // C is a graph output: a second one. Nothing else needs a plain copy.
  std::set<std::string> converted;
  for (const auto& [name, n] : by_name)
    if (n->op_type == passes::kToNchwOp) converted.insert(n->outputs[0]);
  EXPECT_EQ(converted, (std::set<std::string>{"C", "S"}));
  ASSERT_TRUE(by_name.count("S"));
  EXPECT_EQ(by_name["S"]->inputs[0], passes::channels_last_name("C"));
  EXPECT_EQ(by_name["M"]->inputs[0], "S");
  // And the numbers are the model's.
  auto out = mp->plan->Run({{"x", x}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  const Outcome plain = run(g, x, false);
  for (const auto& [name, t] : plain.out) EXPECT_LE(rel_diff(out->at(name), t), 1e-5) << name;
}

// Calibration observes the model's own tensors: its plans are never optimized, whatever the
// caller's options say (the sweep passes its optimized options on to it).
TEST(Optimize, CalibrationSeesEveryTensorOfTheModel) {
  auto g = model("layout/layout_mix.onnx");
  ASSERT_NE(g, nullptr);
  const Tensor x = input_for(*g, "layout/layout_mix.input.npy");
  runtime::PlanOptions o;
  o.optimize = true;
  quant::CalibrateOptions co;
  co.method = quant::CalibMethod::kMinMax;
  quant::Calibrator calibrator(g, co, o);
  ASSERT_TRUE(calibrator.AddBatch({{"x", x}}).ok());
  const quant::CalibResult r = calibrator.Finish();
  const auto want = minmax_scales(g, x);
  for (const char* t : {"conv_a", "bn_a", "A", "P", "conv_b", "bn_b", "add_b", "B", "C", "S", "M"}) {
    ASSERT_TRUE(r.cache.scales.count(t)) << t;
    EXPECT_EQ(r.cache.scales.at(t), want.at(t)) << t;
  }
  for (const auto& [name, s] : r.cache.scales) EXPECT_EQ(name.find("::"), std::string::npos) << name;
}

}  // namespace
}  // namespace qs
