#include "core/hash.h"

#include <xxhash.h>

#include <fstream>
#include <memory>
#include <vector>

namespace qs {

uint64_t hash_bytes(const void* data, size_t n, uint64_t seed) { return XXH3_64bits_withSeed(data, n, seed); }

std::optional<uint64_t> hash_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  const std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(), &XXH3_freeState);
  if (!state || XXH3_64bits_reset(state.get()) != XXH_OK) return std::nullopt;
  std::vector<char> chunk(size_t{1} << 20);
  while (f) {
    f.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    if (f.gcount() > 0) XXH3_64bits_update(state.get(), chunk.data(), static_cast<size_t>(f.gcount()));
  }
  if (f.bad()) return std::nullopt;
  return XXH3_64bits_digest(state.get());
}

}  // namespace qs
