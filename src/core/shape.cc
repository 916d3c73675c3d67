#include "core/shape.h"

#include <atomic>
#include <limits>

namespace qs {

namespace {
std::atomic<int64_t> g_max_tensor_bytes{int64_t{16} << 30};  // 16 GiB
}

int64_t max_tensor_bytes() { return g_max_tensor_bytes.load(); }
void set_max_tensor_bytes(int64_t bytes) { g_max_tensor_bytes.store(bytes); }

Expected<int64_t> checked_numel(const Shape& shape, size_t element_size) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return InvalidInput("shape {} has a negative dimension", shape_str(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      return InvalidInput("shape {} overflows a 64-bit element count", shape_str(shape));
    n *= d;
  }
  const int64_t es = static_cast<int64_t>(element_size == 0 ? 1 : element_size);
  if (n > max_tensor_bytes() / es)
    return InvalidInput("shape {} needs {} elements, more than the tensor size cap of {} bytes", shape_str(shape), n,
                        max_tensor_bytes());
  return n;
}

int64_t numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::vector<int64_t> dense_strides(const Shape& shape) {
  std::vector<int64_t> st(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * shape[i + 1];
  return st;
}

Expected<int64_t> normalize_axis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) return InvalidInput("axis {} is out of range for rank {}", axis, rank);
  return axis < 0 ? axis + rank : axis;
}

}  // namespace qs
