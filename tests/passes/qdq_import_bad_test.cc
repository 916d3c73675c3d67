// Q/DQ models with bad quantization parameters: the import (or the plan after it) gives an
// error that names the node, never a crash. Cases listed in docs/robustness.md.
#include <gtest/gtest.h>

#include "passes/ir_node.h"
#include "passes/qdq_import.h"
#include "runtime/plan.h"

namespace qs::passes {
namespace {

using qs::testing::node;

// x [1,1,1,4] -> Q -> DQ -> Conv 1x1 with weights DQ(wq, ws, wz, axis) -> y.
ir::Graph model(Tensor ws, Tensor wz, int64_t axis, Tensor sx) {
  ir::Graph g;
  g.opset = 13;
  g.inputs.push_back({"x", DType::kFloat32, true, {1, 1, 1, 4}, {}});
  g.outputs.push_back({"y", DType::kFloat32, false, {}, {}});
  g.initializers["sx"] = std::move(sx);
  g.initializers["zx"] = Tensor::Scalar<int8_t>(0);
  g.initializers["wq"] = Tensor::FromVector<int8_t>({2, 1, 1, 1}, std::vector<int8_t>{127, -127});
  g.initializers["ws"] = std::move(ws);
  g.initializers["wz"] = std::move(wz);
  g.nodes.push_back(node("QuantizeLinear", "q_x", {"x", "sx", "zx"}, {"xq"}));
  g.nodes.push_back(node("DequantizeLinear", "dq_x", {"xq", "sx", "zx"}, {"xd"}));
  auto dqw = node("DequantizeLinear", "dq_w", {"wq", "ws", "wz"}, {"W"});
  dqw.attrs["axis"] = ir::Attribute::Int(axis);
  g.nodes.push_back(dqw);
  auto conv = node("Conv", "conv", {"xd", "W"}, {"y"});
  conv.attrs["kernel_shape"] = ir::Attribute::Ints({1, 1});
  g.nodes.push_back(conv);
  for (size_t i = 0; i < g.nodes.size(); ++i) g.nodes[i].index = static_cast<int>(i);
  return g;
}

const Tensor kScales = Tensor::FromVector<float>({2}, std::vector<float>{0.01f, 0.02f});
const Tensor kZeros = Tensor::FromVector<int8_t>({2}, std::vector<int8_t>{0, 0});

// The import, then the plan of the imported graph: the first error, or "" when both succeed.
std::string first_error(const ir::Graph& g) {
  auto imp = import_qdq(g);
  if (!imp.ok()) return imp.status().message();
  auto graph = std::make_shared<const ir::Graph>(imp->graph);
  runtime::PrecisionConfig config{imp->plan, "", imp->scales};
  auto plan = runtime::build_mixed_plan(graph, {{"x", {1, 1, 1, 4}}}, &config);
  return plan.ok() ? "" : plan.status().message();
}

TEST(QdqImportBad, GoodModelImports) { EXPECT_EQ(first_error(model(kScales, kZeros, 0, Tensor::Scalar<float>(0.5f))), ""); }

TEST(QdqImportBad, AxisOutOfRange) {
  const std::string e = first_error(model(kScales, kZeros, 7, Tensor::Scalar<float>(0.5f)));
  EXPECT_NE(e.find("dq_w"), std::string::npos) << e;
  EXPECT_NE(e.find("axis"), std::string::npos) << e;
}

TEST(QdqImportBad, ScaleCountDoesNotMatchTheAxis) {
  const std::string e = first_error(model(Tensor::FromVector<float>({3}, std::vector<float>{0.01f, 0.02f, 0.03f}),
                                          Tensor::FromVector<int8_t>({3}, std::vector<int8_t>{0, 0, 0}), 0,
                                          Tensor::Scalar<float>(0.5f)));
  EXPECT_NE(e.find("dq_w"), std::string::npos) << e;
  EXPECT_NE(e.find("3"), std::string::npos) << e;
}

TEST(QdqImportBad, ZeroPointCountDoesNotMatchTheScales) {
  const std::string e = first_error(model(kScales, Tensor::FromVector<int8_t>({1}, std::vector<int8_t>{0}), 0,
                                          Tensor::Scalar<float>(0.5f)));
  EXPECT_NE(e, "");
  EXPECT_NE(e.find("dq_w"), std::string::npos) << e;
}

TEST(QdqImportBad, NonPositiveOrNanActivationScaleDoesNotCrash) {
  // ONNX leaves such scales undefined; qscope imports the model (the outputs may be Inf/NaN,
  // which the sweep reports as NaN) and must not crash.
  for (float s : {0.0f, -1.0f, std::nanf("")}) (void)first_error(model(kScales, kZeros, 0, Tensor::Scalar<float>(s)));
}

}  // namespace
}  // namespace qs::passes
