// The sweep and analyze commands end to end: the table, the report, the dump layout and
// analyze agree; a sweep killed with SIGKILL resumes to the same result.
#include <gtest/gtest.h>

#include "cli_fixture.h"
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <fcntl.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using qs::testing::kQscope;
const std::string kData = QS_TEST_DATA_DIR;

using Result = qs::testing::CliResult;
inline Result sh(const std::string& cmd) { return qs::testing::run_shell(cmd); }

nlohmann::json read_json(const fs::path& p) {
  std::ifstream f(p);
  return nlohmann::json::parse(f);
}

class SweepCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("qs_sweep_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    model_ = kData + "/fmnist/mobilenet_tiny_fmnist.onnx";
    images_ = kData + "/fmnist/images/test0_boot.png " + kData + "/fmnist/images/test6_coat.png";
    const Result c = sh(kQscope + " calibrate " + model_ + " --data " + kData +
                        "/fmnist/ref/fmnist_test_0-7.input.npy --method minmax -o " + (dir_ / "m.cache").string());
    ASSERT_EQ(c.code, 0) << c.out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string sweep_cmd(const std::string& out) {
    return kQscope + " sweep " + model_ + " --input " + images_ + " --mean 0.2860 --std 0.3530 --calib " +
           (dir_ / "m.cache").string() + " --progress lines --out " + out;
  }
  static fs::path dir_;
  static std::string model_, images_;
};
fs::path SweepCliTest::dir_;
std::string SweepCliTest::model_, SweepCliTest::images_;

TEST_F(SweepCliTest, TableReportDumpAndAnalyzeAgree) {
  const std::string out = (dir_ / "a").string();
  const Result r = sh(sweep_cmd(out) + " --dump-dir " + out + "/dump --csv " + out + "/t.csv --no-color");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("LayerName|"), std::string::npos);
  EXPECT_NE(r.out.find("Similarity%"), std::string::npos);
  const auto report = read_json(fs::path(out) / "report.json");
  for (const char* key : {"model", "metric", "mode", "steps", "fallback", "all_int8_similarity", "final_similarity"})
    EXPECT_TRUE(report.contains(key)) << key;
  const auto& steps = report["steps"];
  ASSERT_GT(steps.size(), 50u);
  for (const auto& s : steps)
    for (const char* key : {"index", "layer", "op", "shape", "similarity", "flagged", "precision"})
      EXPECT_TRUE(s.contains(key)) << key;
  // Every step has a dump folder per input, and analyze makes the same table.
  EXPECT_TRUE(fs::exists(fs::path(out) / "dump" / "test0_boot" / "reference" / "prob.npy"));
  EXPECT_TRUE(fs::exists(fs::path(out) / "dump" / "manifest.json"));
  const Result a = sh(kQscope + " analyze " + out + "/dump --no-color");
  ASSERT_EQ(a.code, 0);
  const std::string table = r.out.substr(0, r.out.find("\nall layers INT8"));
  EXPECT_EQ(a.out.substr(0, a.out.find("\nall layers INT8")), table);
  // The table's similarity column carries the report's numbers, 4 decimals.
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", steps[5]["similarity"].get<double>());
  EXPECT_NE(table.find(buf), std::string::npos);
  // CSV: a header and one line per step.
  std::ifstream csv(fs::path(out) / "t.csv");
  int lines = 0;
  for (std::string l; std::getline(csv, l);) ++lines;
  EXPECT_EQ(lines, static_cast<int>(steps.size()) + 1);
  // The plan file is a plan.
  const auto plan = read_json(fs::path(out) / "plan.json");
  EXPECT_EQ(plan["default"], "int8");
}

// Starts the sweep, kills it with SIGKILL after `after_steps` progress lines, and returns
// whether it was still running when killed.
bool kill_after(const std::string& cmd, int after_steps) {
  int fds[2];
  if (::pipe(fds) != 0) return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid;
  // exec replaces the shell, so the pid is qscope's own.
  const std::string exec_cmd = "exec " + cmd;
  argv[2] = exec_cmd.c_str();
  if (posix_spawn(&pid, "/bin/sh", &fa, nullptr, const_cast<char**>(argv), environ) != 0) return false;
  ::close(fds[1]);
  FILE* err = ::fdopen(fds[0], "r");
  char line[512];
  int steps = 0;
  bool killed = false;
  while (std::fgets(line, sizeof line, err)) {
    if (std::string(line).rfind("sweep: step", 0) == 0 && ++steps >= after_steps) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
  }
  std::fclose(err);
  int st = 0;
  ::waitpid(pid, &st, 0);
  posix_spawn_file_actions_destroy(&fa);
  return killed && WIFSIGNALED(st);
}

