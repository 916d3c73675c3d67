// qscope rank end to end: inputs listed worst first, top-1 changes, JSON, --calib-data, and
// the warning for tensors the cache lacks.
#include <gtest/gtest.h>

#include "cli_fixture.h"
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
const std::string kData = std::string(QS_TEST_DATA_DIR) + "/fmnist";
const std::string kLenet = kData + "/lenet_fmnist.onnx";
const std::string kRef = kData + "/ref/fmnist_test_0-7.input.npy";

using qs::testing::CliResult;

class RankCliTest : public qs::testing::CliTestBase {};

TEST_F(RankCliTest, ListsInputsWorstFirstWithJson) {
  ASSERT_EQ(run("calibrate " + kLenet + " --data " + kRef + " --progress off -o " + path("l.cache")).code, 0);
  CliResult r = run("rank " + kLenet + " --data " + kRef + " --calib " + path("l.cache") + " --metric snr --json " +
                 path("r.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Similarity%"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("top-1 fp32->int8"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("8 inputs: similarity mean"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("lacks"), std::string::npos) << r.err;
  std::ifstream f(path("r.json"));
  const auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["metric"], "snr");
  ASSERT_EQ(j["inputs"].size(), 8u);
  std::set<int> indices;
  double prev = -1e300;
  for (const auto& e : j["inputs"]) {
    const double snr = e["metric_value"].get<double>();
    EXPECT_GE(snr, prev) << "sorted worst (lowest SNR) first";
    prev = snr;
    indices.insert(e["index"].get<int>());
    EXPECT_EQ(e["input"], "fmnist_test_0-7.input[" + std::to_string(e["index"].get<int>()) + "]");
    EXPECT_EQ(e["top1_changed"], e["top1_fp32"] != e["top1_int8"]);
    EXPECT_GT(e["similarity"].get<double>(), 90.0);
  }
  EXPECT_EQ(indices.size(), 8u);
}

TEST_F(RankCliTest, CosineOrderAndCalibData) {
  CliResult r = run("rank " + kLenet + " --data " + kRef + " --calib-data " + kRef + " --progress off --json " + path("r.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("calibrate: 8 samples"), std::string::npos) << r.out;
  std::ifstream f(path("r.json"));
  const auto j = nlohmann::json::parse(f);
  double prev = -1;
  for (const auto& e : j["inputs"]) {
    EXPECT_GE(e["similarity"].get<double>(), prev);
    prev = e["similarity"].get<double>();
  }
  EXPECT_EQ(j["calib"], "--calib-data");
}

TEST_F(RankCliTest, WarnsAboutTensorsTheCacheLacks) {
  ASSERT_EQ(run("calibrate " + kLenet + " --data " + kRef + " --progress off -o " + path("l.cache")).code, 0);
  std::ifstream in(path("l.cache"));
  std::ofstream out(path("partial.cache"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("conv2:", 0) != 0 && line.rfind("ip1:", 0) != 0) out << line << "\n";
  out.close();
  CliResult r = run("rank " + kLenet + " --data " + kRef + " --calib " + path("partial.cache") + " --progress off");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("lacks 2 tensor(s)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("conv2, ip1"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("no INT8 range for tensor 'conv2'"), std::string::npos) << r.out;
}

TEST_F(RankCliTest, BadUsage) {
  EXPECT_EQ(run("rank " + kLenet + " --data " + kRef).code, 2);  // no ranges
  EXPECT_EQ(run("rank " + kLenet + " --data " + kRef + " --calib x --calib-data y").code, 2);
  EXPECT_EQ(run("rank " + kLenet + " --data " + kRef + " --calib-data " + kRef + " --metric nope").code, 2);
  CliResult r = run("rank " + kLenet + " --data " + kRef + " --calib " + path("none.cache"));
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("none.cache"), std::string::npos);
}

}  // namespace
