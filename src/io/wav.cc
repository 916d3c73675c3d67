#include "io/wav.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace qs::io {

namespace {

constexpr uint16_t kPcm = 1, kFloat = 3, kExtensible = 0xFFFE;

uint32_t le32(const unsigned char* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24); }
uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

}  // namespace

Expected<Tensor> read_wav(const std::string& path, WavInfo* info) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return IoError("cannot open '{}'", path);
  const std::vector<unsigned char> b((std::istreambuf_iterator<char>(f)), {});
  if (f.bad()) return IoError("cannot read '{}'", path);
  if (b.size() < 12 || std::memcmp(b.data(), "RIFF", 4) != 0 || std::memcmp(b.data() + 8, "WAVE", 4) != 0)
    return InvalidInput("'{}' is not a WAVE file (no RIFF/WAVE header)", path);
  uint16_t format = 0, channels = 0, bits = 0, block = 0;
  uint32_t rate = 0;
  bool have_fmt = false;
  const unsigned char* data = nullptr;
  size_t data_bytes = 0;
  for (size_t pos = 12; pos + 8 <= b.size();) {
    const uint32_t size = le32(b.data() + pos + 4);
    const size_t body = pos + 8;
    const size_t avail = b.size() - body;
    if (std::memcmp(b.data() + pos, "fmt ", 4) == 0) {
      if (size < 16 || size > avail) return InvalidInput("'{}': its 'fmt ' chunk is {} bytes, expected 16 or more", path, size);
      const unsigned char* p = b.data() + body;
      format = le16(p);
      channels = le16(p + 2);
      rate = le32(p + 4);
      block = le16(p + 12);
      bits = le16(p + 14);
      if (format == kExtensible) {
        if (size < 40) return InvalidInput("'{}': its extensible 'fmt ' chunk is {} bytes, expected 40", path, size);
        format = le16(p + 24);  // the sub-format GUID starts with the format code
      }
      have_fmt = true;
    } else if (std::memcmp(b.data() + pos, "data", 4) == 0) {
      if (!have_fmt) return InvalidInput("'{}': its 'data' chunk comes before its 'fmt ' chunk", path);
      data = b.data() + body;
      // Writers that stream leave the size unset (0 or 0xFFFFFFFF): the data runs to the end.
      const bool unset = size == 0 || size == 0xFFFFFFFFu;
      if (!unset && size > avail)
        return InvalidInput("'{}' is cut short: its 'data' chunk says {} bytes, the file holds {}", path, size, avail);
      data_bytes = unset ? avail : size;
      break;
    }
    if (size > avail) break;
    pos = body + size + (size & 1);  // chunks are padded to an even size
  }
  if (!have_fmt) return InvalidInput("'{}' has no 'fmt ' chunk", path);
  if (!data) return InvalidInput("'{}' has no 'data' chunk", path);
  const bool is_float = format == kFloat;
  if (format != kPcm && !is_float)
    return Unsupported("'{}': WAVE format {} is not supported (PCM or IEEE float only)", path, format);
  if (channels == 0) return InvalidInput("'{}' has 0 channels", path);
  if (is_float ? (bits != 32 && bits != 64) : (bits != 8 && bits != 16 && bits != 24 && bits != 32))
    return Unsupported("'{}': {}-bit {} samples are not supported", path, bits, is_float ? "float" : "PCM");
  const size_t bytes = bits / 8;
  if (block != channels * bytes)
    return InvalidInput("'{}': block size {} does not match {} channels of {} bits", path, block, channels, bits);
  const int64_t frames = static_cast<int64_t>(data_bytes / block);
  if (frames == 0) return InvalidInput("'{}' holds no samples", path);
  Tensor t(DType::kFloat32, {static_cast<int64_t>(channels), frames});
  float* out = t.data<float>();
  for (int64_t i = 0; i < frames; ++i)
    for (int64_t c = 0; c < channels; ++c) {
      const unsigned char* p = data + (static_cast<size_t>(i) * channels + static_cast<size_t>(c)) * bytes;
      float v = 0.f;
      if (is_float && bits == 32) {
        std::memcpy(&v, p, 4);
      } else if (is_float) {
        double d;
        std::memcpy(&d, p, 8);
        v = static_cast<float>(d);
      } else if (bits == 8) {
        v = (static_cast<float>(p[0]) - 128.f) / 128.f;
      } else if (bits == 16) {
        v = static_cast<float>(static_cast<int16_t>(le16(p))) / 32768.f;
      } else if (bits == 24) {
        int32_t s = p[0] | (p[1] << 8) | (p[2] << 16);
        if (s & 0x800000) s -= 0x1000000;
        v = static_cast<float>(s) / 8388608.f;
      } else {
        v = static_cast<float>(static_cast<double>(static_cast<int32_t>(le32(p))) / 2147483648.0);
      }
      out[c * frames + i] = v;
    }
  if (info) *info = WavInfo{channels, static_cast<int>(rate), bits, is_float};
  return t;
}

}  // namespace qs::io
