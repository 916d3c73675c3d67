// core/hash.h: hash_bytes (XXH3), and hash_file, which reads a file in chunks and must give the
// hash of its bytes as one block (the digests a resumed sweep compares).
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>

#include "core/hash.h"
#include "temp_dir.h"

namespace qs {
namespace {

using HashFile = TempDirTest;

TEST_F(HashFile, EqualsTheHashOfTheBytesAcrossChunks) {
  // 2.5 MiB: two whole 1 MiB chunks and a part.
  std::string bytes(5 << 19, '\0');
  std::mt19937 rng(3);
  for (char& c : bytes) c = static_cast<char>(rng());
  const std::string path = WriteFile("a.bin", bytes);
  const auto h = hash_file(path);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(*h, hash_bytes(bytes.data(), bytes.size()));
  // One byte changed anywhere changes the digest.
  bytes[bytes.size() - 1] ^= 1;
  WriteFile("a.bin", bytes);
  EXPECT_NE(*hash_file(path), *h);
}

TEST_F(HashFile, EmptyAndMissingFiles) {
  const std::string path = WriteFile("empty.bin", "");
  ASSERT_TRUE(hash_file(path).has_value());
  EXPECT_EQ(*hash_file(path), hash_bytes("", 0));
  std::remove(path.c_str());
  EXPECT_FALSE(hash_file(path).has_value());
}

TEST(HashBytes, SeedAndOrderMatter) {
  const uint64_t a = 1, b = 2;
  EXPECT_NE(hash_combine(hash_combine(0, a), b), hash_combine(hash_combine(0, b), a));
  EXPECT_NE(hash_bytes("abc", 3, 1), hash_bytes("abc", 3, 2));
  EXPECT_EQ(hash_bytes("abc", 3, 7), hash_bytes("abc", 3, 7));
}

}  // namespace
}  // namespace qs
