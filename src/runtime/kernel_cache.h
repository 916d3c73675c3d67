// Prepared kernels shared between plans of the same model: a sweep builds a plan per step,
// and most of a step's layers run exactly as in the step before. A kernel is keyed by what
// decides it: the node, its precision and input scales, and its inputs' types, shapes and
// constant values (by name: within one model a constant name means one value). Thread-safe.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "ops/op.h"

namespace qs::runtime {

class KernelCache {
 public:
  struct Entry {
    std::shared_ptr<ops::Kernel> kernel;
    std::vector<ops::TensorInfo> outputs;  // planned output types and shapes (no values)
  };
  bool Find(uint64_t key, Entry* out) const;
  void Put(uint64_t key, Entry e);
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Entry> entries_;
};

}  // namespace qs::runtime
