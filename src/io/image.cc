// Image decoding: PNG and JPEG through stb_image, PGM/PPM (P2, P3, P5, P6) by a small parser of
// our own so that ASCII files, 16-bit files and clear error messages are all covered.
#include "io/image.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string_view>

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STBI_MAX_DIMENSIONS 32768
#include <stb_image.h>
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_STATIC
#include <stb_image_resize.h>

namespace qs::io {

static_assert(STBI_MAX_DIMENSIONS == kMaxImageSide);

namespace {

constexpr uintmax_t kMaxImageFileBytes = uintmax_t{1} << 30;  // stb_image takes an int length

// Decoded pixels, interleaved H x W x C, on the 0..255 scale.
struct Pixels {
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 0;  // 1 gray, 2 gray+alpha, 3 rgb, 4 rgba
  std::vector<float> data;
};

Expected<std::string> read_file_bytes(const std::string& path, const std::string& prefix) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return IoError("{}the file does not exist", prefix);
  if (fs::is_directory(st)) return IoError("{}it is a folder, not a file", prefix);
  if (!fs::is_regular_file(st)) return IoError("{}it is not a regular file", prefix);
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return IoError("{}{}", prefix, ec.message());
  if (size == 0) return InvalidInput("{}the file is empty", prefix);
  if (size > kMaxImageFileBytes)
    return InvalidInput("{}the file has {} bytes, more than the {} an image may have", prefix, size, kMaxImageFileBytes);
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return IoError("{}{}", prefix, std::strerror(errno));
  std::string bytes(size, '\0');
  if (std::fread(bytes.data(), 1, size, f.get()) != size)
    return IoError("{}reading failed (the file changed while being read?)", prefix);
  return bytes;
}

Status check_dims(int64_t width, int64_t height, const std::string& prefix) {
  if (width <= 0 || height <= 0) return InvalidInput("{}the image is {}x{} pixels; it has no pixels", prefix, width, height);
  if (width > kMaxImageSide || height > kMaxImageSide)
    return InvalidInput("{}the image is {}x{} pixels, larger than the {} pixels per side allowed", prefix, width, height,
                        kMaxImageSide);
  return Status::Ok();
}

// Reads the whitespace- and comment-separated numbers of a PNM file.
class PnmScanner {
 public:
  explicit PnmScanner(std::string_view s, size_t pos) : s_(s), pos_(pos) {}
  size_t pos() const { return pos_; }
  bool AtEnd() {
    SkipSpaceAndComments();
    return pos_ >= s_.size();
  }
  // Reads one unsigned decimal number no larger than limit; false (with why set) when it fails.
  bool Number(uint32_t limit, uint32_t& out, std::string& why) {
    SkipSpaceAndComments();
    if (pos_ >= s_.size()) { why = "the file ends early"; return false; }
    if (!std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      why = fmt::format("unexpected byte 0x{:02x} at offset {} where a number was expected",
                        static_cast<unsigned char>(s_[pos_]), pos_);
      return false;
    }
    uint64_t v = 0;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      v = v * 10 + static_cast<uint64_t>(s_[pos_++] - '0');
      if (v > limit) { why = fmt::format("a number at offset {} is larger than {}", pos_, limit); return false; }
    }
    if (pos_ < s_.size() && !IsSpace(s_[pos_]) && s_[pos_] != '#') {
      why = fmt::format("unexpected byte 0x{:02x} at offset {} after a number", static_cast<unsigned char>(s_[pos_]), pos_);
      return false;
    }
    out = static_cast<uint32_t>(v);
    return true;
  }
  // Binary formats: exactly one whitespace byte separates maxval from the pixel data.
  bool SingleSpace() {
    if (pos_ >= s_.size() || !IsSpace(s_[pos_])) return false;
    ++pos_;
    return true;
  }

 private:
  static bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
  void SkipSpaceAndComments() {
    while (pos_ < s_.size()) {
      if (IsSpace(s_[pos_])) ++pos_;
      else if (s_[pos_] == '#') while (pos_ < s_.size() && s_[pos_] != '\n' && s_[pos_] != '\r') ++pos_;
      else break;
    }
  }
  std::string_view s_;
  size_t pos_;
};

