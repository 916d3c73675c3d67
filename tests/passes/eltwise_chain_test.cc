// Element-wise chains (passes/eltwise_chain.h, ops/eltwise_chain.cc) through the optimized plan:
// which layers a chain takes and where it stops, and that the chained plan computes exactly
// what the plan without chains computes (the members' own kernels on blocks of the tensor).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>

#include "passes/ir_node.h"
#include "runtime/activation_cache.h"
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

// An INT8 layer (quantize-dequantize on the variable values it reads) joins a chain, which
// quantizes each block as it reads it: here the Add (reading e), the Mul (x and a) and the last
// Mul (m), each value with a scale of its own. An FP16 layer rounds its output too and is not
// chained: chains form around it (Div and Erf before it; the Mul after it, reading x and the
// Add's output, and the Mul by 0.5).
TEST(EltwiseChain, Int8LayersJoinChainsFp16LayersStayAlone) {
  const Outcome fp32 = run(model(), false);
  for (Precision p : {Precision::kInt8, Precision::kFp16}) {
    runtime::PrecisionConfig config;
    config.plan.layers["add"] = p;
    if (p == Precision::kInt8) config.plan.layers["mul"] = config.plan.layers["mul_half"] = p;
    config.scales = {{"e", 1.f / 127.f}, {"a", 2.f / 127.f}, {"x", 4.f / 127.f}, {"m", 0.07f}};
    const Outcome plain = run(model(), false, &config);
    const Outcome chained = run(model(), true, &config);
    if (p == Precision::kInt8) {
      EXPECT_EQ(chained.chains, (std::vector<std::string>{"div,erf,add,mul,mul_half", "sig,silu"}));
      EXPECT_EQ(chained.steps, (std::vector<std::string>{"mul_half", "silu", "bias_add", "relu", "double"}));
    } else {
      EXPECT_EQ(chained.chains, (std::vector<std::string>{"div,erf", "mul,mul_half", "sig,silu"}));
      EXPECT_EQ(chained.steps, (std::vector<std::string>{"erf", "add", "mul_half", "silu", "bias_add", "relu", "double"}));
    }
    for (const char* name : {"out", "r"}) {
      expect_identical(chained.out.at(name), plain.out.at(name), name);
      // The precision changed the numbers (else the check above would hold for any reads).
      EXPECT_NE(std::memcmp(chained.out.at(name).raw(), fp32.out.at(name).raw(), fp32.out.at(name).nbytes()), 0)
          << precision_name(p) << " " << name;
    }
  }
}

// The chain of the GELU's five layers computes other values when its Add and Muls run INT8: plans
// that share a kernel cache and an activation cache (as a sweep's steps do) must not take one
// chain's kernel or values for the other's (the chain's scales are part of its signature).
TEST(EltwiseChain, ChainsOfOtherPrecisionsShareNoCachedKernelOrValue) {
  runtime::PrecisionConfig fp32, int8;
  int8.plan.layers["add"] = int8.plan.layers["mul"] = int8.plan.layers["mul_half"] = Precision::kInt8;
  int8.scales = {{"e", 1.f / 127.f}, {"a", 2.f / 127.f}, {"x", 4.f / 127.f}, {"m", 0.07f}};
  runtime::KernelCache kernels;
  runtime::ActivationCache values(int64_t{1} << 30);
  std::map<std::string, Tensor> shared[2], alone[2];
  std::string chain[2];
  for (int i = 0; i < 2; ++i) {
    const runtime::PrecisionConfig* config = i == 0 ? &fp32 : &int8;
    for (bool with_caches : {true, false}) {
      runtime::PlanOptions o;
      o.optimize = true;
      if (with_caches) o.kernels = &kernels;
      auto mp = runtime::build_mixed_plan(model(), {{"x", {3, 50, 70}}}, config, o);
      ASSERT_TRUE(mp.ok()) << mp.status().message();
      for (const auto& s : mp->plan->steps())
        if (s.node->name == "mul_half") chain[i] = *s.node->attr_string("chain", "");
      runtime::RunOptions r;
      if (with_caches) {
        r.cache = &values;
        r.cache_everything = true;
      }
      auto out = mp->plan->Run({{"x", input()}}, r);
      ASSERT_TRUE(out.ok()) << out.status().message();
      (with_caches ? shared : alone)[i] = *out;
    }
  }
  EXPECT_EQ(chain[0], "div,erf,add,mul,mul_half");
  EXPECT_EQ(chain[1], chain[0]);
  for (const char* name : {"out", "r"}) {
    expect_identical(shared[1].at(name), alone[1].at(name), name);
    EXPECT_NE(std::memcmp(alone[1].at(name).raw(), alone[0].at(name).raw(), alone[0].at(name).nbytes()), 0) << name;
  }
}

