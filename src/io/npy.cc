// NumPy .npy reader and writer. The header is a small Python dict literal that is parsed by
// hand with a bounded recursive-descent parser (no eval, no regex); the data is read straight
// into the tensor after its size has been checked against the file.
#include "io/npy.h"

#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "io/atomic_file.h"

namespace qs::io {

static_assert(std::endian::native == std::endian::little, "the .npy reader assumes a little-endian host");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kMaxHeaderLen = 1 << 16;  // numpy itself refuses headers over 10000 bytes by default
constexpr int kMaxNesting = 8;

// A parsed Python literal: only the kinds a .npy header may hold.
struct PyValue {
  enum class Kind { kString, kInt, kBool, kNone, kTuple, kList, kDict } kind = Kind::kNone;
  std::string str;
  int64_t integer = 0;
  bool boolean = false;
  std::vector<PyValue> items;                        // tuple, list, dict values
  std::vector<std::string> keys;                     // dict keys, parallel to items
};

// Parses one Python literal; errors are plain descriptions, the caller adds the file name.
class LiteralParser {
 public:
  explicit LiteralParser(std::string_view text) : s_(text) {}

  Expected<PyValue> ParseAll() {
    QS_ASSIGN_OR_RETURN(PyValue v, ParseValue(0));
    SkipSpace();
    if (pos_ != s_.size()) return Fail("unexpected text after the header dict");
    return v;
  }

 private:
  Status Fail(std::string_view what) const {
    return InvalidInput("{} at offset {} of the header", what, pos_);
  }
  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool Consume(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Expected<PyValue> ParseValue(int depth) {
    if (depth > kMaxNesting) return Fail("header nests too deeply");
    SkipSpace();
    if (pos_ >= s_.size()) return Fail("header ends where a value was expected");
    const char c = s_[pos_];
    PyValue v;
    if (c == '\'' || c == '"') {
      v.kind = PyValue::Kind::kString;
      QS_ASSIGN_OR_RETURN(v.str, ParseString());
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = PyValue::Kind::kInt;
      QS_ASSIGN_OR_RETURN(v.integer, ParseInt());
      return v;
    }
    if (Consume("True")) { v.kind = PyValue::Kind::kBool; v.boolean = true; return v; }
    if (Consume("False")) { v.kind = PyValue::Kind::kBool; v.boolean = false; return v; }
    if (Consume("None")) { v.kind = PyValue::Kind::kNone; return v; }
    if (c == '(' || c == '[') {
      v.kind = c == '(' ? PyValue::Kind::kTuple : PyValue::Kind::kList;
      QS_RETURN_IF_ERROR(ParseSequence(c == '(' ? ')' : ']', depth, v));
      return v;
    }
    if (c == '{') {
      v.kind = PyValue::Kind::kDict;
      QS_RETURN_IF_ERROR(ParseDict(depth, v));
      return v;
    }
    return Fail(fmt::format("unexpected character '{}'", c));
  }

  Expected<std::string> ParseString() {
    const char quote = s_[pos_++];
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\') return Fail("escape sequences in header strings are not supported");
      if (s_[pos_] == '\n') return Fail("unterminated string");
      out += s_[pos_++];
    }
    if (pos_ >= s_.size()) return Fail("unterminated string");
    ++pos_;
    return out;
  }

