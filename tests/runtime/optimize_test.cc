// Optimized plans (PlanOptions::optimize: FP32 fusion, channels-last activations) against the
// model as it is: same outputs, and the layout decisions of passes/layout.h on a model with
// one of each case (tests/data/layout/gen_layout.py).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <string>

#include "app/model.h"
#include "io/npy.h"
#include "kernels/fast/conv1x1_f32.h"
#include "kernels/fast/conv_onednn.h"
#include "kernels/fast/int8_avx512.h"
#include "passes/layout.h"
#include "quant/calibrate.h"
#include "quant/minmax.h"
#include "runtime/kernel_cache.h"
#include "runtime/plan.h"

namespace qs {
namespace {

const std::string kData = QS_TEST_DATA_DIR;

std::shared_ptr<const ir::Graph> model(const std::string& rel) {
  auto g = app::load_model(kData + "/" + rel);
  EXPECT_TRUE(g.ok()) << g.status().message();
  return g.ok() ? *g : nullptr;
}

// The graph with a final Softmax taken off (its input becomes the output): the fast Softmax
// (vectorized exp, sums in lanes) is within a few ulp of the reference's, so exact comparisons
// of fast and reference kernels compare the logits.
std::shared_ptr<const ir::Graph> logits_of(std::shared_ptr<const ir::Graph> g) {
  auto out = std::make_shared<ir::Graph>(*g);
  if (out->nodes.empty() || out->outputs.size() != 1) return out;
  const ir::Node& last = out->nodes.back();
  if (last.op_type != "Softmax" || last.outputs[0] != out->outputs[0].name) return out;
  out->outputs[0].name = last.inputs[0];
  out->outputs[0].has_shape = false;
  out->nodes.pop_back();
  return out;
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
  int int8_residuals = 0;          // FusedConv steps that read their residual as int8
  int pointwise = 0, depthwise = 0, stem = 0;  // INT8 steps on the in-register kernels (conv1x1_s8, depthwise_s8, stem_s8)
  int conv1d = 0;                              // INT8 steps whose sums Conv1dS8 computes
  int fp32_pointwise = 0, fp32_stem = 0;       // FP32 steps on conv1x1_f32, stem_f32
  int in_register_single = 0;        // of those, steps the plan holds to one thread
  int single = 0;                    // steps held to one thread
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
    if (s.node->attr_int("r_int8", 0).ok() && *s.node->attr_int("r_int8", 0) == 1) ++r.int8_residuals;
    const std::string_view impl = s.kernel->impl();
    r.pointwise += impl == "pointwise-s8";
    r.depthwise += impl == "depthwise-s8";
    r.stem += impl == "stem-s8";
    r.conv1d += impl == "conv1d-s8";
    r.fp32_pointwise += impl == "pointwise";
    r.fp32_stem += impl == "stem";
    const bool in_register = impl == "pointwise-s8" || impl == "depthwise-s8" || impl == "stem-s8";
    r.in_register_single += in_register && s.single_thread;
    r.single += s.single_thread;
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

// Whether this CPU runs kernels/fast/conv1x1_f32 (AVX-512).
bool has_fp32_pointwise() {
  const kernels::ref::ConvParams p{1, 1, 1, 1, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}};
  const float w = 1.f;
  return kernels::fast::Conv1x1F32::Create(p, &w, nullptr, {}, nullptr) != nullptr;
}

struct ModelCase {
  std::string path, input;
};
const ModelCase kModels[] = {
    {"layout/layout_mix.onnx", "layout/layout_mix.input.npy"},
    {"layout/layout_1d.onnx", "layout/layout_1d.input.npy"},
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
    if (m.path.find("layout_mix") != std::string::npos || m.path.find("mobilenet") != std::string::npos) {
      EXPECT_LT(fast.steps, plain.steps) << m.path << ": BatchNormalization, Add and activations fuse";
    }
    EXPECT_EQ(plain.fp32_pointwise + ref.fp32_pointwise + plain.fp32_stem + ref.fp32_stem, 0) << m.path;
    // MobileNet-tiny's expansions from at most 24 channels (8 -> 32, 16 -> 64 twice, 24 -> 96
    // twice) read and write channels-last, and its first layer (1 -> 16, 3x3) reads the plain
    // image: Conv1x1F32 and StemConvF32 take them where the CPU has AVX-512.
    if (m.path.find("mobilenet") != std::string::npos && has_fp32_pointwise()) {
      EXPECT_EQ(fast.fp32_pointwise, 5) << m.path;
      EXPECT_EQ(fast.fp32_stem, 1) << m.path;
    }
    // The 1-D model's first layer (1 -> 16, a filter of 40 at stride 4) too.
    if (m.path.find("layout_1d") != std::string::npos && has_fp32_pointwise()) {
      EXPECT_EQ(fast.fp32_stem, 1) << m.path;
    }
  }
}

// MobileNet-tiny with NaN and infinity in its input: the FP32 plan with its fast kernels
// (in-register expansions, oneDNN's depthwise and projections, their finite fast paths) gives
// NaN exactly where the reference kernels do.
TEST(Optimize, Fp32NonFiniteInputsAsTheReference) {
  auto g = logits_of(model("fmnist/mobilenet_tiny_fmnist.onnx"));
  ASSERT_NE(g, nullptr);
  Tensor x = input_for(*g, "fmnist/ref/fmnist_test_0-7.input.npy").Clone();
  x.data<float>()[300] = std::numeric_limits<float>::quiet_NaN();  // image 0
  x.data<float>()[784 + 400] = std::numeric_limits<float>::infinity();  // image 1
  const Outcome fast = run(g, x, true), ref = run(g, x, false, nullptr, false);
  if (has_fp32_pointwise()) {
    EXPECT_GT(fast.fp32_pointwise, 0);
  }
  ASSERT_EQ(fast.out.size(), 1u);
  const Tensor& got = fast.out.begin()->second;
  const Tensor& want = ref.out.at(fast.out.begin()->first);
  ASSERT_EQ(got.shape(), want.shape());
  int nans = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double w = want.GetAsDouble(i), v = got.GetAsDouble(i);
    nans += std::isnan(w);
    ASSERT_EQ(std::isnan(v), std::isnan(w)) << "logit " << i;
    if (std::isfinite(w)) {
      EXPECT_NEAR(v, w, 1e-4 * (1 + std::fabs(w))) << "logit " << i;
    }
  }
  EXPECT_GT(nans, 0) << "the NaN must reach the logits of image 0";
  for (int64_t i = 2 * 10; i < want.numel(); ++i) ASSERT_TRUE(std::isfinite(got.GetAsDouble(i))) << "images 2-7 stay finite";
}

