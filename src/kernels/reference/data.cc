#include "kernels/reference/data.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace qs::kernels::ref {

AxisView axis_view(const Shape& shape, int64_t axis) {
  AxisView v;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    const int64_t d = shape[static_cast<size_t>(i)];
    if (i < axis) v.outer *= d;
    else if (i == axis) v.axis = d;
    else v.inner *= d;
  }
  return v;
}

void concat(const std::vector<const void*>& parts, const std::vector<int64_t>& axis_len, int64_t outer, int64_t inner,
            void* y, size_t elem_size) {
  auto* dst = static_cast<std::byte*>(y);
  const auto es = static_cast<int64_t>(elem_size);
  for (int64_t o = 0; o < outer; ++o) {
    for (size_t p = 0; p < parts.size(); ++p) {
      const int64_t block = axis_len[p] * inner * es;
      if (block == 0) continue;
      std::memcpy(dst, static_cast<const std::byte*>(parts[p]) + o * block, static_cast<size_t>(block));
      dst += block;
    }
  }
}

void split(const void* x, int64_t outer, int64_t inner, const std::vector<int64_t>& axis_len,
           const std::vector<void*>& parts, size_t elem_size) {
  const auto* src = static_cast<const std::byte*>(x);
  const auto es = static_cast<int64_t>(elem_size);
  for (int64_t o = 0; o < outer; ++o) {
    for (size_t p = 0; p < parts.size(); ++p) {
      const int64_t block = axis_len[p] * inner * es;
      if (block == 0) continue;
      if (parts[p]) std::memcpy(static_cast<std::byte*>(parts[p]) + o * block, src, static_cast<size_t>(block));
      src += block;
    }
  }
}

void gather(const void* x, const AxisView& v, const int64_t* indices, int64_t n_idx, void* y, size_t elem_size) {
  const auto* src = static_cast<const std::byte*>(x);
  auto* dst = static_cast<std::byte*>(y);
  const size_t block = static_cast<size_t>(v.inner) * elem_size;
  for (int64_t o = 0; o < v.outer; ++o) {
    for (int64_t k = 0; k < n_idx; ++k, dst += block) {
      int64_t i = indices[k];
      if (i < 0) i += v.axis;
      if (i < 0 || i >= v.axis) {
        std::memset(dst, 0, block);
        continue;
      }
      std::memcpy(dst, src + ((o * v.axis + i) * v.inner) * static_cast<int64_t>(elem_size), block);
    }
  }
}

namespace {

// Calls f(e, off) for each element e of an index tensor of shape idx_shape (row-major): off is the
// element of `shape` it points at, e's own position with the axis coordinate replaced by
// indices[e] (negative: from the end), or -1 when that lies outside.
template <typename F>
void for_each_axis_index(const Shape& shape, const int64_t* indices, const Shape& idx_shape, int64_t axis, F f) {
  const int64_t n = numel(idx_shape);
  const size_t rank = idx_shape.size();
  const std::vector<int64_t> st = dense_strides(shape);
  const int64_t dim = shape[static_cast<size_t>(axis)];
  std::vector<int64_t> idx(rank, 0);
  for (int64_t e = 0; e < n; ++e) {
    int64_t j = indices[e];
    if (j < 0) j += dim;
    int64_t off = -1;
    if (j >= 0 && j < dim) {
      off = 0;
      for (size_t a = 0; a < rank; ++a) off += (static_cast<int64_t>(a) == axis ? j : idx[a]) * st[a];
    }
    f(e, off);
    for (size_t a = rank; a-- > 0;) {
      if (++idx[a] < idx_shape[a]) break;
      idx[a] = 0;
    }
  }
}

// The element of `shape` (strides st) that the index tuple (k values for the axes from `first` on,
// negative from the end) points at, or -1 when it lies outside.
int64_t tuple_offset(const Shape& shape, const std::vector<int64_t>& st, size_t first, const int64_t* tuple, int64_t k) {
  int64_t off = 0;
  for (int64_t a = 0; a < k; ++a) {
    const size_t axis = first + static_cast<size_t>(a);
    int64_t j = tuple[a];
    if (j < 0) j += shape[axis];
    if (j < 0 || j >= shape[axis]) return -1;
    off += j * st[axis];
  }
  return off;
}

}  // namespace

