#include "io/npy.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/half.h"
#include "temp_dir.h"

namespace qs::io {
namespace {

namespace fs = std::filesystem;

class NpyTest : public TempDirTest {
 protected:
  // A .npy file with the given header dict text (padded like numpy does) and raw data.
  std::string WriteNpy(const std::string& name, const std::string& dict, const std::string& data, int major = 1) const {
    const size_t pre = major == 1 ? 10 : 12;
    std::string header = dict;
    while ((pre + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string bytes = "\x93NUMPY";
    bytes += static_cast<char>(major);
    bytes += '\0';
    const size_t n = header.size();
    for (size_t i = 0; i < pre - 8; ++i) bytes += static_cast<char>((n >> (8 * i)) & 0xff);
    return WriteFile(name, bytes + header + data);
  }
  // Expects read_npy to fail with a message naming the file and containing `what`.
  void ExpectError(const std::string& path, const std::string& what) const {
    auto r = read_npy(path);
    ASSERT_FALSE(r.ok()) << "expected an error mentioning: " << what;
    EXPECT_NE(r.status().message().find("'" + path + "'"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << "message is not one line";
  }
};

std::string Floats(std::vector<float> v) { return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4); }

TEST_F(NpyTest, ReadsNumpyStyleFloat32) {
  const auto p = WriteNpy("a.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                          Floats({1, 2, 3, 4, 5, -6.5f}));
  auto t = read_npy(p);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->dtype(), DType::kFloat32);
  EXPECT_EQ(t->shape(), (Shape{2, 3}));
  EXPECT_FLOAT_EQ(t->data<float>()[5], -6.5f);
  EXPECT_FLOAT_EQ(t->data<float>()[0], 1.0f);
}

TEST_F(NpyTest, ReadsVersion2And3AndLooseDictSyntax) {
  for (int major : {2, 3}) {
    const auto p = WriteNpy("v" + std::to_string(major) + ".npy",
                            "{\"shape\":(3,),\"fortran_order\" : False ,\"descr\":\"<i4\"}", std::string("\1\0\0\0\2\0\0\0\377\377\377\377", 12), major);
    auto t = read_npy(p);
    ASSERT_TRUE(t.ok()) << t.status().message();
    EXPECT_EQ(t->dtype(), DType::kInt32);
    EXPECT_EQ(t->shape(), (Shape{3}));
    EXPECT_EQ(t->data<int32_t>()[2], -1);
  }
}

TEST_F(NpyTest, ReadsScalarAndEmpty) {
  auto s = read_npy(WriteNpy("s.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", std::string("\0\0\0\0\0\0\xf0\x3f", 8)));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->rank(), 0);
  EXPECT_DOUBLE_EQ(s->data<double>()[0], 1.0);
  auto e = read_npy(WriteNpy("e.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", ""));
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->shape(), (Shape{0, 5}));
  EXPECT_EQ(e->numel(), 0);
}

TEST_F(NpyTest, AcceptsByteOrderForms) {
  struct Case { std::string descr; DType dtype; std::string data; };
  const std::vector<Case> cases = {
      {"=f4", DType::kFloat32, Floats({2.0f})},      {"|u1", DType::kUInt8, "\xff"},
      {"<i1", DType::kInt8, "\xff"},                 {"|i1", DType::kInt8, "\x80"},
      {"=u2", DType::kUInt16, std::string("\x01\x02", 2)}, {"<u4", DType::kUInt32, std::string("\1\0\0\0", 4)},
      {"<u8", DType::kUInt64, std::string(8, '\1')}, {"<i8", DType::kInt64, std::string(8, '\xff')},
      {"<i2", DType::kInt16, std::string("\xfe\xff", 2)}, {"<f2", DType::kFloat16, std::string("\x00\x3c", 2)},
      {">u1", DType::kUInt8, "\x07"},
  };
  for (const auto& c : cases) {
    auto t = read_npy(WriteNpy("b.npy", "{'descr': '" + c.descr + "', 'fortran_order': False, 'shape': (1,), }", c.data));
    ASSERT_TRUE(t.ok()) << c.descr << ": " << t.status().message();
    EXPECT_EQ(t->dtype(), c.dtype) << c.descr;
  }
  auto h = read_npy(WriteNpy("h.npy", "{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }", std::string("\x00\x3c", 2)));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->GetAsDouble(0), 1.0);
  auto i2 = read_npy(WriteNpy("i2.npy", "{'descr': '<i2', 'fortran_order': False, 'shape': (1,), }", std::string("\xfe\xff", 2)));
  ASSERT_TRUE(i2.ok());
  EXPECT_EQ(i2->GetAsInt64(0), -2);
}

TEST_F(NpyTest, BoolBytesBecomeZeroOrOne) {
  auto t = read_npy(WriteNpy("b.npy", "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", std::string("\0\1\7", 3)));
  ASSERT_TRUE(t.ok()) << t.status().message();
  const auto* raw = static_cast<const unsigned char*>(t->raw());
  EXPECT_EQ(raw[0], 0);
  EXPECT_EQ(raw[1], 1);
  EXPECT_EQ(raw[2], 1);
}

template <typename T>
Tensor Ramp(Shape shape) {
  Tensor t(DTypeOf<T>::value, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = static_cast<T>(i % 7 + (i % 2 ? 1 : 0));
  return t;
}

TEST_F(NpyTest, WriteThenReadRoundTripsEveryDtype) {
  std::vector<Tensor> tensors = {Ramp<float>({2, 3, 4}), Ramp<double>({5}),      Ramp<int8_t>({1, 1}),
                                 Ramp<uint8_t>({}),      Ramp<int16_t>({3, 0}),  Ramp<uint16_t>({7}),
                                 Ramp<int32_t>({2, 2}),  Ramp<uint32_t>({9}),    Ramp<int64_t>({4, 1, 2}),
                                 Ramp<uint64_t>({3}),    Ramp<bool>({6})};
  Tensor half(DType::kFloat16, {2});
  half.data<uint16_t>()[0] = float_to_half(1.5f);
  half.data<uint16_t>()[1] = float_to_half(-2.0f);
  tensors.push_back(half);
  for (const Tensor& t : tensors) {
    const std::string p = Path("rt.npy");
    ASSERT_TRUE(write_npy(p, t).ok());
    auto r = read_npy(p);
    ASSERT_TRUE(r.ok()) << dtype_name(t.dtype()) << ": " << r.status().message();
    EXPECT_EQ(r->dtype(), t.dtype());
    EXPECT_EQ(r->shape(), t.shape());
    ASSERT_EQ(r->nbytes(), t.nbytes());
    EXPECT_EQ(std::memcmp(r->raw(), t.raw(), t.nbytes()), 0) << dtype_name(t.dtype());
  }
}

TEST_F(NpyTest, WritesNumpyVersion1Layout) {
  const std::string p = Path("w.npy");
  ASSERT_TRUE(write_npy(p, Ramp<float>({3})).ok());
  std::ifstream in(p, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t hl = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
  EXPECT_EQ((10 + hl) % 64, 0u);
  EXPECT_EQ(bytes.size(), 10 + hl + 12);
  const std::string header = bytes.substr(10, hl);
  EXPECT_EQ(header.find("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"), 0u) << header;
  EXPECT_EQ(header.back(), '\n');
  // Only the file itself is left: the temporary was renamed into place.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
  ASSERT_TRUE(write_npy(Path("m.npy"), Ramp<int8_t>({2, 3})).ok());
  std::ifstream in2(Path("m.npy"), std::ios::binary);
  const std::string b2((std::istreambuf_iterator<char>(in2)), std::istreambuf_iterator<char>());
  EXPECT_NE(b2.find("'descr': '|i1', 'fortran_order': False, 'shape': (2, 3), }"), std::string::npos);
}

TEST_F(NpyTest, WriteErrorsNameTheFile) {
  const std::string p = Path("no_such_folder/x.npy");
  Status s = write_npy(p, Ramp<float>({2}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(p), std::string::npos) << s.message();
  Status u = write_npy(Path("u.npy"), Tensor());
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.message().find("no element type"), std::string::npos) << u.message();
}

TEST_F(NpyTest, MissingFileAndFolder) {
  ExpectError(Path("missing.npy"), "does not exist");
  EXPECT_EQ(read_npy(Path("missing.npy")).status().kind(), ErrorKind::kIo);
  fs::create_directory(Path("d.npy"));
  ExpectError(Path("d.npy"), "folder");
}

TEST_F(NpyTest, BadMagicAndTruncatedPreamble) {
  ExpectError(WriteFile("m.npy", "PK\3\4 this is a zip file"), "not a .npy file");
  ExpectError(WriteFile("e.npy", ""), "not a .npy file");
  ExpectError(WriteFile("p.npy", "\x93NUMPY\x01"), "ends inside the .npy preamble");
  ExpectError(WriteFile("p2.npy", std::string("\x93NUMPY\x02\x00\x10", 9)), "ends inside the .npy preamble");
  ExpectError(WriteFile("p3.npy", std::string("\x93NUMPY\x02\x00\x10\x00", 10)), "ends inside the .npy 2.0 preamble");
}

TEST_F(NpyTest, TruncatedHeader) {
  const std::string full = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  ExpectError(WriteFile("t.npy", std::string("\x93NUMPY\x01\x00\x76\x00", 10) + full.substr(0, 20)), "truncated header");
}

TEST_F(NpyTest, UnsupportedVersion) {
  ExpectError(WriteFile("v.npy", std::string("\x93NUMPY\x04\x00\x10\x00", 10) + std::string(16, ' ')), "version 4.0");
  ExpectError(WriteFile("v1.npy", std::string("\x93NUMPY\x01\x01\x10\x00", 10) + std::string(16, ' ')), "version 1.1");
}

TEST_F(NpyTest, HeaderLengthIsBounded) {
  std::string bytes("\x93NUMPY\x02\x00\x00\x00\x00\x10", 12);  // claims 256 MiB of header
  ExpectError(WriteFile("big.npy", bytes + "{}"), "more than the");
}

TEST_F(NpyTest, UnsupportedDtypes) {
  auto with = [&](const std::string& descr) {
    return WriteNpy("d.npy", "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0'));
  };
  ExpectError(with(">f4"), "big-endian");
  EXPECT_EQ(read_npy(with(">i8")).status().kind(), ErrorKind::kUnsupported);
  ExpectError(with("|O"), "Python objects");
  ExpectError(with("<U2"), "strings");
  ExpectError(with("|S8"), "strings");
  ExpectError(with("<c8"), "complex");
  ExpectError(with("<f16"), "not supported");
  ExpectError(with("|f4"), "byte-order free");
  ExpectError(with("f4"), "no byte-order mark");
  ExpectError(with(""), "descr is empty");
  ExpectError(WriteNpy("s.npy", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", "1234"),
              "structured dtypes");
}

TEST_F(NpyTest, FortranOrderRejected) {
  const auto p = WriteNpy("f.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", Floats({1, 2, 3, 4}));
  ExpectError(p, "Fortran order");
  EXPECT_EQ(read_npy(p).status().kind(), ErrorKind::kUnsupported);
}

TEST_F(NpyTest, DataTooShortAndTooLong) {
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
  ExpectError(WriteNpy("short.npy", dict, std::string(40, '\0')),
              "header declares shape [3,4] (12 float32 values, 48 bytes) but the file holds 40 bytes of data (truncated)");
  ExpectError(WriteNpy("long.npy", dict, std::string(49, '\0')), "holds 49 bytes of data (trailing bytes");
}

TEST_F(NpyTest, HugeAndBadDimensions) {
  auto with = [&](const std::string& shape) {
    return WriteNpy("h.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }", std::string(16, '\0'));
  };
  ExpectError(with("(4611686018427387904, 4)"), "overflows");
  ExpectError(with("(1000000000000,)"), "size cap");
  ExpectError(with("(99999999999999999999,)"), "does not fit in 64 bits");
  ExpectError(with("(-4,)"), "negative dimension");
  ExpectError(with("(2.5,)"), "malformed header");
  ExpectError(with("(4, 'a')"), "not an integer");
  ExpectError(with("[4]"), "'shape' is not a tuple");
}

TEST_F(NpyTest, MalformedHeaderDicts) {
  const std::string data(4, '\0');
  ExpectError(WriteNpy("a.npy", "{'descr': '<f4', 'fortran_order': False", data), "unterminated dict");
  ExpectError(WriteNpy("b.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk", data), "after the header dict");
  ExpectError(WriteNpy("c.npy", "{'descr': '<f4', 'shape': (1,)}", data), "no 'fortran_order' key");
  ExpectError(WriteNpy("d.npy", "{'fortran_order': False, 'shape': (1,)}", data), "no 'descr' key");
  ExpectError(WriteNpy("e.npy", "{'descr': '<f4', 'fortran_order': False}", data), "no 'shape' key");
  ExpectError(WriteNpy("f.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", data), "unexpected key 'x'");
  ExpectError(WriteNpy("g.npy", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", data), "duplicate key");
  ExpectError(WriteNpy("h.npy", "{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", data), "malformed header");
  ExpectError(WriteNpy("i.npy", "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", data), "not True or False");
  ExpectError(WriteNpy("j.npy", "['descr', '<f4']", data), "not a dict");
  ExpectError(WriteNpy("k.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': " + std::string(40, '(') + "}", data),
              "nests too deeply");
  ExpectError(WriteNpy("l.npy", "{'descr': '<f\\x34', 'fortran_order': False, 'shape': (1,)}", data), "escape sequences");
  ExpectError(WriteNpy("m.npy", std::string("{'descr': '<f4'") + '\0' + ", 'fortran_order': False, 'shape': (1,)}", data),
              "not text");
  ExpectError(WriteNpy("n.npy", "", data), "header ends where a value was expected");
  ExpectError(WriteNpy("o.npy", "{1: 2}", data), "dict keys must be strings");
}

// Random corruption of a valid file must give a clean result or a clean error, never a crash.
TEST_F(NpyTest, CorruptedFilesNeverCrash) {
  const std::string good = Path("good.npy");
  ASSERT_TRUE(write_npy(good, Ramp<float>({3, 5})).ok());
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::mt19937 rng(1234);
  int errors = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    std::string b = bytes;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % std::min<size_t>(b.size(), 140);  // mostly the preamble and header
      b[pos] = static_cast<char>(rng() % 256);
    }
    if (rng() % 5 == 0) b.resize(rng() % b.size());
    const std::string p = WriteFile("fuzz" + std::to_string(iter) + ".npy", b);  // fresh names: truncating is slow
    auto r = read_npy(p);
    if (!r.ok()) {
      ++errors;
      EXPECT_NE(r.status().message().find(p), std::string::npos) << r.status().message();
    }
  }
  EXPECT_GT(errors, 500);
}

}  // namespace
}  // namespace qs::io
