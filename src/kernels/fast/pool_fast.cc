#pragma GCC optimize("fp-contract=off")

#include "kernels/fast/pool_fast.h"

#include <algorithm>
#include <limits>

#include "kernels/fast/eltwise_fast.h"  // parallel_chunks, QS_VEC_CLONES

namespace qs::kernels::fast {
namespace {

using ref::PoolParams;

// ---- geometry (as in the reference) ------------------------------------------------------------

struct TapRange {
  int64_t lo = 0, hi = 0;
  int64_t count() const { return hi - lo; }
};

int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

TapRange tap_range(int64_t start, int64_t kernel, int64_t d, int64_t lo_bound, int64_t hi_bound) {
  TapRange r;
  r.lo = start >= lo_bound ? 0 : ceil_div(lo_bound - start, d);
  r.hi = start >= hi_bound ? 0 : std::min(kernel, ceil_div(hi_bound - start, d));
  if (r.hi < r.lo) r.hi = r.lo;
  return r;
}

// ---- vector passes over the interior of one output row ------------------------------------------
// y[i] (op)= src[i * s] for i in [0, m); strides 1 to 4 get their own loops (a constant stride the
// compiler vectorizes; audio models pool 4 samples at a time: 128 channels of 4000 samples, window
// and stride 4, 0.134-0.140 -> 0.075 ms on one thread, EPYC Zen 5).

QS_VEC_CLONES void copy_tap(float* y, const float* src, int64_t m, int64_t s) {
  if (s == 1) {
    for (int64_t i = 0; i < m; ++i) y[i] = src[i];
  } else if (s == 2) {
    for (int64_t i = 0; i < m; ++i) y[i] = src[2 * i];
  } else if (s == 3) {
    for (int64_t i = 0; i < m; ++i) y[i] = src[3 * i];
  } else if (s == 4) {
    for (int64_t i = 0; i < m; ++i) y[i] = src[4 * i];
  } else {
    for (int64_t i = 0; i < m; ++i) y[i] = src[i * s];
  }
}

// The reference's update "if (v > best) best = v".
QS_VEC_CLONES void max_tap(float* y, const float* src, int64_t m, int64_t s) {
  if (s == 1) {
    for (int64_t i = 0; i < m; ++i) y[i] = src[i] > y[i] ? src[i] : y[i];
  } else if (s == 2) {
    for (int64_t i = 0; i < m; ++i) y[i] = src[2 * i] > y[i] ? src[2 * i] : y[i];
  } else if (s == 3) {
    for (int64_t i = 0; i < m; ++i) y[i] = src[3 * i] > y[i] ? src[3 * i] : y[i];
  } else if (s == 4) {
    for (int64_t i = 0; i < m; ++i) y[i] = src[4 * i] > y[i] ? src[4 * i] : y[i];
  } else {
    for (int64_t i = 0; i < m; ++i) y[i] = src[i * s] > y[i] ? src[i * s] : y[i];
  }
}

QS_VEC_CLONES void add_tap(float* y, const float* src, int64_t m, int64_t s) {
  if (s == 1) {
    for (int64_t i = 0; i < m; ++i) y[i] += src[i];
  } else if (s == 2) {
    for (int64_t i = 0; i < m; ++i) y[i] += src[2 * i];
  } else if (s == 3) {
    for (int64_t i = 0; i < m; ++i) y[i] += src[3 * i];
  } else if (s == 4) {
    for (int64_t i = 0; i < m; ++i) y[i] += src[4 * i];
  } else {
    for (int64_t i = 0; i < m; ++i) y[i] += src[i * s];
  }
}

QS_VEC_CLONES void divide(float* y, int64_t m, float count) {
  for (int64_t i = 0; i < m; ++i) y[i] = y[i] / count;
}

// ---- one plane ------------------------------------------------------------------------------------

enum class Kind { kMax, kAvg };

// One output exactly as the reference computes it (the border columns).
template <Kind kind>
float window_scalar(const PoolParams& p, const float* xp, const int64_t* s, const TapRange* r) {
  float acc = kind == Kind::kMax ? std::numeric_limits<float>::lowest() : 0.f;
  bool first = true;
  for (int64_t k0 = r[0].lo; k0 < r[0].hi; ++k0) {
    const int64_t i0 = s[0] + k0 * p.dilation[0];
    for (int64_t k1 = r[1].lo; k1 < r[1].hi; ++k1) {
      const int64_t i1 = s[1] + k1 * p.dilation[1];
      const float* row = xp + (i0 * p.in[1] + i1) * p.in[2];
      for (int64_t k2 = r[2].lo; k2 < r[2].hi; ++k2) {
        const float v = row[s[2] + k2 * p.dilation[2]];
        if constexpr (kind == Kind::kMax) {
          if (v > acc || first) acc = v;
          first = false;
        } else {
          acc += v;
        }
      }
    }
  }
  if constexpr (kind == Kind::kMax) {
    return acc;
  } else {
    int64_t count = 1;
    for (int d = 0; d < 3; ++d) {
      if (p.count_include_pad) {
        const TapRange pr = tap_range(s[d], p.kernel[d], p.dilation[d], -p.pad_begin[d], p.in[d] + p.pad_end[d]);
        count *= pr.count();
      } else {
        count *= r[d].count();
      }
    }
    return count > 0 ? acc / static_cast<float>(count) : 0.f;
  }
}

template <Kind kind>
void pool_plane(const PoolParams& p, const float* xp, float* yp) {
  const int64_t k2 = p.kernel[2], d2 = p.dilation[2], st2 = p.stride[2], pb2 = p.pad_begin[2];
  // Output columns whose whole window lies inside [0, in[2]): start = o * st2 - pb2 >= 0 and
  // start + d2 * (k2 - 1) <= in[2] - 1.
  const int64_t c_lo = std::min(p.out[2], ceil_div(pb2, st2));
  const int64_t last = p.in[2] - 1 - d2 * (k2 - 1) + pb2;  // largest allowed o * st2
  const int64_t c_hi = last < 0 ? c_lo : std::max(c_lo, std::min(p.out[2], last / st2 + 1));
  const int64_t m = c_hi - c_lo;
  for (int64_t o0 = 0; o0 < p.out[0]; ++o0) {
    const int64_t s0 = o0 * p.stride[0] - p.pad_begin[0];
    const TapRange r0 = tap_range(s0, p.kernel[0], p.dilation[0], 0, p.in[0]);
    for (int64_t o1 = 0; o1 < p.out[1]; ++o1) {
      const int64_t s1 = o1 * p.stride[1] - p.pad_begin[1];
      const TapRange r1 = tap_range(s1, p.kernel[1], p.dilation[1], 0, p.in[1]);
      float* yrow = yp + (o0 * p.out[1] + o1) * p.out[2];
      const bool rows_empty = r0.count() == 0 || r1.count() == 0;
      auto scalar = [&](int64_t o2) {
        const int64_t s2 = o2 * st2 - pb2;
        const int64_t s[3] = {s0, s1, s2};
        const TapRange r[3] = {r0, r1, tap_range(s2, k2, d2, 0, p.in[2])};
        yrow[o2] = window_scalar<kind>(p, xp, s, r);
      };
      if (rows_empty || m == 0) {
        for (int64_t o2 = 0; o2 < p.out[2]; ++o2) scalar(o2);
        continue;
      }
      for (int64_t o2 = 0; o2 < c_lo; ++o2) scalar(o2);
      for (int64_t o2 = c_hi; o2 < p.out[2]; ++o2) scalar(o2);
      float* yi = yrow + c_lo;
      if constexpr (kind == Kind::kAvg) std::fill(yi, yi + m, 0.f);
      bool first = true;
      for (int64_t k0 = r0.lo; k0 < r0.hi; ++k0) {
        const int64_t i0 = s0 + k0 * p.dilation[0];
        for (int64_t k1 = r1.lo; k1 < r1.hi; ++k1) {
          const int64_t i1 = s1 + k1 * p.dilation[1];
          const float* row = xp + (i0 * p.in[1] + i1) * p.in[2] + c_lo * st2 - pb2;
          for (int64_t t = 0; t < k2; ++t) {
            if constexpr (kind == Kind::kMax) {
              if (first)
                copy_tap(yi, row + t * d2, m, st2);
              else
                max_tap(yi, row + t * d2, m, st2);
              first = false;
            } else {
              add_tap(yi, row + t * d2, m, st2);
            }
          }
        }
      }
      if constexpr (kind == Kind::kAvg) {
        int64_t count = k2;
        if (p.count_include_pad) {
          count *= tap_range(s0, p.kernel[0], p.dilation[0], -p.pad_begin[0], p.in[0] + p.pad_end[0]).count();
          count *= tap_range(s1, p.kernel[1], p.dilation[1], -p.pad_begin[1], p.in[1] + p.pad_end[1]).count();
        } else {
          count *= r0.count() * r1.count();
        }
        divide(yi, m, static_cast<float>(count));
      }
    }
  }
}

template <Kind kind>
void pool(const PoolParams& p, const float* x, float* y) {
  const int64_t in_plane = p.in[0] * p.in[1] * p.in[2];
  const int64_t out_plane = p.out[0] * p.out[1] * p.out[2];
  const int64_t planes = p.batch * p.channels;
  const int64_t work = std::max<int64_t>(1, out_plane * p.kernel[0] * p.kernel[1] * p.kernel[2]);
  parallel_chunks(planes, std::max<int64_t>(1, (64 * 1024) / work), [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) pool_plane<kind>(p, x + c * in_plane, y + c * out_plane);
  });
}

// ---- global pools ------------------------------------------------------------------------------

// Planes [lo, hi), each summed in order from its first value, as the reference sums it, so the
// means are the reference's bits: an INT8 reader requantizes the mean of quantized values with
// their own scale, and such a mean often sits exactly halfway between two steps, where a sum in
// another order can round the other way. kPlanes sums run side by side for the adder's latency.
constexpr int64_t kPlanes = 8;

QS_VEC_CLONES void plane_means(const float* __restrict x, int64_t spatial, int64_t lo, int64_t hi,
                               float* __restrict y) {
  const float d = static_cast<float>(spatial);
  int64_t c = lo;
  for (; c + kPlanes <= hi; c += kPlanes) {
    float acc[kPlanes] = {};
    const float* xc = x + c * spatial;
    for (int64_t i = 0; i < spatial; ++i)
      for (int64_t j = 0; j < kPlanes; ++j) acc[j] += xc[j * spatial + i];
    for (int64_t j = 0; j < kPlanes; ++j) y[c + j] = acc[j] / d;
  }
  for (; c < hi; ++c) {
    float acc = 0.f;
    for (int64_t i = 0; i < spatial; ++i) acc += x[c * spatial + i];
    y[c] = acc / d;
  }
}

constexpr int kLanes = 16;

// Every lane starts from x[0], so a NaN there wins as in the reference, and later NaNs never do.
QS_VEC_CLONES float plane_max(const float* x, int64_t n) {
  float acc[kLanes];
  for (int j = 0; j < kLanes; ++j) acc[j] = x[0];
  int64_t i = 1;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
  for (int j = 0; i < n; ++i, ++j) acc[j] = x[i] > acc[j] ? x[i] : acc[j];
  float best = acc[0];
  for (int j = 1; j < kLanes; ++j) best = acc[j] > best ? acc[j] : best;
  return best;
}

// ---- channels-last ------------------------------------------------------------------------------

// The maximum over one output pixel's taps (rows r1 from s1, columns r2 from s2) of channels
// [c0, c0 + n), into y[c0, c0 + n): the first tap's value, then src > y ? src : y tap by tap in the
// reference's order. kN > 0: n == kN, a constant, so that the running maximum stays in registers
// across the taps instead of being stored and loaded again at each.
template <int64_t kN>
QS_ALWAYS_INLINE inline void max_over_taps(const PoolParams& p, const float* __restrict xb, int64_t s1, TapRange r1,
                                           int64_t s2, TapRange r2, int64_t c0, int64_t n, float* __restrict y) {
  const int64_t nc = p.channels, w = p.in[2];
  if constexpr (kN > 0) n = kN;
  float acc[kN > 0 ? kN : 1];  // kN == 0: the maximum runs in y itself
  float* m = kN > 0 ? acc : y + c0;
  bool first = true;
  for (int64_t k1 = r1.lo; k1 < r1.hi; ++k1) {
    const float* xr = xb + (s1 + k1 * p.dilation[1]) * w * nc + c0;
    for (int64_t k2 = r2.lo; k2 < r2.hi; ++k2) {
      const float* __restrict src = xr + (s2 + k2 * p.dilation[2]) * nc;
      if (first) {
        for (int64_t c = 0; c < n; ++c) m[c] = src[c];
        first = false;
      } else {
        for (int64_t c = 0; c < n; ++c) m[c] = src[c] > m[c] ? src[c] : m[c];
      }
    }
  }
  if constexpr (kN > 0)
    for (int64_t c = 0; c < n; ++c) y[c0 + c] = acc[c];
}

// One output row (batch item xb, output row o1) of an NHWC pool: per output pixel, the taps in the
// reference's order (rows, then columns), each a loop over the channels, which are contiguous.
template <Kind kind>
QS_ALWAYS_INLINE inline void nhwc_row(const PoolParams& p, const float* __restrict xb, float* __restrict yrow,
                                      int64_t o1) {
  const int64_t nc = p.channels, w = p.in[2];
  const int64_t s1 = o1 * p.stride[1] - p.pad_begin[1];
  const TapRange r1 = tap_range(s1, p.kernel[1], p.dilation[1], 0, p.in[1]);
  const int64_t padded1 =
      tap_range(s1, p.kernel[1], p.dilation[1], -p.pad_begin[1], p.in[1] + p.pad_end[1]).count();
  for (int64_t o2 = 0; o2 < p.out[2]; ++o2) {
    float* __restrict y = yrow + o2 * nc;
    const int64_t s2 = o2 * p.stride[2] - p.pad_begin[2];
    const TapRange r2 = tap_range(s2, p.kernel[2], p.dilation[2], 0, p.in[2]);
    if (r1.count() == 0 || r2.count() == 0) {
      // No tap inside the input: the reference's max is the lowest value, its average 0 / count = 0.
      const float v = kind == Kind::kMax ? std::numeric_limits<float>::lowest() : 0.f;
      for (int64_t c = 0; c < nc; ++c) y[c] = v;
      continue;
    }
    if constexpr (kind == Kind::kMax) {
      constexpr int64_t kChunk = 64;  // channels at a time: four AVX-512 registers
      int64_t c0 = 0;
      for (; c0 + kChunk <= nc; c0 += kChunk) max_over_taps<kChunk>(p, xb, s1, r1, s2, r2, c0, kChunk, y);
      if (c0 < nc) max_over_taps<0>(p, xb, s1, r1, s2, r2, c0, nc - c0, y);
    } else {
      for (int64_t c = 0; c < nc; ++c) y[c] = 0.f;
      for (int64_t k1 = r1.lo; k1 < r1.hi; ++k1) {
        const float* xr = xb + (s1 + k1 * p.dilation[1]) * w * nc;
        for (int64_t k2 = r2.lo; k2 < r2.hi; ++k2) {
          const float* __restrict src = xr + (s2 + k2 * p.dilation[2]) * nc;
          for (int64_t c = 0; c < nc; ++c) y[c] += src[c];
        }
      }
      // count >= 1 here: some tap lies inside the input, hence inside the padded input too.
      const int64_t count =
          p.count_include_pad
              ? padded1 * tap_range(s2, p.kernel[2], p.dilation[2], -p.pad_begin[2], p.in[2] + p.pad_end[2]).count()
              : r1.count() * r2.count();
      const float d = static_cast<float>(count);
      for (int64_t c = 0; c < nc; ++c) y[c] = y[c] / d;
    }
  }
}

QS_VEC_CLONES void max_rows_nhwc(const PoolParams& p, const float* x, float* y, int64_t lo, int64_t hi) {
  const int64_t in_item = p.in[1] * p.in[2] * p.channels, out_row = p.out[2] * p.channels;
  for (int64_t r = lo; r < hi; ++r)
    nhwc_row<Kind::kMax>(p, x + (r / p.out[1]) * in_item, y + r * out_row, r % p.out[1]);
}

QS_VEC_CLONES void avg_rows_nhwc(const PoolParams& p, const float* x, float* y, int64_t lo, int64_t hi) {
  const int64_t in_item = p.in[1] * p.in[2] * p.channels, out_row = p.out[2] * p.channels;
  for (int64_t r = lo; r < hi; ++r)
    nhwc_row<Kind::kAvg>(p, x + (r / p.out[1]) * in_item, y + r * out_row, r % p.out[1]);
}

bool nhwc_supported(const PoolParams& p) {
  return p.spatial_rank == 2 && p.in[0] == 1 && p.out[0] == 1 && p.kernel[0] == 1 && p.pad_begin[0] == 0 &&
         p.pad_end[0] == 0;
}

// Output rows split over threads from about 8K taps of work per thread. The convolution before
// a pool has most often just split its own rows the same way, so that each thread reads what it
// wrote; one thread reading the whole input pulls half of it from the other core's cache.
// LeNet at batch 8 and two threads (20 channels at 24x24, 92K taps): the pool after the first
// convolution took 0.067 ms on one thread (0.025 ms when that convolution ran on one too), 0.024
// on two, and the whole model 0.28 -> 0.19 ms (was from 64K taps).
template <typename Rows>
void pool_nhwc(const PoolParams& p, const float* x, float* y, Rows rows) {
  const int64_t work = std::max<int64_t>(1, p.out[2] * p.channels * p.kernel[1] * p.kernel[2]);
  parallel_chunks(p.batch * p.out[1], std::max<int64_t>(1, (8 * 1024) / work),
                  [&](int64_t lo, int64_t hi) { rows(p, x, y, lo, hi); });
}

// Channels [0, m) of one batch item: x points at channel 0 of pixel 0, pixels `stride` apart.
QS_VEC_CLONES void channel_sums(const float* __restrict x, int64_t hw, int64_t stride, int64_t m,
                                float* __restrict y) {
  for (int64_t c = 0; c < m; ++c) y[c] = 0.f;
  for (int64_t i = 0; i < hw; ++i) {
    const float* __restrict r = x + i * stride;
    for (int64_t c = 0; c < m; ++c) y[c] += r[c];
  }
  const float d = static_cast<float>(hw);
  for (int64_t c = 0; c < m; ++c) y[c] = y[c] / d;
}

QS_VEC_CLONES void channel_maxes(const float* __restrict x, int64_t hw, int64_t stride, int64_t m,
                                 float* __restrict y) {
  for (int64_t c = 0; c < m; ++c) y[c] = x[c];
  for (int64_t i = 1; i < hw; ++i) {
    const float* __restrict r = x + i * stride;
    for (int64_t c = 0; c < m; ++c) y[c] = r[c] > y[c] ? r[c] : y[c];
  }
}

// Calls block(x_at, y_at, m) over the flattened (batch, channel) outputs in runs of at most 256
// channels of one batch item (their running results stay in L1), split over threads.
template <typename Block>
void global_nhwc(int64_t n, int64_t hw, int64_t c, const float* x, float* y, Block block) {
  constexpr int64_t kRun = 256;
  parallel_chunks(n * c, std::max<int64_t>(1, (64 * 1024) / std::max<int64_t>(1, hw)), [&](int64_t lo, int64_t hi) {
    for (int64_t at = lo; at < hi;) {
      const int64_t b = at / c, ch = at % c;
      const int64_t m = std::min({kRun, hi - at, c - ch});
      block(x + b * hw * c + ch, y + at, m);
      at += m;
    }
  });
}

}  // namespace

