// qscope calibrate end to end: the cache it writes, progress lines in a log, and one-line
// errors with the right exit code for bad input (nothing written on failure).
#include <gtest/gtest.h>

#include "cli_fixture.h"
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "quant/calib_cache.h"

namespace {

namespace fs = std::filesystem;
const std::string kData = std::string(QS_TEST_DATA_DIR) + "/fmnist";
const std::string kLenet = kData + "/lenet_fmnist.onnx";
const std::string kRef = kData + "/ref/fmnist_test_0-7.input.npy";

using qs::testing::CliResult;

class CalibrateCliTest : public qs::testing::CliTestBase {};

TEST_F(CalibrateCliTest, WritesATensorRtCacheWithEveryTensor) {
  CliResult r = run("calibrate " + kLenet + " --data " + kRef + " --batch 3 -o " + path("l.cache"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto cache = qs::quant::read_calib_cache(path("l.cache"));
  ASSERT_TRUE(cache.ok()) << cache.status().message();
  EXPECT_EQ(cache->algorithm, "EntropyCalibration2");
  EXPECT_TRUE(cache->warnings.empty());
  for (const char* t : {"data", "conv1", "pool1", "conv2", "pool2", "flatten", "ip1", "relu1", "ip2", "prob"})
    EXPECT_TRUE(cache->scales.count(t)) << t;
  std::ifstream f(path("l.cache"));
  std::string first;
  std::getline(f, first);
  EXPECT_EQ(first, "TRT-8601-EntropyCalibration2");
  // Not a terminal: one plain progress line per batch (8 samples in batches of 3).
  EXPECT_NE(r.err.find("calibrate: batch 1/3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("calibrate: batch 3/3"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos);
  EXPECT_NE(r.out.find("8 samples in 3 batches"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("peak memory"), std::string::npos) << r.out;
}

TEST_F(CalibrateCliTest, EveryMethodAndVariant) {
  const std::pair<std::string, std::string> cases[] = {{"--method minmax", "MinMaxCalibration"},
                                                       {"--method percentile --percentile 99.9", "Percentile"},
                                                       {"--method mse", "MSE"},
                                                       {"--method entropy --entropy-variant 1024", "EntropyCalibration2"}};
  for (const auto& [flags, algo] : cases) {
    CliResult r = run("calibrate " + kLenet + " --data " + kRef + " " + flags + " --progress off -o " + path("x.cache"));
    ASSERT_EQ(r.code, 0) << flags << ": " << r.err;
    EXPECT_TRUE(r.err.empty()) << r.err;
    auto cache = qs::quant::read_calib_cache(path("x.cache"));
    ASSERT_TRUE(cache.ok());
    EXPECT_EQ(cache->algorithm, algo) << flags;
    EXPECT_EQ(cache->scales.size(), 10u);
  }
}

TEST_F(CalibrateCliTest, ImagesFolder) {
  CliResult r = run("calibrate " + kLenet + " --data " + kData + "/images --mean 0.2860 --std 0.3530 --progress lines -o " +
                 path("i.cache"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("16 samples"), std::string::npos) << r.out;  // 8 .pgm and 8 .png
}

TEST_F(CalibrateCliTest, BadUsage) {
  expect_error(run("calibrate " + kLenet + " --data " + kRef + " --method kl -o " + path("x.cache")), 2, {"--method", "kl"});
  expect_error(run("calibrate " + kLenet + " --data " + kRef + " --entropy-variant 4096 -o " + path("x.cache")), 2,
               {"--entropy-variant"});
  expect_error(run("calibrate " + kLenet + " --data " + kRef + " --batch 0 -o " + path("x.cache")), 2, {"--batch"});
  expect_error(run("calibrate " + kLenet + " --data " + kRef + " --method percentile --percentile 120 -o " + path("x.cache")),
               2, {"--percentile"});
  EXPECT_EQ(run("calibrate " + kLenet + " --data " + kRef).code, 2);  // -o missing
  EXPECT_FALSE(fs::exists(path("x.cache")));
}

TEST_F(CalibrateCliTest, MissingDataAndWrongShape) {
  expect_error(run("calibrate " + kLenet + " --data " + path("none.npy") + " -o " + path("x.cache")), 3,
               {"none.npy", "no such file"});
  fs::create_directories(path("empty"));
  expect_error(run("calibrate " + kLenet + " --data " + path("empty") + " -o " + path("x.cache")), 3, {"empty"});
  // A [1,3,28,28] .npy for a [N,1,28,28] input.
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 28, 28), }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header +
                      std::string(3 * 28 * 28 * 4, '\0');
  std::ofstream(path("wrong.npy"), std::ios::binary) << bytes;
  expect_error(run("calibrate " + kLenet + " --data " + path("wrong.npy") + " -o " + path("x.cache")), 3,
               {"wrong.npy", "[1,3,28,28]", "'data'"});
  std::ofstream(path("junk.npy"), std::ios::binary) << "not a numpy file";
  expect_error(run("calibrate " + kLenet + " --data " + path("junk.npy") + " -o " + path("x.cache")), 3, {"junk.npy"});
  EXPECT_FALSE(fs::exists(path("x.cache")));
}

TEST_F(CalibrateCliTest, UnwritableOutputLeavesNoFile) {
  expect_error(run("calibrate " + kLenet + " --data " + kRef + " -o " + path("nodir/x.cache")), 3, {"nodir/x.cache"});
  EXPECT_FALSE(fs::exists(path("nodir")));
  std::ofstream(path("file")) << "x";
  expect_error(run("calibrate " + kLenet + " --data " + kRef + " -o " + path("file/x.cache")), 3, {"file/x.cache"});
  expect_error(run("calibrate " + kLenet + " --data " + kRef + " -o " + dir_.string()), 3, {"folder"});
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_TRUE(e.path().filename() == "file" || e.path().filename() == "stderr.txt") << e.path();
}

}  // namespace
