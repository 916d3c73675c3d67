// WAVE reading (io/wav.h): each sample format scaled as audio libraries scale it, chunks skipped
// and padded, and a one-line error naming the file for each way a file can be wrong.
#include "io/wav.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "temp_dir.h"

namespace qs::io {
namespace {

std::string u16(uint16_t v) { return std::string{static_cast<char>(v & 0xff), static_cast<char>(v >> 8)}; }
std::string u32(uint32_t v) { return u16(static_cast<uint16_t>(v & 0xffff)) + u16(static_cast<uint16_t>(v >> 16)); }

// A WAVE file: fmt chunk (format, channels, bits), optional chunks before it, then the data.
std::string wav_bytes(uint16_t format, uint16_t channels, uint16_t bits, const std::string& data,
                      const std::string& before_data = "", int64_t data_size = -1) {
  const uint16_t block = static_cast<uint16_t>(channels * bits / 8);
  std::string fmt = u16(format) + u16(channels) + u32(16000) + u32(16000u * block) + u16(block) + u16(bits);
  std::string body = "WAVE" + std::string("fmt ") + u32(16) + fmt + before_data + "data" +
                     u32(data_size < 0 ? static_cast<uint32_t>(data.size()) : static_cast<uint32_t>(data_size)) + data;
  return "RIFF" + u32(static_cast<uint32_t>(body.size())) + body;
}

class WavTest : public TempDirTest {};

TEST_F(WavTest, EachSampleFormatIsScaledToPlusMinusOne) {
  // 16-bit stereo, interleaved L R L R: [-32768, 16384], [32767, -1].
  std::string d16 = u16(0x8000) + u16(0x7fff) + u16(16384) + u16(0xffff);
  WavInfo info;
  auto t = read_wav(WriteFile("s16.wav", wav_bytes(1, 2, 16, d16)), &info);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->shape(), (Shape{2, 2}));
  EXPECT_EQ(info.channels, 2);
  EXPECT_EQ(info.sample_rate, 16000);
  EXPECT_EQ(t->data<float>()[0], -1.f);
  EXPECT_EQ(t->data<float>()[1], 0.5f);
  EXPECT_EQ(t->data<float>()[2], 32767.f / 32768.f);
  EXPECT_EQ(t->data<float>()[3], -1.f / 32768.f);
  // 8-bit unsigned: 0 -> -1, 128 -> 0, 255 -> 127/128.
  t = read_wav(WriteFile("u8.wav", wav_bytes(1, 1, 8, std::string{'\x00', '\x80', '\xff', '\x80'})));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->shape(), (Shape{1, 4}));
  EXPECT_EQ(t->data<float>()[0], -1.f);
  EXPECT_EQ(t->data<float>()[1], 0.f);
  EXPECT_EQ(t->data<float>()[2], 127.f / 128.f);
  // 24-bit: -8388608 -> -1, 4194304 -> 0.5.
  t = read_wav(WriteFile("s24.wav", wav_bytes(1, 1, 24, std::string("\x00\x00\x80\x00\x00\x40", 6))));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->data<float>()[0], -1.f);
  EXPECT_EQ(t->data<float>()[1], 0.5f);
  // 32-bit PCM and float.
  t = read_wav(WriteFile("s32.wav", wav_bytes(1, 1, 32, u32(0xC0000000u))));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->data<float>()[0], -0.5f);
  const float f[2] = {0.25f, -3.5f};
  t = read_wav(WriteFile("f32.wav", wav_bytes(3, 1, 32, std::string(reinterpret_cast<const char*>(f), 8))));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->data<float>()[0], 0.25f);
  EXPECT_EQ(t->data<float>()[1], -3.5f);
}

TEST_F(WavTest, SkipsOtherChunksWithTheirPadding) {
  // A LIST chunk of odd size (5 bytes, one pad byte) before the data.
  const std::string list = "LIST" + u32(5) + std::string("abcde") + std::string(1, '\0');
  auto t = read_wav(WriteFile("list.wav", wav_bytes(1, 1, 16, u16(16384), list)));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->numel(), 1);
  EXPECT_EQ(t->data<float>()[0], 0.5f);
  // A streamed file leaves the data size unset: the samples run to the end.
  t = read_wav(WriteFile("stream.wav", wav_bytes(1, 1, 16, u16(16384) + u16(16384), "", 0)));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->numel(), 2);
}

TEST_F(WavTest, BadFilesGetAnErrorNamingTheFile) {
  struct Case {
    std::string name, bytes, message;
  };
  const std::vector<Case> cases = {
      {"text.wav", "hello, not audio", "is not a WAVE file"},
      {"cut.wav", wav_bytes(1, 1, 16, u16(1) + u16(2), "", 400), "is cut short"},
      {"alaw.wav", wav_bytes(6, 1, 8, "ab"), "WAVE format 6 is not supported"},
      {"bits12.wav", wav_bytes(1, 1, 12, "ab"), "12-bit PCM samples are not supported"},
      {"mono0.wav", wav_bytes(1, 0, 16, "ab"), "has 0 channels"},
      {"empty.wav", wav_bytes(1, 1, 16, ""), "holds no samples"},
      {"nofmt.wav", "RIFF" + u32(12) + "WAVEdata" + u32(0), "its 'data' chunk comes before its 'fmt ' chunk"},
      {"nodata.wav", "RIFF" + u32(28) + "WAVEfmt " + u32(16) + u16(1) + u16(1) + u32(8000) + u32(16000) + u16(2) + u16(16),
       "has no 'data' chunk"},
  };
  for (const auto& c : cases) {
    const std::string path = WriteFile(c.name, c.bytes);
    auto t = read_wav(path);
    ASSERT_FALSE(t.ok()) << c.name;
    EXPECT_THAT(t.status().message(), ::testing::HasSubstr(path)) << c.name;
    EXPECT_THAT(t.status().message(), ::testing::HasSubstr(c.message)) << c.name;
    EXPECT_EQ(t.status().message().find('\n'), std::string::npos) << c.name;
  }
  EXPECT_FALSE(read_wav(Path("missing.wav")).ok());
}

}  // namespace
}  // namespace qs::io
