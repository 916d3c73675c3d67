#include "kernels/reference/shape.h"

#include <cstring>

namespace qs::kernels::ref {

void transpose(const void* x, void* y, const Shape& in_shape, const std::vector<int64_t>& perm, size_t elem_size) {
  const size_t rank = in_shape.size();
  const auto* src = static_cast<const std::byte*>(x);
  auto* dst = static_cast<std::byte*>(y);
  const int64_t n = numel(in_shape);
  if (n == 0) return;
  if (rank == 0) {
    std::memcpy(dst, src, elem_size);
    return;
  }
  const std::vector<int64_t> in_strides = dense_strides(in_shape);
  Shape out_shape(rank);
  std::vector<int64_t> stride(rank);  // input stride of each output axis
  for (size_t i = 0; i < rank; ++i) {
    out_shape[i] = in_shape[static_cast<size_t>(perm[i])];
    stride[i] = in_strides[static_cast<size_t>(perm[i])];
  }
  std::vector<int64_t> idx(rank, 0);
  int64_t off = 0;
  for (int64_t o = 0; o < n; ++o) {
    std::memcpy(dst + o * static_cast<int64_t>(elem_size), src + off * static_cast<int64_t>(elem_size), elem_size);
    // Odometer increment over the output index, tracking the input offset.
    for (size_t a = rank; a-- > 0;) {
      off += stride[a];
      if (++idx[a] < out_shape[a]) break;
      off -= stride[a] * out_shape[a];
      idx[a] = 0;
    }
  }
}

namespace {

struct MapCopy {
  const IndexMap& map;
  const std::byte* x;
  std::byte* y;
  const std::byte* fill;
  size_t es;
  std::vector<int64_t> in_strides;

  // Copies the output block of `axis` whose first element sits at y; in_off < 0 means the
  // block lies in padding.
  std::byte* run(size_t axis, int64_t in_off, std::byte* out) const {
    const auto& src = map.src[axis];
    const bool last = axis + 1 == map.src.size();
    for (int64_t s : src) {
      const int64_t off = (in_off < 0 || s < 0) ? -1 : in_off + s * in_strides[axis];
      if (last) {
        std::memcpy(out, off < 0 ? fill : x + off * static_cast<int64_t>(es), es);
        out += es;
      } else {
        out = run(axis + 1, off, out);
      }
    }
    return out;
  }
};

}  // namespace

void index_map_copy(const void* x, void* y, const IndexMap& map, const void* fill, size_t elem_size) {
  if (map.src.empty()) {  // rank 0: one element
    std::memcpy(y, x, elem_size);
    return;
  }
  MapCopy c{map, static_cast<const std::byte*>(x), static_cast<std::byte*>(y), static_cast<const std::byte*>(fill),
            elem_size, dense_strides(map.in_shape)};
  c.run(0, 0, static_cast<std::byte*>(y));
}

std::vector<int64_t> slice_axis_map(int64_t start, int64_t step, int64_t count) {
  std::vector<int64_t> m(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) m[static_cast<size_t>(i)] = start + i * step;
  return m;
}

std::vector<int64_t> tile_axis_map(int64_t in, int64_t repeats) {
  std::vector<int64_t> m(static_cast<size_t>(in * repeats));
  for (size_t i = 0; i < m.size(); ++i) m[i] = static_cast<int64_t>(i) % in;
  return m;
}

std::vector<int64_t> broadcast_axis_map(int64_t in, int64_t out) {
  std::vector<int64_t> m(static_cast<size_t>(out));
  for (int64_t i = 0; i < out; ++i) m[static_cast<size_t>(i)] = in == 1 ? 0 : i;
  return m;
}

void fill(void* y, const void* value, int64_t n, size_t elem_size) {
  auto* dst = static_cast<std::byte*>(y);
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * static_cast<int64_t>(elem_size), value, elem_size);
}

}  // namespace qs::kernels::ref
