// Fast float32 BatchNormalization (inference), InstanceNormalization, LayerNormalization and Softmax, same parameter structs
// as the reference (kernels/reference/normalization.h). Planes are split over OpenMP threads
// when the library is built with OpenMP.
#pragma once
#include <cstdint>

#include "kernels/reference/normalization.h"

namespace qs::kernels::fast {

// BatchNormalization as y = x * a[c] + b[c]. batch_norm_coeffs computes a and b ([channels]
// each) exactly as the reference does, so batch_norm_apply_f32 gives the reference's bits;
// the op calls batch_norm_coeffs once at prepare when scale, B, mean and var are constants.
void batch_norm_coeffs(const ref::BatchNormParams& p, const float* scale, const float* bias, const float* mean,
                       const float* var, float* a, float* b);
void batch_norm_apply_f32(const ref::BatchNormParams& p, const float* x, const float* a, const float* b, float* y);
// Both steps (inputs not constant).
void batch_norm_f32(const ref::BatchNormParams& p, const float* x, const float* scale, const float* bias,
                    const float* mean, const float* var, float* y);

// Mean and variance per plane in double with several partial sums (a different summation
// order from the reference: within float rounding of it).
void instance_norm_f32(const ref::InstanceNormParams& p, const float* x, const float* scale, const float* bias,
                       float* y);

// LayerNormalization over rows of cols values: the mean and variance in double with several
// partial sums (within float rounding of the reference's statistics), then the reference's
// float expression, vectorized. Rows are split over OpenMP threads.
void layer_norm_f32(const ref::LayerNormParams& p, const float* x, const float* scale, const float* bias, float* y,
                    float* mean, float* inv_std_dev);

// Softmax along a contiguous axis (inner == 1, n >= 8; otherwise the reference): exp by a
// vectorized Cephes expf (about 1 ulp) and sums in 16 lanes, so within a few ulp of the
// reference; a row with NaN or an infinity (an attention mask of -inf) is the reference's.
// Short rows run four at a time for instruction-level parallelism; a row's values do not depend
// on its neighbours.
void softmax_f32(const ref::SoftmaxParams& p, const float* x, float* y);

}  // namespace qs::kernels::fast
