// Reference normalization kernels on float32: BatchNormalization (inference),
// InstanceNormalization, LayerNormalization, LRN, MeanVarianceNormalization, Softmax, LogSoftmax,
// Hardmax. Plain loops, the oracle.
#pragma once
#include <cstdint>
#include <vector>

#include "core/shape.h"

namespace qs::kernels::ref {

// x and y are [batch, channels, spatial]; scale, bias, mean, var are [channels].
struct BatchNormParams {
  int64_t batch = 1, channels = 1, spatial = 1;
  float epsilon = 1e-5f;
};
void batch_norm_f32(const BatchNormParams& p, const float* x, const float* scale, const float* bias, const float* mean,
                    const float* var, float* y);

// Normalizes each (n, c) plane of `spatial` elements over itself; scale and bias are [channels].
struct InstanceNormParams {
  int64_t batch = 1, channels = 1, spatial = 1;
  float epsilon = 1e-5f;
};
void instance_norm_f32(const InstanceNormParams& p, const float* x, const float* scale, const float* bias, float* y);

// Normalizes each (n, group) block over its channels/groups channels x spatial elements (the
// block is contiguous); scale and bias are [channels], or [groups] with per_group_affine (as
// GroupNormalization before opset 21 has them).
// x viewed as [outer, n, inner]: each of the outer * inner vectors of n values (stride inner) is
// divided by its L1 (p = 1) or L2 (p = 2) norm, summed in double.
void lp_norm_f32(int64_t outer, int64_t n, int64_t inner, int p, const float* x, float* y);

struct GroupNormParams {
  int64_t batch = 1, channels = 1, groups = 1, spatial = 1;
  float epsilon = 1e-5f;
  bool per_group_affine = false;
};
void group_norm_f32(const GroupNormParams& p, const float* x, const float* scale, const float* bias, float* y);

// x is [rows, cols]: each row is normalized over its cols. scale is [cols]; bias is [cols]
// or nullptr; mean and inv_std_dev are [rows] or nullptr.
struct LayerNormParams {
  int64_t rows = 1, cols = 1;
  float epsilon = 1e-5f;
};
void layer_norm_f32(const LayerNormParams& p, const float* x, const float* scale, const float* bias, float* y,
                    float* mean, float* inv_std_dev);

// LRN across channels of x [batch, channels, spatial]: y = x / (bias + alpha / size * s)^beta with
// s the sum of squares over channels [c - (size - 1) / 2, c + ceil((size - 1) / 2)] (clipped).
struct LrnParams {
  int64_t batch = 1, channels = 1, spatial = 1;
  int64_t size = 1;
  float alpha = 1e-4f, beta = 0.75f, bias = 1.f;
};
void lrn_f32(const LrnParams& p, const float* x, float* y);

// MeanVarianceNormalization as ONNX defines it: y = (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9),
// the expectations over the axes marked in `reduced` (one flag per axis of `shape`).
void mean_variance_norm_f32(const Shape& shape, const std::vector<bool>& reduced, const float* x, float* y);

// x is [outer, n, inner]; the op runs along n. inner == 1 is the contiguous (fast) case.
struct SoftmaxParams {
  int64_t outer = 1, n = 1, inner = 1;
};
void softmax_f32(const SoftmaxParams& p, const float* x, float* y);
void log_softmax_f32(const SoftmaxParams& p, const float* x, float* y);
// 1 at the first maximum along n, 0 elsewhere.
void hardmax_f32(const SoftmaxParams& p, const float* x, float* y);

}  // namespace qs::kernels::ref
