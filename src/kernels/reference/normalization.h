// Reference normalization kernels on float32: BatchNormalization (inference),
// InstanceNormalization, LayerNormalization, Softmax, LogSoftmax, Hardmax. Plain loops, the oracle.
#pragma once
#include <cstdint>

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

// x is [rows, cols]: each row is normalized over its cols. scale is [cols]; bias is [cols]
// or nullptr; mean and inv_std_dev are [rows] or nullptr.
struct LayerNormParams {
  int64_t rows = 1, cols = 1;
  float epsilon = 1e-5f;
};
void layer_norm_f32(const LayerNormParams& p, const float* x, const float* scale, const float* bias, float* y,
                    float* mean, float* inv_std_dev);

// x is [outer, n, inner]; the op runs along n. inner == 1 is the contiguous (fast) case.
struct SoftmaxParams {
  int64_t outer = 1, n = 1, inner = 1;
};
void softmax_f32(const SoftmaxParams& p, const float* x, float* y);
void log_softmax_f32(const SoftmaxParams& p, const float* x, float* y);
// 1 at the first maximum along n, 0 elsewhere.
void hardmax_f32(const SoftmaxParams& p, const float* x, float* y);

}  // namespace qs::kernels::ref
