// Reshape, Flatten, Squeeze, Unsqueeze and Identity run as views (ops::ViewKernel): the output
// shares its input's buffer. These tests check that the planner hands such kernels no buffer of
// its own, that views keep their values when the plan runs again (its buffers are pooled and
// reused) and that the FP16 and INT8 wrappers work around them.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "runtime/plan.h"

namespace qs {
namespace {

ir::Node node(const std::string& op, std::vector<std::string> in, std::string out) {
  ir::Node n;
  n.op_type = op;
  n.name = out + "_node";
  n.inputs = std::move(in);
  n.outputs = {std::move(out)};
  return n;
}

// x [8, 64, 64] -> Relu -> r -> Reshape [512, 64] -> v -> Flatten -> f -> Unsqueeze(0) -> u
//   -> Squeeze(0) -> s -> Identity -> i -> Neg -> y; every value a graph output. 128 KiB
// values, so their buffers go through the buffer pool.
std::shared_ptr<const ir::Graph> chain() {
  auto g = std::make_shared<ir::Graph>();
  g->opset = 13;
  g->inputs.push_back({"x", DType::kFloat32, true, {8, 64, 64}, {}});
  for (const char* o : {"r", "v", "f", "u", "s", "i", "y"}) g->outputs.push_back({o, DType::kFloat32, false, {}, {}});
  g->initializers["shape"] = Tensor::FromVector<int64_t>({2}, std::vector<int64_t>{512, 64});
  g->initializers["axes"] = Tensor::FromVector<int64_t>({1}, std::vector<int64_t>{0});
  g->nodes.push_back(node("Relu", {"x"}, "r"));
  g->nodes.push_back(node("Reshape", {"r", "shape"}, "v"));
  g->nodes.push_back(node("Flatten", {"v"}, "f"));
  g->nodes.push_back(node("Unsqueeze", {"f", "axes"}, "u"));
  g->nodes.push_back(node("Squeeze", {"u", "axes"}, "s"));
  g->nodes.push_back(node("Identity", {"s"}, "i"));
  g->nodes.push_back(node("Neg", {"i"}, "y"));
  return g;
}

Tensor input(float offset) {
  Tensor x(DType::kFloat32, {8, 64, 64});
  for (int64_t k = 0; k < x.numel(); ++k) x.data<float>()[k] = std::sin(0.9f * static_cast<float>(k)) * 3.f + offset;
  return x;
}

std::map<std::string, Tensor> run(const runtime::Plan& plan, const Tensor& x) {
  auto out = plan.Run({{"x", x}});
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? *out : std::map<std::string, Tensor>{};
}

TEST(ViewKernels, ShareTheInputBufferWithTheOutputShape) {
  auto plan = runtime::Plan::Build(chain(), {{"x", {8, 64, 64}}});
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  const Tensor x = input(0.f);
  const auto out = run(*plan, x);
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(out.at("v").shape(), (Shape{512, 64}));
  EXPECT_EQ(out.at("f").shape(), (Shape{512, 64}));
  EXPECT_EQ(out.at("u").shape(), (Shape{1, 512, 64}));
  EXPECT_EQ(out.at("s").shape(), (Shape{512, 64}));
  EXPECT_EQ(out.at("i").shape(), (Shape{512, 64}));
  const Tensor& r = out.at("r");
  for (const char* name : {"v", "f", "u", "s", "i"}) EXPECT_EQ(out.at(name).raw(), r.raw()) << name;
  const Tensor& y = out.at("y");
  EXPECT_NE(y.raw(), r.raw());
  for (int64_t k = 0; k < r.numel(); ++k) {
    EXPECT_EQ(r.data<float>()[k], std::max(0.f, x.data<float>()[k]));
    EXPECT_EQ(y.data<float>()[k], -r.data<float>()[k]);
  }
}

// A second run takes its buffers from the pool the first run's released values went to; the
// views the caller still holds from the first run must keep their values.
TEST(ViewKernels, HeldViewsSurviveTheNextRun) {
  auto plan = runtime::Plan::Build(chain(), {{"x", {8, 64, 64}}});
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  const Tensor x1 = input(0.f);
  std::map<std::string, Tensor> first = run(*plan, x1);
  const Tensor v1 = first.at("v");
  const Tensor expected = v1.Clone();
  first.clear();  // only the view is held now
  for (int k = 0; k < 3; ++k) run(*plan, input(10.f + static_cast<float>(k)));
  for (int64_t k = 0; k < v1.numel(); ++k) EXPECT_EQ(v1.data<float>()[k], expected.data<float>()[k]) << k;
}

// FP16 and INT8 layers run their kernels inside wrappers that round or quantize the inputs;
// a view inside them must give the rounded (or fake-quantized) values, with the output shape.
TEST(ViewKernels, RunInsideTheFp16AndInt8Wrappers) {
  const Tensor x = input(0.f);
  for (Precision p : {Precision::kFp16, Precision::kInt8}) {
    runtime::PrecisionConfig config;
    config.plan.default_precision = p;
    for (const char* t : {"x", "r", "v", "f", "u", "s", "i"}) config.scales[t] = 3.f / 127.f;
    runtime::Engine engine(chain(), {}, config);
    auto out = engine.Run({{"x", x}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    const Tensor& r = out->at("r");
    const Tensor& y = out->at("y");
    EXPECT_EQ(out->at("s").shape(), (Shape{512, 64}));
    for (int64_t k = 0; k < r.numel(); ++k) {
      const float want = std::max(0.f, x.data<float>()[k]);
      EXPECT_NEAR(r.data<float>()[k], want, p == Precision::kFp16 ? 4e-3 : 3.f / 127.f) << k;
      EXPECT_NEAR(out->at("i").data<float>()[k], r.data<float>()[k], p == Precision::kFp16 ? 0 : 3.f / 127.f) << k;
      EXPECT_NEAR(y.data<float>()[k], -r.data<float>()[k], p == Precision::kFp16 ? 0 : 3.f / 127.f) << k;
    }
  }
}

}  // namespace
}  // namespace qs
