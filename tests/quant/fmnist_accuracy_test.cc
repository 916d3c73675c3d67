// Real data: entropy calibration on 500 Fashion-MNIST training images, then INT8 top-1
// accuracy on 1000 test images within 1 point of FP32, for both bundled models. The .npy
// files come from scripts/fmnist_npy.py (Debian's dataset-fashion-mnist and python3-numpy),
// run into the build folder when missing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "app/batches.h"
#include "app/model.h"
#include "io/npy.h"
#include "quant/calibrate.h"

namespace qs::quant {
namespace {

namespace fs = std::filesystem;
const std::string kModels = std::string(QS_TEST_DATA_DIR) + "/fmnist";
const fs::path kOut = fs::path(QS_BINARY_DIR) / "fmnist_data";

// Makes the .npy files once; an empty string means they are there.
std::string ensure_data() {
  if (fs::exists(kOut / "calib.npy") && fs::exists(kOut / "test.npy") && fs::exists(kOut / "test_labels.npy")) return "";
  if (!fs::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"))
    return "Debian's dataset-fashion-mnist is not installed (scripts/setup.sh installs it)";
  const std::string cmd = "/usr/bin/python3 " + std::string(QS_SOURCE_DIR) + "/scripts/fmnist_npy.py " + kOut.string() +
                          " --calib 500 --test 1000 >/dev/null";
  if (std::system(cmd.c_str()) != 0) return "scripts/fmnist_npy.py failed (needs /usr/bin/python3 with python3-numpy)";
  return "";
}

struct Accuracy {
  double fp32 = 0, int8 = 0;
};

Accuracy measure(const std::string& model) {
  auto g = app::load_model(kModels + "/" + model);
  EXPECT_TRUE(g.ok()) << g.status().message();
  // Calibrate: entropy (the default), batches of 32.
  Calibrator calibrator(*g, CalibrateOptions{});
  auto reader = app::BatchReader::Open(**g, {(kOut / "calib.npy").string()}, {}, 32);
  EXPECT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ(reader->samples(), 500);
  app::Batch b;
  while (true) {
    auto more = reader->Next(&b);
    EXPECT_TRUE(more.ok());
    if (!more.ok() || !*more) break;
    EXPECT_TRUE(calibrator.AddBatch(b.tensors).ok());
  }
  const CalibResult cal = calibrator.Finish();
  EXPECT_EQ(cal.cache.algorithm, "EntropyCalibration2");

  runtime::PrecisionConfig config;
  config.plan.default_precision = Precision::kInt8;
  config.scales = cal.cache.scales;
  runtime::Engine fp32(*g), int8(*g, {}, config);
  auto labels = io::read_npy((kOut / "test_labels.npy").string());
  EXPECT_TRUE(labels.ok());
  auto test = app::BatchReader::Open(**g, {(kOut / "test.npy").string()}, {}, 100);
  EXPECT_TRUE(test.ok());
  EXPECT_EQ(test->samples(), 1000);
  int64_t seen = 0, right_fp32 = 0, right_int8 = 0;
  while (true) {
    auto more = test->Next(&b);
    EXPECT_TRUE(more.ok());
    if (!more.ok() || !*more) break;
    auto a = fp32.Run(b.tensors);
    auto q = int8.Run(b.tensors);
    EXPECT_TRUE(a.ok() && q.ok());
    if (!a.ok() || !q.ok()) break;
    const Tensor& pa = a->at("prob");
    const Tensor& pq = q->at("prob");
    for (int64_t r = 0; r < pa.dim(0); ++r, ++seen) {
      const int64_t label = labels->GetAsInt64(seen);
      auto argmax = [&](const Tensor& t) {
        int64_t best = 0;
        for (int64_t k = 1; k < t.dim(1); ++k)
          if (t.data<float>()[r * t.dim(1) + k] > t.data<float>()[r * t.dim(1) + best]) best = k;
        return best;
      };
      right_fp32 += argmax(pa) == label;
      right_int8 += argmax(pq) == label;
    }
  }
  EXPECT_EQ(seen, 1000);
  return {100.0 * right_fp32 / seen, 100.0 * right_int8 / seen};
}

void check(const std::string& model) {
  const std::string why = ensure_data();
  if (!why.empty()) GTEST_SKIP() << why;
  const Accuracy acc = measure(model);
  std::printf("%s: top-1 on 1000 Fashion-MNIST test images: FP32 %.1f%%, INT8 (entropy, 500 calibration images) %.1f%%\n",
              model.c_str(), acc.fp32, acc.int8);
  EXPECT_GT(acc.fp32, 85.0);
  EXPECT_NEAR(acc.int8, acc.fp32, 1.0);
}

TEST(FmnistAccuracyTest, LeNet) { check("lenet_fmnist.onnx"); }
TEST(FmnistAccuracyTest, MobileNetTiny) { check("mobilenet_tiny_fmnist.onnx"); }

}  // namespace
}  // namespace qs::quant
