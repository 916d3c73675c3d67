// Where the Q/DQ export puts its nodes (passes/qdq_plan.h), on small graphs: which tensor each
// activation Q/DQ quantizes, for which reader and input, with which scale; the weights' axis,
// per-channel scales and folded BatchNormalization.
#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "kernels/reference/int8.h"
#include "onnx/qdq_test_models.h"
#include "passes/qdq_plan.h"

namespace qs::testing {
namespace {

namespace fs = std::filesystem;

struct Lowering {
  std::shared_ptr<const ir::Graph> graph;
  std::unique_ptr<runtime::Plan> fp32;
  std::map<std::string, float> scales;
  onnx_io::QdqPlan qdq;
};

class QdqPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("qs_qdq_plan_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Lowering lower(const std::string& path, const passes::PrecisionPlan& plan = int8()) {
    Lowering l;
    auto g = app::load_model(path);
    EXPECT_TRUE(g.ok()) << g.status().message();
    l.graph = *g;
    auto shapes = app::declared_shapes(*l.graph, path);
    auto fp32 = runtime::Plan::Build(l.graph, *shapes);
    EXPECT_TRUE(fp32.ok()) << fp32.status().message();
    l.fp32 = std::make_unique<runtime::Plan>(std::move(fp32).value());
    l.scales = distinct_scales(*l.fp32);
    const auto view = runtime::graph_view(*l.fp32);
    auto lowered = passes::lower_precision(view, plan, l.scales);
    EXPECT_TRUE(lowered.ok()) << lowered.status().message();
    auto q = passes::make_qdq_plan(view, *lowered);
    EXPECT_TRUE(q.ok()) << q.status().message();
    l.qdq = std::move(q).value();
    return l;
  }
  static passes::PrecisionPlan int8() { return {Precision::kInt8, {}}; }

  // (tensor, consumer, input, scale) of every activation Q/DQ.
  using Act = std::tuple<std::string, std::string, int, float>;
  static std::set<Act> acts(const Lowering& l) {
    std::set<Act> s;
    for (const auto& a : l.qdq.activations) s.insert({a.tensor, a.consumer, a.input, a.scale});
    return s;
  }
  static const onnx_io::QdqWeight* weight(const Lowering& l, const std::string& consumer) {
    for (const auto& w : l.qdq.weights)
      if (w.consumer == consumer) return &w;
    return nullptr;
  }
  fs::path dir_;
};

TEST_F(QdqPlanTest, ConvChain) {
  auto l = lower(conv_chain_model(dir_));
  // conv1+relu1 is one block: nothing between them; conv2 reads relu1's output.
  EXPECT_EQ(acts(l), (std::set<Act>{{"x", "conv1", 0, l.scales["x"]}, {"r1", "conv2", 0, l.scales["r1"]}}));
  ASSERT_EQ(l.qdq.weights.size(), 2u);
  const auto* w = weight(l, "conv1");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->input, 1);
  EXPECT_EQ(w->axis, 0);
  EXPECT_EQ(w->values.dtype(), DType::kInt8);
  EXPECT_EQ(w->values.shape(), (Shape{4, 3, 3, 3}));
  EXPECT_TRUE(w->folded_node.empty());
  EXPECT_FALSE(w->bias.has_value());
  // The scales are quantize_weights_s8's: max|W_k| / 127, and each channel reaches +-127.
  const Tensor& W = l.graph->initializers.at("conv1.W");
  std::vector<int8_t> q(static_cast<size_t>(W.numel()));
  std::vector<float> s(4);
  kernels::ref::quantize_weights_s8(W.data<float>(), W.shape(), 0, q.data(), s.data());
  EXPECT_EQ(w->scales, s);
  EXPECT_EQ(std::vector<int8_t>(w->values.data<int8_t>(), w->values.data<int8_t>() + w->values.numel()), q);
}

TEST_F(QdqPlanTest, ResidualBlockQuantizesOnlyTheResidualInputOfTheAdd) {
  auto l = lower(residual_model(dir_));
  EXPECT_EQ(acts(l), (std::set<Act>{{"x", "conv_a", 0, l.scales["x"]},
                                    {"a", "conv_b", 0, l.scales["a"]},
                                    {"x", "add", 1, l.scales["x"]}}));
  for (const char* c : {"conv_a", "conv_b"}) {
    const auto* w = weight(l, c);
    ASSERT_NE(w, nullptr) << c;
    EXPECT_EQ(w->folded_node, std::string(c) == "conv_a" ? "bn_a" : "bn_b");
    ASSERT_TRUE(w->bias.has_value());
    EXPECT_EQ(w->bias->shape(), (Shape{4}));
  }
}

