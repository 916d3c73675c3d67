// 64-bit hashing (XXH3, libxxhash): computation signatures, kernel cache keys, shared constant
// weights and the digests of the files a resumed sweep must match.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace qs {

uint64_t hash_bytes(const void* data, size_t n, uint64_t seed = 0);
inline uint64_t hash_combine(uint64_t a, uint64_t b) { return hash_bytes(&b, sizeof b, a); }
// The hash of a file's bytes, read in 1 MiB chunks (equal to hash_bytes of the whole file);
// nullopt if it cannot be read.
std::optional<uint64_t> hash_file(const std::string& path);

}  // namespace qs
