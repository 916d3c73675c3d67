// Element-wise chains (passes/eltwise_chain.h, ops/eltwise_chain.cc) through the optimized plan:
// which layers a chain takes and where it stops, and that the chained plan computes exactly
// what the plan without chains computes (the members' own kernels on blocks of the tensor).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>

#include "passes/ir_node.h"
#include "runtime/plan.h"

namespace qs {
namespace {

using qs::testing::node;

// x [3, 50, 70] (10500 values: two full blocks of 4096 and a shorter one):
//   GELU written out:  d = x / sqrt2; e = Erf(d); a = e + 1; m = x * a; gelu = m * 0.5
//   then SiLU:         s = Sigmoid(gelu); silu = gelu * s            (gelu has two readers)
//   a bias of [70]:    biased = silu + bias                          (not a scalar)
//   then               r = Relu(biased); out = r * 2 (r is also a graph output)
std::shared_ptr<ir::Graph> model() {
  auto g = std::make_shared<ir::Graph>();
  g->opset = 17;
  g->inputs.push_back({"x", DType::kFloat32, true, {3, 50, 70}, {}});
  g->outputs.push_back({"out", DType::kFloat32, false, {}, {}});
  g->outputs.push_back({"r", DType::kFloat32, false, {}, {}});
  g->initializers["sqrt2"] = Tensor::Scalar<float>(std::sqrt(2.f));
  g->initializers["one"] = Tensor::Scalar<float>(1.f);
  g->initializers["half"] = Tensor::FromVector<float>({1}, std::vector<float>{0.5f});
  g->initializers["two"] = Tensor::Scalar<float>(2.f);
  std::vector<float> bias(70);
  for (size_t i = 0; i < bias.size(); ++i) bias[i] = 0.01f * static_cast<float>(i);
  g->initializers["bias"] = Tensor::FromVector<float>({70}, bias);
  g->nodes = {node("Div", "div", {"x", "sqrt2"}, {"d"}),       node("Erf", "erf", {"d"}, {"e"}),
              node("Add", "add", {"e", "one"}, {"a"}),         node("Mul", "mul", {"x", "a"}, {"m"}),
              node("Mul", "mul_half", {"m", "half"}, {"gelu"}), node("Sigmoid", "sig", {"gelu"}, {"s"}),
              node("Mul", "silu", {"gelu", "s"}, {"silu"}),     node("Add", "bias_add", {"silu", "bias"}, {"biased"}),
              node("Relu", "relu", {"biased"}, {"r"}),          node("Mul", "double", {"r", "two"}, {"out"})};
  return g;
}

Tensor input() {
  Tensor x(DType::kFloat32, {3, 50, 70});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = 4.f * std::sin(0.013f * static_cast<float>(i * i % 977));
  return x;
}

struct Outcome {
  std::map<std::string, Tensor> out;
  std::vector<std::string> chains;  // the "chain" attribute of each EltwiseChain step
  std::vector<std::string> steps;   // every step's node name
};

Outcome run(std::shared_ptr<const ir::Graph> g, bool optimize, const runtime::PrecisionConfig* config = nullptr) {
  runtime::PlanOptions o;
  o.optimize = optimize;
  auto mp = runtime::build_mixed_plan(g, {{"x", {3, 50, 70}}}, config, o);
  EXPECT_TRUE(mp.ok()) << mp.status().message();
  Outcome r;
  if (!mp.ok()) return r;
  for (const auto& s : mp->plan->steps()) {
    r.steps.push_back(s.node->name);
    if (s.node->op_type == "EltwiseChain") r.chains.push_back(*s.node->attr_string("chain", ""));
  }
  auto out = mp->plan->Run({{"x", input()}});
  EXPECT_TRUE(out.ok()) << out.status().message();
  if (out.ok()) r.out = *out;
  return r;
}

void expect_identical(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << what;
}

TEST(EltwiseChain, TakesSingleReaderFp32LayersWithScalarOperands) {
  const Outcome plain = run(model(), false);
  const Outcome chained = run(model(), true);
  // GELU up to gelu (it has two readers); sigmoid and silu (reading gelu, the chain's X); the
  // bias Add of a [70] vector stays; Relu alone (its output is a graph output) then Mul.
  ASSERT_EQ(chained.chains.size(), 2u);
  EXPECT_EQ(chained.chains[0], "div,erf,add,mul,mul_half");
  EXPECT_EQ(chained.chains[1], "sig,silu");
  EXPECT_EQ(chained.steps, (std::vector<std::string>{"mul_half", "silu", "bias_add", "relu", "double"}));
  EXPECT_EQ(plain.steps.size(), 10u);
  for (const char* name : {"out", "r"}) expect_identical(chained.out.at(name), plain.out.at(name), name);
}

// A layer that runs INT8 (here the Add, quantize-dequantize on what it reads) or FP16 is not
// chained: its wrapper rounds what it reads. Chains form around it: Div and Erf before it; the
// Mul after it reads two variable values (x and the Add's output), so it starts no chain.
TEST(EltwiseChain, LeavesInt8AndFp16LayersAlone) {
  for (Precision p : {Precision::kInt8, Precision::kFp16}) {
    runtime::PrecisionConfig config;
    config.plan.layers["add"] = p;
    config.scales = {{"e", 1.f / 127.f}};
    const Outcome plain = run(model(), false, &config);
    const Outcome chained = run(model(), true, &config);
    ASSERT_EQ(chained.chains.size(), 2u) << precision_name(p);
    EXPECT_EQ(chained.chains[0], "div,erf") << precision_name(p);
    EXPECT_EQ(chained.chains[1], "sig,silu") << precision_name(p);
    EXPECT_EQ(chained.steps, (std::vector<std::string>{"erf", "add", "mul", "mul_half", "silu", "bias_add", "relu",
                                                       "double"}))
        << precision_name(p);
    for (const char* name : {"out", "r"}) expect_identical(chained.out.at(name), plain.out.at(name), name);
  }
}

}  // namespace
}  // namespace qs
