#pragma GCC optimize("fp-contract=off")

#include "kernels/fast/normalization_fast.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/fast/eltwise_fast.h"  // parallel_chunks, QS_VEC_CLONES

namespace qs::kernels::fast {
namespace {

QS_VEC_CLONES void scale_shift(const float* x, float* y, int64_t n, float a, float b) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * a + b;
}

constexpr int kLanes = 8;

// Sum and sum of squared deviations of n values, in double with kLanes partial sums.
QS_VEC_CLONES double plane_sum(const float* x, int64_t n) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += x[i + j];
  for (int j = 0; i < n; ++i, ++j) acc[j] += x[i];
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0];
}

QS_VEC_CLONES double plane_sq_dev(const float* x, int64_t n, double mean) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const double d = x[i + j] - mean;
      acc[j] += d * d;
    }
  for (int j = 0; i < n; ++i, ++j) {
    const double d = x[i] - mean;
    acc[j] += d * d;
  }
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0];
}

// Per-plane work below this many elements per thread stays on one thread.
constexpr int64_t kMinPerThread = 128 * 1024;

}  // namespace

void batch_norm_coeffs(const ref::BatchNormParams& p, const float* scale, const float* bias, const float* mean,
                       const float* var, float* a, float* b) {
  for (int64_t c = 0; c < p.channels; ++c) {
    a[c] = scale[c] / std::sqrt(var[c] + p.epsilon);
    b[c] = bias[c] - mean[c] * a[c];
  }
}

void batch_norm_apply_f32(const ref::BatchNormParams& p, const float* x, const float* a, const float* b, float* y) {
  const int64_t planes = p.batch * p.channels;
  const int64_t s = p.spatial;
  if (planes == 0 || s == 0) return;
  // Split the flat element range (planes may be few and large, or many and tiny).
  parallel_chunks(planes * s, kMinPerThread, [&](int64_t lo, int64_t hi) {
    while (lo < hi) {
      const int64_t plane = lo / s;
      const int64_t end = std::min(hi, (plane + 1) * s);
      const int64_t c = plane % p.channels;
      scale_shift(x + lo, y + lo, end - lo, a[c], b[c]);
      lo = end;
    }
  });
}

void batch_norm_f32(const ref::BatchNormParams& p, const float* x, const float* scale, const float* bias,
                    const float* mean, const float* var, float* y) {
  std::vector<float> a(static_cast<size_t>(p.channels)), b(static_cast<size_t>(p.channels));
  batch_norm_coeffs(p, scale, bias, mean, var, a.data(), b.data());
  batch_norm_apply_f32(p, x, a.data(), b.data(), y);
}

void instance_norm_f32(const ref::InstanceNormParams& p, const float* x, const float* scale, const float* bias,
                       float* y) {
  const int64_t planes = p.batch * p.channels;
  const int64_t s = p.spatial;
  if (planes == 0 || s == 0) return;
  parallel_chunks(planes, std::max<int64_t>(1, kMinPerThread / (3 * s)), [&](int64_t lo, int64_t hi) {
    for (int64_t plane = lo; plane < hi; ++plane) {
      const float* xp = x + plane * s;
      const int64_t c = plane % p.channels;
      const double mean = plane_sum(xp, s) / static_cast<double>(s);
      const double var = plane_sq_dev(xp, s, mean) / static_cast<double>(s);
      const float m = static_cast<float>(mean);
      const float inv_std = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(p.epsilon)));
      const float a = scale[c] * inv_std;
      const float b = bias[c] - m * a;
      scale_shift(xp, y + plane * s, s, a, b);
    }
  });
}

}  // namespace qs::kernels::fast
