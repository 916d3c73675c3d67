#pragma GCC optimize("fp-contract=off")

#include "kernels/fast/normalization_fast.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/fast/eltwise_fast.h"  // parallel_chunks, QS_VEC_CLONES
#include "kernels/fast/vec_math.h"

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

namespace {

// Softmax of rows of n contiguous values; false for a row with NaN or an infinity (left to the
// reference, whose NaN and -inf masking behaviour it keeps).
QS_VEC_CLONES bool softmax_row(const float* x, float* y, int64_t n) {
  using vec::V8f;
  using vec::V8i;
  const float inf = __builtin_inff();
  V8f vmax = V8f{} - inf;
  V8i vbad = V8i{};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    V8f v;
    __builtin_memcpy(&v, x + k, sizeof v);
    V8i bits;
    __builtin_memcpy(&bits, &v, sizeof bits);
    vbad |= (bits & 0x7fffffff) >= 0x7f800000;
    vmax = v > vmax ? v : vmax;
  }
  float mx = -inf;
  bool bad = false;
  for (int l = 0; l < 8; ++l) {
    mx = vmax[l] > mx ? vmax[l] : mx;
    bad = bad || vbad[l] != 0;
  }
  for (; k < n; ++k) {
    bad = bad || !std::isfinite(x[k]);
    mx = x[k] > mx ? x[k] : mx;
  }
  if (bad) return false;
  // exp(x - max) with the reference's expression, flushed to 0 below -87.3 (the reference's
  // denormals are below 1.2e-38 there); the tail padded with values that give 0.
  V8f vsum = V8f{};
  auto exp8 = [&](const V8f& v, V8f* e) {
    const V8f a = v - mx;
    vec::exp_nonpositive(a, e);
    *e = a < -87.3f ? V8f{} : *e;
    vsum += *e;
  };
  for (k = 0; k + 8 <= n; k += 8) {
    V8f v, e;
    __builtin_memcpy(&v, x + k, sizeof v);
    exp8(v, &e);
    __builtin_memcpy(y + k, &e, sizeof e);
  }
  if (k < n) {
    float in[8], out[8];
    for (int l = 0; l < 8; ++l) in[l] = k + l < n ? x[k + l] : -inf;
    V8f v, e;
    __builtin_memcpy(&v, in, sizeof v);
    exp8(v, &e);
    __builtin_memcpy(out, &e, sizeof e);
    for (int64_t l = 0; k + l < n; ++l) y[k + l] = out[l];
  }
  float sum = 0.f;
  for (int l = 0; l < 8; ++l) sum += vsum[l];
  const float inv = 1.f / sum;
  for (k = 0; k < n; ++k) y[k] *= inv;
  return true;
}

}  // namespace

void softmax_f32(const ref::SoftmaxParams& p, const float* x, float* y) {
  if (p.inner != 1 || p.n < 8) return ref::softmax_f32(p, x, y);
  parallel_chunks(p.outer, std::max<int64_t>(1, 16384 / p.n), [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o)
      if (!softmax_row(x + o * p.n, y + o * p.n, p.n)) ref::softmax_f32({1, p.n, 1}, x + o * p.n, y + o * p.n);
  });
}

}  // namespace qs::kernels::fast
