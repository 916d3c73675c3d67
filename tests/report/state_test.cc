// The sweep's state file (report::StateWriter): after every write it parses as JSON, carries the
// identity and "complete": false, and holds exactly the steps the full report would, so that
// --resume reads back what the sweep did.
#include "report/state.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "report/report.h"

namespace qs::report {
namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return nlohmann::json::parse(ss.str());  // throws, failing the test, on bad JSON
}

TEST(StateWriter, HoldsTheReportsStepsAfterEveryWrite) {
  const std::string dir = ::testing::TempDir() + "qs_state_test";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/state.json";
  ReportMeta meta;
  meta.model = "models/\"quoted\".onnx";
  meta.inputs = {"img0", "img1"};
  meta.calib = "net.cache";
  const nlohmann::ordered_json identity = {{"model_digest", "00ff"}, {"mode", "prefix"}};
  StateWriter writer(path, identity, meta);

  // Steps come one at a time; one falls back (which changes the later steps' "change"), one is NaN.
  analysis::SweepResult r;
  r.mode = analysis::SweepMode::kPrefix;
  for (int i = 0; i < 6; ++i) r.layers.push_back({"layer\"" + std::to_string(i), "Conv", Shape{1, 8, 4, 4}, true});
  for (int i = 0; i < 6; ++i) {
    analysis::StepResult s;
    s.index = s.layer = i;
    s.precision = i == 2 ? Precision::kFp32 : Precision::kInt8;
    s.mean = s.min = 99.9 - 0.5 * i;
    s.values = {s.mean, s.min};
    s.loss = 0.1 * i;
    if (i == 2) {
      s.flagged = true;
      s.reason = "flagged";
      r.fallback.push_back(r.layers[2].name);
    }
    if (i == 4) s.mean = s.min = NAN, s.values = {NAN, NAN};
    r.steps.push_back(s);
    ASSERT_TRUE(writer.Write(r).ok());
    if (i == 3) {
      ASSERT_TRUE(writer.Write(r).ok());  // a write with no new step changes nothing
    }

    const nlohmann::json state = read_json(path);
    EXPECT_EQ(state["identity"], nlohmann::json(identity));
    EXPECT_FALSE(state["complete"].get<bool>());
    EXPECT_EQ(state["model"], meta.model);
    EXPECT_EQ(state["metric"], "cosine");
    EXPECT_EQ(state["mode"], "prefix");
    // The same steps, field for field, as the full report of the sweep so far.
    EXPECT_EQ(state["steps"], nlohmann::json(to_json(r, meta)["steps"])) << "after step " << i;
    auto steps = steps_from_json(state);
    ASSERT_TRUE(steps.ok()) << steps.status().message();
    ASSERT_EQ(steps->size(), r.steps.size());
    if (i >= 2) {
      EXPECT_TRUE((*steps)[2].flagged);
      EXPECT_EQ((*steps)[2].precision, Precision::kFp32);
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace qs::report
