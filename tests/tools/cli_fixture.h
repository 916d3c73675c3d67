// What the command-line tests share: running the qscope binary with its stdout, stderr and
// exit code, a scratch folder per test, and the check for a one-line error.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>

namespace qs::testing {

inline const std::string kQscope = std::string(QS_BINARY_DIR) + "/qscope";

struct CliResult {
  int code = -1;
  std::string out, err;
};

// Runs `qscope ARGS` through the shell; stderr goes through a file in `scratch`.
inline CliResult run_qscope(const std::string& args, const std::filesystem::path& scratch) {
  const std::string err_file = (scratch / "stderr.txt").string();
  const std::string cmd = kQscope + " " + args + " 2>" + err_file;
  CliResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream f(err_file);
  r.err.assign(std::istreambuf_iterator<char>(f), {});
  return r;
}

// Runs a shell command line, stderr discarded; out holds its stdout.
inline CliResult run_shell(const std::string& cmd) {
  CliResult r;
  FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int st = ::pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// A test with its own scratch folder, removed afterwards.
class CliTestBase : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("qs_cli_" + std::to_string(::getpid()) + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
    return path(name);
  }
  CliResult run(const std::string& args) const { return run_qscope(args, dir_); }
  // The expected exit code and exactly one line on stderr holding every fragment.
  static void expect_error(const CliResult& r, int code, std::initializer_list<std::string> fragments) {
    EXPECT_EQ(r.code, code) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    for (const auto& f : fragments) EXPECT_NE(r.err.find(f), std::string::npos) << "missing '" << f << "' in: " << r.err;
  }
  std::filesystem::path dir_;
};

}  // namespace qs::testing