  Expected<int64_t> ParseInt() {
    const size_t start = pos_;
    bool negative = false;
    if (s_[pos_] == '-') { negative = true; ++pos_; }
    if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') return Fail("malformed number");
    uint64_t value = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      const uint64_t digit = static_cast<uint64_t>(s_[pos_] - '0');
      if (value > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - digit) / 10) {
        pos_ = start;
        return Fail("integer does not fit in 64 bits");
      }
      value = value * 10 + digit;
      ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'L' || s_[pos_] == 'l')) ++pos_;  // Python 2 long suffix
    const int64_t v = static_cast<int64_t>(value);
    return negative ? -v : v;
  }

  Status ParseSequence(char close, int depth, PyValue& out) {
    ++pos_;  // opening bracket
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size()) return Fail("unterminated tuple or list");
      if (s_[pos_] == close) { ++pos_; return Status::Ok(); }
      QS_ASSIGN_OR_RETURN(PyValue item, ParseValue(depth + 1));
      out.items.push_back(std::move(item));
      SkipSpace();
      if (pos_ >= s_.size()) return Fail("unterminated tuple or list");
      if (s_[pos_] == ',') { ++pos_; continue; }
      if (s_[pos_] == close) { ++pos_; return Status::Ok(); }
      return Fail("expected ',' or a closing bracket");
    }
  }

  Status ParseDict(int depth, PyValue& out) {
    ++pos_;  // '{'
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size()) return Fail("unterminated dict");
      if (s_[pos_] == '}') { ++pos_; return Status::Ok(); }
      if (s_[pos_] != '\'' && s_[pos_] != '"') return Fail("dict keys must be strings");
      QS_ASSIGN_OR_RETURN(std::string key, ParseString());
      for (const std::string& k : out.keys)
        if (k == key) return Fail(fmt::format("duplicate key '{}'", key));
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Fail("expected ':' after a dict key");
      ++pos_;
      QS_ASSIGN_OR_RETURN(PyValue value, ParseValue(depth + 1));
      out.keys.push_back(std::move(key));
      out.items.push_back(std::move(value));
      SkipSpace();
      if (pos_ >= s_.size()) return Fail("unterminated dict");
      if (s_[pos_] == ',') { ++pos_; continue; }
      if (s_[pos_] == '}') { ++pos_; return Status::Ok(); }
      return Fail("expected ',' or '}' in the dict");
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// Maps a numpy dtype descr ('<f4', '|u1', ...) to a DType.
Expected<DType> dtype_from_descr(const std::string& descr) {
  static const std::map<std::string_view, DType> kCodes = {
      {"f2", DType::kFloat16}, {"f4", DType::kFloat32}, {"f8", DType::kFloat64}, {"i1", DType::kInt8},
      {"i2", DType::kInt16},   {"i4", DType::kInt32},   {"i8", DType::kInt64},   {"u1", DType::kUInt8},
      {"u2", DType::kUInt16},  {"u4", DType::kUInt32},  {"u8", DType::kUInt64},  {"b1", DType::kBool},
  };
  if (descr.empty()) return InvalidInput("the dtype descr is empty");
  const char order = descr[0];
  const bool has_order = order == '<' || order == '>' || order == '|' || order == '=';
  const std::string_view code = std::string_view(descr).substr(has_order ? 1 : 0);
  const auto it = kCodes.find(code);
  if (it == kCodes.end()) {
    const char kind = code.empty() ? '?' : code[0];
    if (kind == 'O') return Unsupported("dtype '{}' holds Python objects, which qscope cannot read", descr);
    if (kind == 'S' || kind == 'U' || kind == 'a') return Unsupported("dtype '{}' holds strings, not numbers", descr);
    if (kind == 'c') return Unsupported("complex dtype '{}' is not supported", descr);
    return Unsupported("dtype '{}' is not supported (expected one of f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1)", descr);
  }
  const bool one_byte = dtype_size(it->second) == 1;
  if (!has_order && !one_byte) return InvalidInput("dtype '{}' has no byte-order mark", descr);
  if (order == '>' && !one_byte) return Unsupported("dtype '{}' is big-endian; only little-endian data is supported", descr);
  if (order == '|' && !one_byte) return InvalidInput("dtype '{}' marks a multi-byte type as byte-order free", descr);
  return it->second;
}

struct NpyHeader {
  DType dtype = DType::kUndefined;
  Shape shape;
};

