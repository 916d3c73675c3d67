// A test fixture with a fresh temporary folder per test, removed after it.
#pragma once
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace qs {

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "qs_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // The path of `name` in the folder.
  std::string Path(const std::string& name) const { return (std::filesystem::path(dir_) / name).string(); }
  // Writes `bytes` to `name` in the folder; returns its path.
  std::string WriteFile(const std::string& name, const std::string& bytes) const {
    const std::string p = Path(name);
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  std::string dir_;
};

}  // namespace qs
