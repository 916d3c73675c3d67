// Fast float32 layout conversions of 4-D activations between channels-first (NCHW) and
// channels-last (NHWC). The spatial dims are flattened: hw = H * W (or the product of any number
// of spatial dims), so x and y hold n * c * hw floats each.
//
// Each batch item is a c x hw matrix transposed in 16 x 16 tiles (AVX-512 register transposes
// where the CPU has them, plain loops for the edge tiles and elsewhere); tile rows are split over
// OpenMP threads when the tensor is large enough. The results equal a naive element loop exactly
// (values are only moved, never computed: NaN payloads and signed zeros are kept).
// x and y must not overlap.
#pragma once
#include <cstdint>
#include <vector>

#include "core/shape.h"

namespace qs::kernels::fast {

// Any transpose, with ref::transpose's arguments and result (values are only moved): axes of
// size 1 dropped and axes that stay neighbours merged, then a (batched) matrix transpose of
// 4-byte values in 16 x 16 tiles where that is what is left, contiguous runs copied whole when
// the last output axis is also the input's, else strided loops typed by the element size.
// x and y must not overlap.
void transpose(const void* x, void* y, const Shape& in_shape, const std::vector<int64_t>& perm, size_t elem_size);

// y[b, p, ch] = x[b, ch, p] for b < n, ch < c, p < hw.
void nchw_to_nhwc_f32(int64_t n, int64_t c, int64_t hw, const float* x, float* y);
// y[b, ch, p] = x[b, p, ch] for b < n, ch < c, p < hw.
void nhwc_to_nchw_f32(int64_t n, int64_t c, int64_t hw, const float* x, float* y);

}  // namespace qs::kernels::fast
