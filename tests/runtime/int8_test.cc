// INT8 and FP16 execution by the rules of INT8.md, on the bundled trained models and on
// generated models with a planted fault (tests/data/planted/gen_planted.py).
#include <gtest/gtest.h>

#include <cmath>

#include "app/model.h"
#include "io/npy.h"
#include "quant/minmax.h"
#include "core/half.h"
#include "runtime/plan.h"

namespace qs {
namespace {

const std::string kData = QS_TEST_DATA_DIR;

Tensor npy(const std::string& rel) {
  auto t = io::read_npy(kData + "/" + rel);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? *t : Tensor();
}

double cosine(const Tensor& a, const Tensor& b) {
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double x = a.GetAsDouble(i), y = b.GetAsDouble(i);
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / std::sqrt(aa * bb);
}

std::shared_ptr<const ir::Graph> model(const std::string& rel) {
  auto g = app::load_model(kData + "/" + rel);
  EXPECT_TRUE(g.ok()) << g.status().message();
  return *g;
}

std::map<std::string, float> minmax_scales(std::shared_ptr<const ir::Graph> g, const std::vector<Tensor>& inputs) {
  runtime::Engine fp32(g);
  quant::MinMaxObserver obs;
  for (const auto& t : inputs) EXPECT_TRUE(obs.Observe(fp32, {{g->inputs[0].name, t}}).ok());
  return obs.ToCache().scales;
}

struct Outcome {
  Tensor out;
  int int8_layers = 0, int8_steps = 0, integer_steps = 0;
};

Outcome run(std::shared_ptr<const ir::Graph> g, const Tensor& input, runtime::PrecisionConfig config, bool fast = true) {
  runtime::PlanOptions opt;
  opt.kernel.use_fast = fast;
  runtime::Engine engine(g, opt, config);
  const std::map<std::string, Tensor> in{{g->inputs[0].name, input}};
  auto plan = engine.PlanFor(in);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  Outcome o;
  if (!plan.ok()) return o;
  for (const auto& l : (*plan)->lowered->layers) o.int8_layers += l.actual == Precision::kInt8;
  for (const auto& s : (*plan)->plan->steps()) {
    o.int8_steps += s.precision == Precision::kInt8;
    o.integer_steps += s.kernel->impl().ends_with("-s8");
  }
  auto out = (*plan)->plan->Run(in);
  EXPECT_TRUE(out.ok()) << out.status().message();
  if (out.ok()) o.out = out->at(g->outputs[0].name);
  return o;
}

runtime::PrecisionConfig all(Precision p, std::map<std::string, float> scales = {}) {
  runtime::PrecisionConfig c;
  c.plan.default_precision = p;
  c.scales = std::move(scales);
  return c;
}

// The trained models in INT8 with MinMax ranges from the 8 reference images: each image's
// class probabilities stay within cosine 0.99 of FP32. (Per-tensor symmetric INT8 keeps about
// 7 bits over the range; 20 layers of such noise on a well-conditioned classifier cost well
// under 1% of the output direction; a wrong scale or a missing requantization costs far more.)
class TrainedModelInt8 : public ::testing::TestWithParam<const char*> {};

TEST_P(TrainedModelInt8, CloseToFp32AndEveryConvAndGemmRunsIntegerKernels) {
  auto g = model(std::string("fmnist/") + GetParam() + ".onnx");
  const Tensor batch = npy("fmnist/ref/fmnist_test_0-7.input.npy");
  std::vector<Tensor> images;
  for (int64_t i = 0; i < 8; ++i) {
    Tensor t(DType::kFloat32, {1, 1, 28, 28});
    std::copy_n(batch.data<float>() + i * 784, 784, t.data<float>());
    images.push_back(t);
  }
  const auto scales = minmax_scales(g, images);
  int heads = 0;
  for (const auto& n : g->nodes) heads += n.op_type == "Conv" || n.op_type == "Gemm";
  for (const Tensor& img : images) {
    const Outcome fp32 = run(g, img, all(Precision::kFp32));
    const Outcome int8 = run(g, img, all(Precision::kInt8, scales));
    EXPECT_GT(cosine(fp32.out, int8.out), 0.99);
    EXPECT_EQ(int8.integer_steps, heads) << "every Conv and Gemm block runs int8 x int8 -> int32";
    EXPECT_EQ(int8.int8_layers, static_cast<int>(g->nodes.size()) - 1) << "all but Softmax";
    // The oneDNN and reference integer paths give the same int32 accumulators, so the same output.
    const Outcome ref = run(g, img, all(Precision::kInt8, scales), false);
    for (int64_t k = 0; k < int8.out.numel(); ++k)
      EXPECT_NEAR(int8.out.GetAsDouble(k), ref.out.GetAsDouble(k), 1e-6);
  }
}

INSTANTIATE_TEST_SUITE_P(Fmnist, TrainedModelInt8, ::testing::Values("lenet_fmnist", "mobilenet_tiny_fmnist"));

TEST(Int8Test, PlantedOutlierHurtsOnlyWhenItsReaderRunsInt8) {
  for (const char* name : {"planted_conv1", "planted_conv2"}) {
    SCOPED_TRACE(name);
    auto clean = model("planted/clean.onnx");
    auto g = model(std::string("planted/") + name + ".onnx");
    const std::string reader = std::string(name) == "planted_conv1" ? "conv2" : "conv3";
    std::vector<Tensor> inputs;
    for (int i = 0; i < 4; ++i) inputs.push_back(npy("planted/input" + std::to_string(i) + ".npy"));
    const auto scales = minmax_scales(g, inputs);
    for (const Tensor& x : inputs) {
      const Outcome fp32 = run(g, x, all(Precision::kFp32));
      EXPECT_GT(cosine(fp32.out, run(clean, x, all(Precision::kFp32)).out), 0.99999) << "the plant keeps FP32";
      const Outcome int8 = run(g, x, all(Precision::kInt8, scales));
      runtime::PrecisionConfig spare = all(Precision::kInt8, scales);
      spare.plan.layers[reader] = Precision::kFp32;
      const Outcome int8_but_reader = run(g, x, spare);
      EXPECT_LT(cosine(fp32.out, int8.out), 0.98) << "INT8 of the planted tensor hurts badly";
      EXPECT_GT(cosine(fp32.out, int8_but_reader.out), 0.999) << "every other layer in INT8 costs almost nothing";
    }
  }
}

TEST(Int8Test, MissingRangeKeepsTheLayerInFp32AndSaysWhy) {
  auto g = model("planted/clean.onnx");
  auto scales = minmax_scales(g, {npy("planted/input0.npy")});
  scales.erase("relu1.out");
  runtime::Engine engine(g, {}, all(Precision::kInt8, scales));
  auto plan = engine.PlanFor({{"data", npy("planted/input0.npy")}});
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  bool found = false;
  for (const auto& l : (*plan)->lowered->layers) {
    if (l.name != "conv2") continue;
    found = true;
    EXPECT_EQ(l.actual, Precision::kFp32);
    EXPECT_EQ(l.reason, "no INT8 range for tensor 'relu1.out'");
  }
  EXPECT_TRUE(found);
}

TEST(Int8Test, UnknownPlanLayerIsAnError) {
  auto g = model("planted/clean.onnx");
  runtime::PrecisionConfig c = all(Precision::kInt8, minmax_scales(g, {npy("planted/input0.npy")}));
  c.plan.layers["nosuch"] = Precision::kFp32;
  c.plan_name = "p.json";
  runtime::Engine engine(g, {}, c);
  auto plan = engine.PlanFor({{"data", npy("planted/input0.npy")}});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().message(), "plan 'p.json': layer 'nosuch' is not in the model");
}

TEST(Fp16Test, RoundsAtLayerBoundariesAndStaysClose) {
  auto g = model("fmnist/mobilenet_tiny_fmnist.onnx");
  const Tensor batch = npy("fmnist/ref/fmnist_test_0-7.input.npy");
  const Outcome fp32 = run(g, batch, all(Precision::kFp32));
  const Outcome fp16 = run(g, batch, all(Precision::kFp16));
  EXPECT_GT(cosine(fp32.out, fp16.out), 0.9999);
  bool differs = false;
  for (int64_t k = 0; k < fp32.out.numel(); ++k) {
    differs |= fp32.out.GetAsDouble(k) != fp16.out.GetAsDouble(k);
    // Every output value is a half-precision number.
    const float v = fp16.out.data<float>()[k];
    EXPECT_EQ(v, round_to_half(v));
  }
  EXPECT_TRUE(differs) << "FP16 must change something";
}


// oneDNN kernels copy constant weights when the plan is built: an FP16 layer's must be the
// rounded ones, as the reference kernels read them. With FP32 weights in oneDNN the outputs
// were 1e-3 apart on this model; float summation order alone moves them by about 1e-6.
TEST(Fp16Test, FastKernelsUseTheRoundedWeights) {
  auto g = model("fmnist/mobilenet_tiny_fmnist.onnx");
  const Tensor batch = npy("fmnist/ref/fmnist_test_0-7.input.npy");
  const Outcome fast = run(g, batch, all(Precision::kFp16), true);
  const Outcome ref = run(g, batch, all(Precision::kFp16), false);
  ASSERT_EQ(fast.out.numel(), ref.out.numel());
  double max_diff = 0;
  for (int64_t k = 0; k < ref.out.numel(); ++k)
    max_diff = std::max(max_diff, std::fabs(fast.out.GetAsDouble(k) - ref.out.GetAsDouble(k)));
  EXPECT_LT(max_diff, 1e-4);
}

// A layer's shapes do not depend on its precision: Resize's scales size its output from their
// float values, not from their half-precision roundings (0.73 is 0.72998 in half: 100 * 0.73 = 73
// pixels, the rounded scale would give 72).
TEST(Fp16Test, ResizeScalesAreNotRounded) {
  auto g = std::make_shared<ir::Graph>();
  g->opset = 13;
  g->inputs.push_back({"x", DType::kFloat32, true, {1, 1, 100, 100}, {}});
  g->outputs.push_back({"y", DType::kFloat32, false, {}, {}});
  g->initializers["scales"] = Tensor::FromVector<float>({4}, std::vector<float>{1.f, 1.f, 0.73f, 0.73f});
  ir::Node n;
  n.op_type = "Resize";
  n.name = "resize";
  n.inputs = {"x", "", "scales"};
  n.outputs = {"y"};
  g->nodes.push_back(n);
  Tensor x(DType::kFloat32, {1, 1, 100, 100});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i % 97) * 0.25f;
  const Outcome fp32 = run(g, x, all(Precision::kFp32));
  const Outcome fp16 = run(g, x, all(Precision::kFp16));
  EXPECT_EQ(fp32.out.shape(), (Shape{1, 1, 73, 73}));
  EXPECT_EQ(fp16.out.shape(), fp32.out.shape());
}

}  // namespace
}  // namespace qs