TEST(ViewPlan, SameLayersAndValuesAsTheFastPlanWithReferenceKernels) {
  for (const ModelCase& m : kModels) {
    auto g = model(m.path);
    ASSERT_NE(g, nullptr);
    const Tensor x = input_for(*g, m.input);
    const std::map<std::string, Shape> shapes{{g->inputs[0].name, x.shape()}};
    runtime::KernelCache kernels;
    runtime::PlanOptions o;
    o.kernels = &kernels;
    auto view = runtime::build_view_plan(g, shapes, o);
    auto fast = runtime::Plan::Build(g, shapes);
    ASSERT_TRUE(view.ok() && fast.ok()) << m.path;
    ASSERT_EQ(view->steps().size(), fast->steps().size()) << m.path;
    bool fast_has_onednn = false;
    for (size_t i = 0; i < view->steps().size(); ++i) {
      EXPECT_EQ(view->steps()[i].node, fast->steps()[i].node) << m.path;
      EXPECT_NE(view->steps()[i].kernel->impl(), "onednn") << m.path << " step " << i;
      fast_has_onednn |= fast->steps()[i].kernel->impl() == "onednn";
    }
    EXPECT_TRUE(fast_has_onednn) << m.path << ": the fast plan this compares with uses oneDNN";
    EXPECT_EQ(kernels.size(), 0u) << m.path << ": a view plan adds nothing to the kernel cache";
    for (const auto& [name, info] : fast->value_infos()) {
      ASSERT_TRUE(view->value_infos().count(name)) << m.path << " " << name;
      EXPECT_EQ(view->value_infos().at(name).shape, info.shape) << m.path << " " << name;
      EXPECT_EQ(view->value_infos().at(name).dtype, info.dtype) << m.path << " " << name;
    }
    // It still runs (reference kernels), to the fast plan's outputs.
    auto a = view->Run({{g->inputs[0].name, x}});
    auto b = fast->Run({{g->inputs[0].name, x}});
    ASSERT_TRUE(a.ok() && b.ok()) << m.path;
    for (const auto& [name, t] : *b) EXPECT_LT(rel_diff(a->at(name), t), 1e-5) << m.path << " " << name;
  }
}

