// Bad values and limits through the command line: NaN/Inf in inputs reach the table and the
// reports as NaN (never as a perfect similarity, never a crash), and --max-tensor-mb refuses
// large tensors with a one-line error. See docs/robustness.md.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_fixture.h"

namespace qs::testing {
namespace {

const std::string kData = std::string(QS_TEST_DATA_DIR) + "/fmnist";
const std::string kLenet = kData + "/lenet_fmnist.onnx";
// NaN in one pixel reaches its outputs (LeNet's max pooling and ReLU drop it: its outputs stay finite).
const std::string kMobilenet = kData + "/mobilenet_tiny_fmnist.onnx";
const std::string kRef = kData + "/ref/fmnist_test_0-7.input.npy";

// A float32 .npy of the given shape.
std::string npy_f32(const std::vector<int64_t>& shape, const std::vector<float>& values) {
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ", ";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  return out;
}

class RobustnessCliTest : public CliTestBase {
 protected:
  // One Fashion-MNIST-shaped input with a mid-grey picture and `bad` at pixel 100.
  std::string image_with(const std::string& name, float bad) const {
    std::vector<float> v(28 * 28, 0.5f);
    v[100] = bad;
    return write(name, npy_f32({1, 1, 28, 28}, v));
  }
};

TEST_F(RobustnessCliTest, RunReportsNanOutputs) {
  const std::string nan = image_with("nan.npy", std::numeric_limits<float>::quiet_NaN());
  CliResult r = run("run " + kMobilenet + " --input " + nan);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("NaN/Inf values"), std::string::npos) << r.out;
}

TEST_F(RobustnessCliTest, SweepShowsNanNotAPerfectSimilarity) {
  const std::string nan = image_with("nan.npy", std::numeric_limits<float>::quiet_NaN());
  const std::string out = path("sweep");
  CliResult r = run("sweep " + kMobilenet + " --input " + nan + " --calib-data " + kRef + " --progress off --out " + out);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("all layers INT8: NaN"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NaN"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("100.0000"), std::string::npos) << r.out;
  std::ifstream f(out + "/report.json");
  ASSERT_TRUE(f) << "no report.json";
  const auto j = nlohmann::json::parse(f);
  ASSERT_TRUE(j.contains("steps"));
  for (const auto& s : j["steps"]) EXPECT_TRUE(s["similarity"].is_null()) << s.dump();
}

TEST_F(RobustnessCliTest, RankPutsNanInputsFirstAndInTheSummary) {
  const std::string nan = image_with("nan.npy", std::numeric_limits<float>::quiet_NaN());
  const std::string good = image_with("good.npy", 0.25f);
  CliResult r = run("rank " + kMobilenet + " --data " + good + " " + nan + " --calib-data " + kRef + " --progress off --json " +
                    path("r.json"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("    1  nan "), std::string::npos) << r.out;  // worst first
  EXPECT_NE(r.out.find("NaN"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("min NaN%"), std::string::npos) << r.out;  // the NaN input is not left out of the summary
  std::ifstream f(path("r.json"));
  ASSERT_TRUE(f);
  const std::string text((std::istreambuf_iterator<char>(f)), {});
  EXPECT_NE(text.find("null"), std::string::npos) << text;
}

TEST_F(RobustnessCliTest, MaxTensorMbRefusesLargeTensors) {
  // 400 images of 28x28 floats: 1.2 MiB, over a 1 MiB cap.
  const std::string big = write("big.npy", npy_f32({400, 1, 28, 28}, std::vector<float>(400 * 28 * 28, 0.5f)));
  CliResult r = run("run " + kLenet + " --input " + big + " --max-tensor-mb 1");
  expect_error(r, 3, {"tensor size cap"});
  EXPECT_EQ(run("run " + kLenet + " --input " + big + " --max-tensor-mb 64").code, 0);
  EXPECT_EQ(run("inspect " + kLenet + " --max-tensor-mb 0").code, 2);
  EXPECT_EQ(run("inspect " + kLenet + " --max-tensor-mb -5").code, 2);
}

}  // namespace
}  // namespace qs::testing