Expected<Pixels> decode_pnm(std::string_view bytes, const std::string& prefix) {
  const char kind = bytes.size() >= 2 ? bytes[1] : '?';
  if (kind == '1' || kind == '4') return Unsupported("{}PBM (bitmap) files are not supported; use PGM or PPM", prefix);
  if (kind == '7') return Unsupported("{}PAM files are not supported; use PGM or PPM", prefix);
  if (kind != '2' && kind != '3' && kind != '5' && kind != '6')
    return InvalidInput("{}'P{}' is not a PGM/PPM magic number", prefix, kind);
  if (bytes.size() < 3 || !(std::isspace(static_cast<unsigned char>(bytes[2])) || bytes[2] == '#'))
    return InvalidInput("{}malformed PGM/PPM header: no whitespace after the magic 'P{}'", prefix, kind);
  const bool ascii = kind == '2' || kind == '3';
  Pixels px;
  px.channels = (kind == '3' || kind == '6') ? 3 : 1;
  PnmScanner sc(bytes, 2);
  uint32_t w = 0, h = 0, maxval = 0;
  std::string why;
  if (!sc.Number(1u << 30, w, why) || !sc.Number(1u << 30, h, why) || !sc.Number(1u << 30, maxval, why))
    return InvalidInput("{}malformed PGM/PPM header: {}", prefix, why);
  QS_RETURN_IF_ERROR(check_dims(w, h, prefix));
  if (maxval == 0 || maxval > 65535) return InvalidInput("{}PGM/PPM maxval {} is outside 1..65535", prefix, maxval);
  px.width = w;
  px.height = h;
  auto count = checked_numel({px.height, px.width, px.channels}, sizeof(float));
  if (!count.ok()) return count.status().WithPrefix(prefix);
  const size_t n = static_cast<size_t>(*count);
  const float to255 = 255.0f / static_cast<float>(maxval);

  if (!ascii) {
    if (!sc.SingleSpace()) return InvalidInput("{}no whitespace byte after the PGM/PPM maxval", prefix);
    const size_t bpv = maxval > 255 ? 2 : 1;
    const size_t need = n * bpv;
    const size_t have = bytes.size() - sc.pos();
    if (have != need)
      return InvalidInput("{}the {}x{} {} image needs {} bytes of pixel data but the file holds {}{}", prefix, w, h,
                          px.channels == 1 ? "gray" : "colour", need, have, have < need ? " (truncated)" : " (trailing bytes)");
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + sc.pos());
    px.data.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const uint32_t v = bpv == 1 ? p[i] : (uint32_t{p[2 * i]} << 8 | p[2 * i + 1]);  // 16-bit is big-endian
      if (v > maxval) return InvalidInput("{}pixel value {} exceeds the maxval {}", prefix, v, maxval);
      px.data[i] = static_cast<float>(v) * to255;
    }
    return px;
  }
  // ASCII: every value takes at least one digit and one separator, so the file bounds the count.
  if ((bytes.size() - sc.pos() + 1) / 2 < n)
    return InvalidInput("{}the {}x{} image needs {} pixel values but the file is too short to hold them", prefix, w, h, n);
  px.data.resize(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t v = 0;
    if (!sc.Number(maxval, v, why))
      return InvalidInput("{}bad pixel value {} of {}: {}", prefix, i, n, why);
    px.data[i] = static_cast<float>(v) * to255;
  }
  if (!sc.AtEnd()) return InvalidInput("{}more pixel values than the {}x{} header declares (trailing data)", prefix, w, h);
  return px;
}

// stb_image grows its buffer to a PNG chunk's declared length before reading the chunk, so a
// few hundred bytes claiming a 2 GB IDAT chunk allocate 2 GB (found by fuzz/image). Every chunk
// must fit in the file.
Status check_png_chunks(std::string_view bytes, const std::string& prefix) {
  static constexpr std::string_view kSignature("\x89PNG\r\n\x1a\n", 8);
  if (bytes.substr(0, 8) != kSignature) return Status::Ok();
  size_t pos = 8;
  while (pos + 8 <= bytes.size()) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
    const uint64_t length = (uint64_t{p[0]} << 24) | (uint64_t{p[1]} << 16) | (uint64_t{p[2]} << 8) | p[3];
    const std::string_view type = bytes.substr(pos + 4, 4);
    if (length + 12 > bytes.size() - pos)
      return InvalidInput("{}the image cannot be decoded (PNG chunk at byte {} declares {} bytes, the file holds {} more)",
                          prefix, pos, length, bytes.size() - pos - 8);
    pos += 12 + length;
    if (type == "IEND") break;
  }
  return Status::Ok();
}

