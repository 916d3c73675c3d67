// qscope export end to end: the Q/DQ model, --trtexec, --exclude-list and --cache-out; the
// exported model run by qscope gives the original's INT8 output bit for bit; sweep --export;
// errors leave no file; ONNX Runtime runs the export to nearly the same output (skipped when
// node or onnxruntime-node is missing).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_fixture.h"

namespace {

namespace fs = std::filesystem;
const std::string kData = std::string(QS_TEST_DATA_DIR) + "/fmnist";
const std::string kLenet = kData + "/lenet_fmnist.onnx";
const std::string kMobile = kData + "/mobilenet_tiny_fmnist.onnx";
const std::string kInput = kData + "/ref/fmnist_test_0-7.input.npy";

using qs::testing::CliResult;

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

class ExportCliTest : public qs::testing::CliTestBase {
 protected:
  std::string cache(const std::string& model) {
    const std::string c = path(fs::path(model).stem().string() + ".cache");
    CliResult r = run("calibrate " + model + " --data " + kInput + " --progress off -o " + c);
    EXPECT_EQ(r.code, 0) << r.err;
    return c;
  }
};

TEST_F(ExportCliTest, AllFormsAndExactRoundTrip) {
  const std::string c = cache(kLenet);
  write("plan.json", R"({"default": "int8", "layers": {"conv2": "fp32"}})");
  CliResult r = run("export " + kLenet + " --calib " + c + " --plan " + path("plan.json") + " -o " + path("q.onnx") +
                    " --trtexec --exclude-list " + path("ex.json") + " --cache-out " + path("out.cache"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("trtexec --onnx=" + kLenet + " --int8 --calib=" + c +
                       " --precisionConstraints=obey --layerPrecisions=conv2:fp32,prob:fp32"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("7 of 9 layers int8"), std::string::npos) << r.err;
  EXPECT_EQ(nlohmann::json::parse(slurp(path("ex.json"))), nlohmann::json::parse(R"(["conv2", "prob"])"));
  EXPECT_EQ(slurp(path("out.cache")), slurp(c));
  ASSERT_TRUE(fs::exists(path("q.onnx")));

  // qscope's INT8 run of the plan, and the exported model's own INT8 run: the same bits.
  r = run("run " + kLenet + " --input " + kInput + " --precision int8 --calib " + c + " --plan " + path("plan.json") +
          " --save-outputs " + path("a"));
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("run " + path("q.onnx") + " --input " + kInput + " --precision int8 --save-outputs " + path("b"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Q/DQ model: 7 INT8 layers"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("with integer kernels"), std::string::npos) << r.out;
  EXPECT_EQ(slurp(path("a/prob.npy")), slurp(path("b/prob.npy")));
}

TEST_F(ExportCliTest, SweepExportsTheFinalPlan) {
  const std::string c = cache(kMobile);
  CliResult r = run("sweep " + kMobile + " --input " + kInput + " --calib " + c + " --threshold 99.99 --progress off --out " +
                    path("sw") + " --export " + path("final.onnx"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("export: " + path("final.onnx")), std::string::npos) << r.out;
  r = run("run " + kMobile + " --input " + kInput + " --precision int8 --calib " + c + " --plan " + path("sw/plan.json") +
          " --save-outputs " + path("a"));
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("run " + path("final.onnx") + " --input " + kInput + " --precision int8 --save-outputs " + path("b"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(path("a/prob.npy")), slurp(path("b/prob.npy")));
  // A sweep can start from the Q/DQ model: its own scales, no --calib.
  r = run("sweep " + path("final.onnx") + " --input " + kInput + " --progress off --out " + path("sw2"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(path("sw2/plan.json")));
}

TEST_F(ExportCliTest, ErrorsLeaveNoFile) {
  const std::string c = cache(kLenet);
  write("bad.json", R"({"default": "int8", "layers": {"nope": "fp32"}})");
  CliResult r = run("export " + kLenet + " --calib " + c + " --plan " + path("bad.json") + " -o " + path("q.onnx") +
                    " --exclude-list " + path("ex.json"));
  expect_error(r, 3, {"layer 'nope' is not in the model"});
  EXPECT_FALSE(fs::exists(path("q.onnx")));
  EXPECT_FALSE(fs::exists(path("ex.json")));
  expect_error(run("export " + kLenet + " --calib " + c), 2, {"nothing to export"});
  expect_error(run("export " + kLenet + " -o " + path("q.onnx")), 2, {"--calib"});
  expect_error(run("export " + path("missing.onnx") + " --calib " + c + " -o " + path("q.onnx")), 3, {"missing.onnx"});
  EXPECT_FALSE(fs::exists(path("q.onnx")));
  // Exporting a Q/DQ model again is refused.
  ASSERT_EQ(run("export " + kLenet + " --calib " + c + " -o " + path("q1.onnx")).code, 0);
  expect_error(run("export " + path("q1.onnx") + " --calib " + c + " -o " + path("q2.onnx")), 3, {"already a Q/DQ model"});
  EXPECT_FALSE(fs::exists(path("q2.onnx")));
}

TEST_F(ExportCliTest, OnnxRuntimeRunsTheExportToNearlyTheSameOutput) {
  const std::string script = std::string(QS_SOURCE_DIR) + "/tools/ort_check.js";
  if (std::system("node --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "node is not installed";
  if (!fs::exists(std::string(QS_SOURCE_DIR) + "/bench/node_modules/onnxruntime-node"))
    GTEST_SKIP() << "onnxruntime-node is not installed (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install)";
  for (const std::string& model : {kLenet, kMobile}) {
    const std::string c = cache(model), q = path("q.onnx");
    ASSERT_EQ(run("export " + model + " --calib " + c + " -o " + q).code, 0);
    ASSERT_EQ(run("run " + model + " --input " + kInput + " --precision int8 --calib " + c + " --save-outputs " + path("a")).code, 0);
    // Without graph optimizations ONNX Runtime runs the Q/DQ nodes as ONNX defines them: float
    // rounding only. With them it fuses QLinearConv and friends, which round differently.
    const std::string base = "node " + script + " " + q + " " + kInput + " " + path("a/prob.npy");
    EXPECT_EQ(std::system(("QS_ORT_OPT=disabled " + base + " 1e-5 >" + path("ort.txt") + " 2>&1").c_str()), 0)
        << model << ": " << slurp(path("ort.txt"));
    EXPECT_EQ(std::system((base + " 0.05 >" + path("ort.txt") + " 2>&1").c_str()), 0) << model << ": " << slurp(path("ort.txt"));
  }
}

}  // namespace
