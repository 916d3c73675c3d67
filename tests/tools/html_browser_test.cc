// The HTML report in a real browser: a sweep writes --html, headless Chromium (Debian's
// chromium package, installed by scripts/setup.sh) loads it, its inline script sorts the table
// and counts what rendered, and --dump-dom shows the counts; a screenshot is kept in the build
// folder (html_report.png, beside html_report.html) as the test's artifact.
#include <gtest/gtest.h>

#include "cli_fixture.h"
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using qs::testing::kQscope;
const std::string kData = QS_TEST_DATA_DIR;
const char* kChromium = "/usr/bin/chromium";

using Result = qs::testing::CliResult;
inline Result sh(const std::string& cmd) { return qs::testing::run_shell(cmd); }

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

int attr(const std::string& dom, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(dom, m, std::regex(name + "=\"(-?[0-9]+)\""))) return -1;
  return std::stoi(m[1]);
}

class HtmlBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kChromium))
      GTEST_SKIP() << kChromium
                   << " is missing: install Debian's chromium package (scripts/setup.sh does) to run this test";
    dir_ = fs::temp_directory_path() / ("qs_html_browser_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // Headless Chromium with a fresh profile; `extra` is e.g. --dump-dom. Output on stdout.
  Result chromium(const std::string& extra, const std::string& url) {
    const fs::path profile = dir_ / ("profile" + std::to_string(runs_++));
    const std::string cmd =
        std::string("timeout 60 ") + kChromium +
        " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --user-data-dir=" + profile.string() +
        " --disable-background-networking --disable-component-update --disable-sync --no-first-run"
        " --disable-quic --disable-extensions --hide-scrollbars " +
        extra + " '" + url + "'";
    return sh(cmd);
  }
  fs::path dir_;
  int runs_ = 0;
};

TEST_F(HtmlBrowserTest, ChartAndTableRenderWithEveryStep) {
  const fs::path out = dir_ / "sweep";
  const fs::path html = dir_ / "r.html";
  // The bundled model with its planted fault; --calib-data gives the page its histograms.
  const Result s =
      sh(kQscope + " sweep " + kData + "/fmnist/mobilenet_tiny_fmnist_planted.onnx --input " + kData +
         "/fmnist/images/test0_boot.png " + kData + "/fmnist/images/test6_coat.png --mean 0.2860 --std 0.3530 " +
         "--calib-data " + kData + "/fmnist/ref/fmnist_test_0-7.input.npy --progress off --no-color --out " +
         out.string() + " --csv " + (dir_ / "r.csv").string() + " --html " + html.string());
  ASSERT_EQ(s.code, 0) << s.out;
  std::ifstream rf(out / "report.json");
  const auto report = nlohmann::json::parse(rf);
  const auto& steps = report["steps"];
  ASSERT_GT(steps.size(), 50u);
  const std::string page = read_file(html);
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_NE(page.find("<svg class=\"hist\""), std::string::npos) << "--calib-data gives histograms";
  // qscope report rebuilds the same page from the JSON alone.
  const fs::path again = dir_ / "again.html";
  ASSERT_EQ(sh(kQscope + " report " + (out / "report.json").string() + " -o " + again.string()).code, 0);
  EXPECT_EQ(read_file(again), page);

  // The worst step, which sorting by similarity must put first.
  size_t worst = 0;
  for (size_t i = 1; i < steps.size(); ++i)
    if (steps[i]["similarity"].get<double>() < steps[worst]["similarity"].get<double>()) worst = i;

  const Result dom = chromium("--dump-dom", "file://" + html.string() + "#sort=similarity");
  ASSERT_EQ(dom.code, 0) << "chromium failed";
  // The inline script ran and counted what rendered.
  EXPECT_EQ(attr(dom.out, "data-points"), static_cast<int>(steps.size())) << dom.out.substr(0, 2000);
  EXPECT_EQ(attr(dom.out, "data-rows"), static_cast<int>(steps.size()));
  int flagged = 0;
  for (const auto& st : steps) flagged += st["flagged"].get<bool>();
  EXPECT_GE(flagged, 1);
  EXPECT_EQ(attr(dom.out, "data-flagged"), flagged);
  EXPECT_EQ(attr(dom.out, "data-first"), static_cast<int>(worst)) << "sorted by similarity, the worst step comes first";
  EXPECT_NE(dom.out.find("aria-sort=\"ascending\""), std::string::npos);
  // And the DOM itself holds them.
  EXPECT_EQ(count(dom.out, "<circle class=\"pt"), steps.size());
  EXPECT_EQ(count(dom.out, "<tr id=\"step-"), steps.size());

  // The screenshot, kept in the build folder.
  const fs::path png = fs::path(QS_BINARY_DIR) / "html_report.png";
  fs::remove(png);
  fs::copy_file(html, fs::path(QS_BINARY_DIR) / "html_report.html", fs::copy_options::overwrite_existing);
  const Result shot = chromium("--screenshot=" + png.string() + " --window-size=1400,2200", "file://" + html.string());
  ASSERT_EQ(shot.code, 0);
  ASSERT_TRUE(fs::exists(png));
  EXPECT_GT(fs::file_size(png), 20000u);
  EXPECT_EQ(read_file(png).substr(1, 3), "PNG");
}

}  // namespace
