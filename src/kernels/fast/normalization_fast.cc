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

// The reference's expression, ((x - m) * inv_std) * scale + bias, in float without contraction.
QS_VEC_CLONES void layer_norm_row(const float* x, float* y, int64_t n, float m, float inv_std, const float* scale,
                                  const float* bias) {
  if (bias) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) * inv_std * scale[i] + bias[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) * inv_std * scale[i];
  }
}

}  // namespace

void layer_norm_f32(const ref::LayerNormParams& p, const float* x, const float* scale, const float* bias, float* y,
                    float* mean, float* inv_std_dev) {
  if (p.cols <= 0) return ref::layer_norm_f32(p, x, scale, bias, y, mean, inv_std_dev);
  parallel_chunks(p.rows, std::max<int64_t>(1, kMinPerThread / p.cols), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* xr = x + r * p.cols;
      const double mu = plane_sum(xr, p.cols) / static_cast<double>(p.cols);
      const double var = plane_sq_dev(xr, p.cols, mu) / static_cast<double>(p.cols);
      const float m = static_cast<float>(mu);
      const float inv_std = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(p.epsilon)));
      layer_norm_row(xr, y + r * p.cols, p.cols, m, inv_std, scale, bias);
      if (mean) mean[r] = m;
      if (inv_std_dev) inv_std_dev[r] = inv_std;
    }
  });
}

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

// Softmax of R rows of n contiguous values each (row r at x + r * n), in lockstep: a row of
// attention (64 values) is too short for the out-of-order core to overlap its dependent steps
// (max, then exp, then the sum, then the scale), so R independent rows give it that work. Each
// row's arithmetic is the same for every R (R = 1 included), so results do not depend on how
// rows are grouped. Returns a bit mask of the rows with NaN or an infinity, left untouched for
// the reference (whose NaN and -inf masking behaviour they keep).
template <int R>
QS_ALWAYS_INLINE inline unsigned softmax_rows(const float* x, float* y, int64_t n) {
  using VF = vec::V16f;
  using VI = vec::V16i;
  constexpr int W = 16;
  const float inf = __builtin_inff();
  VF vmax[R];
  VI vbad[R];
  for (int r = 0; r < R; ++r) {
    vmax[r] = VF{} - inf;
    vbad[r] = VI{};
  }
  int64_t k = 0;
  for (; k + W <= n; k += W)
    for (int r = 0; r < R; ++r) {
      VF v;
      __builtin_memcpy(&v, x + r * n + k, sizeof v);
      VI bits;
      __builtin_memcpy(&bits, &v, sizeof bits);
      vbad[r] |= (bits & 0x7fffffff) >= 0x7f800000;
      vmax[r] = v > vmax[r] ? v : vmax[r];
    }
  float mx[R];
  unsigned bad_rows = 0;
  for (int r = 0; r < R; ++r) {
    float m = vec::max_lanes(vmax[r]);
    bool bad = vec::any_lane(vbad[r]);
    for (int64_t t = k; t < n; ++t) {
      const float v = x[r * n + t];
      bad = bad || !std::isfinite(v);
      m = v > m ? v : m;
    }
    mx[r] = m;
    if (bad) bad_rows |= 1u << r;
  }
  if (bad_rows == (1u << R) - 1) return bad_rows;
  // exp(x - max) with the reference's expression, flushed to 0 below -87.3 (the reference's
  // denormals are below 1.2e-38 there); the tail padded with values that give 0.
  VF vsum[R];
  for (int r = 0; r < R; ++r) vsum[r] = VF{};
  auto exp_lanes = [&](int r, const VF& v, VF* e) {
    const VF a = v - mx[r];
    vec::exp_nonpositive(a, e);
    *e = a < -87.3f ? VF{} : *e;
    vsum[r] += *e;
  };
  for (k = 0; k + W <= n; k += W)
    for (int r = 0; r < R; ++r) {
      VF v, e;
      __builtin_memcpy(&v, x + r * n + k, sizeof v);
      exp_lanes(r, v, &e);
      if (!(bad_rows >> r & 1u)) __builtin_memcpy(y + r * n + k, &e, sizeof e);
    }
  if (k < n)
    for (int r = 0; r < R; ++r) {
      float in[W], out[W];
      for (int l = 0; l < W; ++l) in[l] = k + l < n ? x[r * n + k + l] : -inf;
      VF v, e;
      __builtin_memcpy(&v, in, sizeof v);
      exp_lanes(r, v, &e);
      __builtin_memcpy(out, &e, sizeof e);
      if (!(bad_rows >> r & 1u))
        for (int64_t l = 0; k + l < n; ++l) y[r * n + k + l] = out[l];
    }
  for (int r = 0; r < R; ++r) {
    if (bad_rows >> r & 1u) continue;
    const float inv = 1.f / vec::sum_lanes(vsum[r]);
    float* yr = y + r * n;
    for (int64_t t = 0; t < n; ++t) yr[t] *= inv;
  }
  return bad_rows;
}

QS_VEC_CLONES unsigned softmax_rows4(const float* x, float* y, int64_t n) { return softmax_rows<4>(x, y, n); }
QS_VEC_CLONES unsigned softmax_rows1(const float* x, float* y, int64_t n) { return softmax_rows<1>(x, y, n); }

}  // namespace

void softmax_f32(const ref::SoftmaxParams& p, const float* x, float* y) {
  if (p.inner != 1 || p.n < 8) return ref::softmax_f32(p, x, y);
  const int64_t n = p.n;
  parallel_chunks(p.outer, std::max<int64_t>(1, 16384 / n), [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi;) {
      // Four rows at a time while they are short enough to stay in the L1 cache between passes.
      const int rows = hi - o >= 4 && n <= 1024 ? 4 : 1;
      const unsigned bad = rows == 4 ? softmax_rows4(x + o * n, y + o * n, n) : softmax_rows1(x + o * n, y + o * n, n);
      for (int r = 0; r < rows; ++r)
        if (bad >> r & 1u) ref::softmax_f32({1, n, 1}, x + (o + r) * n, y + (o + r) * n);
      o += rows;
    }
  });
}

}  // namespace qs::kernels::fast