// Checks the parsed dict and extracts dtype and shape; errors lack the file prefix.
Expected<NpyHeader> interpret_header(const PyValue& dict) {
  if (dict.kind != PyValue::Kind::kDict) return InvalidInput("the header is not a dict");
  const PyValue* descr = nullptr;
  const PyValue* fortran = nullptr;
  const PyValue* shape = nullptr;
  for (size_t i = 0; i < dict.keys.size(); ++i) {
    if (dict.keys[i] == "descr") descr = &dict.items[i];
    else if (dict.keys[i] == "fortran_order") fortran = &dict.items[i];
    else if (dict.keys[i] == "shape") shape = &dict.items[i];
    else return InvalidInput("the header has an unexpected key '{}'", dict.keys[i]);
  }
  if (!descr) return InvalidInput("the header has no 'descr' key");
  if (!fortran) return InvalidInput("the header has no 'fortran_order' key");
  if (!shape) return InvalidInput("the header has no 'shape' key");
  if (descr->kind == PyValue::Kind::kList)
    return Unsupported("structured dtypes (a list of fields in 'descr') are not supported");
  if (descr->kind != PyValue::Kind::kString) return InvalidInput("'descr' is not a string");
  if (fortran->kind != PyValue::Kind::kBool) return InvalidInput("'fortran_order' is not True or False");
  if (fortran->boolean) return Unsupported("the array is in Fortran order; only C order is supported (save it with np.ascontiguousarray)");
  if (shape->kind != PyValue::Kind::kTuple) return InvalidInput("'shape' is not a tuple");
  NpyHeader h;
  QS_ASSIGN_OR_RETURN(h.dtype, dtype_from_descr(descr->str));
  for (const PyValue& d : shape->items) {
    if (d.kind != PyValue::Kind::kInt) return InvalidInput("'shape' holds something that is not an integer");
    if (d.integer < 0) return InvalidInput("'shape' has a negative dimension {}", d.integer);
    h.shape.push_back(d.integer);
  }
  return h;
}

uint32_t read_le(const unsigned char* p, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

std::string descr_for(DType t) {
  switch (t) {
    case DType::kFloat16: return "<f2";
    case DType::kFloat32: return "<f4";
    case DType::kFloat64: return "<f8";
    case DType::kInt8: return "|i1";
    case DType::kInt16: return "<i2";
    case DType::kInt32: return "<i4";
    case DType::kInt64: return "<i8";
    case DType::kUInt8: return "|u1";
    case DType::kUInt16: return "<u2";
    case DType::kUInt32: return "<u4";
    case DType::kUInt64: return "<u8";
    case DType::kBool: return "|b1";
    case DType::kUndefined: break;
  }
  return "";
}

}  // namespace

