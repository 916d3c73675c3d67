#include "runtime/kernel_cache.h"

namespace qs::runtime {

bool KernelCache::Find(uint64_t key, Entry* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  *out = it->second;
  return true;
}

void KernelCache::Put(uint64_t key, Entry e) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.emplace(key, std::move(e));
}

size_t KernelCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace qs::runtime