void gather_elements(const void* x, const Shape& x_shape, const int64_t* indices, const Shape& idx_shape, int64_t axis,
                     void* y, size_t elem_size) {
  const auto* src = static_cast<const std::byte*>(x);
  auto* dst = static_cast<std::byte*>(y);
  const int64_t es = static_cast<int64_t>(elem_size);
  for_each_axis_index(x_shape, indices, idx_shape, axis, [&](int64_t e, int64_t off) {
    if (off < 0) std::memset(dst + e * es, 0, elem_size);
    else std::memcpy(dst + e * es, src + off * es, elem_size);
  });
}

std::vector<int64_t> pad_axis_map(int64_t n, int64_t pad_begin, int64_t pad_end, PadMode mode) {
  // The surviving input range [lo, hi) after negative pads crop it.
  const int64_t lo = std::max<int64_t>(0, -pad_begin);
  const int64_t hi = n - std::max<int64_t>(0, -pad_end);
  const int64_t len = hi - lo;
  const int64_t out = n + pad_begin + pad_end;
  std::vector<int64_t> m(static_cast<size_t>(std::max<int64_t>(out, 0)));
  for (int64_t o = 0; o < out; ++o) {
    int64_t i = o - pad_begin;  // input index, possibly outside [lo, hi)
    if (i < lo || i >= hi) {
      if (mode == PadMode::kConstant || len <= 0) {
        i = -1;
      } else if (mode == PadMode::kEdge) {
        i = std::clamp(i, lo, hi - 1);
      } else if (mode == PadMode::kWrap) {
        i = lo + (((i - lo) % len) + len) % len;
      } else if (len == 1) {  // reflect of a single element repeats it
        i = lo;
      } else {  // reflect without repeating the edge: period 2 * (len - 1)
        const int64_t period = 2 * (len - 1);
        int64_t r = ((i - lo) % period + period) % period;
        i = lo + (r < len ? r : period - r);
      }
    }
    m[static_cast<size_t>(o)] = i;
  }
  return m;
}

void gather_nd(const void* x, const Shape& x_shape, const int64_t* indices, const Shape& idx_shape, int64_t batch_dims,
               void* y, size_t elem_size) {
  const auto* src = static_cast<const std::byte*>(x);
  auto* dst = static_cast<std::byte*>(y);
  const size_t b = static_cast<size_t>(batch_dims);
  const int64_t k = idx_shape.back();
  const int64_t batches = numel(Shape(x_shape.begin(), x_shape.begin() + static_cast<std::ptrdiff_t>(b)));
  const int64_t tuples = numel(Shape(idx_shape.begin(), idx_shape.end() - 1)) / std::max<int64_t>(batches, 1);
  const int64_t slice = numel(Shape(x_shape.begin() + static_cast<std::ptrdiff_t>(b) + k, x_shape.end()));
  const std::vector<int64_t> xs = dense_strides(x_shape);
  const int64_t batch_stride = b == 0 ? 0 : xs[b - 1];
  const size_t slice_bytes = static_cast<size_t>(slice) * elem_size;
  for (int64_t bt = 0; bt < batches; ++bt)
    for (int64_t q = 0; q < tuples; ++q) {
      const int64_t off = tuple_offset(x_shape, xs, b, indices + (bt * tuples + q) * k, k);
      std::byte* out = dst + (bt * tuples + q) * static_cast<int64_t>(slice_bytes);
      if (off < 0) std::memset(out, 0, slice_bytes);
      else if (slice_bytes) std::memcpy(out, src + (bt * batch_stride + off) * static_cast<int64_t>(elem_size), slice_bytes);
    }
}

namespace {

template <typename T>
void combine(T& to, T u, ScatterReduction r) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int32_t> ||
                std::is_same_v<T, int64_t>) {
    switch (r) {
      case ScatterReduction::kNone: to = u; return;
      case ScatterReduction::kAdd:
        if constexpr (std::is_integral_v<T>) to = static_cast<T>(static_cast<std::make_unsigned_t<T>>(to) + static_cast<std::make_unsigned_t<T>>(u));
        else to = to + u;
        return;
      case ScatterReduction::kMul:
        if constexpr (std::is_integral_v<T>) to = static_cast<T>(static_cast<std::make_unsigned_t<T>>(to) * static_cast<std::make_unsigned_t<T>>(u));
        else to = to * u;
        return;
      case ScatterReduction::kMax: to = std::max(to, u); return;
      case ScatterReduction::kMin: to = std::min(to, u); return;
    }
  } else {
    (void)r;
    to = u;
  }
}

}  // namespace

