#include "quant/calib_cache.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "quant/int8_math.h"

namespace qs::quant {
namespace {

float from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

TEST(CalibCacheTest, ReadsTensorRtFormatWithColonsInNames) {
  // As TensorRT 8 writes it: 0x3c010a14 is about 0.00787 (range 1.0).
  auto c = parse_calib_cache("TRT-8601-EntropyCalibration2\ndata: 3c010a14\n/conv1/Conv_output_0: 3d4c1b2a\nns:a:b: 00000000\n",
                             "c.cache");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->version, "8601");
  EXPECT_EQ(c->algorithm, "EntropyCalibration2");
  EXPECT_TRUE(c->warnings.empty());
  ASSERT_EQ(c->scales.size(), 3u);
  EXPECT_EQ(c->scales.at("data"), from_bits(0x3c010a14));
  EXPECT_EQ(c->scales.at("/conv1/Conv_output_0"), from_bits(0x3d4c1b2a));
  EXPECT_EQ(c->scales.at("ns:a:b"), 0.0f) << "split at the last colon";
}

TEST(CalibCacheTest, OlderVersionsAndUnknownAlgorithmsAreWarningsNotErrors) {
  auto c = parse_calib_cache("TRT-7000-EntropyCalibration2\nx: 3c010a14\n", "c");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->version, "7000");
  auto d = parse_calib_cache("TRT-100100-SomeFutureCalibrator\nx: 3c010a14\n", "c");
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->warnings.size(), 1u);
  EXPECT_NE(d->warnings[0].find("SomeFutureCalibrator"), std::string::npos);
}

TEST(CalibCacheTest, WriteThenReadIsBitExact) {
  CalibCache c;
  c.scales = {{"a", 0.1f}, {"b:c", 1e-30f}, {"d", scale_from_range(6.0f)}, {"z", 0.0f}};
  const auto dir = std::filesystem::temp_directory_path() / ("qs_cache_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "x.cache").string();
  ASSERT_TRUE(write_calib_cache(path, c).ok());
  auto r = read_calib_cache(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->scales.size(), c.scales.size());
  for (const auto& [k, v] : c.scales) {
    uint32_t a, b;
    std::memcpy(&a, &v, 4);
    std::memcpy(&b, &r->scales.at(k), 4);
    EXPECT_EQ(a, b) << k;
  }
  std::filesystem::remove_all(dir);
}

TEST(CalibCacheTest, BadCachesNameTheFileAndLine) {
  auto expect_err = [](const std::string& text, const std::string& frag) {
    auto c = parse_calib_cache(text, "bad.cache");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.status().message().find("bad.cache"), std::string::npos) << c.status().message();
    EXPECT_NE(c.status().message().find(frag), std::string::npos) << c.status().message();
  };
  expect_err("", "empty");
  expect_err("hello\n", "line 1");
  expect_err("TRT-8601-EntropyCalibration2\nx 3c010a14\n", "line 2");
  expect_err("TRT-8601-EntropyCalibration2\nx: zz\n", "not 8 hex digits");
  expect_err("TRT-8601-EntropyCalibration2\nx: 7fc00000\n", "not a finite");
  expect_err("TRT-8601-EntropyCalibration2\nx: bf800000\n", "not a finite non-negative");
  expect_err("TRT-8601-EntropyCalibration2\nx: 3c010a14\nx: 3c010a14\n", "appears twice");
  EXPECT_FALSE(read_calib_cache("/nonexistent.cache").ok());
}

TEST(Int8MathTest, RoundsHalfToEvenAndSaturates) {
  const float s = 0.5f;
  EXPECT_EQ(quantize_s8(0.25f, s), 0);    // 0.5 -> 0 (even)
  EXPECT_EQ(quantize_s8(0.75f, s), 2);    // 1.5 -> 2
  EXPECT_EQ(quantize_s8(1.25f, s), 2);    // 2.5 -> 2
  EXPECT_EQ(quantize_s8(-0.75f, s), -2);  // -1.5 -> -2
  EXPECT_EQ(quantize_s8(-1.25f, s), -2);  // -2.5 -> -2
  EXPECT_EQ(quantize_s8(1000.f, s), 127);
  EXPECT_EQ(quantize_s8(-1000.f, s), -128);
  EXPECT_EQ(quantize_s8(3.f, 0.f), 0) << "zero range";
  EXPECT_EQ(quantize_weight_s8(-1000.f, s), -127) << "weights are symmetric";
  EXPECT_FLOAT_EQ(dequantize_s8(-128, 0.25f), -32.f);
  EXPECT_FLOAT_EQ(scale_from_range(127.f), 1.f);
}

}  // namespace
}  // namespace qs::quant