Expected<Tensor> read_npy(const std::string& path) {
  namespace fs = std::filesystem;
  const std::string prefix = fmt::format("cannot read '{}': ", path);
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return IoError("{}the file does not exist", prefix);
  if (fs::is_directory(st)) return IoError("{}it is a folder, not a file", prefix);
  if (!fs::is_regular_file(st)) return IoError("{}it is not a regular file", prefix);
  const uintmax_t file_size = fs::file_size(path, ec);
  if (ec) return IoError("{}{}", prefix, ec.message());

  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) return IoError("{}{}", prefix, std::strerror(errno));

  unsigned char pre[12];
  const size_t got = std::fread(pre, 1, 10, f.get());
  if (got < kMagicLen || std::memcmp(pre, kMagic, kMagicLen) != 0)
    return InvalidInput("{}not a .npy file (it does not start with the \\x93NUMPY magic)", prefix);
  if (got < 10) return InvalidInput("{}the file ends inside the .npy preamble ({} bytes)", prefix, file_size);
  const int major = pre[6];
  const int minor = pre[7];
  if (major < 1 || major > 3 || minor != 0) return Unsupported("{}.npy format version {}.{} is not supported (1.0, 2.0 and 3.0 are)", prefix, major, minor);
  size_t preamble = 10;
  uint32_t header_len = read_le(pre + 8, 2);
  if (major >= 2) {
    if (std::fread(pre + 10, 1, 2, f.get()) != 2)
      return InvalidInput("{}the file ends inside the .npy {}.0 preamble ({} bytes)", prefix, major, file_size);
    header_len = read_le(pre + 8, 4);
    preamble = 12;
  }
  if (header_len > kMaxHeaderLen)
    return InvalidInput("{}the header claims {} bytes, more than the {} allowed", prefix, header_len, kMaxHeaderLen);
  if (preamble + header_len > file_size)
    return InvalidInput("{}the header claims {} bytes but the file ends after {} (truncated header)", prefix, header_len,
                        file_size - preamble);
  std::string header(header_len, '\0');
  if (std::fread(header.data(), 1, header_len, f.get()) != header_len)
    return IoError("{}the header could not be read: {}", prefix, std::strerror(errno));
  for (unsigned char c : header)
    if (c == 0 || (c >= 0x80 && major < 3)) return InvalidInput("{}the header holds a byte that is not text (0x{:02x})", prefix, c);

  auto parsed = LiteralParser(header).ParseAll();
  if (!parsed.ok()) return parsed.status().WithPrefix(prefix + "malformed header: ");
  auto info = interpret_header(*parsed);
  if (!info.ok()) return info.status().WithPrefix(prefix);

  const size_t esize = dtype_size(info->dtype);
  auto count = checked_numel(info->shape, esize);
  if (!count.ok()) return count.status().WithPrefix(prefix + "header shape: ");
  const uintmax_t need = static_cast<uintmax_t>(*count) * esize;
  const uintmax_t have = file_size - preamble - header_len;
  if (have != need) {
    const std::string what = fmt::format("header declares shape {} ({} {} values, {} bytes) but the file holds {} bytes of data",
                                         shape_str(info->shape), *count, dtype_name(info->dtype), need, have);
    return InvalidInput("{}{}{}", prefix, what, have < need ? " (truncated)" : " (trailing bytes after the array)");
  }
  QS_ASSIGN_OR_RETURN(Tensor t, Tensor::Create(info->dtype, info->shape));
  if (need > 0 && std::fread(t.raw(), 1, need, f.get()) != need)
    return IoError("{}reading the array data failed (the file changed while being read?)", prefix);
  if (info->dtype == DType::kBool) {  // any non-zero byte is True; keep the bool buffer 0/1
    auto* b = static_cast<unsigned char*>(t.raw());
    for (int64_t i = 0; i < t.numel(); ++i) b[i] = b[i] != 0;
  }
  return t;
}

Status write_npy(const std::string& path, const Tensor& t) {
  const std::string descr = descr_for(t.dtype());
  if (!t.defined() || descr.empty()) return InvalidInput("cannot write '{}': the tensor has no element type", path);
  std::string dims;
  for (size_t i = 0; i < t.shape().size(); ++i) dims += fmt::format("{}, ", t.shape()[i]);
  if (t.shape().size() > 1) dims.resize(dims.size() - 2);  // (3,) for rank 1, (3, 4) otherwise
  else if (t.shape().size() == 1) dims.resize(dims.size() - 1);
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", descr, dims);
  // Version 1.0 has a 16-bit header length; a header too long for it (rank in the thousands) needs 2.0.
  const bool v2 = dict.size() + 1 + 64 + 10 > 0xffff;
  const size_t preamble = v2 ? 12 : 10;
  const size_t total = (preamble + dict.size() + 1 + 63) / 64 * 64;  // data starts 64-byte aligned
  dict.append(total - preamble - dict.size() - 1, ' ');
  dict += '\n';
  std::string bytes(kMagic, kMagicLen);
  bytes += static_cast<char>(v2 ? 2 : 1);
  bytes += '\0';
  const size_t hl = dict.size();
  bytes += static_cast<char>(hl & 0xff);
  bytes += static_cast<char>((hl >> 8) & 0xff);
  if (v2) {
    bytes += static_cast<char>((hl >> 16) & 0xff);
    bytes += static_cast<char>((hl >> 24) & 0xff);
  }
  bytes += dict;
  bytes.append(static_cast<const char*>(t.raw()), t.nbytes());
  return write_file_atomic(path, bytes);
}

}  // namespace qs::io