TEST(Optimize, Int8OutputsMatchTheUnoptimizedPlan) {
  int stripped = 0;  // models compared on their logits
  for (const ModelCase& m : kModels) {
    auto loaded = model(m.path);
    ASSERT_NE(loaded, nullptr);
    auto g = logits_of(loaded);
    stripped += g->outputs[0].name != loaded->outputs[0].name;
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
    // Residual blocks whose output only INT8 blocks read, as X or as their residual, hand it on
    // as int8 to both (the comparisons above hold them to the same bits).
    if (m.path.find("clean_res") != std::string::npos || m.path.find("mobilenet") != std::string::npos ||
        m.path.find("layout") != std::string::npos) {
      EXPECT_GT(fast.int8_residuals, 0) << m.path;
      EXPECT_GT(ref_optimized.int8_residuals, 0) << m.path;
    }
    // MobileNet's first layer, and its pointwise and depthwise blocks between INT8 blocks (16 to
    // 64 channels), run on the in-register kernels where the CPU has them: the comparisons above
    // cover them.
    if (m.path.find("mobilenet") != std::string::npos && kernels::fast::int8_avx512::cpu_ok(true)) {
      EXPECT_GE(fast.pointwise, 1) << m.path;
      EXPECT_GE(fast.depthwise, 3) << m.path;
      EXPECT_EQ(fast.stem, 1) << m.path;
      // They pick their own threads: the plan holds none of them to one thread, as it holds
      // these small models' other layers.
      EXPECT_EQ(fast.in_register_single, 0) << m.path;
      EXPECT_GT(fast.single, 0) << m.path;
    }
    // The 1-D model's first layer (a filter of 40 on one channel) has its sums from Conv1dS8.
    if (m.path.find("layout_1d") != std::string::npos && kernels::fast::int8_avx512::cpu_ok()) {
      EXPECT_EQ(fast.conv1d, 1) << m.path;
    }
    EXPECT_EQ(ref.pointwise + ref.depthwise + ref.stem + ref.conv1d + ref_optimized.pointwise +
                  ref_optimized.depthwise + ref_optimized.stem + ref_optimized.conv1d,
              0)
        << m.path;
  }
  EXPECT_GT(stripped, 0);
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

// The decisions passes/layout.h documents on one of its test models: each convolution's
// (x channels-last?, y channels-last?), the pools that read channels-last, the values that get
// a plain copy; S reads C channels-last and M reads S plain. The outputs are the model's.
void expect_layout_decisions(const std::string& path, const std::map<std::string, std::pair<int, int>>& convs,
                             const std::vector<std::string>& pools) {
  auto g = model(path + ".onnx");
  ASSERT_NE(g, nullptr);
  const Tensor x = input_for(*g, path + ".input.npy");
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
  for (const auto& [name, want] : convs) {
    EXPECT_EQ(flag(name, "x_channels_last"), want.first) << path << " " << name;
    EXPECT_EQ(flag(name, "y_channels_last"), want.second) << path << " " << name;
  }
  for (const std::string& pool : pools) EXPECT_EQ(flag(pool, "channels_last"), 1) << path << " " << pool;
  // S is channels-last (Sigmoid of channels-last C); M reads it plain, so it has one ToNCHW;
  // C is a graph output: a second one. Nothing else needs a plain copy.
  std::set<std::string> converted;
  for (const auto& [name, n] : by_name)
    if (n->op_type == passes::kToNchwOp) converted.insert(n->outputs[0]);
  EXPECT_EQ(converted, (std::set<std::string>{"C", "S"})) << path;
  ASSERT_TRUE(by_name.count("S"));
  EXPECT_EQ(by_name["S"]->inputs[0], passes::channels_last_name("C"));
  EXPECT_EQ(by_name["M"]->inputs[0], "S");
  auto out = mp->plan->Run({{"x", x}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  const Outcome plain = run(g, x, false);
  for (const auto& [name, t] : plain.out) EXPECT_LE(rel_diff(out->at(name), t), 1e-5) << path << " " << name;
}

// One case per line of gen_layout.py.
TEST(Optimize, ChannelsLastDecisions) {
  expect_layout_decisions("layout/layout_mix",
                          {
                              {"conv_a", {0, 1}},  // reads the graph input
                              {"conv_b", {1, 1}},  // reads the max pool, residual P channels-last
                              {"conv_c", {1, 1}},  // reads the average pool
                              {"conv_e", {0, 0}},  // reads M (plain: broadcast Mul), residual M plain
                              {"conv_d", {0, 1}},  // reads E (plain)
                              {"conv_f", {1, 1}},  // residual D channels-last
                          },
                          {"P", "Q", "G"});
}

// The same on [N, C, W] activations (gen_layout1d.py): 1-D convolutions and pools.
TEST(Optimize, ChannelsLastDecisionsOneDimensional) {
  expect_layout_decisions("layout/layout_1d",
                          {
                              {"conv_a", {0, 1}},  // reads the graph input
                              {"conv_b", {1, 1}},  // reads the max pool, residual P channels-last
                              {"conv_c", {1, 1}},  // reads the average pool
                              {"conv_d", {0, 1}},  // reads M (plain: broadcast Mul)
                              {"conv_e", {1, 1}},  // reads D
                              {"conv_f", {1, 1}},  // residual D channels-last
                          },
                          {"P", "Q", "G"});
}

// Appends a node to a hand-built graph; the pointer is valid until the next append.
ir::Node* add_node(ir::Graph& g, const std::string& op, const std::string& name, std::vector<std::string> in,
                   std::string out) {
  ir::Node n;
  n.op_type = op;
  n.name = name;
  n.inputs = std::move(in);
  n.outputs = {std::move(out)};
  n.index = static_cast<int>(g.nodes.size());
  g.nodes.push_back(n);
  return &g.nodes.back();
}

// x -> Conv 1x1 + Clip(0, 6) -> depthwise Conv 3x3 + Clip(0, 6) -> Conv 1x1: MobileNetV2's
// expand / depthwise / project, built by hand (random weights).
std::shared_ptr<const ir::Graph> clip_chain() {
  auto g = std::make_shared<ir::Graph>();
  g->opset = 13;
  g->inputs.push_back({"x", DType::kFloat32, true, {1, 8, 10, 10}, {}});
  g->outputs.push_back({"y", DType::kFloat32, true, {1, 8, 10, 10}, {}});
  auto weights = [&](const std::string& name, Shape shape) {
    Tensor t(DType::kFloat32, shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = std::sin(1.7f * static_cast<float>(i) + 0.3f) * 0.4f;
    g->initializers[name] = t;
  };
  weights("wa", {16, 8, 1, 1});
  weights("ba", {16});
  weights("wb", {16, 1, 3, 3});
  weights("bb", {16});
  weights("wc", {8, 16, 1, 1});
  g->initializers["lo"] = Tensor::Scalar(0.f);
  g->initializers["hi"] = Tensor::Scalar(6.f);
  auto node = [&](const std::string& op, const std::string& name, std::vector<std::string> in, std::string out) {
    return add_node(*g, op, name, std::move(in), std::move(out));
  };
  node("Conv", "conv_a", {"x", "wa", "ba"}, "a");
  node("Clip", "clip_a", {"a", "lo", "hi"}, "A");
  ir::Node* b = node("Conv", "conv_b", {"A", "wb", "bb"}, "b");
  b->attrs["group"] = ir::Attribute::Int(16);
  b->attrs["pads"] = ir::Attribute::Ints({1, 1, 1, 1});
  node("Clip", "clip_b", {"b", "lo", "hi"}, "B");
  node("Conv", "conv_c", {"B", "wc"}, "y");
  return g;
}

// Which FusedConv steps of a run said their output is finite (Tensor::known_finite).
struct ClipChainRun {
  Tensor y;
  std::vector<bool> finite;  // per FusedConv step, in order
};
ClipChainRun run_clip_chain(const Tensor& x, bool optimize, const runtime::PrecisionConfig* config = nullptr) {
  auto g = clip_chain();
  runtime::PlanOptions o;
  o.optimize = optimize;
  auto mp = runtime::build_mixed_plan(g, {{"x", x.shape()}}, config, o);
  EXPECT_TRUE(mp.ok()) << mp.status().message();
  ClipChainRun r;
  if (!mp.ok()) return r;
  runtime::RunOptions ro;
  ro.observer = [&](size_t, const ir::Node& n, std::span<const Tensor* const> outs) {
    if (n.op_type == "FusedConv") r.finite.push_back(outs[0]->known_finite());
  };
  auto out = mp->plan->Run({{"x", x}}, ro);
  EXPECT_TRUE(out.ok()) << out.status().message();
  if (out.ok()) r.y = out->at("y");
  return r;
}

// oneDNN's clip maps NaN to the lower bound, the reference passes NaN on: Clip blocks run the
// clip inside the convolution only for inputs without NaN or infinity, and say so on their
// output so that the next Clip block skips its own check; other inputs take the exact path.
TEST(Optimize, ClipBlocksGiveTheReferenceNanAndInfinity) {
  if (!kernels::fast::channels_last_preferred()) GTEST_SKIP() << "no channels-last convolutions on this CPU";
  Tensor x(DType::kFloat32, {1, 8, 10, 10});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = std::cos(0.61f * static_cast<float>(i)) * 9.f;
  const ClipChainRun finite_fast = run_clip_chain(x, true), finite_plain = run_clip_chain(x, false);
  EXPECT_LE(rel_diff(finite_fast.y, finite_plain.y), 1e-5);
  EXPECT_EQ(finite_fast.finite, (std::vector<bool>{true, true, false})) << "the clipped path, with the hint";
  // FP16 rounding may turn a finite float infinite: an FP16 block's output has no hint.
  runtime::PrecisionConfig fp16;
  fp16.plan.layers["conv_a"] = fp16.plan.layers["clip_a"] = Precision::kFp16;
  EXPECT_EQ(run_clip_chain(x, true, &fp16).finite, (std::vector<bool>{false, true, false}));

  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    Tensor xb = x.Clone();
    xb.data<float>()[3 * 100 + 44] = bad;  // channel 3, row 4, column 4
    xb.data<float>()[5 * 100 + 44] = -bad;  // channel 5, same pixel
    const ClipChainRun fast = run_clip_chain(xb, true), plain = run_clip_chain(xb, false);
    EXPECT_EQ(fast.finite, (std::vector<bool>{false, false, false})) << bad << ": the exact path";
    int nans = 0;
    for (int64_t i = 0; i < plain.y.numel(); ++i) {
      const float want = plain.y.data<float>()[i], got = fast.y.data<float>()[i];
      nans += std::isnan(want);
      ASSERT_EQ(std::isnan(got), std::isnan(want)) << bad << ": element " << i;
      if (!std::isnan(want)) {
        EXPECT_NEAR(got, want, 1e-4 * (1 + std::fabs(want))) << bad << ": element " << i;
      }
    }
    // NaN: the 3x3 neighbourhood of the pixel. Infinity: +inf and -inf products meet in the
    // pixel's 1x1 sums (NaN, which the clip passes on).
    EXPECT_GT(nans, 0) << bad;
  }
}

// x -> Conv 3x3 + Relu -> Conv 3x3 -> y: two blocks oneDNN may run as Winograd (16 -> 128 -> 16
// channels, 16x16 pixels; random weights).
std::shared_ptr<const ir::Graph> winograd_chain() {
  auto g = std::make_shared<ir::Graph>();
  g->opset = 13;
  g->inputs.push_back({"x", DType::kFloat32, true, {1, 16, 16, 16}, {}});
  g->outputs.push_back({"y", DType::kFloat32, true, {1, 16, 16, 16}, {}});
  for (const auto& [name, shape] : {std::pair<const char*, Shape>{"wa", {128, 16, 3, 3}}, {"wb", {16, 128, 3, 3}}}) {
    Tensor t(DType::kFloat32, shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = std::sin(2.3f * static_cast<float>(i) + name[1]) * 0.1f;
    g->initializers[name] = t;
  }
  Tensor bias(DType::kFloat32, {128});
  for (int64_t i = 0; i < 128; ++i) bias.data<float>()[i] = 0.01f * static_cast<float>(i - 64);
  g->initializers["ba"] = bias;
  add_node(*g, "Conv", "conv_a", {"x", "wa", "ba"}, "a")->attrs["pads"] = ir::Attribute::Ints({1, 1, 1, 1});
  add_node(*g, "Relu", "relu_a", {"a"}, "A");
  add_node(*g, "Conv", "conv_b", {"A", "wb"}, "y")->attrs["pads"] = ir::Attribute::Ints({1, 1, 1, 1});
  return g;
}

Tensor run_winograd_chain(const Tensor& x, bool optimize) {
  runtime::PlanOptions o;
  o.optimize = optimize;
  auto mp = runtime::build_mixed_plan(winograd_chain(), {{"x", x.shape()}}, nullptr, o);
  EXPECT_TRUE(mp.ok()) << mp.status().message();
  if (!mp.ok()) return Tensor();
  auto out = mp->plan->Run({{"x", x}});
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? out->at("y") : Tensor();
}

// Winograd spreads one infinity over a whole tile as NaN: blocks take it only for inputs
// without NaN or infinity, and the direct convolution otherwise, which gives the reference's
// NaN and infinities where they are.
TEST(Optimize, WinogradBlocksGiveTheReferenceNanAndInfinity) {
  if (!kernels::fast::channels_last_preferred()) GTEST_SKIP() << "no AVX-512 convolutions on this CPU";
  Tensor x(DType::kFloat32, {1, 16, 16, 16});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = std::cos(0.37f * static_cast<float>(i)) * 3.f;
  const Tensor clean = run_winograd_chain(x, false);
  EXPECT_LE(rel_diff(run_winograd_chain(x, true), clean), 1e-5);
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    Tensor xb = x.Clone();
    xb.data<float>()[5 * 256 + 7 * 16 + 9] = bad;  // channel 5, row 7, column 9
    const Tensor fast = run_winograd_chain(xb, true), plain = run_winograd_chain(xb, false);
    ASSERT_EQ(fast.numel(), plain.numel());
    // NaN: Relu turns conv_a's NaN into 0, so y changes near the pixel. Infinity: it reaches y.
    int nonfinite = 0, changed = 0;
    for (int64_t i = 0; i < plain.numel(); ++i) {
      const float want = plain.data<float>()[i], got = fast.data<float>()[i];
      nonfinite += !std::isfinite(want);
      changed += !(want == clean.data<float>()[i]);
      ASSERT_EQ(std::isnan(got), std::isnan(want)) << bad << ": element " << i << " is " << got << ", want " << want;
      if (!std::isnan(want)) {
        ASSERT_EQ(std::isinf(got), std::isinf(want)) << bad << ": element " << i << " is " << got;
        if (std::isinf(want)) EXPECT_EQ(got, want) << bad << ": element " << i;
        else EXPECT_NEAR(got, want, 1e-4 * (1 + std::fabs(want))) << bad << ": element " << i;
      }
    }
    EXPECT_EQ(nonfinite > 0, std::isinf(bad)) << bad;
    EXPECT_GT(changed, 0) << bad;
    EXPECT_LT(changed, plain.numel() / 4) << bad << ": only the pixel's neighbourhood";
  }
}

// x -> Conv 1x1 + Relu -> A -> Conv 1x1 -> B -> Conv 1x1 -> C; y = Relu(C + A): the last
// convolution fuses the residual A (32 -> 64 -> 32 -> 64 channels, 8x8 pixels). With
// a_is_output, A is a graph output too.
std::shared_ptr<const ir::Graph> residual_block(bool a_is_output) {
  auto g = std::make_shared<ir::Graph>();
  g->opset = 13;
  g->inputs.push_back({"x", DType::kFloat32, true, {1, 32, 8, 8}, {}});
  g->outputs.push_back({"y", DType::kFloat32, true, {1, 64, 8, 8}, {}});
  if (a_is_output) g->outputs.push_back({"A", DType::kFloat32, true, {1, 64, 8, 8}, {}});
  for (const auto& [name, shape] :
       {std::pair<const char*, Shape>{"wa", {64, 32, 1, 1}}, {"wb", {32, 64, 1, 1}}, {"wc", {64, 32, 1, 1}}}) {
    Tensor t(DType::kFloat32, shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = std::sin(1.7f * static_cast<float>(i) + name[1]) * 0.2f;
    g->initializers[name] = t;
  }
  add_node(*g, "Conv", "conv_a", {"x", "wa"}, "a");
  add_node(*g, "Relu", "relu_a", {"a"}, "A");
  add_node(*g, "Conv", "conv_b", {"A", "wb"}, "B");
  add_node(*g, "Conv", "conv_c", {"B", "wc"}, "C");
  add_node(*g, "Add", "add", {"C", "A"}, "s");
  add_node(*g, "Relu", "relu", {"s"}, "y");
  return g;
}

// A block that adds a residual whose value dies there writes its output into the residual's
// buffer (Plan::Step::in_place), with the values of the plan that does not; a residual that
// is also a graph output, or that someone still holds, is left as it was.
TEST(Optimize, ResidualAddedInPlaceWhereItsValueDies) {
  if (!kernels::fast::channels_last_preferred()) GTEST_SKIP() << "no AVX-512 convolutions on this CPU";
  const Tensor x = input_for(*residual_block(false), "");
  const std::string a_cl = passes::channels_last_name("A");
  for (const bool a_is_output : {false, true}) {
    auto g = residual_block(a_is_output);
    const Outcome plain = run(g, x, false), ref = run(g, x, false, nullptr, false);
    runtime::PlanOptions o;
    o.optimize = true;
    auto mp = runtime::build_mixed_plan(g, {{"x", x.shape()}}, nullptr, o);
    ASSERT_TRUE(mp.ok()) << mp.status().message();
    const runtime::Plan& plan = *mp->plan;
    int in_place_steps = 0;
    for (const auto& s : plan.steps()) {
      if (s.in_place < 0) continue;
      ++in_place_steps;
      EXPECT_EQ(s.node->op_type, "FusedConv");
      EXPECT_EQ(s.node->input(static_cast<size_t>(s.in_place)), a_cl);
    }
    EXPECT_EQ(in_place_steps, a_is_output ? 0 : 1) << "A is an output: " << a_is_output;

    for (const bool hold : {false, true}) {
      const std::string what = std::string(a_is_output ? "A an output" : "A dies in the block") +
                               (hold ? ", held by the observer" : "");
      // The observer sees where A and the block's output lie; with hold, it keeps A.
      const void* a_buffer = nullptr;
      const void* y_buffer = nullptr;
      Tensor held, snapshot;
      auto observer = [&](size_t, const ir::Node& node, std::span<const Tensor* const> outs) {
        if (node.outputs[0] == a_cl) {
          a_buffer = outs[0]->raw();
          if (hold) {
            held = *outs[0];
            snapshot = outs[0]->Clone();
          }
        }
        if (node.op_type == "FusedConv" && node.input(3) == a_cl) y_buffer = outs[0]->raw();
      };
      auto out = plan.Run({{"x", x}}, observer);
      ASSERT_TRUE(out.ok()) << out.status().message();
      ASSERT_NE(a_buffer, nullptr);
      ASSERT_NE(y_buffer, nullptr) << "the Add fuses into conv_c";
      EXPECT_EQ(y_buffer == a_buffer, !a_is_output && !hold) << what;
      EXPECT_LE(rel_diff(out->at("y"), plain.out.at("y")), 1e-5) << what;
      EXPECT_LE(rel_diff(out->at("y"), ref.out.at("y")), 1e-5) << what << " vs reference kernels";
      if (a_is_output) {
        EXPECT_LE(rel_diff(out->at("A"), plain.out.at("A")), 1e-5) << what;
      }
      if (hold) {
        ASSERT_EQ(held.nbytes(), snapshot.nbytes());
        EXPECT_EQ(std::memcmp(held.raw(), snapshot.raw(), held.nbytes()), 0) << what << ": A was written";
      }
    }
  }
}

// Element-wise chains written out between convolutions (gen_chain.py): HardSwish, part of a
// GELU, the GELU's product of two values (x * 0.5 times 1 + Erf), and tanh * 2 - 0.5 become
// qscope.EltwiseChain steps that stay channels-last, and the plan's outputs are those of the plan
// without them: within float rounding in FP32 (BatchNorm folding and fusion), bit for bit in INT8
// (the chains' members run the same kernels on the same values either way, INT8 ones reading
// through quantize-dequantize block by block).
TEST(Optimize, ElementwiseChainsBetweenConvolutions) {
  auto g = model("layout/chain_mix.onnx");
  ASSERT_NE(g, nullptr);
  const Tensor x = input_for(*g, "layout/chain_mix.input.npy");
  const Outcome plain = run(g, x, false), fast = run(g, x, true);
  expect_same_outputs(fast, plain, 1e-5, "chain_mix");
  ASSERT_TRUE(fast.ops.count("EltwiseChain"));
  EXPECT_EQ(fast.ops.at("EltwiseChain"), 4);
  runtime::PlanOptions o;
  o.optimize = true;
  auto mp = runtime::build_mixed_plan(g, {{"x", x.shape()}}, nullptr, o);
  ASSERT_TRUE(mp.ok()) << mp.status().message();
  std::set<std::string> chain_outputs;
  for (const auto& s : mp->plan->steps())
    if (s.node->op_type == "EltwiseChain") chain_outputs.insert(s.node->outputs[0]);
  EXPECT_EQ(chain_outputs, (std::set<std::string>{"H::nhwc", "gelu_add::nhwc", "U::nhwc", "T::nhwc"}));

  runtime::PrecisionConfig config;
  config.plan.default_precision = Precision::kInt8;
  config.scales = minmax_scales(g, x);
  const Outcome plain8 = run(g, x, false, &config), fast8 = run(g, x, true, &config);
  // T, after the chains: the same bits. (Not `out`: the plain plan's fast GlobalAveragePool sums
  // in lanes, the channels-last one in the reference's order, and the FC's INT8 input can then
  // round to a neighbouring step.)
  ASSERT_TRUE(fast8.out.count("T") && plain8.out.count("T"));
  EXPECT_EQ(rel_diff(fast8.out.at("T"), plain8.out.at("T")), 0.0);
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
