#include "runtime/activation_cache.h"

namespace qs::runtime {

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