bool max_pool_nhwc_f32(const PoolParams& p, const float* x, float* y) {
  if (!nhwc_supported(p)) return false;
  pool_nhwc(p, x, y, max_rows_nhwc);
  return true;
}

bool avg_pool_nhwc_f32(const PoolParams& p, const float* x, float* y) {
  if (!nhwc_supported(p)) return false;
  pool_nhwc(p, x, y, avg_rows_nhwc);
  return true;
}

void global_avg_pool_nhwc_f32(int64_t n, int64_t hw, int64_t c, const float* x, float* y) {
  global_nhwc(n, hw, c, x, y, [&](const float* xs, float* ys, int64_t m) { channel_sums(xs, hw, c, m, ys); });
}

void global_max_pool_nhwc_f32(int64_t n, int64_t hw, int64_t c, const float* x, float* y) {
  global_nhwc(n, hw, c, x, y, [&](const float* xs, float* ys, int64_t m) { channel_maxes(xs, hw, c, m, ys); });
}

void max_pool_f32(const PoolParams& p, const float* x, float* y) { pool<Kind::kMax>(p, x, y); }
void avg_pool_f32(const PoolParams& p, const float* x, float* y) { pool<Kind::kAvg>(p, x, y); }

void global_avg_pool_f32(int64_t planes, int64_t spatial, const float* x, float* y) {
  parallel_chunks(planes, std::max<int64_t>(1, (64 * 1024) / std::max<int64_t>(1, spatial)),
                  [&](int64_t lo, int64_t hi) { plane_means(x, spatial, lo, hi, y); });
}

void global_max_pool_f32(int64_t planes, int64_t spatial, const float* x, float* y) {
  parallel_chunks(planes, std::max<int64_t>(1, (64 * 1024) / std::max<int64_t>(1, spatial)),
                  [&](int64_t lo, int64_t hi) {
                    for (int64_t c = lo; c < hi; ++c) y[c] = plane_max(x + c * spatial, spatial);
                  });
}

}  // namespace qs::kernels::fast
