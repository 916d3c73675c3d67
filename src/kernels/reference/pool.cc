#include "kernels/reference/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/shape.h"

namespace qs::kernels::ref {

namespace {

// Taps k in [lo, hi) of a window starting at `start` with dilation d land in [lo_bound, hi_bound).
// Computing the range up front keeps bounds checks out of the innermost loops.
struct TapRange {
  int64_t lo = 0, hi = 0;
};

int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

TapRange tap_range(int64_t start, int64_t kernel, int64_t d, int64_t lo_bound, int64_t hi_bound) {
  TapRange r;
  r.lo = start >= lo_bound ? 0 : ceil_div(lo_bound - start, d);
  r.hi = start >= hi_bound ? 0 : std::min(kernel, ceil_div(hi_bound - start, d));
  if (r.hi < r.lo) r.hi = r.lo;
  return r;
}

// Calls visit(plane, x_plane, y_index, start, taps) for every output position of every (n, c)
// plane; `taps` are the ranges that fall inside the real input.
template <typename T, typename Visit>
void for_each_window(const PoolParams& p, const T* x, Visit visit) {
  const int64_t in_plane = p.in[0] * p.in[1] * p.in[2];
  const int64_t out_plane = p.out[0] * p.out[1] * p.out[2];
  for (int64_t plane = 0; plane < p.batch * p.channels; ++plane) {
    const T* xp = x + plane * in_plane;
    int64_t yi = plane * out_plane;
    for (int64_t o0 = 0; o0 < p.out[0]; ++o0) {
      const int64_t s0 = o0 * p.stride[0] - p.pad_begin[0];
      const TapRange r0 = tap_range(s0, p.kernel[0], p.dilation[0], 0, p.in[0]);
      for (int64_t o1 = 0; o1 < p.out[1]; ++o1) {
        const int64_t s1 = o1 * p.stride[1] - p.pad_begin[1];
        const TapRange r1 = tap_range(s1, p.kernel[1], p.dilation[1], 0, p.in[1]);
        for (int64_t o2 = 0; o2 < p.out[2]; ++o2, ++yi) {
          const int64_t s2 = o2 * p.stride[2] - p.pad_begin[2];
          const TapRange r2 = tap_range(s2, p.kernel[2], p.dilation[2], 0, p.in[2]);
          const int64_t start[3] = {s0, s1, s2};
          const TapRange taps[3] = {r0, r1, r2};
          visit(plane, xp, yi, start, taps);
        }
      }
    }
  }
}

template <typename T>
void max_pool(const PoolParams& p, const T* x, T* y, int64_t* indices, bool column_major) {
  const int64_t in_plane = p.in[0] * p.in[1] * p.in[2];
  for_each_window(p, x, [&](int64_t plane, const T* xp, int64_t yi, const int64_t* s, const TapRange* r) {
    T best = std::numeric_limits<T>::lowest();
    int64_t best_at = -1;
    for (int64_t k0 = r[0].lo; k0 < r[0].hi; ++k0) {
      const int64_t i0 = s[0] + k0 * p.dilation[0];
      for (int64_t k1 = r[1].lo; k1 < r[1].hi; ++k1) {
        const int64_t i1 = s[1] + k1 * p.dilation[1];
        const T* row = xp + (i0 * p.in[1] + i1) * p.in[2];
        for (int64_t k2 = r[2].lo; k2 < r[2].hi; ++k2) {
          const int64_t i2 = s[2] + k2 * p.dilation[2];
          // Strict > keeps the first maximum among equal values, as ONNX Runtime does.
          if (row[i2] > best || best_at < 0) {
            best = row[i2];
            best_at = column_major ? i0 + i1 * p.in[0] + i2 * p.in[0] * p.in[1] : (i0 * p.in[1] + i1) * p.in[2] + i2;
          }
        }
      }
    }
    y[yi] = best;
    if (indices) indices[yi] = best_at < 0 ? -1 : plane * in_plane + best_at;
  });
}

}  // namespace

int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin,
                         int64_t pad_end, bool ceil_mode) {
  const int64_t extent = dilation * (kernel - 1) + 1;
  const int64_t span = in + pad_begin + pad_end - extent;
  if (span < 0) return 0;
  int64_t out = (ceil_mode ? ceil_div(span, stride) : span / stride) + 1;
  // ONNX (like PyTorch) drops a ceil-mode window that would start inside the right padding.
  if (ceil_mode && (out - 1) * stride >= in + pad_begin) --out;
  return out;
}

void max_pool_f32(const PoolParams& p, const float* x, float* y, int64_t* indices, bool column_major_indices) {
  max_pool(p, x, y, indices, column_major_indices);
}
void max_pool_f64(const PoolParams& p, const double* x, double* y, int64_t* indices, bool column_major_indices) {
  max_pool(p, x, y, indices, column_major_indices);
}
void max_pool_i8(const PoolParams& p, const int8_t* x, int8_t* y, int64_t* indices, bool column_major_indices) {
  max_pool(p, x, y, indices, column_major_indices);
}
void max_pool_u8(const PoolParams& p, const uint8_t* x, uint8_t* y, int64_t* indices, bool column_major_indices) {
  max_pool(p, x, y, indices, column_major_indices);
}

