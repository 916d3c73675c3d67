// The bundled trained Fashion-MNIST models: qscope's FP32 outputs against the outputs
// ONNX Runtime recorded (tests/data/fmnist/PROVENANCE.md), through every input path.
#include <gtest/gtest.h>

#include <cmath>

#include "app/inputs.h"
#include "app/model.h"
#include "io/npy.h"
#include "runtime/plan.h"

namespace qs {
namespace {

const std::string kData = std::string(QS_TEST_DATA_DIR) + "/fmnist";

Tensor load_npy(const std::string& rel) {
  auto t = io::read_npy(kData + "/" + rel);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? *t : Tensor();
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double m = 0;
  for (int64_t i = 0; i < std::min(a.numel(), b.numel()); ++i)
    m = std::max(m, std::fabs(a.GetAsDouble(i) - b.GetAsDouble(i)));
  return m;
}

struct ModelCase {
  const char* name;
  bool fast;
};

class RealModelTest : public ::testing::TestWithParam<ModelCase> {};

TEST_P(RealModelTest, MatchesOnnxRuntimeReference) {
  const auto& c = GetParam();
  auto g = app::load_model(kData + "/" + c.name + ".onnx");
  ASSERT_TRUE(g.ok()) << g.status().message();
  runtime::PlanOptions opt;
  opt.kernel.use_fast = c.fast;
  runtime::Engine engine(*g, opt);
  const Tensor input = load_npy("ref/fmnist_test_0-7.input.npy");
  const Tensor want = load_npy(std::string("ref/") + c.name + ".prob.npy");
  auto out = engine.Run({{"data", input}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  const Tensor& prob = out->at("prob");
  ASSERT_EQ(prob.shape(), (Shape{8, 10}));
  // Softmax probabilities: float32 arithmetic in another summation order differs by ~1e-7.
  EXPECT_LT(max_abs_diff(prob, want), 2e-5);
  // Same top-1 class for every image.
  for (int64_t r = 0; r < 8; ++r) {
    auto argmax = [&](const Tensor& t) {
      int64_t best = 0;
      for (int64_t k = 1; k < 10; ++k)
        if (t.GetAsDouble(r * 10 + k) > t.GetAsDouble(r * 10 + best)) best = k;
      return best;
    };
    EXPECT_EQ(argmax(prob), argmax(want)) << "image " << r;
  }
}

TEST_P(RealModelTest, ImagesGiveTheSameOutputsAsTheNormalizedArray) {
  const auto& c = GetParam();
  auto g = app::load_model(kData + "/" + c.name + ".onnx");
  ASSERT_TRUE(g.ok()) << g.status().message();
  app::InputOptions opt;
  opt.image.mean = {0.2860f};
  opt.image.std = {0.3530f};
  const Tensor want = load_npy(std::string("ref/") + c.name + ".prob.npy");
  runtime::Engine engine(*g);
  for (const char* ext : {"pgm", "png"}) {
    auto sets = app::resolve_inputs(**g, {kData + "/images/test2_trouser." + ext}, opt);
    ASSERT_TRUE(sets.ok()) << sets.status().message();
    ASSERT_EQ(sets->size(), 1u);
    EXPECT_EQ(sets->front().tensors.at("data").shape(), (Shape{1, 1, 28, 28}));
    auto out = engine.Run(sets->front().tensors);
    ASSERT_TRUE(out.ok()) << out.status().message();
    const Tensor& prob = out->at("prob");
    for (int64_t k = 0; k < 10; ++k) EXPECT_NEAR(prob.GetAsDouble(k), want.GetAsDouble(2 * 10 + k), 1e-4) << ext;
  }
}

INSTANTIATE_TEST_SUITE_P(Fmnist, RealModelTest,
                         ::testing::Values(ModelCase{"lenet_fmnist", true}, ModelCase{"lenet_fmnist", false},
                                           ModelCase{"mobilenet_tiny_fmnist", true},
                                           ModelCase{"mobilenet_tiny_fmnist", false}),
                         [](const auto& info) {
                           return std::string(info.param.name) + (info.param.fast ? "_fast" : "_reference");
                         });

TEST(InputsTest, FolderExpandsToSortedFilesAndMakesOneRunPerFile) {
  auto g = app::load_model(kData + "/lenet_fmnist.onnx");
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto sets = app::resolve_inputs(**g, {kData + "/images"}, {});
  ASSERT_TRUE(sets.ok()) << sets.status().message();
  ASSERT_EQ(sets->size(), 16u);  // 8 .pgm + 8 .png
  EXPECT_EQ(sets->front().stem, "test0_boot");
}

TEST(InputsTest, UnknownInputNameIsAUsageError) {
  auto g = app::load_model(kData + "/lenet_fmnist.onnx");
  ASSERT_TRUE(g.ok());
  auto sets = app::resolve_inputs(**g, {"nosuch=" + kData + "/images/test0_boot.pgm"}, {});
  ASSERT_FALSE(sets.ok());
  EXPECT_EQ(sets.status().kind(), ErrorKind::kUsage);
  EXPECT_NE(sets.status().message().find("no input named 'nosuch'"), std::string::npos) << sets.status().message();
}

TEST(InputsTest, WrongShapeNamesTheInput) {
  auto g = app::load_model(kData + "/lenet_fmnist.onnx");
  ASSERT_TRUE(g.ok());
  runtime::Engine engine(*g);
  auto out = engine.Run({{"data", Tensor(DType::kFloat32, {1, 1, 27, 28})}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("input 'data' has shape [1,1,27,28]"), std::string::npos)
      << out.status().message();
}

}  // namespace
}  // namespace qs
