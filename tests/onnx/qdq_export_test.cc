// The Q/DQ model writer (onnx/qdq_export.h): where the nodes land in the written model, what it
// keeps of the original (names, inputs, outputs, opset raised to 13), that ONNX's checker takes
// it, and the round trip: the exported model run by qscope gives qscope's INT8 result exactly.
#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <set>

#include "onnx/qdq_test_models.h"

namespace qs::testing {
namespace {

namespace fs = std::filesystem;

// max|x| of every float value on one FP32 run (minmax calibration on one input).
std::map<std::string, float> minmax(std::shared_ptr<const ir::Graph> g, const std::map<std::string, Tensor>& in) {
  std::map<std::string, Shape> shapes;
  for (const auto& [n, t] : in) shapes[n] = t.shape();
  auto plan = runtime::Plan::Build(g, shapes);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  std::map<std::string, float> s;
  auto note = [&](const std::string& name, const Tensor& t) {
    if (t.dtype() != DType::kFloat32) return;
    float m = 0.f;
    for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(t.data<float>()[i]));
    if (m > 0.f) s[name] = m / 127.f;
  };
  for (const auto& [n, t] : in) note(n, t);
  auto out = plan->Run(in, [&](size_t, const ir::Node& node, std::span<const Tensor* const> outs) {
    for (size_t i = 0; i < outs.size(); ++i)
      if (outs[i]) note(node.outputs[i], *outs[i]);
  });
  EXPECT_TRUE(out.ok());
  return s;
}

Tensor run(std::shared_ptr<const ir::Graph> g, const std::map<std::string, Tensor>& in,
           std::optional<runtime::PrecisionConfig> config) {
  runtime::Engine e(g, {}, std::move(config));
  auto out = e.Run(in);
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? out->at(g->outputs.front().name) : Tensor();
}

float max_abs(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  float m = 0.f;
  for (int64_t i = 0; i < std::min(a.numel(), b.numel()); ++i)
    m = std::max(m, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
  return m;
}

onnx::ModelProto parse(const std::string& bytes) {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(bytes));
  return m;
}

class QdqExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("qs_qdq_export_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Exports `path` under `plan` with minmax scales, checks the round trip, returns the model.
  onnx::ModelProto round_trip(const std::string& path, const passes::PrecisionPlan& plan, float* bound = nullptr) {
    auto g = app::load_model(path);
    EXPECT_TRUE(g.ok()) << g.status().message();
    std::map<std::string, Tensor> in;
    for (const auto& i : (*g)->inputs) {
      Shape s = i.dims;
      for (auto& d : s) d = d < 0 ? 2 : d;
      in[i.name] = seeded_input(s);
    }
    runtime::PrecisionConfig config{plan, "", minmax(*g, in)};
    std::map<std::string, Shape> shapes;
    for (const auto& [n, t] : in) shapes[n] = t.shape();
    auto e = app::plan_export(*g, shapes, config);
    EXPECT_TRUE(e.ok()) << e.status().message();
    auto bytes = app::qdq_model_bytes(path, *e);
    EXPECT_TRUE(bytes.ok()) << bytes.status().message();
    const std::string out = (dir_ / (fs::path(path).stem().string() + "_qdq.onnx")).string();
    std::ofstream(out, std::ios::binary) << *bytes;

    auto m = app::load_model_qdq(out);
    EXPECT_TRUE(m.ok()) << m.status().message();
    EXPECT_TRUE(m->has_qdq);
    EXPECT_TRUE(m->warnings.empty()) << m->warnings.front();
    // Same inputs and outputs, names and shapes.
    EXPECT_EQ(m->graph->inputs.size(), (*g)->inputs.size());
    for (size_t i = 0; i < (*g)->inputs.size(); ++i) {
      EXPECT_EQ(m->graph->inputs[i].name, (*g)->inputs[i].name);
      EXPECT_EQ(m->graph->inputs[i].dims, (*g)->inputs[i].dims);
    }
    EXPECT_EQ(m->graph->outputs.size(), (*g)->outputs.size());
    for (size_t i = 0; i < (*g)->outputs.size(); ++i) EXPECT_EQ(m->graph->outputs[i].name, (*g)->outputs[i].name);

    const Tensor engine = run(*g, in, config);
    const Tensor again = run(m->float_graph, in, runtime::PrecisionConfig{m->plan, "", m->scales});
    const float d = max_abs(engine, again);
    EXPECT_EQ(d, 0.f) << path << ": the exported model's INT8 run differs from qscope's";
    if (bound) *bound = d;
    // As written (Q/DQ in float, as ONNX Runtime runs it without fusion): float rounding only.
    const Tensor fake = run(m->graph, in, std::nullopt);
    float scale = 0.f;
    for (int64_t i = 0; i < engine.numel(); ++i) scale = std::max(scale, std::fabs(engine.data<float>()[i]));
    EXPECT_LE(max_abs(engine, fake), 1e-4f * std::max(1.f, scale)) << path;
    return parse(*bytes);
  }
  fs::path dir_;
};

std::map<std::string, const onnx::NodeProto*> by_name(const onnx::ModelProto& m) {
  std::map<std::string, const onnx::NodeProto*> r;
  for (const auto& n : m.graph().node()) r[n.name()] = &n;
  return r;
}

TEST_F(QdqExportTest, ConvChainNodesAndChecker) {
  const auto m = round_trip(conv_chain_model(dir_), {Precision::kInt8, {}});
  EXPECT_NO_THROW(onnx::checker::check_model(m));
  auto n = by_name(m);
  ASSERT_TRUE(n.count("x_QuantizeLinear") && n.count("x_DequantizeLinear") && n.count("r1_QuantizeLinear"));
  EXPECT_EQ(n["x_QuantizeLinear"]->input(0), "x");
  EXPECT_EQ(n["conv1"]->input(0), n["x_DequantizeLinear"]->output(0));
  EXPECT_EQ(n["conv1"]->input(1), "conv1.weight_dequantized");
  EXPECT_EQ(n["relu1"]->input(0), "c1");  // inside the block: no Q/DQ
  EXPECT_EQ(n["conv2"]->input(0), n["r1_DequantizeLinear"]->output(0));
  const auto* wdq = n["conv1.weight_DequantizeLinear"];
  ASSERT_NE(wdq, nullptr);
  ASSERT_EQ(wdq->attribute_size(), 1);
  EXPECT_EQ(wdq->attribute(0).name(), "axis");
  EXPECT_EQ(wdq->attribute(0).i(), 0);
  int q = 0, dq = 0;
  for (const auto& node : m.graph().node()) {
    q += node.op_type() == "QuantizeLinear";
    dq += node.op_type() == "DequantizeLinear";
  }
  EXPECT_EQ(q, 2);
  EXPECT_EQ(dq, 4);
  // Zero points are int8 zeros; the float weights are gone.
  std::set<std::string> inits;
  for (const auto& t : m.graph().initializer()) {
    inits.insert(t.name());
    if (t.name().find("zero_point") != std::string::npos) EXPECT_EQ(t.data_type(), onnx::TensorProto::INT8);
  }
  EXPECT_FALSE(inits.count("conv1.W"));
  EXPECT_TRUE(inits.count("conv1.weight_quantized"));
}

TEST_F(QdqExportTest, ResidualBlockFoldsBatchNormAndSharesThePairOfX) {
  const auto m = round_trip(residual_model(dir_), {Precision::kInt8, {}});
  auto n = by_name(m);
  EXPECT_FALSE(n.count("bn_a"));
  EXPECT_FALSE(n.count("bn_b"));
  EXPECT_EQ(n["conv_b"]->output(0), "bb");  // the folded BN's output is the conv's
  EXPECT_EQ(n["conv_b"]->input(2), "conv_b.bias_folded");
  EXPECT_EQ(n["add"]->input(0), "bb");
  EXPECT_EQ(n["add"]->input(1), n["x_DequantizeLinear"]->output(0));
  EXPECT_EQ(n["conv_a"]->input(0), n["x_DequantizeLinear"]->output(0));
  for (const auto& t : m.graph().initializer()) EXPECT_EQ(t.name().rfind("bn_", 0), std::string::npos) << t.name();
}

TEST_F(QdqExportTest, ConcatPoolingDepthwiseRoundTrip) {
  round_trip(concat_model(dir_), {Precision::kInt8, {}});
  round_trip(pooling_model(dir_), {Precision::kInt8, {}});
  const auto m = round_trip(depthwise_model(dir_), {Precision::kInt8, {}});
  auto n = by_name(m);
  ASSERT_TRUE(n.count("ct.weight_DequantizeLinear"));
  EXPECT_EQ(n["ct.weight_DequantizeLinear"]->attribute(0).i(), 1);
}

TEST_F(QdqExportTest, SiluBlockRoundTripsWithNoQdqInside) {
  const auto m = round_trip(silu_model(dir_), {Precision::kInt8, {}});
  auto n = by_name(m);
  EXPECT_EQ(n["sig"]->input(0), "b1");
  EXPECT_EQ(n["silu"]->input(0), "b1");
  EXPECT_EQ(n["silu"]->input(1), "s");
  EXPECT_FALSE(n.count("b1_QuantizeLinear"));
  EXPECT_FALSE(n.count("s_QuantizeLinear"));
  EXPECT_TRUE(n.count("m_QuantizeLinear"));
}

TEST_F(QdqExportTest, DepthwiseConvTransposeWeightsOnAxis0) {
  const auto m = round_trip(grouped_conv_transpose_model(dir_, 4, 1), {Precision::kInt8, {}});
  auto n = by_name(m);
  ASSERT_TRUE(n.count("ct.weight_DequantizeLinear"));
  EXPECT_EQ(n["ct.weight_DequantizeLinear"]->attribute(0).i(), 0);
  EXPECT_TRUE(n.count("c1_QuantizeLinear"));
}

TEST_F(QdqExportTest, FallbackLayerHasNoQdqAround) {
  passes::PrecisionPlan plan{Precision::kInt8, {{"conv2", Precision::kFp32}}};
  const auto m = round_trip(conv_chain_model(dir_), plan);
  auto n = by_name(m);
  EXPECT_EQ(n["conv2"]->input(0), "r1");
  EXPECT_EQ(n["conv2"]->input(1), "conv2.W");
  EXPECT_FALSE(n.count("r1_QuantizeLinear"));
}

TEST_F(QdqExportTest, RaisesOpsetTo13) {
  OnnxBuilder b(11);
  b.input("x", {1, 3, 8, 8});
  b.conv("conv1", "x", "c1", 3, 4);
  b.node("Relu", "", {"c1"}, {"y"});  // unnamed: gets qscope's name
  b.output("y");
  const auto m = round_trip(b.save(dir_ / "opset11.onnx"), {Precision::kInt8, {}});
  for (const auto& op : m.opset_import())
    if (op.domain().empty()) EXPECT_EQ(op.version(), 13);
  EXPECT_TRUE(by_name(m).count("Relu_1"));
}

// ONNX's converter replaces Upsample-9 with a new, unnamed Resize that writes a new tensor; the
// plan names the layer and its output, so the Resize takes both back.
TEST_F(QdqExportTest, ConvertedNodesKeepTheLayerAndTensorNames) {
  OnnxBuilder b(9);
  b.input("x", {1, 3, 8, 8});
  b.conv("conv1", "x", "c1", 3, 4);
  Tensor scales(DType::kFloat32, {4});
  for (int i = 0; i < 4; ++i) scales.data<float>()[i] = i < 2 ? 1.f : 2.f;
  b.tensor("up.scales", scales);
  b.node("Upsample", "up", {"c1", "up.scales"}, {"u"});
  b.conv("conv2", "u", "y", 4, 2);
  b.output("y");
  const auto m = round_trip(b.save(dir_ / "opset9.onnx"), {Precision::kInt8, {}});
  auto n = by_name(m);
  ASSERT_TRUE(n.count("up"));
  EXPECT_EQ(n["up"]->op_type(), "Resize");
  ASSERT_EQ(n["up"]->output_size(), 1);
  EXPECT_EQ(n["up"]->output(0), "u");
  EXPECT_EQ(n["up"]->input(0), "c1_dequantized");
  EXPECT_EQ(n["conv2"]->input(0), "u_dequantized");
  for (const auto& node : m.graph().node()) EXPECT_FALSE(node.name().empty()) << node.op_type();
}

// Opset 10 nodes that ONNX's converter cannot take as they are: a Pad without its optional
// 'value', a Softmax over axis 1 of a 4-D input (the converter needs its shape).
TEST_F(QdqExportTest, ConvertsPadWithoutValueAndSoftmaxOfOpset10) {
  OnnxBuilder b(10);
  b.input("x", {1, 3, 8, 8});
  b.conv("conv1", "x", "c1", 3, 4);
  OnnxBuilder::ints(b.node("Pad", "pad", {"c1"}, {"p"}), "pads", {0, 0, 1, 1, 0, 0, 1, 1});
  OnnxBuilder::ints(b.node("MaxPool", "pool", {"p"}, {"m"}), "kernel_shape", {3, 3});
  OnnxBuilder::int_attr(b.node("Softmax", "softmax", {"m"}, {"s"}), "axis", 1);
  b.conv("conv2", "s", "y", 4, 2);
  b.output("y", {1, 2, 8, 8});
  const auto m = round_trip(b.save(dir_ / "opset10.onnx"), {Precision::kInt8, {}});
  auto n = by_name(m);
  ASSERT_TRUE(n.count("pad"));
  EXPECT_EQ(n["pad"]->output(0), "p");
  EXPECT_EQ(n["pad"]->input(0), "c1_dequantized");
}

// ImageScaler, an experimental op that no opset from 10 on has, leaves as the BatchNormalization
// it equals, under its own name; in an IR 3 model (initializers listed as inputs too), its new
// initializers are not listed as inputs.
TEST_F(QdqExportTest, ImageScalerLeavesAsBatchNormalization) {
  OnnxBuilder b(8);
  b.ir_version(3);
  b.input("x", {1, 3, 8, 8});
  auto* n = b.node("ImageScaler", "scaler", {"x"}, {"s"});
  OnnxBuilder::float_attr(n, "scale", 0.5f);
  OnnxBuilder::floats(n, "bias", {0.1f, -0.2f, 0.3f});
  b.conv("conv1", "s", "y", 3, 4);
  b.input("conv1.W", {4, 3, 3, 3});
  b.input("conv1.B", {4});
  b.output("y", {1, 4, 8, 8});
  const auto m = round_trip(b.save(dir_ / "image_scaler.onnx"), {Precision::kInt8, {}});
  auto nodes = by_name(m);
  ASSERT_TRUE(nodes.count("scaler"));
  EXPECT_EQ(nodes["scaler"]->op_type(), "BatchNormalization");
  EXPECT_EQ(nodes["scaler"]->input(0), "x_dequantized");
  EXPECT_EQ(nodes["scaler"]->output(0), "s");
  for (const auto& in : m.graph().input()) EXPECT_EQ(in.name().rfind("scaler.", 0), std::string::npos) << in.name();

  // Without a bias it scales only: a Mul by the scale.
  OnnxBuilder c(8);
  c.input("x", {1, 3, 8, 8});
  OnnxBuilder::float_attr(c.node("ImageScaler", "scaler", {"x"}, {"s"}), "scale", 0.25f);
  c.conv("conv1", "s", "y", 3, 4);
  c.output("y", {1, 4, 8, 8});
  const auto m2 = round_trip(c.save(dir_ / "image_scaler_no_bias.onnx"), {Precision::kInt8, {}});
  auto nodes2 = by_name(m2);
  ASSERT_TRUE(nodes2.count("scaler"));
  EXPECT_EQ(nodes2["scaler"]->op_type(), "Mul");
  EXPECT_EQ(nodes2["scaler"]->output(0), "s");
}

TEST_F(QdqExportTest, BundledModelsRoundTripExactly) {
  for (const char* name : {"lenet_fmnist", "mobilenet_tiny_fmnist"}) {
    float bound = -1.f;
    const auto m = round_trip(std::string(QS_TEST_DATA_DIR) + "/fmnist/" + name + ".onnx", {Precision::kInt8, {}}, &bound);
    EXPECT_EQ(bound, 0.f) << name;
    EXPECT_NO_THROW(onnx::checker::check_model(m));
  }
  // With fallbacks, as a sweep would leave them (fp32: a Q/DQ model has no FP16 layers).
  round_trip(std::string(QS_TEST_DATA_DIR) + "/fmnist/mobilenet_tiny_fmnist.onnx",
             {Precision::kInt8, {{"b3.dw", Precision::kFp32}, {"b3.add", Precision::kFp32}, {"fc", Precision::kFp32}}});
}

TEST_F(QdqExportTest, ErrorsNameTheFileAndNode) {
  const std::string path = conv_chain_model(dir_);
  onnx_io::QdqPlan plan;
  plan.activations.push_back({"x", "nope", 0, 0.1f});
  auto r = onnx_io::export_qdq_model(path, plan);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("node 'nope'"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
  plan.activations = {{"c1", "conv1", 0, 0.1f}};
  r = onnx_io::export_qdq_model(path, plan);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("input 0 is not 'c1'"), std::string::npos) << r.status().message();
  EXPECT_FALSE(onnx_io::export_qdq_model((dir_ / "missing.onnx").string(), {}).ok());
}

}  // namespace
}  // namespace qs::testing