template <typename T>
void scatter_nd(T* y, const Shape& shape, const int64_t* indices, const Shape& idx_shape, const T* updates,
                ScatterReduction r) {
  const int64_t k = idx_shape.back();
  const int64_t tuples = numel(Shape(idx_shape.begin(), idx_shape.end() - 1));
  const int64_t slice = numel(Shape(shape.begin() + k, shape.end()));
  const std::vector<int64_t> st = dense_strides(shape);
  for (int64_t q = 0; q < tuples; ++q) {
    const int64_t off = tuple_offset(shape, st, 0, indices + q * k, k);
    if (off < 0) continue;
    for (int64_t e = 0; e < slice; ++e) combine(y[off + e], updates[q * slice + e], r);
  }
}

template <typename T>
void scatter_elements(T* y, const Shape& shape, const int64_t* indices, const Shape& idx_shape, const T* updates,
                      int64_t axis, ScatterReduction r) {
  for_each_axis_index(shape, indices, idx_shape, axis, [&](int64_t e, int64_t off) {
    if (off >= 0) combine(y[off], updates[e], r);
  });
}

#define QS_SCATTER(T)                                                                                              \
  template void scatter_nd<T>(T*, const Shape&, const int64_t*, const Shape&, const T*, ScatterReduction);         \
  template void scatter_elements<T>(T*, const Shape&, const int64_t*, const Shape&, const T*, int64_t, ScatterReduction);
QS_SCATTER(float)
QS_SCATTER(double)
QS_SCATTER(int32_t)
QS_SCATTER(int64_t)
QS_SCATTER(uint8_t)
QS_SCATTER(uint16_t)
QS_SCATTER(uint32_t)
QS_SCATTER(uint64_t)
#undef QS_SCATTER

void trilu(const void* x, void* y, int64_t batch, int64_t rows, int64_t cols, int64_t k, bool upper, size_t elem_size) {
  const auto* src = static_cast<const std::byte*>(x);
  auto* dst = static_cast<std::byte*>(y);
  const int64_t es = static_cast<int64_t>(elem_size);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t at = ((b * rows + r) * cols + c) * es;
        const bool keep = upper ? c - r >= k : c - r <= k;
        if (keep) std::memcpy(dst + at, src + at, elem_size);
        else std::memset(dst + at, 0, elem_size);
      }
}

void one_hot(const int64_t* indices, int64_t outer, int64_t inner, int64_t depth, const void* off, const void* on,
             void* y, size_t elem_size) {
  auto* dst = static_cast<std::byte*>(y);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      int64_t hot = indices[o * inner + i];
      if (hot < 0) hot += depth;
      for (int64_t d = 0; d < depth; ++d)
        std::memcpy(dst + ((o * depth + d) * inner + i) * static_cast<int64_t>(elem_size), d == hot ? on : off, elem_size);
    }
}

void reverse_sequence(const ReverseSequenceParams& p, const void* x, const int64_t* lens, void* y, size_t elem_size) {
  const auto* src = static_cast<const std::byte*>(x);
  auto* dst = static_cast<std::byte*>(y);
  const int64_t es = static_cast<int64_t>(elem_size);
  // Element offset of (o, t, m, b) in either order of the time and batch axes.
  auto at = [&](int64_t o, int64_t t, int64_t m, int64_t b) {
    const int64_t first = p.batch_first ? b : t, second = p.batch_first ? t : b;
    const int64_t n_first = p.batch_first ? p.batch : p.time, n_second = p.batch_first ? p.time : p.batch;
    return (((o * n_first + first) * p.mid + m) * n_second + second) * p.inner;
  };
  for (int64_t o = 0; o < p.outer; ++o)
    for (int64_t b = 0; b < p.batch; ++b) {
      const int64_t len = std::max<int64_t>(0, std::min(p.time, lens[b]));
      for (int64_t t = 0; t < p.time; ++t) {
        const int64_t from = t < len ? len - 1 - t : t;
        for (int64_t m = 0; m < p.mid; ++m)
          std::memcpy(dst + at(o, t, m, b) * es, src + at(o, from, m, b) * es, static_cast<size_t>(p.inner * es));
      }
    }
}

}  // namespace qs::kernels::ref
