// Reference kernels of the data-movement family (Concat, Split, Gather, GatherElements,
// Pad). Elements move as opaque bytes, so every dtype works.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/shape.h"

namespace qs::kernels::ref {

// A tensor viewed as [outer, axis, inner] around one axis.
struct AxisView {
  int64_t outer = 1, axis = 1, inner = 1;
};
AxisView axis_view(const Shape& shape, int64_t axis);

// Concatenates parts along one axis; parts[i] is viewed as [outer, axis_len[i], inner].
void concat(const std::vector<const void*>& parts, const std::vector<int64_t>& axis_len, int64_t outer, int64_t inner,
            void* y, size_t elem_size);
// The inverse: splits x ([outer, sum(axis_len), inner]) into parts.
void split(const void* x, int64_t outer, int64_t inner, const std::vector<int64_t>& axis_len,
           const std::vector<void*>& parts, size_t elem_size);

// Gather along an axis: x viewed as [outer, axis, inner], y as [outer, n_idx, inner].
// Negative indices count from the end. An index outside [-axis, axis) cannot be rejected
// at run time, so its output slice is zero-filled (the planner rejects constant ones).
void gather(const void* x, const AxisView& v, const int64_t* indices, int64_t n_idx, void* y, size_t elem_size);

// GatherElements: y has the shape of indices; y[i..] = x[i.. with i_axis = indices[i..]].
// Out-of-range indices give zero elements (see gather).
void gather_elements(const void* x, const Shape& x_shape, const int64_t* indices, const Shape& idx_shape, int64_t axis,
                     void* y, size_t elem_size);

// GatherND: data [B..., D...] with `batch_dims` leading batch axes, indices [B..., Q..., k] int64;
// y [B..., Q..., D[k:]...]: each index tuple picks a slice of the data. A tuple outside the data
// gives a zero slice (see gather).
void gather_nd(const void* x, const Shape& x_shape, const int64_t* indices, const Shape& idx_shape, int64_t batch_dims,
               void* y, size_t elem_size);

// How ScatterND and ScatterElements combine an update with the value it lands on.
enum class ScatterReduction { kNone, kAdd, kMul, kMax, kMin };
// ScatterND into y (the data, already copied there): indices [Q..., k], updates [Q..., shape[k:]...].
// A tuple outside the data is skipped (it cannot be rejected at run time). T: any type for kNone
// (by size: uint8_t .. uint64_t), float, double, int32_t, int64_t for the others.
template <typename T>
void scatter_nd(T* y, const Shape& shape, const int64_t* indices, const Shape& idx_shape, const T* updates,
                ScatterReduction r);
// ScatterElements into y (the data, copied there): updates and indices share a shape of the data's
// rank; updates[i..] lands on y[i.. with i_axis = indices[i..]] (negative: from the end; outside:
// skipped).
template <typename T>
void scatter_elements(T* y, const Shape& shape, const int64_t* indices, const Shape& idx_shape, const T* updates,
                      int64_t axis, ScatterReduction r);

// Trilu over the last two axes of x [batch, rows, cols]: keeps the elements with col - row >= k
// (upper) or <= k (lower), zeros the others.
void trilu(const void* x, void* y, int64_t batch, int64_t rows, int64_t cols, int64_t k, bool upper, size_t elem_size);

// OneHot: y [outer, depth, inner] (the indices [outer, inner] with the depth axis inserted) holds
// `on` where the index (negative: + depth) equals the position, `off` elsewhere (also for indices
// outside [-depth, depth)). on/off are one element of y's type each.
void one_hot(const int64_t* indices, int64_t outer, int64_t inner, int64_t depth, const void* off, const void* on,
             void* y, size_t elem_size);

// ReverseSequence: x viewed as [outer, time, mid, batch, inner] when batch_axis > time_axis (or
// [outer, batch, mid, time, inner] otherwise) along the two axes; each batch entry b has its first
// lens[b] time steps reversed (lens clamped to [0, time]), the rest copied.
struct ReverseSequenceParams {
  int64_t outer = 1, mid = 1, inner = 1, time = 1, batch = 1;
  bool batch_first = false;  // batch_axis < time_axis
};
void reverse_sequence(const ReverseSequenceParams& p, const void* x, const int64_t* lens, void* y, size_t elem_size);

enum class PadMode { kConstant, kReflect, kEdge, kWrap };
// Source index (or -1 for the constant) of each output position of one padded axis of
// length n. Negative pads crop; reflect/edge/wrap read within the part that survives the
// crop, which must be non-empty when anything is padded in those modes (checked by Pad).
std::vector<int64_t> pad_axis_map(int64_t n, int64_t pad_begin, int64_t pad_end, PadMode mode);

}  // namespace qs::kernels::ref
