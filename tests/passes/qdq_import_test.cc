// The Q/DQ import (passes/qdq_import.h): a hand-made Q/DQ model whose INT8 result is computed
// by hand runs with qscope's integer kernels and the model's own scales; uint8 zero point 128
// is int8; pairs that cannot be INT8 stay as fake quantization with ONNX's result.
#include <gtest/gtest.h>

#include "passes/ir_node.h"
#include "passes/qdq_import.h"
#include "runtime/plan.h"

namespace qs::passes {
namespace {

using qs::testing::node;

// x [1,1,1,4] -> Q(s_x, zp) -> DQ -> Conv 1x1 (W = DQ(int8 [127, -127], scales [0.01, 0.02],
// axis 0), B = [0.5, -0.25]) -> Relu -> y [1,2,1,4].
ir::Graph hand_made(DType act_type, int64_t zp, float sx = 0.5f) {
  ir::Graph g;
  g.opset = 13;
  g.inputs.push_back({"x", DType::kFloat32, true, {1, 1, 1, 4}, {}});
  g.outputs.push_back({"y", DType::kFloat32, false, {}, {}});
  g.initializers["sx"] = Tensor::Scalar<float>(sx);
  if (act_type == DType::kInt8) g.initializers["zx"] = Tensor::Scalar<int8_t>(static_cast<int8_t>(zp));
  else g.initializers["zx"] = Tensor::Scalar<uint8_t>(static_cast<uint8_t>(zp));
  g.initializers["wq"] = Tensor::FromVector<int8_t>({2, 1, 1, 1}, std::vector<int8_t>{127, -127});
  g.initializers["ws"] = Tensor::FromVector<float>({2}, std::vector<float>{0.01f, 0.02f});
  g.initializers["wz"] = Tensor::FromVector<int8_t>({2}, std::vector<int8_t>{0, 0});
  g.initializers["B"] = Tensor::FromVector<float>({2}, std::vector<float>{0.5f, -0.25f});
  g.nodes.push_back(node("QuantizeLinear", "q_x", {"x", "sx", "zx"}, {"xq"}));
  g.nodes.push_back(node("DequantizeLinear", "dq_x", {"xq", "sx", "zx"}, {"xd"}));
  auto dqw = node("DequantizeLinear", "dq_w", {"wq", "ws", "wz"}, {"W"});
  dqw.attrs["axis"] = ir::Attribute::Int(0);
  g.nodes.push_back(dqw);
  auto conv = node("Conv", "conv", {"xd", "W", "B"}, {"c"});
  conv.attrs["kernel_shape"] = ir::Attribute::Ints({1, 1});
  g.nodes.push_back(conv);
  g.nodes.push_back(node("Relu", "relu", {"c"}, {"y"}));
  for (size_t i = 0; i < g.nodes.size(); ++i) g.nodes[i].index = static_cast<int>(i);
  return g;
}

const Tensor kX = Tensor::FromVector<float>({1, 1, 1, 4}, std::vector<float>{0.25f, 0.75f, -1.2f, 100.f});

// By hand: q_x = clamp(round_half_even(x / 0.5)) = [0 (0.5 rounds to even), 2 (1.5), -2, 127];
// y_c = relu(q_x * q_w[c] * 0.5 * s_w[c] + B[c]).
//   c = 0: q_x * 127 * 0.005 + 0.5   = [0.5, 1.77, -0.77 -> 0, 81.145]
//   c = 1: q_x * -127 * 0.01 - 0.25  = [0 (-0.25), 0 (-2.79), 2.29, 0]
const std::vector<float> kExpected = {0.5f, 1.77f, 0.f, 81.145f, 0.f, 0.f, 2.29f, 0.f};

struct Ran {
  Tensor y;
  std::vector<std::string> impls;  // kernel of each INT8 step
};

Ran run(const QdqImport& imp) {
  runtime::PrecisionConfig config{imp.plan, "", imp.scales};
  runtime::Engine e(std::make_shared<ir::Graph>(imp.graph), {}, config);
  auto plan = e.PlanFor({{"x", kX}});
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  Ran r;
  for (const auto& s : (*plan)->plan->steps())
    if (s.precision == Precision::kInt8) r.impls.push_back(std::string(s.kernel->impl()));
  auto out = (*plan)->plan->Run({{"x", kX}});
  EXPECT_TRUE(out.ok());
  r.y = out->at("y");
  return r;
}

void expect_hand_result(const Tensor& y) {
  ASSERT_EQ(y.numel(), 8);
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(y.data<float>()[i], kExpected[static_cast<size_t>(i)], 1e-4f) << i;
}

TEST(QdqImport, HandMadeModelRunsInt8WithItsOwnScales) {
  const ir::Graph g = hand_made(DType::kInt8, 0);
  ASSERT_TRUE(has_qdq_nodes(g));
  auto imp = import_qdq(g);
  ASSERT_TRUE(imp.ok()) << imp.status().message();
  EXPECT_FALSE(has_qdq_nodes(imp->graph));
  EXPECT_EQ(imp->absorbed_pairs, 1);
  EXPECT_EQ(imp->folded_constants, 1);
  EXPECT_TRUE(imp->warnings.empty());
  EXPECT_EQ(imp->scales, (std::map<std::string, float>{{"x", 0.5f}}));
  EXPECT_EQ(imp->plan.default_precision, Precision::kFp32);
  EXPECT_EQ(imp->plan.layers, (std::map<std::string, Precision>{{"conv", Precision::kInt8}, {"relu", Precision::kInt8}}));
  EXPECT_EQ(imp->graph.nodes.front().input(0), "x");
  const Tensor& w = imp->graph.initializers.at("W");
  EXPECT_FLOAT_EQ(w.data<float>()[0], 1.27f);
  EXPECT_FLOAT_EQ(w.data<float>()[1], -2.54f);
  Ran r = run(*imp);
  EXPECT_EQ(r.impls.size(), 1u);  // conv + relu: one block
  ASSERT_FALSE(r.impls.empty());
  EXPECT_TRUE(r.impls[0].ends_with("-s8")) << r.impls[0];
  expect_hand_result(r.y);
  // The model as written (Q/DQ ops in float) gives the same numbers.
  runtime::Engine fake(std::make_shared<ir::Graph>(g));
  auto out = fake.Run({{"x", kX}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  expect_hand_result(out->at("y"));
}

TEST(QdqImport, Uint8ZeroPoint128IsInt8) {
  auto imp = import_qdq(hand_made(DType::kUInt8, 128));
  ASSERT_TRUE(imp.ok());
  EXPECT_EQ(imp->absorbed_pairs, 1);
  EXPECT_TRUE(imp->warnings.empty());
  EXPECT_EQ(imp->scales.at("x"), 0.5f);
  expect_hand_result(run(*imp).y);
}

TEST(QdqImport, AsymmetricUint8MapsToTheSymmetricRangeWithAWarning) {
  auto imp = import_qdq(hand_made(DType::kUInt8, 0, 0.5f));
  ASSERT_TRUE(imp.ok());
  EXPECT_EQ(imp->absorbed_pairs, 1);
  EXPECT_FLOAT_EQ(imp->scales.at("x"), 0.5f * 255.f / 127.f);
  ASSERT_EQ(imp->warnings.size(), 1u);
  EXPECT_NE(imp->warnings[0].find("asymmetric"), std::string::npos);
  // Without the mapping the pair stays: fake quantization, exactly ONNX's numbers.
  QdqImportOptions o;
  o.map_asymmetric = false;
  auto kept = import_qdq(hand_made(DType::kUInt8, 0, 0.5f), o);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->absorbed_pairs, 0);
  EXPECT_EQ(kept->kept_nodes, 2);
  EXPECT_TRUE(kept->plan.layers.empty());
}

// g's activation pair stays in the imported graph as fake quantization (nothing runs INT8), and
// the import gives the model's own numbers on x exactly.
void expect_kept_as_fake_quant(const ir::Graph& g, const Tensor& x, int64_t outputs) {
  auto imp = import_qdq(g);
  ASSERT_TRUE(imp.ok()) << imp.status().message();
  EXPECT_EQ(imp->absorbed_pairs, 0);
  EXPECT_EQ(imp->kept_nodes, 2);
  EXPECT_TRUE(imp->plan.layers.empty());
  runtime::Engine a(std::make_shared<ir::Graph>(g)), b(std::make_shared<ir::Graph>(imp->graph));
  auto ya = a.Run({{"x", x}}), yb = b.Run({{"x", x}});
  ASSERT_TRUE(ya.ok() && yb.ok());
  ASSERT_EQ(ya->at("y").numel(), outputs);
  for (int64_t i = 0; i < outputs; ++i) EXPECT_EQ(ya->at("y").data<float>()[i], yb->at("y").data<float>()[i]) << i;
}

TEST(QdqImport, Int8ZeroPointNotZeroStaysFakeQuant) { expect_kept_as_fake_quant(hand_made(DType::kInt8, 3), kX, 8); }

// x [1,4,1,1] -> Q/DQ -> ConvTranspose with `group` groups (W = DQ(int8 [4, 4 / group, 1, 1],
// one scale)): two groups of two output channels have per-channel scales on no axis of the
// weights, so qscope runs them in float and the pair stays, giving ONNX's numbers exactly;
// depthwise (four groups of one) runs INT8.
ir::Graph grouped_conv_transpose(int64_t group) {
  ir::Graph g;
  g.opset = 13;
  g.inputs.push_back({"x", DType::kFloat32, true, {1, 4, 1, 1}, {}});
  g.outputs.push_back({"y", DType::kFloat32, false, {}, {}});
  g.initializers["sx"] = Tensor::Scalar<float>(0.5f);
  g.initializers["zx"] = Tensor::Scalar<int8_t>(0);
  const int64_t per = 4 / group;
  std::vector<int8_t> q(static_cast<size_t>(4 * per));
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<int8_t>(i % 2 ? -127 : 127 - 20 * static_cast<int>(i));
  g.initializers["wq"] = Tensor::FromVector<int8_t>({4, per, 1, 1}, q);
  g.initializers["ws"] = Tensor::Scalar<float>(0.01f);
  g.initializers["wz"] = Tensor::Scalar<int8_t>(0);
  g.nodes.push_back(node("QuantizeLinear", "q_x", {"x", "sx", "zx"}, {"xq"}));
  g.nodes.push_back(node("DequantizeLinear", "dq_x", {"xq", "sx", "zx"}, {"xd"}));
  g.nodes.push_back(node("DequantizeLinear", "dq_w", {"wq", "ws", "wz"}, {"W"}));
  auto ct = node("ConvTranspose", "ct", {"xd", "W"}, {"y"});
  ct.attrs["kernel_shape"] = ir::Attribute::Ints({1, 1});
  ct.attrs["group"] = ir::Attribute::Int(group);
  g.nodes.push_back(ct);
  for (size_t i = 0; i < g.nodes.size(); ++i) g.nodes[i].index = static_cast<int>(i);
  return g;
}

TEST(QdqImport, GroupedConvTransposeRunsInt8OnlyWhenDepthwise) {
  const Tensor x = Tensor::FromVector<float>({1, 4, 1, 1}, std::vector<float>{0.25f, 0.75f, -1.2f, 100.f});
  expect_kept_as_fake_quant(grouped_conv_transpose(2), x, 4);
  auto dw = import_qdq(grouped_conv_transpose(4));
  ASSERT_TRUE(dw.ok()) << dw.status().message();
  EXPECT_EQ(dw->absorbed_pairs, 1);
  EXPECT_EQ(dw->plan.layers, (std::map<std::string, Precision>{{"ct", Precision::kInt8}}));
}

TEST(QdqImport, WeightsNotAtFullRangeWarn) {
  ir::Graph g = hand_made(DType::kInt8, 0);
  g.initializers["wq"] = Tensor::FromVector<int8_t>({2, 1, 1, 1}, std::vector<int8_t>{127, -64});
  auto imp = import_qdq(g);
  ASSERT_TRUE(imp.ok());
  ASSERT_EQ(imp->warnings.size(), 1u);
  EXPECT_NE(imp->warnings[0].find("node 'conv' (Conv)"), std::string::npos) << imp->warnings[0];
}

TEST(QdqImport, DqQWithEqualScalesCancel) {
  // x -> Q -> DQ -> Q -> DQ -> conv: the middle DQ -> Q cancels, one pair is left and absorbed.
  ir::Graph g = hand_made(DType::kInt8, 0);
  g.nodes[1].outputs = {"xd0"};
  g.nodes.insert(g.nodes.begin() + 2, node("QuantizeLinear", "q_again", {"xd0", "sx", "zx"}, {"xq2"}));
  g.nodes.insert(g.nodes.begin() + 3, node("DequantizeLinear", "dq_again", {"xq2", "sx", "zx"}, {"xd"}));
  for (size_t i = 0; i < g.nodes.size(); ++i) g.nodes[i].index = static_cast<int>(i);
  auto imp = import_qdq(g);
  ASSERT_TRUE(imp.ok()) << imp.status().message();
  EXPECT_FALSE(has_qdq_nodes(imp->graph));
  expect_hand_result(run(*imp).y);
}

}  // namespace
}  // namespace qs::passes
