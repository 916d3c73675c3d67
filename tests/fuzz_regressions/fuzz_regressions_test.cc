// Every input saved under tests/fuzz_regressions/<target>/ (inputs that once crashed a fuzz
// target, see fuzz/run.sh) and every seed of fuzz/corpus/<target>/ goes through the same entry
// point as the fuzz target (fuzz/entry_points.h): each must end in a clean error or success.
// Under the sanitizer build (scripts/test.sh's second pass) an out-of-bounds access or undefined
// behaviour fails the test too.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "../../fuzz/entry_points.h"

namespace {

namespace fs = std::filesystem;

// The repository root (QS_SOURCE_DIR is fuzz/ when the tests are built through fuzz/CMakeLists.txt).
const fs::path kRoot = fs::path(QS_TEST_DATA_DIR) / ".." / "..";

std::vector<fs::path> inputs_of(const std::string& target) {
  std::vector<fs::path> files;
  for (const fs::path& dir : {kRoot / "tests/fuzz_regressions" / target,
                             kRoot / "fuzz/corpus" / target}) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void feed_all(const std::string& target, const std::function<void(std::string_view)>& entry, size_t min_files) {
  qs::fuzz::init();
  const auto files = inputs_of(target);
  EXPECT_GE(files.size(), min_files) << "no inputs for " << target;
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    std::ifstream in(f, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    entry(bytes);  // a crash or sanitizer report here is the regression
  }
}

TEST(FuzzRegressions, OnnxModel) { feed_all("onnx_model", qs::fuzz::onnx_model, 1); }
TEST(FuzzRegressions, QdqModel) { feed_all("qdq_model", qs::fuzz::qdq_model, 1); }
TEST(FuzzRegressions, Npy) { feed_all("npy", qs::fuzz::npy, 1); }
TEST(FuzzRegressions, Wav) { feed_all("wav", qs::fuzz::wav, 1); }
TEST(FuzzRegressions, TensorPb) { feed_all("tensor_pb", qs::fuzz::tensor_pb, 1); }
TEST(FuzzRegressions, Image) { feed_all("image", qs::fuzz::image, 1); }
TEST(FuzzRegressions, CalibCache) { feed_all("calib_cache", qs::fuzz::calib_cache, 1); }
TEST(FuzzRegressions, PlanJson) { feed_all("plan_json", qs::fuzz::plan_json, 1); }
TEST(FuzzRegressions, ReportJson) { feed_all("report_json", qs::fuzz::report_json, 1); }

// The inputs that crashed a target, with the error each now gets.
std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

TEST(FuzzRegressions, ConvStrideZeroSkipsOnnxShapeInference) {
  // libonnx's shape inference divided by the zero stride (SIGFPE); qscope's own check names the node.
  auto g = qs::onnx_io::load_model_bytes(
      file_bytes(kRoot / "tests/fuzz_regressions/onnx_model/conv_stride0_shape_inference_fpe.onnx"),
      "m.onnx", ".");
  if (!g.ok()) return;  // the checker may refuse it first
  std::map<std::string, qs::Shape> shapes;
  ASSERT_TRUE(qs::fuzz::declared_shapes(*g, &shapes));
  auto plan = qs::runtime::Plan::Build(std::make_shared<const qs::ir::Graph>(*g), shapes);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("(Conv)"), std::string::npos) << plan.status().message();
}

TEST(FuzzRegressions, PngChunkLongerThanTheFileIsRefusedBeforeAllocation) {
  // stb_image reserved the IDAT chunk's declared 1.8 GB before reading it.
  const std::string bytes =
      file_bytes(kRoot / "tests/fuzz_regressions/image/png_huge_idat_length_oom.bin").substr(1);
  qs::fuzz::TempFile f(bytes, ".png");
  auto img = qs::io::read_image(f.path(), qs::io::ImageOptions{});
  ASSERT_FALSE(img.ok());
  EXPECT_NE(img.status().message().find("declares"), std::string::npos) << img.status().message();
}

TEST(FuzzRegressions, JpegHuffmanTableOfMoreThan256CodesIsRefused) {
  // stb_image wrote past its 257-entry code-length array (UBSan: index 257 out of bounds).
  const std::string bytes =
      file_bytes(kRoot / "tests/fuzz_regressions/image/jpeg_dht_over_256_codes_oob_write.bin").substr(1);
  qs::fuzz::TempFile f(bytes, ".jpg");
  auto img = qs::io::read_image(f.path(), qs::io::ImageOptions{});
  ASSERT_FALSE(img.ok());
  EXPECT_NE(img.status().message().find("Huffman"), std::string::npos) << img.status().message();
}

}  // namespace