void avg_pool_f32(const PoolParams& p, const float* x, float* y) {
  for_each_window(p, x, [&](int64_t, const float* xp, int64_t yi, const int64_t* s, const TapRange* r) {
    float sum = 0.f;
    for (int64_t k0 = r[0].lo; k0 < r[0].hi; ++k0) {
      const int64_t i0 = s[0] + k0 * p.dilation[0];
      for (int64_t k1 = r[1].lo; k1 < r[1].hi; ++k1) {
        const int64_t i1 = s[1] + k1 * p.dilation[1];
        const float* row = xp + (i0 * p.in[1] + i1) * p.in[2];
        for (int64_t k2 = r[2].lo; k2 < r[2].hi; ++k2) sum += row[s[2] + k2 * p.dilation[2]];
      }
    }
    int64_t count = 1;
    for (int d = 0; d < 3; ++d) {
      if (p.count_include_pad) {
        // Padding counts, but the part of a ceil-mode window past the padding does not.
        const TapRange pr = tap_range(s[d], p.kernel[d], p.dilation[d], -p.pad_begin[d], p.in[d] + p.pad_end[d]);
        count *= pr.hi - pr.lo;
      } else {
        count *= r[d].hi - r[d].lo;
      }
    }
    y[yi] = count > 0 ? sum / static_cast<float>(count) : 0.f;
  });
}

void lp_pool_f32(const PoolParams& p, const float* x, float* y) {
  const double e = static_cast<double>(p.p);
  for_each_window(p, x, [&](int64_t, const float* xp, int64_t yi, const int64_t* s, const TapRange* r) {
    double sum = 0.0;
    for (int64_t k0 = r[0].lo; k0 < r[0].hi; ++k0) {
      const int64_t i0 = s[0] + k0 * p.dilation[0];
      for (int64_t k1 = r[1].lo; k1 < r[1].hi; ++k1) {
        const int64_t i1 = s[1] + k1 * p.dilation[1];
        const float* row = xp + (i0 * p.in[1] + i1) * p.in[2];
        for (int64_t k2 = r[2].lo; k2 < r[2].hi; ++k2) sum += std::pow(std::fabs(row[s[2] + k2 * p.dilation[2]]), e);
      }
    }
    y[yi] = static_cast<float>(std::pow(sum, 1.0 / e));
  });
}

void global_avg_pool_f32(int64_t planes, int64_t spatial, const float* x, float* y) {
  for (int64_t c = 0; c < planes; ++c) {
    const float* xp = x + c * spatial;
    float sum = 0.f;
    for (int64_t i = 0; i < spatial; ++i) sum += xp[i];
    y[c] = sum / static_cast<float>(spatial);
  }
}

void global_max_pool_f32(int64_t planes, int64_t spatial, const float* x, float* y) {
  for (int64_t c = 0; c < planes; ++c) {
    const float* xp = x + c * spatial;
    float best = xp[0];
    for (int64_t i = 1; i < spatial; ++i) best = xp[i] > best ? xp[i] : best;
    y[c] = best;
  }
}

void global_lp_pool_f32(int64_t planes, int64_t spatial, int64_t p, const float* x, float* y) {
  const double e = static_cast<double>(p);
  for (int64_t c = 0; c < planes; ++c) {
    const float* xp = x + c * spatial;
    double sum = 0.0;
    for (int64_t i = 0; i < spatial; ++i) sum += std::pow(std::fabs(xp[i]), e);
    y[c] = static_cast<float>(std::pow(sum, 1.0 / e));
  }
}

void max_unpool_f32(const float* x, const int64_t* indices, int64_t n_x, const std::vector<int64_t>& pooled_shape,
                    const std::vector<int64_t>& y_shape, float* y) {
  const int64_t n_pooled = numel(pooled_shape);
  std::fill_n(y, numel(y_shape), 0.f);
  for (int64_t k = 0; k < n_x; ++k) {
    int64_t rest = indices[k];
    if (rest < 0 || rest >= n_pooled) continue;
    // The index's coordinates in pooled_shape, then its offset in y_shape (when it fits).
    int64_t off = 0, stride = 1;
    bool inside = true;
    for (size_t d = pooled_shape.size(); d-- > 0;) {
      const int64_t c = rest % pooled_shape[d];
      rest /= pooled_shape[d];
      inside = inside && c < y_shape[d];
      off += c * stride;
      stride *= y_shape[d];
    }
    if (inside) y[off] = x[k];
  }
}

}  // namespace qs::kernels::ref
