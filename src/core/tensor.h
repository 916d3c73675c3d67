// A dense, row-major tensor: dtype, shape and a shared, 64-byte aligned buffer.
#pragma once
#include <cstddef>
#include <memory>
#include <span>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/status.h"

namespace qs {

class Tensor {
 public:
  Tensor() = default;
  // Allocates a zero-filled tensor after checking the shape (negative dims, overflow, size cap).
  static Expected<Tensor> Create(DType dtype, Shape shape);
  // Allocates for a shape that is already known to be valid (checked at plan time).
  Tensor(DType dtype, Shape shape);
  // The same without the zero fill, for a buffer that is written whole before it is read
  // (a kernel output whose kernel says so: ops::Kernel::writes_all_outputs).
  static Tensor Uninitialized(DType dtype, Shape shape);

  template <typename T>
  static Tensor FromVector(Shape shape, std::span<const T> values) {
    Tensor t(DTypeOf<T>::value, std::move(shape));
    std::copy(values.begin(), values.end(), t.data<T>());
    return t;
  }
  template <typename T>
  static Tensor Scalar(T v) {
    Tensor t(DTypeOf<T>::value, {});
    *t.data<T>() = v;
    return t;
  }

  bool defined() const { return dtype_ != DType::kUndefined; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_[static_cast<size_t>(i)]; }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

  void* raw() { return buf_.get(); }
  const void* raw() const { return buf_.get(); }
  template <typename T>
  T* data() { return reinterpret_cast<T*>(buf_.get()); }
  template <typename T>
  const T* data() const { return reinterpret_cast<const T*>(buf_.get()); }
  template <typename T>
  std::span<const T> values() const { return {data<T>(), static_cast<size_t>(numel_)}; }

  // Whether every element is known to be finite (no NaN, no infinity): a hint that a kernel
  // which has proven it sets on its output, so that a reader may skip its own check. False for
  // a new tensor; copies, reshapes and clones keep it (they hold the same values). Code that
  // changes the values of a tensor with the hint set must clear it.
  bool known_finite() const { return known_finite_; }
  void set_known_finite(bool v) { known_finite_ = v; }

  // Whether this tensor holds the only reference to its buffer (no copy, reshape or part of it
  // is alive elsewhere), so that writing it changes no other tensor.
  bool sole_owner() const { return buf_ && buf_.use_count() == 1; }

  // Same buffer, another shape with the same element count.
  Tensor Reshaped(Shape shape) const;
  // Elements [offset, offset + numel(shape)) as a tensor of `shape`, sharing (and keeping
  // alive) this tensor's buffer. The range must lie within this tensor.
  Tensor Part(int64_t offset, Shape shape) const;
  // A deep copy.
  Tensor Clone() const;
  // Reads element i as double / int64 whatever the dtype (for small shape tensors and tests).
  double GetAsDouble(int64_t i) const;
  int64_t GetAsInt64(int64_t i) const;

 private:
  DType dtype_ = DType::kUndefined;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<std::byte[]> buf_;
  bool known_finite_ = false;
};

}  // namespace qs
