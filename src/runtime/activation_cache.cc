#include "runtime/activation_cache.h"

#include <xxhash.h>

#include <fstream>
#include <memory>
#include <vector>

namespace qs::runtime {

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

bool ActivationCache::Get(uint64_t key, Tensor* out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++stats_.misses;
    return false;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  *out = it->second->second;
  ++stats_.hits;
  return true;
}

void ActivationCache::Put(uint64_t key, const Tensor& t) {
  const auto bytes = static_cast<int64_t>(t.nbytes());
  if (bytes > max_bytes_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  while (!lru_.empty() && stats_.bytes + bytes > max_bytes_) {
    stats_.bytes -= static_cast<int64_t>(lru_.back().second.nbytes());
    index_.erase(lru_.back().first);
    lru_.pop_back();
    ++stats_.evictions;
  }
  lru_.emplace_front(key, t);
  index_[key] = lru_.begin();
  stats_.bytes += bytes;
  stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.bytes);
}

ActivationCache::Stats ActivationCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace qs::runtime
