#include "kernels/reference/normalization.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace qs::kernels::ref {

void batch_norm_f32(const BatchNormParams& p, const float* x, const float* scale, const float* bias, const float* mean,
                    const float* var, float* y) {
  for (int64_t c = 0; c < p.channels; ++c) {
    // Folding into one multiply-add per element keeps the inner loop vectorizable.
    const float a = scale[c] / std::sqrt(var[c] + p.epsilon);
    const float b = bias[c] - mean[c] * a;
    for (int64_t n = 0; n < p.batch; ++n) {
      const int64_t off = (n * p.channels + c) * p.spatial;
      for (int64_t i = 0; i < p.spatial; ++i) y[off + i] = x[off + i] * a + b;
    }
  }
}

namespace {
// Mean and 1/sqrt(var + eps) of n contiguous values; double sums keep long rows accurate.
void moments(const float* x, int64_t n, float epsilon, float* mean_out, float* inv_std_out) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / static_cast<double>(n);
  double sq = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = x[i] - mean;
    sq += d * d;
  }
  const double var = sq / static_cast<double>(n);
  *mean_out = static_cast<float>(mean);
  *inv_std_out = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(epsilon)));
}
}  // namespace

void instance_norm_f32(const InstanceNormParams& p, const float* x, const float* scale, const float* bias, float* y) {
  for (int64_t n = 0; n < p.batch; ++n) {
    for (int64_t c = 0; c < p.channels; ++c) {
      const int64_t off = (n * p.channels + c) * p.spatial;
      float mean = 0.f, inv_std = 0.f;
      moments(x + off, p.spatial, p.epsilon, &mean, &inv_std);
      const float a = scale[c] * inv_std;
      const float b = bias[c] - mean * a;
      for (int64_t i = 0; i < p.spatial; ++i) y[off + i] = x[off + i] * a + b;
    }
  }
}

void layer_norm_f32(const LayerNormParams& p, const float* x, const float* scale, const float* bias, float* y,
                    float* mean, float* inv_std_dev) {
  for (int64_t r = 0; r < p.rows; ++r) {
    const float* xr = x + r * p.cols;
    float* yr = y + r * p.cols;
    float m = 0.f, inv_std = 0.f;
    moments(xr, p.cols, p.epsilon, &m, &inv_std);
    if (bias) {
      for (int64_t i = 0; i < p.cols; ++i) yr[i] = (xr[i] - m) * inv_std * scale[i] + bias[i];
    } else {
      for (int64_t i = 0; i < p.cols; ++i) yr[i] = (xr[i] - m) * inv_std * scale[i];
    }
    if (mean) mean[r] = m;
    if (inv_std_dev) inv_std_dev[r] = inv_std;
  }
}

namespace {

enum class SoftmaxKind { kSoftmax, kLogSoftmax };

template <SoftmaxKind kind>
void softmax_impl(const SoftmaxParams& p, const float* x, float* y) {
  if (p.inner == 1) {
    for (int64_t o = 0; o < p.outer; ++o) {
      const float* xr = x + o * p.n;
      float* yr = y + o * p.n;
      float mx = xr[0];
      for (int64_t k = 1; k < p.n; ++k) mx = std::max(mx, xr[k]);
      float sum = 0.f;
      for (int64_t k = 0; k < p.n; ++k) {
        const float e = std::exp(xr[k] - mx);
        if constexpr (kind == SoftmaxKind::kSoftmax) yr[k] = e;
        sum += e;
      }
      if constexpr (kind == SoftmaxKind::kSoftmax) {
        const float inv = 1.f / sum;
        for (int64_t k = 0; k < p.n; ++k) yr[k] *= inv;
      } else {
        // (x - max) - log(sum) rather than x - (max + log(sum)): large x would swamp the log.
        const float log_sum = std::log(sum);
        for (int64_t k = 0; k < p.n; ++k) yr[k] = (xr[k] - mx) - log_sum;
      }
    }
    return;
  }
  // Strided axis: sweep whole rows of `inner` values so memory is read in order.
  std::vector<float> mx(static_cast<size_t>(p.inner)), sum(static_cast<size_t>(p.inner));
  for (int64_t o = 0; o < p.outer; ++o) {
    const float* xb = x + o * p.n * p.inner;
    float* yb = y + o * p.n * p.inner;
    std::copy(xb, xb + p.inner, mx.begin());
    for (int64_t k = 1; k < p.n; ++k)
      for (int64_t i = 0; i < p.inner; ++i) mx[i] = std::max(mx[i], xb[k * p.inner + i]);
    std::fill(sum.begin(), sum.end(), 0.f);
    for (int64_t k = 0; k < p.n; ++k)
      for (int64_t i = 0; i < p.inner; ++i) {
        const float e = std::exp(xb[k * p.inner + i] - mx[i]);
        if constexpr (kind == SoftmaxKind::kSoftmax) yb[k * p.inner + i] = e;
        sum[i] += e;
      }
    if constexpr (kind == SoftmaxKind::kSoftmax) {
      for (int64_t i = 0; i < p.inner; ++i) sum[i] = 1.f / sum[i];
      for (int64_t k = 0; k < p.n; ++k)
        for (int64_t i = 0; i < p.inner; ++i) yb[k * p.inner + i] *= sum[i];
    } else {
      for (int64_t i = 0; i < p.inner; ++i) sum[i] = std::log(sum[i]);
      for (int64_t k = 0; k < p.n; ++k)
        for (int64_t i = 0; i < p.inner; ++i) yb[k * p.inner + i] = (xb[k * p.inner + i] - mx[i]) - sum[i];
    }
  }
}

}  // namespace

void softmax_f32(const SoftmaxParams& p, const float* x, float* y) { softmax_impl<SoftmaxKind::kSoftmax>(p, x, y); }

void log_softmax_f32(const SoftmaxParams& p, const float* x, float* y) {
  softmax_impl<SoftmaxKind::kLogSoftmax>(p, x, y);
}

void hardmax_f32(const SoftmaxParams& p, const float* x, float* y) {
  std::fill(y, y + p.outer * p.n * p.inner, 0.f);
  for (int64_t o = 0; o < p.outer; ++o) {
    for (int64_t i = 0; i < p.inner; ++i) {
      const float* xc = x + o * p.n * p.inner + i;
      int64_t best = 0;
      for (int64_t k = 1; k < p.n; ++k)
        if (xc[k * p.inner] > xc[best * p.inner]) best = k;
      y[o * p.n * p.inner + best * p.inner + i] = 1.f;
    }
  }
}

}  // namespace qs::kernels::ref
