// Fast float32 pooling kernels on NC<spatial> tensors, same parameter struct as the reference
// (kernels/reference/pool.h). Per (n, c) plane and output row, the columns whose window lies
// wholly inside the input run as vector loops over the output (one pass per window tap, in
// the reference's tap order), the border columns as the reference does; planes are split over
// OpenMP threads when the library is built with OpenMP.
//
// max_pool_f32 and avg_pool_f32 are bit-identical to the reference (same taps, same order,
// same float arithmetic per output). global_avg_pool_f32 sums in a different order (within
// float rounding of the reference); global_max_pool_f32 equals it except for which NaN / which
// signed zero it returns.
#pragma once
#include <cstdint>

#include "kernels/reference/pool.h"

namespace qs::kernels::fast {

// MaxPool without the indices output (the op uses the reference when indices are asked for).
void max_pool_f32(const ref::PoolParams& p, const float* x, float* y);
void avg_pool_f32(const ref::PoolParams& p, const float* x, float* y);

void global_avg_pool_f32(int64_t planes, int64_t spatial, const float* x, float* y);
void global_max_pool_f32(int64_t planes, int64_t spatial, const float* x, float* y);

}  // namespace qs::kernels::fast
