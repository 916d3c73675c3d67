// Reference data-movement kernels shared by the shape and data op families. They move
// elements as opaque bytes (elem_size = dtype_size), so one kernel serves every dtype.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/shape.h"

namespace qs::kernels::ref {

// y = x with axes permuted: y.shape[i] = in_shape[perm[i]]. perm must be a permutation.
void transpose(const void* x, void* y, const Shape& in_shape, const std::vector<int64_t>& perm, size_t elem_size);

// Output element (o_0, ..., o_k) copies input element (src[0][o_0], ..., src[k][o_k]); when any
// src entry is -1 the element is `fill` instead (padding, extrapolation). One map per axis
// turns Slice, Pad, Tile, Expand and nearest Resize into the same loop.
struct IndexMap {
  Shape in_shape;
  std::vector<std::vector<int64_t>> src;  // src[axis][output index] -> input index or -1
};
void index_map_copy(const void* x, void* y, const IndexMap& map, const void* fill, size_t elem_size);

// Per-axis maps for the ops built on index_map_copy. All assume validated arguments.
std::vector<int64_t> slice_axis_map(int64_t start, int64_t step, int64_t count);
std::vector<int64_t> tile_axis_map(int64_t in, int64_t repeats);
std::vector<int64_t> broadcast_axis_map(int64_t in, int64_t out);  // in == out or in == 1

// Writes n copies of one element.
void fill(void* y, const void* value, int64_t n, size_t elem_size);

// Range: y[i] = start + i * delta, computed in T like ONNX's reference.
template <typename T>
void range(T start, T delta, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(start + static_cast<T>(i) * delta);
}

}  // namespace qs::kernels::ref
