// Fast float32 pooling kernels on NC<spatial> tensors (channels-last forms at the end), same
// parameter struct as the reference (kernels/reference/pool.h). Per (n, c) plane and output
// row, the columns whose window lies wholly inside the input run as vector loops over the
// output (one pass per window tap, in the reference's tap order), the border columns as the
// reference does; planes are split over OpenMP threads when the library is built with OpenMP.
//
// max_pool_f32, avg_pool_f32 and global_avg_pool_f32 are bit-identical to the reference (same
// taps, same order, same float arithmetic per output); global_max_pool_f32 equals it except for
// which NaN / which signed zero it returns.
#pragma once
#include <cstdint>

#include "kernels/reference/pool.h"

namespace qs::kernels::fast {

// MaxPool without the indices output (the op uses the reference when indices are asked for).
void max_pool_f32(const ref::PoolParams& p, const float* x, float* y);
void avg_pool_f32(const ref::PoolParams& p, const float* x, float* y);

void global_avg_pool_f32(int64_t planes, int64_t spatial, const float* x, float* y);
void global_max_pool_f32(int64_t planes, int64_t spatial, const float* x, float* y);

// ---- channels-last (NHWC) ----------------------------------------------------------------------
// The same pools on x laid out [N, H, W, C] (channels innermost), y [N, OH, OW, C]; p is the
// reference's PoolParams unchanged (p.in/p.out/kernel/... slots 1 and 2 are H and W). Each output
// pixel takes the reference's taps in the reference's order, one vector loop over the channels
// per tap, so max_pool_nhwc_f32 and avg_pool_nhwc_f32 are bit-identical to the reference
// (transposed), signed zeros included. Max pools return the very NaN the reference returns;
// average pools return a NaN where it does, though not always the same one (which NaN a sum of
// NaNs and infinities yields depends on the operand order the compiler picks, in the reference
// too). Output rows are split over OpenMP threads.
//
// They handle 2-D pools only: they return false, writing nothing, unless p.spatial_rank == 2
// and slot 0 is the unused size-1 slot the op layer fills (in, out and kernel 1, no padding);
// the caller then falls back (e.g. to the NCHW kernels on transposed data). x and y must not
// overlap.
bool max_pool_nhwc_f32(const ref::PoolParams& p, const float* x, float* y);
bool avg_pool_nhwc_f32(const ref::PoolParams& p, const float* x, float* y);

// Global pools on x laid out [N, HW, C] (hw >= 1): y[b * c + ch] reduces x[b, :, ch], i.e. y is
// the NCHW [N, C, 1, 1] output (the same memory as NHWC [N, 1, 1, C]). Every channel is reduced
// over the pixels in order from pixel 0, as the reference reduces a plane, so both are
// bit-identical to the reference, with the NaN caveat above for the average (whose sum order is
// the reference's, unlike global_avg_pool_f32's). Channel ranges are split over OpenMP threads,
// never the pixels of one channel. x and y must not overlap.
void global_avg_pool_nhwc_f32(int64_t n, int64_t hw, int64_t c, const float* x, float* y);
void global_max_pool_nhwc_f32(int64_t n, int64_t hw, int64_t c, const float* x, float* y);

}  // namespace qs::kernels::fast
