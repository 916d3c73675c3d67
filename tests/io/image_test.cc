#include "io/image.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "io/options_parse.h"
#include "temp_dir.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>

namespace qs::io {
namespace {

namespace fs = std::filesystem;
using Channels = ImageOptions::Channels;

// Raw pixel values: no scaling or normalisation.
ImageOptions Raw(Channels c = Channels::kGray) {
  ImageOptions o;
  o.channels = c;
  o.scale = 1.0f;
  return o;
}

std::vector<float> Values(const Tensor& t) { return {t.data<float>(), t.data<float>() + t.numel()}; }

class ImageTest : public TempDirTest {
 protected:
  std::string WritePng(const std::string& name, int w, int h, int comp, const std::vector<uint8_t>& px) const {
    const std::string p = Path(name);
    EXPECT_NE(stbi_write_png(p.c_str(), w, h, comp, px.data(), w * comp), 0);
    return p;
  }
  void ExpectError(const std::string& path, const ImageOptions& opt, const std::string& what) const {
    auto r = read_image(path, opt);
    ASSERT_FALSE(r.ok()) << "expected an error mentioning: " << what;
    EXPECT_NE(r.status().message().find("'" + path + "'"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << "message is not one line";
  }
};

TEST_F(ImageTest, BinaryPgm) {
  const auto p = WriteFile("a.pgm", std::string("P5\n# a comment\n3 2\n255\n") + std::string("\x00\x10\x20\x30\x40\xff", 6));
  auto t = read_image(p, Raw());
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->dtype(), DType::kFloat32);
  EXPECT_EQ(t->shape(), (Shape{1, 1, 2, 3}));
  EXPECT_EQ(Values(*t), (std::vector<float>{0, 16, 32, 48, 64, 255}));
}

TEST_F(ImageTest, AsciiPgmMatchesBinary) {
  const auto p = WriteFile("a.pgm", "P2 # comment after magic\n3 2 255\n0 16 32\n# mid comment\n48 64 255\n");
  auto t = read_image(p, Raw());
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->shape(), (Shape{1, 1, 2, 3}));
  EXPECT_EQ(Values(*t), (std::vector<float>{0, 16, 32, 48, 64, 255}));
}

TEST_F(ImageTest, PpmRgbBgrAndGray) {
  // 2x1 image: pixel 0 = (255, 0, 10), pixel 1 = (0, 100, 200).
  const std::string data("\xff\x00\x0a\x00\x64\xc8", 6);
  const auto bin = WriteFile("c.ppm", "P6 2 1 255\n" + data);
  const auto asc = WriteFile("c2.ppm", "P3\n2 1\n255\n255 0 10   0 100 200\n");
  for (const auto& p : {bin, asc}) {
    auto rgb = read_image(p, Raw(Channels::kRgb));
    ASSERT_TRUE(rgb.ok()) << rgb.status().message();
    EXPECT_EQ(rgb->shape(), (Shape{1, 3, 1, 2}));
    EXPECT_EQ(Values(*rgb), (std::vector<float>{255, 0, 0, 100, 10, 200}));  // planar: R plane, G plane, B plane
    auto bgr = read_image(p, Raw(Channels::kBgr));
    ASSERT_TRUE(bgr.ok());
    EXPECT_EQ(Values(*bgr), (std::vector<float>{10, 200, 0, 100, 255, 0}));
    auto gray = read_image(p, Raw(Channels::kGray));
    ASSERT_TRUE(gray.ok());
    ASSERT_EQ(gray->shape(), (Shape{1, 1, 1, 2}));
    EXPECT_NEAR(gray->data<float>()[0], 0.299f * 255 + 0.114f * 10, 1e-3);
    EXPECT_NEAR(gray->data<float>()[1], 0.587f * 100 + 0.114f * 200, 1e-3);
  }
}

TEST_F(ImageTest, SixteenBitPgmIsRescaledTo255) {
  const auto p = WriteFile("w.pgm", std::string("P5 2 1 65535\n\xff\xff\x80\x00", 17));
  auto t = read_image(p, Raw());
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_FLOAT_EQ(t->data<float>()[0], 255.0f);
  EXPECT_NEAR(t->data<float>()[1], 32768.0f * 255.0f / 65535.0f, 1e-3);
  auto a = read_image(WriteFile("m.pgm", "P2 2 1 15\n15 5\n"), Raw());  // maxval 15
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(Values(*a), (std::vector<float>{255, 85}));
}

TEST_F(ImageTest, PngGrayRgbAndAlpha) {
  const auto g = WritePng("g.png", 2, 2, 1, {1, 2, 3, 250});
  auto t = read_image(g, Raw());
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(Values(*t), (std::vector<float>{1, 2, 3, 250}));
  auto rep = read_image(g, Raw(Channels::kRgb));  // gray to rgb replicates
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(Values(*rep), (std::vector<float>{1, 2, 3, 250, 1, 2, 3, 250, 1, 2, 3, 250}));

  const auto c = WritePng("c.png", 1, 2, 4, {10, 20, 30, 0, 40, 50, 60, 255});  // alpha is dropped
  auto rgb = read_image(c, Raw(Channels::kRgb));
  ASSERT_TRUE(rgb.ok()) << rgb.status().message();
  EXPECT_EQ(rgb->shape(), (Shape{1, 3, 2, 1}));
  EXPECT_EQ(Values(*rgb), (std::vector<float>{10, 40, 20, 50, 30, 60}));
  const auto ga = WritePng("ga.png", 2, 1, 2, {7, 0, 9, 255});
  auto gray = read_image(ga, Raw());
  ASSERT_TRUE(gray.ok()) << gray.status().message();
  EXPECT_EQ(Values(*gray), (std::vector<float>{7, 9}));
}

TEST_F(ImageTest, JpegDecodesApproximately) {
  std::vector<uint8_t> px(16 * 16 * 3);
  for (size_t i = 0; i < px.size(); i += 3) { px[i] = 200; px[i + 1] = 100; px[i + 2] = 50; }
  for (const char* name : {"c.jpg", "c.JPEG"}) {
    const std::string p = Path(name);
    ASSERT_NE(stbi_write_jpg(p.c_str(), 16, 16, 3, px.data(), 100), 0);
    auto t = read_image(p, Raw(Channels::kRgb));
    ASSERT_TRUE(t.ok()) << t.status().message();
    EXPECT_EQ(t->shape(), (Shape{1, 3, 16, 16}));
    EXPECT_NEAR(t->data<float>()[0], 200, 4);
    EXPECT_NEAR(t->data<float>()[256 + 17], 100, 4);
    EXPECT_NEAR(t->data<float>()[512 + 255], 50, 4);
  }
}

TEST_F(ImageTest, ScaleMeanAndStdPerChannel) {
  const auto p = WriteFile("c.ppm", std::string("P6 1 1 255\n\xff\x00\x80", 14));
  ImageOptions o;
  o.channels = Channels::kRgb;
  o.mean = {0.5f, 0.25f, 0.0f};
  o.std = {0.5f, 0.25f, 2.0f};
  auto t = read_image(p, o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_NEAR(t->data<float>()[0], (1.0f - 0.5f) / 0.5f, 1e-6);
  EXPECT_NEAR(t->data<float>()[1], (0.0f - 0.25f) / 0.25f, 1e-6);
  EXPECT_NEAR(t->data<float>()[2], (128.0f / 255.0f) / 2.0f, 1e-6);
  ImageOptions one;  // a single mean/std applies to every channel
  one.channels = Channels::kBgr;
  one.mean = {0.5f};
  one.std = {0.5f};
  auto u = read_image(p, one);
  ASSERT_TRUE(u.ok());
  EXPECT_NEAR(u->data<float>()[0], (128.0f / 255.0f - 0.5f) / 0.5f, 1e-6);  // B first
  EXPECT_NEAR(u->data<float>()[2], 1.0f, 1e-6);
}

TEST_F(ImageTest, BilinearResize) {
  // 2x2 upsampled to 4x4: pixel centres map to -0.25, 0.25, 0.75, 1.25 (clamped at the edges).
  const auto p = WriteFile("r.pgm", std::string("P5 2 2 255\n\x00\x40\x80\xc0", 15));
  ImageOptions o = Raw();
  o.height = 4;
  o.width = 4;
  auto t = read_image(p, o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(t->shape(), (Shape{1, 1, 4, 4}));
  const std::vector<float> row0 = {0, 16, 48, 64};
  for (int x = 0; x < 4; ++x) EXPECT_NEAR(t->data<float>()[x], row0[x], 1e-3) << x;
  EXPECT_NEAR(t->data<float>()[5], 0.75f * (0.75f * 0 + 0.25f * 64) + 0.25f * (0.75f * 128 + 0.25f * 192), 1e-3);
  EXPECT_NEAR(t->data<float>()[15], 192, 1e-3);

  // A constant image stays constant when shrunk or stretched unevenly.
  const auto flat = WriteFile("f.pgm", "P5 8 6 255\n" + std::string(48, '\x64'));
  o.height = 3;
  o.width = 11;
  auto s = read_image(flat, o);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->shape(), (Shape{1, 1, 3, 11}));
  for (float v : Values(*s)) EXPECT_NEAR(v, 100, 1e-3);
}

TEST_F(ImageTest, RealPngAndPgmDecodeToTheSamePixels) {
  const fs::path dir = fs::path(QS_TEST_DATA_DIR) / "fmnist" / "images";
  ASSERT_TRUE(fs::exists(dir / "test0_boot.png")) << "missing test images in " << dir;
  int pairs = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".png") continue;
    fs::path pgm = entry.path();
    pgm.replace_extension(".pgm");
    if (!fs::exists(pgm)) continue;
    auto a = read_image(entry.path().string(), ImageOptions{});
    auto b = read_image(pgm.string(), ImageOptions{});
    ASSERT_TRUE(a.ok()) << a.status().message();
    ASSERT_TRUE(b.ok()) << b.status().message();
    EXPECT_EQ(a->shape(), (Shape{1, 1, 28, 28})) << entry.path();
    EXPECT_EQ(Values(*a), Values(*b)) << entry.path();
    float lo = 1, hi = 0;
    for (float v : Values(*a)) { lo = std::min(lo, v); hi = std::max(hi, v); }
    EXPECT_GE(lo, 0.0f);
    EXPECT_LE(hi, 1.0f);
    EXPECT_GT(hi, 0.5f) << "the image should not be blank";
    ++pairs;
  }
  EXPECT_GE(pairs, 1);
}

TEST_F(ImageTest, IsImagePath) {
  for (const char* p : {"a.png", "dir/b.PNG", "c.jpg", "d.JpEg", "e.pgm", "f.PPM", "/x.y/z.png"}) EXPECT_TRUE(is_image_path(p)) << p;
  for (const char* p : {"a.npy", "png", "a.png.txt", "a.gif", "", "dir.png/", "noext"}) EXPECT_FALSE(is_image_path(p)) << p;
}

TEST_F(ImageTest, MissingEmptyAndFolder) {
  ExpectError(Path("nope.png"), ImageOptions{}, "does not exist");
  EXPECT_EQ(read_image(Path("nope.png"), ImageOptions{}).status().kind(), ErrorKind::kIo);
  ExpectError(WriteFile("empty.png", ""), ImageOptions{}, "empty");
  fs::create_directory(Path("d.png"));
  ExpectError(Path("d.png"), ImageOptions{}, "folder");
}

TEST_F(ImageTest, NonImageBytesWithPngExtension) {
  ExpectError(WriteFile("text.png", "hello, this is not a picture\n"), ImageOptions{}, "not a PNG, JPEG, PGM or PPM image (");
  ExpectError(WriteFile("gif.png", "GIF89a\1\0\1\0"), ImageOptions{}, "not a PNG, JPEG, PGM or PPM image");
}

TEST_F(ImageTest, TruncatedPngAndJpeg) {
  std::vector<uint8_t> px(32 * 32);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 7);
  const auto p = WritePng("full.png", 32, 32, 1, px);
  std::ifstream in(p, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ExpectError(WriteFile("half.png", bytes.substr(0, bytes.size() / 2)), ImageOptions{}, "cannot be decoded");
  ExpectError(WriteFile("head.png", bytes.substr(0, 12)), ImageOptions{}, "not a PNG");
}

TEST_F(ImageTest, ZeroSizeAndOversizedImages) {
  ExpectError(WriteFile("z.pgm", "P5 0 0 255\n"), ImageOptions{}, "0x0 pixels; it has no pixels");
  ExpectError(WriteFile("z2.pgm", "P2 4 0 255\n"), ImageOptions{}, "4x0 pixels");
  ExpectError(WriteFile("big.pgm", "P5 40000 10 255\n"), ImageOptions{}, "larger than the 32768 pixels per side");
  ExpectError(WriteFile("huge.pgm", "P5 99999999999 10 255\n"), ImageOptions{}, "larger than");
}

TEST_F(ImageTest, MalformedPnm) {
  ExpectError(WriteFile("s.pgm", "P5 4 4 255\n" + std::string(10, 'x')), Raw(), "needs 16 bytes of pixel data but the file holds 10 (truncated)");
  ExpectError(WriteFile("l.pgm", "P5 2 2 255\n" + std::string(5, 'x')), Raw(), "holds 5 (trailing bytes)");
  ExpectError(WriteFile("w.pgm", std::string("P5 2 1 65535\n\x00\x01", 15)), Raw(), "needs 4 bytes");
  ExpectError(WriteFile("v.pgm", std::string("P5 1 1 100\n\xc8", 12)), Raw(), "exceeds the maxval 100");
  ExpectError(WriteFile("a.pgm", "P2 2 2 255\n1\n"), Raw(), "needs 4 pixel values but the file is too short");
  ExpectError(WriteFile("a2.pgm", "P2 2 2 255\n1 2 3 # only three\n"), Raw(), "bad pixel value 3 of 4: the file ends early");
  ExpectError(WriteFile("a3.pgm", "P2 2 1 255\n1 2 3\n"), Raw(), "trailing data");
  ExpectError(WriteFile("a4.pgm", "P2 2 1 255\n1 300\n"), Raw(), "larger than 255");
  ExpectError(WriteFile("a5.pgm", "P2 2 1 255\n1 -3\n"), Raw(), "where a number was expected");
  ExpectError(WriteFile("m0.pgm", "P5 1 1 0\n\0"), Raw(), "maxval 0 is outside");
  ExpectError(WriteFile("m1.pgm", "P5 1 1 70000\n\0"), Raw(), "maxval 70000 is outside");
  ExpectError(WriteFile("h.pgm", "P5 2\n"), Raw(), "malformed PGM/PPM header: the file ends early");
  ExpectError(WriteFile("h2.pgm", "P52 2 255\n"), Raw(), "no whitespace after the magic");
  ExpectError(WriteFile("h3.pgm", "P5 2x 2 255\n"), Raw(), "after a number");
  ExpectError(WriteFile("n.pgm", "P5 1 1 255"), Raw(), "no whitespace byte after");
  ExpectError(WriteFile("b.pbm", "P4 1 1\n\x80"), Raw(), "PBM");
  EXPECT_EQ(read_image(Path("b.pbm"), Raw()).status().kind(), ErrorKind::kUnsupported);
  ExpectError(WriteFile("p7.pam", "P7\nWIDTH 1\n"), Raw(), "PAM");
  ExpectError(WriteFile("p9.pgm", "P9 1 1 255\n\0"), Raw(), "not a PNG");  // not a PNM magic: goes to stb
}

TEST_F(ImageTest, WrongChannelCountsAndBadOptions) {
  const auto p = WriteFile("g.pgm", "P5 1 1 255\n\x10");
  ImageOptions o;
  o.mean = {0.1f, 0.2f, 0.3f};  // gray has one channel
  ExpectError(p, o, "3 mean values given but the image is read with 1 channel; give 1 or 1");
  o = ImageOptions{};
  o.channels = Channels::kRgb;
  o.std = {1.0f, 2.0f};
  ExpectError(p, o, "2 std values given but the image is read with 3 channels");
  o = ImageOptions{};
  o.std = {0.0f};
  ExpectError(p, o, "std value is zero");
  o = ImageOptions{};
  o.mean = {};
  ExpectError(p, o, "0 mean values");
  o = ImageOptions{};
  o.mean = {std::numeric_limits<float>::quiet_NaN()};
  ExpectError(p, o, "not a finite number");
  o = ImageOptions{};
  o.height = 10;
  ExpectError(p, o, "sets only one side");
  o.width = 40000;
  ExpectError(p, o, "outside 1..32768");
  o.height = -1;
  o.width = -1;
  ExpectError(p, o, "outside 1..32768");
}

// Random corruption of valid PNG and PGM files gives a tensor or a clean error, never a crash.
TEST_F(ImageTest, CorruptedFilesNeverCrash) {
  std::vector<uint8_t> px(12 * 10 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 13);
  const auto png = WritePng("ok.png", 12, 10, 3, px);
  std::ifstream in(png, std::ios::binary);
  const std::string png_bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::vector<std::string> seeds = {png_bytes, "P6 4 3 255\n" + std::string(36, '\x7f'),
                                          "P3 2 2 255\n1 2 3 4 5 6\n7 8 9 10 11 12\n"};
  std::mt19937 rng(99);
  int errors = 0, iter = 0;
  for (const std::string& seed : seeds) {
    for (int k = 0; k < 600; ++k, ++iter) {
      std::string b = seed;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) b[rng() % b.size()] = static_cast<char>(rng() % 256);
      if (rng() % 5 == 0) b.resize(rng() % b.size());
      const std::string p = WriteFile("fuzz" + std::to_string(iter) + ".png", b);
      auto r = read_image(p, Raw(Channels::kRgb));
      if (!r.ok()) {
        ++errors;
        EXPECT_NE(r.status().message().find(p), std::string::npos) << r.status().message();
      }
    }
  }
  EXPECT_GT(errors, 300);
}

