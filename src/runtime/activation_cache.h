// Activations kept between runs so that sweep steps share work: a tensor's value is keyed by
// the signature of the computation that produced it (the producing nodes, their precisions
// and scales, recursively, and the input set), so a later run whose plan computes the same
// value the same way takes it instead of recomputing. Bounded by bytes; least recently used
// values go first. Thread-safe.
#pragma once
#include <cstdint>
#include <list>
#include <mutex>
#include <unordered_map>

#include "core/tensor.h"

namespace qs::runtime {

class ActivationCache {
 public:
  explicit ActivationCache(int64_t max_bytes) : max_bytes_(max_bytes) {}
  bool Get(uint64_t key, Tensor* out);
  void Put(uint64_t key, const Tensor& t);

  struct Stats {
    int64_t hits = 0, misses = 0, bytes = 0, peak_bytes = 0, evictions = 0;
  };
  Stats stats() const;
  int64_t max_bytes() const { return max_bytes_; }

 private:
  using Lru = std::list<std::pair<uint64_t, Tensor>>;
  const int64_t max_bytes_;
  mutable std::mutex mu_;
  Lru lru_;  // front: most recently used
  std::unordered_map<uint64_t, Lru::iterator> index_;
  Stats stats_;
};

}  // namespace qs::runtime