// Debian's stb_image (2022-09) lacks upstream's check that a JPEG Huffman table holds at most
// 256 codes, and writes past its code-length array when one holds more (found by fuzz/image under
// UBSan). The segments are walked as stb reads them and such tables refused.
Status check_jpeg_huffman_tables(std::string_view b, const std::string& prefix) {
  auto at = [&](size_t i) -> unsigned { return i < b.size() ? static_cast<unsigned char>(b[i]) : 0u; };
  size_t pos = 0;
  while (at(pos) == 0xFF) ++pos;  // stb skips fill bytes before the SOI marker too
  if (pos == 0 || at(pos) != 0xD8) return Status::Ok();
  ++pos;
  while (pos < b.size()) {
    if (at(pos) != 0xFF) {  // stb skips bytes that are no marker, looking for the next one
      ++pos;
      continue;
    }
    while (at(pos) == 0xFF && pos < b.size()) ++pos;
    const unsigned m = at(pos++);
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;
    if (m == 0xD9 || pos + 2 > b.size()) return Status::Ok();
    const size_t len = (static_cast<size_t>(at(pos)) << 8) | at(pos + 1);
    if (m == 0xC4) {  // as stbi__process_marker reads a DHT segment
      int64_t left = static_cast<int64_t>(len) - 2;
      size_t q = pos + 2;
      while (left > 0 && q < b.size()) {
        int n = 0;
        for (size_t i = 1; i <= 16; ++i) n += static_cast<int>(at(q + i));
        if (n > 256)
          return InvalidInput("{}the image cannot be decoded (JPEG Huffman table at byte {} has {} codes, at most 256)",
                              prefix, q, n);
        q += 17 + static_cast<size_t>(n);
        left -= 17 + n;
      }
    }
    pos += len;
    if (m == 0xDA)  // entropy-coded data up to the next marker (FF 00 and restart markers are data)
      while (pos + 1 < b.size() && !(at(pos) == 0xFF && at(pos + 1) != 0x00 && (at(pos + 1) < 0xD0 || at(pos + 1) > 0xD7)))
        ++pos;
  }
  return Status::Ok();
}

Expected<Pixels> decode_stb(std::string_view bytes, const std::string& prefix) {
  QS_RETURN_IF_ERROR(check_png_chunks(bytes, prefix));
  QS_RETURN_IF_ERROR(check_jpeg_huffman_tables(bytes, prefix));
  const auto* buf = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(buf, len, &w, &h, &comp))
    return InvalidInput("{}not a PNG, JPEG, PGM or PPM image ({})", prefix, stbi_failure_reason());
  QS_RETURN_IF_ERROR(check_dims(w, h, prefix));
  std::unique_ptr<stbi_uc, void (*)(void*)> img(stbi_load_from_memory(buf, len, &w, &h, &comp, 0), &stbi_image_free);
  if (!img) return InvalidInput("{}the image cannot be decoded ({})", prefix, stbi_failure_reason());
  if (comp < 1 || comp > 4) return InvalidInput("{}the image has {} channels", prefix, comp);
  Pixels px;
  px.width = w;
  px.height = h;
  px.channels = comp;
  const size_t n = static_cast<size_t>(w) * static_cast<size_t>(h) * static_cast<size_t>(comp);
  px.data.assign(img.get(), img.get() + n);
  return px;
}

// Converts to 1 (gray) or 3 (RGB/BGR) channels, dropping alpha.
Pixels convert_channels(const Pixels& in, ImageOptions::Channels want) {
  const int64_t out_c = channel_count(want);
  const bool colour_in = in.channels >= 3;
  Pixels out{in.height, in.width, out_c, {}};
  const size_t pixels = static_cast<size_t>(in.height * in.width);
  out.data.resize(pixels * static_cast<size_t>(out_c));
  for (size_t i = 0; i < pixels; ++i) {
    const float* p = &in.data[i * static_cast<size_t>(in.channels)];
    float* q = &out.data[i * static_cast<size_t>(out_c)];
    const float r = p[0], g = colour_in ? p[1] : p[0], b = colour_in ? p[2] : p[0];
    if (want == ImageOptions::Channels::kGray) {
      q[0] = colour_in ? 0.299f * r + 0.587f * g + 0.114f * b : p[0];
    } else if (want == ImageOptions::Channels::kRgb) {
      q[0] = r; q[1] = g; q[2] = b;
    } else {
      q[0] = b; q[1] = g; q[2] = r;
    }
  }
  return out;
}

