#include "core/tensor.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <cstring>
#include <new>

#include "core/half.h"

namespace qs {

namespace {

// Freed buffers of kPoolMin bytes and more wait here for the next allocation of the same
// rounded size, up to kPoolCap bytes in all. A plan run again and again (sweep steps,
// benchmarks, every input of a run) allocates the same sizes each time; without the pool each
// large buffer is a fresh mmap whose every page faults on first touch (the allocator returns
// blocks above its mmap threshold to the system on free), which cost more than the
// convolution writing it (38 MB, 19 ms for one MobileNetV2 layer at batch 8).
class BufferPool {
 public:
  static constexpr size_t kPoolMin = size_t{4} << 10;
  static constexpr size_t kPoolCap = size_t{512} << 20;

  void* Take(size_t bytes) {
    if (bytes < kPoolMin) return nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.find(bytes);
    if (it == free_.end()) return nullptr;
    void* p = it->second;
    free_.erase(it);
    held_ -= bytes;
    return p;
  }
  // Keeps p (of `bytes`) for reuse, or frees it when the pool is full.
  void Give(void* p, size_t bytes) {
    if (bytes >= kPoolMin) {
      std::lock_guard<std::mutex> lock(mu_);
      if (held_ + bytes <= kPoolCap) {
        free_.emplace(bytes, p);
        held_ += bytes;
        return;
      }
    }
    std::free(p);
  }

 private:
  std::mutex mu_;
  std::multimap<size_t, void*> free_;
  size_t held_ = 0;
};

BufferPool& pool() {
  static BufferPool* p = new BufferPool;  // never destroyed: tensors may outlive static destructors
  return *p;
}

std::shared_ptr<std::byte[]> allocate(size_t nbytes, bool zero = true) {
  // Never zero; room for vector tails; whole pages for pooled sizes (more reuse).
  size_t rounded = (nbytes + 63) / 64 * 64 + 64;
  if (rounded >= BufferPool::kPoolMin) rounded = (rounded + 4095) / 4096 * 4096;
  void* p = pool().Take(rounded);
  if (!p) p = std::aligned_alloc(64, rounded);
  if (!p) throw std::bad_alloc();
  if (zero) std::memset(p, 0, rounded);
  return std::shared_ptr<std::byte[]>(static_cast<std::byte*>(p),
                                      [rounded](std::byte* q) { pool().Give(q, rounded); });
}

}  // namespace

Expected<Tensor> Tensor::Create(DType dtype, Shape shape) {
  if (dtype_size(dtype) == 0) return InvalidInput("tensor has an undefined element type");
  QS_ASSIGN_OR_RETURN(int64_t n, checked_numel(shape, dtype_size(dtype)));
  (void)n;
  return Tensor(dtype, std::move(shape));
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = qs::numel(shape_);
  buf_ = allocate(nbytes());
}

Tensor Tensor::Uninitialized(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = qs::numel(t.shape_);
  t.buf_ = allocate(t.nbytes(), false);
  return t;
}

Tensor Tensor::Reshaped(Shape shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::Part(int64_t offset, Shape shape) const {
  Tensor t;
  t.dtype_ = dtype_;
  t.shape_ = std::move(shape);
  t.numel_ = qs::numel(t.shape_);
  t.buf_ = std::shared_ptr<std::byte[]>(buf_, buf_.get() + static_cast<size_t>(offset) * dtype_size(dtype_));
  t.known_finite_ = known_finite_;
  return t;
}

Tensor Tensor::Clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
  t.known_finite_ = known_finite_;
  return t;
}

double Tensor::GetAsDouble(int64_t i) const {
  switch (dtype_) {
    case DType::kFloat32: return data<float>()[i];
    case DType::kFloat64: return data<double>()[i];
    case DType::kFloat16: return half_to_float(data<uint16_t>()[i]);
    case DType::kInt8: return data<int8_t>()[i];
    case DType::kUInt8: return data<uint8_t>()[i];
    case DType::kInt16: return data<int16_t>()[i];
    case DType::kUInt16: return data<uint16_t>()[i];
    case DType::kInt32: return data<int32_t>()[i];
    case DType::kUInt32: return data<uint32_t>()[i];
    case DType::kInt64: return static_cast<double>(data<int64_t>()[i]);
    case DType::kUInt64: return static_cast<double>(data<uint64_t>()[i]);
    case DType::kBool: return data<bool>()[i] ? 1.0 : 0.0;
    case DType::kUndefined: return 0.0;
  }
  return 0.0;
}

int64_t Tensor::GetAsInt64(int64_t i) const {
  switch (dtype_) {
    case DType::kInt64: return data<int64_t>()[i];
    case DType::kUInt64: return static_cast<int64_t>(data<uint64_t>()[i]);
    case DType::kInt32: return data<int32_t>()[i];
    default: return static_cast<int64_t>(GetAsDouble(i));
  }
}

}  // namespace qs