TEST_F(QdqPlanTest, SiluJoinsTheInt8BlockOnlyWhenThePlanAgrees) {
  // All INT8: the Sigmoid and the Mul are the block's epilogue; nothing is quantized between
  // the convolutions but the block's output.
  Lowering l = lower(silu_model(dir_));
  EXPECT_EQ(acts(l), (std::set<Act>{{"x", "conv1", 0, l.scales["x"]}, {"m", "conv2", 0, l.scales["m"]}}));
  // The Sigmoid asked for FP32: no SiLU block; the Mul runs INT8 alone and reads both its inputs
  // quantized, the conv block's output and the Sigmoid's.
  passes::PrecisionPlan plan = int8();
  plan.layers["sig"] = Precision::kFp32;
  l = lower(silu_model(dir_), plan);
  EXPECT_EQ(acts(l), (std::set<Act>{{"x", "conv1", 0, l.scales["x"]},
                                    {"b1", "silu", 0, l.scales["b1"]},
                                    {"s", "silu", 1, l.scales["s"]},
                                    {"m", "conv2", 0, l.scales["m"]}}));
}

TEST_F(QdqPlanTest, GroupedConvTransposeStaysFp32UnlessDepthwise) {
  // Two groups of two output channels: the per-channel scales are on no axis of the weights,
  // so the layer runs FP32 and the export has nothing around it.
  Lowering l = lower(grouped_conv_transpose_model(dir_, 2, 2));
  EXPECT_EQ(acts(l), (std::set<Act>{{"x", "conv1", 0, l.scales["x"]}}));
  ASSERT_EQ(l.qdq.weights.size(), 1u);
  EXPECT_EQ(l.qdq.weights[0].consumer, "conv1");
  // Depthwise (one input and one output channel a group): INT8, scales along axis 0.
  l = lower(grouped_conv_transpose_model(dir_, 4, 1));
  EXPECT_EQ(acts(l), (std::set<Act>{{"x", "conv1", 0, l.scales["x"]}, {"c1", "ct", 0, l.scales["c1"]}}));
  const auto* ct = weight(l, "ct");
  ASSERT_NE(ct, nullptr);
  EXPECT_EQ(ct->axis, 0);
  EXPECT_EQ(ct->scales.size(), 4u);
}

TEST_F(QdqPlanTest, ConcatInputsUseTheOutputScale) {
  auto l = lower(concat_model(dir_));
  const float s = l.scales["cat_out"];
  EXPECT_EQ(acts(l), (std::set<Act>{{"x", "conv1", 0, l.scales["x"]},
                                    {"x", "conv2", 0, l.scales["x"]},
                                    {"c1", "cat", 0, s},
                                    {"c2", "cat", 1, s},
                                    {"cat_out", "conv3", 0, s}}));
}

TEST_F(QdqPlanTest, PoolingOutputKeepsItsInputScale) {
  auto l = lower(pooling_model(dir_));
  const float r1 = l.scales["r1"];
  EXPECT_EQ(acts(l), (std::set<Act>{{"x", "conv1", 0, l.scales["x"]},
                                    {"r1", "pool", 0, r1},
                                    {"p", "conv2", 0, r1},
                                    {"c2", "gap", 0, l.scales["c2"]},
                                    {"g", "flatten", 0, l.scales["c2"]},
                                    {"f", "fc", 0, l.scales["f"]}}));
  const auto* fc = weight(l, "fc");
  ASSERT_NE(fc, nullptr);
  EXPECT_EQ(fc->axis, 0);  // transB: B is [N, K]
  EXPECT_EQ(fc->scales.size(), 3u);
}

TEST_F(QdqPlanTest, DepthwiseAndConvTranspose) {
  auto l = lower(depthwise_model(dir_));
  EXPECT_EQ(acts(l), (std::set<Act>{{"x", "dw", 0, l.scales["x"]},
                                    {"dr", "pw", 0, l.scales["dr"]},
                                    {"pc", "ct", 0, l.scales["pc"]}}));
  const auto* dw = weight(l, "dw");
  ASSERT_NE(dw, nullptr);
  EXPECT_EQ(dw->axis, 0);
  EXPECT_EQ(dw->scales.size(), 4u);  // one per output channel, also for group = 4
  EXPECT_EQ(dw->folded_node, "dw_bn");
  const auto* ct = weight(l, "ct");
  ASSERT_NE(ct, nullptr);
  EXPECT_EQ(ct->axis, 1);  // ConvTranspose weights [C_in, C_out, k, k]
  EXPECT_EQ(ct->scales.size(), 2u);
}

TEST_F(QdqPlanTest, FallbackLayersGetNothingAround) {
  passes::PrecisionPlan plan = int8();
  plan.layers["conv2"] = Precision::kFp32;
  auto l = lower(conv_chain_model(dir_), plan);
  EXPECT_EQ(acts(l), (std::set<Act>{{"x", "conv1", 0, l.scales["x"]}}));
  ASSERT_EQ(l.qdq.weights.size(), 1u);
  EXPECT_EQ(l.qdq.weights[0].consumer, "conv1");
}

}  // namespace
}  // namespace qs::testing
