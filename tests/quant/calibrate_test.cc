// The calibration driver on a bundled model: every float activation of the unfused graph gets
// a range under the model's tensor name, MinMax agrees with the existing observer bit for bit,
// batching does not change MinMax, and the batch reader splits [N,...] files correctly.
#include "quant/calibrate.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "app/batches.h"
#include "app/model.h"
#include "io/npy.h"
#include "quant/minmax.h"

namespace qs::quant {
namespace {

namespace fs = std::filesystem;
const std::string kData = std::string(QS_TEST_DATA_DIR) + "/fmnist";
const std::string kRef = kData + "/ref/fmnist_test_0-7.input.npy";

std::shared_ptr<const ir::Graph> load(const std::string& name) {
  auto g = app::load_model(kData + "/" + name);
  EXPECT_TRUE(g.ok()) << g.status().message();
  return *g;
}

CalibResult calibrate(std::shared_ptr<const ir::Graph> g, CalibMethod m, int64_t batch) {
  CalibrateOptions o;
  o.method = m;
  Calibrator c(g, o);
  auto reader = app::BatchReader::Open(*g, {kRef}, {}, batch);
  EXPECT_TRUE(reader.ok()) << reader.status().message();
  app::Batch b;
  for (;;) {
    auto more = reader->Next(&b);
    EXPECT_TRUE(more.ok()) << more.status().message();
    if (!more.ok() || !*more) break;
    EXPECT_TRUE(c.AddBatch(b.tensors).ok());
  }
  return c.Finish();
}

TEST(CalibrateTest, EveryActivationOfTheUnfusedGraphHasARange) {
  for (const char* model : {"lenet_fmnist.onnx", "mobilenet_tiny_fmnist.onnx"}) {
    auto g = load(model);
    const CalibResult r = calibrate(g, CalibMethod::kEntropy, 3);
    EXPECT_EQ(r.cache.algorithm, "EntropyCalibration2");
    EXPECT_EQ(r.batches, 3);  // 8 samples in batches of 3
    EXPECT_TRUE(r.zero_tensors.empty());
    runtime::Engine e(g);
    auto input = io::read_npy(kRef);
    ASSERT_TRUE(input.ok());
    auto plan = e.PlanFor({{"data", *input}});
    ASSERT_TRUE(plan.ok());
    EXPECT_TRUE(tensors_missing_from(*(*plan)->plan, r.cache.scales).empty()) << model;
    for (const auto& step : (*plan)->plan->steps())
      for (const auto& o : step.node->outputs) EXPECT_TRUE(r.cache.scales.count(o)) << model << ": " << o;
    EXPECT_TRUE(r.cache.scales.count("data"));
    for (const auto& [name, s] : r.cache.scales) EXPECT_GT(s, 0.f) << name;
  }
}

TEST(CalibrateTest, MinMaxAgreesWithTheObserverBitForBitWhateverTheBatching) {
  auto g = load("mobilenet_tiny_fmnist.onnx");
  runtime::Engine e(g);
  MinMaxObserver obs;
  auto input = io::read_npy(kRef);
  ASSERT_TRUE(input.ok());
  ASSERT_TRUE(obs.Observe(e, {{"data", *input}}).ok());
  const CalibCache want = obs.ToCache();
  for (int64_t batch : {1, 3, 8, 100}) {
    const CalibResult r = calibrate(g, CalibMethod::kMinMax, batch);
    EXPECT_EQ(r.cache.algorithm, "MinMaxCalibration");
    ASSERT_EQ(r.cache.scales.size(), want.scales.size()) << batch;
    for (const auto& [name, s] : want.scales) {
      uint32_t a, b;
      std::memcpy(&a, &s, 4);
      std::memcpy(&b, &r.cache.scales.at(name), 4);
      EXPECT_EQ(a, b) << name << " batch " << batch;
    }
  }
}

TEST(CalibrateTest, MethodNames) {
  EXPECT_EQ(parse_calib_method("mse"), CalibMethod::kMse);
  EXPECT_FALSE(parse_calib_method("kl").has_value());
  EXPECT_EQ(calib_algorithm_name(CalibMethod::kPercentile), "Percentile");
  EXPECT_EQ(calib_algorithm_name(CalibMethod::kMse), "MSE");
  auto g = load("lenet_fmnist.onnx");
  for (CalibMethod m : {CalibMethod::kPercentile, CalibMethod::kMse}) {
    const CalibResult r = calibrate(g, m, 8);
    EXPECT_EQ(r.cache.scales.size(), 10u);
  }
}

TEST(CalibrateTest, MissingTensorsAreListedInStepOrder) {
  auto g = load("lenet_fmnist.onnx");
  const CalibResult r = calibrate(g, CalibMethod::kMinMax, 8);
  auto scales = r.cache.scales;
  scales.erase("conv2");
  scales.erase("data");
  runtime::Engine e(g);
  auto input = io::read_npy(kRef);
  ASSERT_TRUE(input.ok());
  auto plan = e.PlanFor({{"data", *input}});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(tensors_missing_from(*(*plan)->plan, scales), (std::vector<std::string>{"data", "conv2"}));
}

class BatchReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("qs_batches_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(BatchReaderTest, SplitsFilesAlongTheBatchAxisAndAcrossFiles) {
  auto g = load("lenet_fmnist.onnx");
  auto all = io::read_npy(kRef);
  ASSERT_TRUE(all.ok());
  // The same 8 images as a file of 5 and one of 3.
  const size_t row = all->nbytes() / 8;
  Tensor a(DType::kFloat32, {5, 1, 28, 28}), b(DType::kFloat32, {3, 1, 28, 28});
  std::memcpy(a.raw(), all->raw(), 5 * row);
  std::memcpy(b.raw(), static_cast<const std::byte*>(all->raw()) + 5 * row, 3 * row);
  ASSERT_TRUE(io::write_npy((dir_ / "a.npy").string(), a).ok());
  ASSERT_TRUE(io::write_npy((dir_ / "b.npy").string(), b).ok());
  auto reader = app::BatchReader::Open(*g, {dir_.string()}, {}, 3);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ(reader->samples(), 8);
  EXPECT_EQ(reader->batches(), 3);
  app::Batch batch;
  std::vector<std::string> labels;
  size_t offset = 0;
  for (int64_t want : {3, 3, 2}) {
    auto more = reader->Next(&batch);
    ASSERT_TRUE(more.ok() && *more) << more.status().message();
    const Tensor& t = batch.tensors.at("data");
    ASSERT_EQ(t.shape(), (Shape{want, 1, 28, 28}));
    EXPECT_EQ(std::memcmp(t.raw(), static_cast<const std::byte*>(all->raw()) + offset, t.nbytes()), 0);
    offset += t.nbytes();
    labels.insert(labels.end(), batch.labels.begin(), batch.labels.end());
  }
  auto more = reader->Next(&batch);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
  EXPECT_EQ(labels, (std::vector<std::string>{"a[0]", "a[1]", "a[2]", "a[3]", "a[4]", "b[0]", "b[1]", "b[2]"}));
}

TEST_F(BatchReaderTest, WrongShapeNamesTheFile) {
  auto g = load("lenet_fmnist.onnx");
  ASSERT_TRUE(io::write_npy((dir_ / "bad.npy").string(), Tensor(DType::kFloat32, {2, 3, 28, 28})).ok());
  auto reader = app::BatchReader::Open(*g, {(dir_ / "bad.npy").string()}, {}, 4);
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("bad.npy"), std::string::npos) << reader.status().message();
  EXPECT_NE(reader.status().message().find("[2,3,28,28]"), std::string::npos) << reader.status().message();
}

}  // namespace
}  // namespace qs::quant