// Bilinear (triangle filter, edge clamp); when shrinking the filter widens, so it averages
// the area under each output pixel rather than aliasing.
Expected<Pixels> resize(const Pixels& in, int64_t height, int64_t width, const std::string& prefix) {
  if (in.height == height && in.width == width) return in;
  auto count = checked_numel({height, width, in.channels}, sizeof(float));
  if (!count.ok()) return count.status().WithPrefix(prefix);
  Pixels out{height, width, in.channels, std::vector<float>(static_cast<size_t>(*count))};
  const int ok = stbir_resize_float_generic(in.data.data(), static_cast<int>(in.width), static_cast<int>(in.height), 0,
                                            out.data.data(), static_cast<int>(width), static_cast<int>(height), 0,
                                            static_cast<int>(in.channels), STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP,
                                            STBIR_FILTER_TRIANGLE, STBIR_COLORSPACE_LINEAR, nullptr);
  if (!ok) return InvalidInput("{}resizing {}x{} to {}x{} failed", prefix, in.width, in.height, width, height);
  return out;
}

Status check_options(const ImageOptions& opt, const std::string& prefix) {
  const int64_t c = channel_count(opt.channels);
  if ((opt.height == 0) != (opt.width == 0))
    return InvalidInput("{}the resize target {}x{} sets only one side; set both or neither", prefix, opt.height, opt.width);
  if (opt.height < 0 || opt.width < 0 || opt.height > kMaxImageSide || opt.width > kMaxImageSide)
    return InvalidInput("{}the resize target {}x{} is outside 1..{} per side", prefix, opt.height, opt.width, kMaxImageSide);
  if (!std::isfinite(opt.scale)) return InvalidInput("{}the pixel scale {} is not a finite number", prefix, opt.scale);
  for (const auto* list : {&opt.mean, &opt.std}) {
    const char* name = list == &opt.mean ? "mean" : "std";
    if (list->size() != 1 && static_cast<int64_t>(list->size()) != c)
      return InvalidInput("{}{} {} values given but the image is read with {} channel{}; give 1 or {}", prefix,
                          list->size(), name, c, c == 1 ? "" : "s", c);
    for (float v : *list)
      if (!std::isfinite(v)) return InvalidInput("{}{} value {} is not a finite number", prefix, name, v);
  }
  for (float v : opt.std)
    if (v == 0.0f) return InvalidInput("{}a std value is zero (it divides)", prefix);
  return Status::Ok();
}

}  // namespace

int64_t channel_count(ImageOptions::Channels c) { return c == ImageOptions::Channels::kGray ? 1 : 3; }

Expected<Tensor> read_image(const std::string& path, const ImageOptions& opt) {
  const std::string prefix = fmt::format("cannot read image '{}': ", path);
  QS_RETURN_IF_ERROR(check_options(opt, prefix));
  QS_ASSIGN_OR_RETURN(std::string bytes, read_file_bytes(path, prefix));
  Pixels px;
  if (bytes.size() >= 2 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '7') {
    QS_ASSIGN_OR_RETURN(px, decode_pnm(bytes, prefix));
  } else {
    QS_ASSIGN_OR_RETURN(px, decode_stb(bytes, prefix));
  }
  bytes = std::string();
  px = convert_channels(px, opt.channels);
  if (opt.height > 0) {
    QS_ASSIGN_OR_RETURN(px, resize(px, opt.height, opt.width, prefix));
  }

  const int64_t c = px.channels, h = px.height, w = px.width;
  auto created = Tensor::Create(DType::kFloat32, {1, c, h, w});
  if (!created.ok()) return created.status().WithPrefix(prefix);
  Tensor t = std::move(created).value();
  float* out = t.data<float>();
  for (int64_t ch = 0; ch < c; ++ch) {
    const float mean = opt.mean.size() == 1 ? opt.mean[0] : opt.mean[static_cast<size_t>(ch)];
    const float sd = opt.std.size() == 1 ? opt.std[0] : opt.std[static_cast<size_t>(ch)];
    float* plane = out + ch * h * w;
    for (int64_t i = 0; i < h * w; ++i) plane[i] = (px.data[static_cast<size_t>(i * c + ch)] * opt.scale - mean) / sd;
  }
  return t;
}

bool is_image_path(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  std::string lower(ext.size(), '\0');
  std::transform(ext.begin(), ext.end(), lower.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return lower == ".png" || lower == ".jpg" || lower == ".jpeg" || lower == ".pgm" || lower == ".ppm";
}

}  // namespace qs::io