TEST(OptionsParse, Size) {
  auto s = parse_size("28x32");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->height, 28);
  EXPECT_EQ(s->width, 32);
  auto t = parse_size(" 224X224 ");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->width, 224);
  for (const char* bad : {"28", "28x", "x28", "0x5", "-3x4", "3x-4", "+3x4", "2.5x3", "28x28x3", "40000x1", "", "axb",
                          "99999999999999999999x1"}) {
    auto r = parse_size(bad, "--size");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().kind(), ErrorKind::kUsage);
    EXPECT_NE(r.status().message().find(std::string("--size '") + bad + "' is not a size"), std::string::npos)
        << r.status().message();
  }
}

TEST(OptionsParse, FloatList) {
  auto v = parse_float_list("0.485,0.456, 0.406", "--mean");
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(*v, (std::vector<float>{0.485f, 0.456f, 0.406f}));
  auto one = parse_float_list("-1e-3", "--std");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, (std::vector<float>{-1e-3f}));
  auto e = parse_float_list("0.1,,0.2", "--mean");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("--mean '0.1,,0.2' has an empty item 2"), std::string::npos) << e.status().message();
  auto tr = parse_float_list("0.1,", "--mean");
  ASSERT_FALSE(tr.ok());
  EXPECT_NE(tr.status().message().find("empty item 2"), std::string::npos) << tr.status().message();
  EXPECT_FALSE(parse_float_list("", "--mean").ok());
  for (const char* bad : {"0.1,abc", "1e99", "nan", "inf", "0.5x", "1 2"}) {
    auto r = parse_float_list(bad, "--std");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().kind(), ErrorKind::kUsage);
    EXPECT_NE(r.status().message().find("is not a finite number"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("--std"), std::string::npos);
  }
}

TEST(OptionsParse, FloatAndChannels) {
  auto f = parse_float("1/255", "--scale");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_FLOAT_EQ(*f, 1.0f / 255.0f);
  EXPECT_FLOAT_EQ(*parse_float("0.5", "--scale"), 0.5f);
  EXPECT_NE(parse_float("1/0", "--scale").status().message().find("divides by zero"), std::string::npos);
  EXPECT_NE(parse_float("a/2", "--scale").status().message().find("--scale 'a/2' is not a finite number"), std::string::npos);
  EXPECT_EQ(*parse_channels("RGB"), Channels::kRgb);
  EXPECT_EQ(*parse_channels("bgr"), Channels::kBgr);
  EXPECT_EQ(*parse_channels("grey"), Channels::kGray);
  auto c = parse_channels("rgba");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("--channels 'rgba' is not a channel layout"), std::string::npos);
}

}  // namespace
}  // namespace qs::io
