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

void lp_norm_f32(int64_t outer, int64_t n, int64_t inner, int p, const float* x, float* y) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * n * inner + i;
      double sum = 0.0;
      for (int64_t k = 0; k < n; ++k) {
        const double v = x[base + k * inner];
        sum += p == 1 ? std::fabs(v) : v * v;
      }
      const float norm = static_cast<float>(p == 1 ? sum : std::sqrt(sum));
      for (int64_t k = 0; k < n; ++k) y[base + k * inner] = x[base + k * inner] / norm;
    }
}

void group_norm_f32(const GroupNormParams& p, const float* x, const float* scale, const float* bias, float* y) {
  const int64_t per_group = p.channels / p.groups;
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t g = 0; g < p.groups; ++g) {
      const int64_t off = (n * p.channels + g * per_group) * p.spatial;
      float mean = 0.f, inv_std = 0.f;
      moments(x + off, per_group * p.spatial, p.epsilon, &mean, &inv_std);
      for (int64_t k = 0; k < per_group; ++k) {
        const int64_t c = g * per_group + k, affine = p.per_group_affine ? g : c;
        const float a = scale[affine] * inv_std;
        const float b = bias[affine] - mean * a;
        const int64_t row = off + k * p.spatial;
        for (int64_t i = 0; i < p.spatial; ++i) y[row + i] = x[row + i] * a + b;
      }
    }
}

void lrn_f32(const LrnParams& p, const float* x, float* y) {
  const int64_t before = (p.size - 1) / 2, after = p.size - 1 - before;  // floor and ceil of (size - 1) / 2
  const float k = p.alpha / static_cast<float>(p.size);
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t c = 0; c < p.channels; ++c) {
      const int64_t lo = std::max<int64_t>(0, c - before), hi = std::min(p.channels - 1, c + after);
      for (int64_t i = 0; i < p.spatial; ++i) {
        float sum = 0.f;
        for (int64_t j = lo; j <= hi; ++j) {
          const float v = x[(n * p.channels + j) * p.spatial + i];
          sum += v * v;
        }
        const int64_t at = (n * p.channels + c) * p.spatial + i;
        y[at] = x[at] / std::pow(p.bias + k * sum, p.beta);
      }
    }
}

void mean_variance_norm_f32(const Shape& shape, const std::vector<bool>& reduced, const float* x, float* y) {
  // Each element's statistics slot: its index with the reduced axes dropped (row-major).
  const size_t rank = shape.size();
  std::vector<int64_t> slot_stride(rank, 0);
  int64_t slots = 1;
  for (size_t d = rank; d-- > 0;)
    if (!reduced[d]) {
      slot_stride[d] = slots;
      slots *= shape[d];
    }
  const int64_t total = numel(shape);
  std::vector<double> sum(static_cast<size_t>(slots), 0.0), sum_sq(sum.size(), 0.0);
  std::vector<int64_t> slot_of(static_cast<size_t>(total));
  std::vector<int64_t> idx(rank, 0);
  for (int64_t e = 0; e < total; ++e) {
    int64_t s = 0;
    for (size_t d = 0; d < rank; ++d) s += idx[d] * slot_stride[d];
    slot_of[static_cast<size_t>(e)] = s;
    sum[static_cast<size_t>(s)] += x[e];
    sum_sq[static_cast<size_t>(s)] += static_cast<double>(x[e]) * x[e];
    for (size_t d = rank; d-- > 0;) {  // next index, last axis fastest
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  const double count = static_cast<double>(slots ? total / slots : 0);
  std::vector<float> mean(sum.size()), denom(sum.size());
  for (size_t s = 0; s < sum.size(); ++s) {
    const double m = sum[s] / count;
    mean[s] = static_cast<float>(m);
    // Rounding can take E[x^2] - E[x]^2 below zero for a constant slice: it is 0 there.
    denom[s] = static_cast<float>(std::sqrt(std::max(0.0, sum_sq[s] / count - m * m)) + 1e-9);
  }
  for (int64_t e = 0; e < total; ++e) {
    const size_t s = static_cast<size_t>(slot_of[static_cast<size_t>(e)]);
    y[e] = (x[e] - mean[s]) / denom[s];
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