TEST_F(SweepCliTest, KilledWithSigkillResumesToTheSameResult) {
  // The slow reference kernels give the kill time to land mid-sweep.
  auto slow = [](const std::string& out) { return sweep_cmd(out) + " --reference-kernels --no-reuse"; };
  const std::string whole = (dir_ / "whole").string();
  ASSERT_EQ(sh(slow(whole)).code, 0);
  const auto want = read_json(fs::path(whole) / "report.json");
  for (int after : {2, 25, 50}) {  // of 57 steps
    SCOPED_TRACE("killed after " + std::to_string(after) + " steps");
    const std::string out = (dir_ / ("k" + std::to_string(after))).string();
    ASSERT_TRUE(kill_after(slow(out), after)) << "the sweep ended before it was killed";
    const auto state = read_json(fs::path(out) / "state.json");
    EXPECT_FALSE(state["complete"].get<bool>());
    EXPECT_GE(state["steps"].size(), static_cast<size_t>(after - 1));
    EXPECT_FALSE(fs::exists(fs::path(out) / "report.json")) << "no report before the end";
    ASSERT_EQ(sh(slow(out) + " --resume").code, 0);
    const auto got = read_json(fs::path(out) / "report.json");
    ASSERT_EQ(got["steps"].size(), want["steps"].size());
    for (size_t i = 0; i < want["steps"].size(); ++i) {
      EXPECT_EQ(got["steps"][i]["similarity"], want["steps"][i]["similarity"]) << i;
      EXPECT_EQ(got["steps"][i]["flagged"], want["steps"][i]["flagged"]) << i;
      EXPECT_EQ(got["steps"][i]["precision"], want["steps"][i]["precision"]) << i;
    }
    EXPECT_EQ(got["fallback"], want["fallback"]);
    EXPECT_EQ(got["final_similarity"], want["final_similarity"]);
    EXPECT_EQ(got["all_int8_similarity"], want["all_int8_similarity"]);
  }
}

// A trained model with a planted fault (tests/data/fmnist/plant_outlier.py): entropy
// calibration, then the sweep flags the layer that reads the planted tensor, and only it.
TEST_F(SweepCliTest, FindsThePlantedFaultInATrainedModel) {
  const std::string planted = kData + "/fmnist/mobilenet_tiny_fmnist_planted.onnx";
  const auto meta = read_json(kData + "/fmnist/mobilenet_tiny_fmnist_planted.json");
  const std::string out = (dir_ / "planted").string();
  const Result r = sh(kQscope + " sweep " + planted + " --input " + images_ + " --mean 0.2860 --std 0.3530 --calib-data " +
                      kData + "/fmnist/ref/fmnist_test_0-7.input.npy --progress off --out " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  const auto report = read_json(fs::path(out) / "report.json");
  EXPECT_EQ(report["fallback"], nlohmann::json::array({meta["reader"]}));
  EXPECT_GT(report["final_similarity"].get<double>(), report["all_int8_similarity"].get<double>());
  // Why: the reader's input is the planted tensor, and its planted channel sets the range.
  ASSERT_EQ(report["diagnosis"].size(), 1u) << report["diagnosis"].dump();
  const auto& why = report["diagnosis"][0];
  EXPECT_EQ(why["layer"], meta["reader"]);
  ASSERT_FALSE(why["inputs"].empty());
  EXPECT_EQ(why["inputs"][0]["tensor"], meta["planted_tensor"]);
  EXPECT_EQ(why["inputs"][0]["top_channel"], meta["channel"]);
  EXPECT_NE(r.out.find("why (each flagged layer"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(meta["reader"].get<std::string>() + ": its input " + meta["planted_tensor"].get<std::string>() +
                       " loses most"),
            std::string::npos)
      << r.out;
}

TEST_F(SweepCliTest, ResumeRefusesAnotherSweepsState) {
  const std::string out = (dir_ / "other").string();
  ASSERT_EQ(sh(sweep_cmd(out)).code, 0);
  const Result r = sh(sweep_cmd(out) + " --resume --metric snr");
  EXPECT_EQ(r.code, 3);
}

}  // namespace