// Random element-wise graphs: every op a chain may hold, scalar constants of rank 0 to 4 (rank 4
// broadcasts the value to one more dimension, which chains must leave alone), values with several readers,
// binary ops of two values, graph outputs in the middle, and random INT8 / FP16 layers (a scale of
// its own for each value; INT8 layers join chains, FP16 ones do not). The
// optimized plan (chains) must give every output bit for bit as the plan without chains. The
// tensor (14700 values) is small enough that no kernel splits it over threads, so the vector and
// scalar parts of each kernel fall at the same positions in both plans.
TEST(EltwiseChain, RandomGraphsMatchThePlanWithoutChains) {
  const std::vector<std::string> unary = {"Relu", "Sigmoid", "Tanh", "HardSwish", "Softplus", "Softsign", "Abs",
                                          "Neg",  "Exp",     "Erf",  "Sqrt",      "Log",      "Floor",    "Sin",
                                          "Elu",  "LeakyRelu", "HardSigmoid", "Mish", "Reciprocal"};
  const std::vector<std::string> binary = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow"};
  const Shape shape{3, 7, 700};
  int chains_seen = 0, int8_chains_seen = 0, two_value_chains_seen = 0;
  size_t longest = 0;
  for (uint32_t seed = 1; seed <= 80; ++seed) {
    std::mt19937 gen(seed);
    auto pick = [&](size_t n) { return static_cast<size_t>(gen() % n); };
    auto g = std::make_shared<ir::Graph>();
    g->opset = 17;
    g->inputs.push_back({"x", DType::kFloat32, true, shape, {}});
    std::vector<std::string> values = {"x"};
    std::vector<std::string> outputs;
    const int nodes = 6 + static_cast<int>(pick(10));
    for (int i = 0; i < nodes; ++i) {
      const std::string out = "v" + std::to_string(i);
      // Mostly the newest value, so that chains form; sometimes an older one (more readers).
      const std::string& in = pick(4) ? values.back() : values[pick(values.size())];
      ir::Node n;
      n.name = "n" + std::to_string(i);
      n.outputs = {out};
      if (pick(2)) {
        n.op_type = unary[pick(unary.size())];
        n.inputs = {in};
      } else {
        n.op_type = binary[pick(binary.size())];
        std::string other;
        if (pick(3) == 0) {
          other = values[pick(values.size())];
        } else {
          other = "c" + std::to_string(i);
          const size_t rank = pick(5);  // rank 4: broadcasts the value to one more dimension
          const float v = n.op_type == "Pow" ? 2.f : 0.25f + static_cast<float>(pick(16)) * 0.125f;
          g->initializers[other] = Tensor::FromVector<float>(Shape(rank, 1), std::vector<float>{v});
        }
        n.inputs = pick(2) ? std::vector<std::string>{in, other} : std::vector<std::string>{other, in};
        if (n.op_type == "Pow") n.inputs = {in, other};  // a value base
      }
      g->nodes.push_back(n);
      values.push_back(out);
      if (pick(5) == 0) outputs.push_back(out);
    }
    if (g->nodes.empty()) continue;
    outputs.push_back(values.back());
    for (const auto& o : outputs) g->outputs.push_back({o, DType::kFloat32, false, {}, {}});

    runtime::PrecisionConfig config;
    const bool mixed = seed % 2 == 0;
    if (mixed) {
      for (const auto& n : g->nodes)
        if (pick(3) == 0) config.plan.layers[n.name] = pick(3) ? Precision::kInt8 : Precision::kFp16;
      for (const auto& v : values) config.scales[v] = 0.01f * static_cast<float>(1 + pick(8));
    }
    Tensor x(DType::kFloat32, shape);
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = 3.f * std::sin(0.37f * static_cast<float>(i % 1013)) + 0.5f;
    std::map<std::string, Tensor> results[2];
    for (int optimize = 0; optimize < 2; ++optimize) {
      runtime::PlanOptions o;
      o.optimize = optimize == 1;
      auto mp = runtime::build_mixed_plan(g, {{"x", shape}}, mixed ? &config : nullptr, o);
      ASSERT_TRUE(mp.ok()) << "seed " << seed << ": " << mp.status().message();
      if (optimize)
        for (const auto& s : mp->plan->steps())
          if (s.node->op_type == "EltwiseChain") {
            ++chains_seen;
            longest = std::max(longest, s.node->attrs.at("members").strings.size());
            if (s.node->attrs.count("scales")) ++int8_chains_seen;
            for (size_t k = 1; k < s.node->inputs.size(); ++k)
              if (!g->initializers.count(s.node->inputs[k])) {
                ++two_value_chains_seen;
                break;
              }
          }
      auto out = mp->plan->Run({{"x", x}});
      ASSERT_TRUE(out.ok()) << "seed " << seed << ": " << out.status().message();
      results[optimize] = *out;
    }
    for (const auto& [name, t] : results[0]) {
      ASSERT_TRUE(results[1].count(name)) << "seed " << seed << " output " << name;
      const Tensor& c = results[1].at(name);
      ASSERT_EQ(c.shape(), t.shape()) << "seed " << seed << " output " << name;
      EXPECT_EQ(std::memcmp(c.raw(), t.raw(), t.nbytes()), 0) << "seed " << seed << " output " << name;
    }
  }
  // The graphs must exercise the chains: long ones, ones with INT8 members, ones that read two
  // values.
  EXPECT_GE(chains_seen, 40);
  EXPECT_GE(int8_chains_seen, 8);
  EXPECT_GE(two_value_chains_seen, 20);
  EXPECT_GE(longest, 4u);
}

}  // namespace
}  // namespace qs
