#include "kernels/reference/reduce.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <type_traits>
#include <vector>

namespace qs::kernels::ref {

namespace {

// Input dims with size-1 dims dropped and neighbours of the same kind merged, so the
// innermost loop runs over as many contiguous elements as possible.
struct Dim {
  int64_t size;
  bool reduced;
  int64_t out_stride;  // 0 for reduced dims
};

std::vector<Dim> collapse(const ReduceParams& p) {
  std::vector<Dim> dims;
  for (size_t d = 0; d < p.shape.size(); ++d) {
    if (p.shape[d] == 1) continue;
    if (!dims.empty() && dims.back().reduced == p.reduced[d]) {
      dims.back().size *= p.shape[d];
    } else {
      dims.push_back({p.shape[d], p.reduced[d], 0});
    }
  }
  if (dims.empty()) dims.push_back({1, false, 0});
  int64_t s = 1;
  for (size_t d = dims.size(); d-- > 0;) {
    if (dims[d].reduced) continue;
    dims[d].out_stride = s;
    s *= dims[d].size;
  }
  return dims;
}

// Calls combine(out_index, value) for every input element, in input order.
template <typename T, typename Combine>
void sweep(const std::vector<Dim>& dims, int64_t total, const T* x, Combine combine) {
  const Dim& last = dims.back();
  const size_t outer_rank = dims.size() - 1;
  std::vector<int64_t> idx(outer_rank, 0);
  int64_t out_off = 0;
  for (int64_t in_off = 0; in_off < total; in_off += last.size) {
    const T* row = x + in_off;
    if (last.reduced) {
      for (int64_t i = 0; i < last.size; ++i) combine(out_off, row[i]);
    } else {
      for (int64_t i = 0; i < last.size; ++i) combine(out_off + i, row[i]);
    }
    for (size_t d = outer_rank; d-- > 0;) {
      out_off += dims[d].out_stride;
      if (++idx[d] < dims[d].size) break;
      out_off -= dims[d].out_stride * dims[d].size;
      idx[d] = 0;
    }
  }
}

template <typename T>
void reduce(const ReduceParams& p, const T* x, T* y) {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
  int64_t total = 1, out_n = 1, count = 1;
  for (size_t d = 0; d < p.shape.size(); ++d) {
    total *= p.shape[d];
    (p.reduced[d] ? count : out_n) *= p.shape[d];
  }
  const std::vector<Dim> dims = collapse(p);
  Acc init = 0;
  if (p.op == ReduceOp::kProd) init = 1;
  if (p.op == ReduceOp::kMax || p.op == ReduceOp::kLogSumExp)
    init = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<Acc>::infinity()
                                                : static_cast<Acc>(std::numeric_limits<T>::lowest());
  if (p.op == ReduceOp::kMin)
    init = std::numeric_limits<T>::has_infinity ? std::numeric_limits<Acc>::infinity()
                                                : static_cast<Acc>(std::numeric_limits<T>::max());
  std::vector<Acc> acc(static_cast<size_t>(out_n), init);
  Acc* a = acc.data();
  switch (p.op) {
    case ReduceOp::kSum:
    case ReduceOp::kMean:
    case ReduceOp::kLogSum:
      sweep(dims, total, x, [a](int64_t o, T v) { a[o] += static_cast<Acc>(v); });
      break;
    case ReduceOp::kMax:
      sweep(dims, total, x, [a](int64_t o, T v) { a[o] = static_cast<Acc>(v) > a[o] ? static_cast<Acc>(v) : a[o]; });
      break;
    case ReduceOp::kMin:
      sweep(dims, total, x, [a](int64_t o, T v) { a[o] = static_cast<Acc>(v) < a[o] ? static_cast<Acc>(v) : a[o]; });
      break;
    case ReduceOp::kProd:
      sweep(dims, total, x, [a](int64_t o, T v) { a[o] *= static_cast<Acc>(v); });
      break;
    case ReduceOp::kL1:
      sweep(dims, total, x, [a](int64_t o, T v) {
        const Acc av = static_cast<Acc>(v);
        a[o] += av < 0 ? -av : av;
      });
      break;
    case ReduceOp::kL2:
    case ReduceOp::kSumSquare:
      sweep(dims, total, x, [a](int64_t o, T v) { a[o] += static_cast<Acc>(v) * static_cast<Acc>(v); });
      break;
    case ReduceOp::kLogSumExp: {
      // Shift by the maximum so exp cannot overflow.
      sweep(dims, total, x, [a](int64_t o, T v) { a[o] = static_cast<Acc>(v) > a[o] ? static_cast<Acc>(v) : a[o]; });
      std::vector<Acc> sum(acc.size(), 0);
      Acc* s = sum.data();
      sweep(dims, total, x, [a, s](int64_t o, T v) { s[o] += std::exp(static_cast<Acc>(v) - a[o]); });
      for (size_t i = 0; i < acc.size(); ++i)
        acc[i] = std::isfinite(static_cast<double>(acc[i])) ? acc[i] + std::log(sum[i]) : acc[i];
      break;
    }
  }
  for (int64_t i = 0; i < out_n; ++i) {
    Acc v = acc[static_cast<size_t>(i)];
    if constexpr (std::is_floating_point_v<T>) {
      if (p.op == ReduceOp::kMean) v /= static_cast<Acc>(count);
      if (p.op == ReduceOp::kL2) v = std::sqrt(v);
      if (p.op == ReduceOp::kLogSum) v = std::log(v);
    } else {
      // Integer division by zero would trap; an empty integer mean is 0.
      if (p.op == ReduceOp::kMean) v = count > 0 ? v / count : 0;
    }
    y[i] = static_cast<T>(v);
  }
}

template <typename T>
void arg_reduce(const ArgReduceParams& p, const T* x, int64_t* y) {
  for (int64_t o = 0; o < p.outer; ++o) {
    for (int64_t i = 0; i < p.inner; ++i) {
      const T* xc = x + o * p.n * p.inner + i;
      T best = xc[0];
      int64_t at = 0;
      for (int64_t k = 1; k < p.n; ++k) {
        const T v = xc[k * p.inner];
        const bool better = p.is_max ? v > best : v < best;
        if (better || (p.select_last_index && v == best)) {
          best = v;
          at = k;
        }
      }
      y[o * p.inner + i] = at;
    }
  }
}

}  // namespace

void reduce_f32(const ReduceParams& p, const float* x, float* y) { reduce(p, x, y); }
void reduce_f64(const ReduceParams& p, const double* x, double* y) { reduce(p, x, y); }
void reduce_i32(const ReduceParams& p, const int32_t* x, int32_t* y) { reduce(p, x, y); }
void reduce_i64(const ReduceParams& p, const int64_t* x, int64_t* y) { reduce(p, x, y); }
void reduce_i8(const ReduceParams& p, const int8_t* x, int8_t* y) { reduce(p, x, y); }
void reduce_u8(const ReduceParams& p, const uint8_t* x, uint8_t* y) { reduce(p, x, y); }

void arg_reduce_f32(const ArgReduceParams& p, const float* x, int64_t* y) { arg_reduce(p, x, y); }
void arg_reduce_f64(const ArgReduceParams& p, const double* x, int64_t* y) { arg_reduce(p, x, y); }
void arg_reduce_i32(const ArgReduceParams& p, const int32_t* x, int64_t* y) { arg_reduce(p, x, y); }
void arg_reduce_i64(const ArgReduceParams& p, const int64_t* x, int64_t* y) { arg_reduce(p, x, y); }
void arg_reduce_i8(const ArgReduceParams& p, const int8_t* x, int64_t* y) { arg_reduce(p, x, y); }
void arg_reduce_u8(const ArgReduceParams& p, const uint8_t* x, int64_t* y) { arg_reduce(p, x, y); }

template <typename T>
void top_k(const TopKParams& p, const T* x, T* values, int64_t* indices) {
  std::vector<int64_t> order(static_cast<size_t>(p.n));
  for (int64_t o = 0; o < p.outer; ++o)
    for (int64_t i = 0; i < p.inner; ++i) {
      const T* xs = x + o * p.n * p.inner + i;
      auto at = [&](int64_t j) { return xs[j * p.inner]; };
      for (int64_t j = 0; j < p.n; ++j) order[static_cast<size_t>(j)] = j;
      // A strict order on (value, index): NaN sorts as the largest value, as NumPy's sort does.
      auto before = [&](int64_t a, int64_t b) {
        const T va = at(a), vb = at(b);
        const bool na = va != va, nb = vb != vb;
        if (na != nb) return p.largest ? na : nb;
        if (!na && va != vb) return p.largest ? va > vb : va < vb;
        return a < b;
      };
      std::partial_sort(order.begin(), order.begin() + p.k, order.end(), before);
      for (int64_t j = 0; j < p.k; ++j) {
        const int64_t at_out = (o * p.k + j) * p.inner + i;
        values[at_out] = at(order[static_cast<size_t>(j)]);
        indices[at_out] = order[static_cast<size_t>(j)];
      }
    }
}
template void top_k<float>(const TopKParams&, const float*, float*, int64_t*);
template void top_k<double>(const TopKParams&, const double*, double*, int64_t*);
template void top_k<int32_t>(const TopKParams&, const int32_t*, int32_t*, int64_t*);
template void top_k<int64_t>(const TopKParams&, const int64_t*, int64_t*, int64_t*);

template <typename T>
void cumsum(const CumSumParams& p, const T* x, T* y) {
  // Integer sums wrap around (two's complement) instead of overflowing.
  auto add = [](T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      using U = std::make_unsigned_t<T>;
      return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
    } else {
      return a + b;
    }
  };
  for (int64_t o = 0; o < p.outer; ++o)
    for (int64_t i = 0; i < p.inner; ++i) {
      T sum = T(0);
      for (int64_t s = 0; s < p.n; ++s) {
        const int64_t j = p.reverse ? p.n - 1 - s : s;
        const int64_t at = (o * p.n + j) * p.inner + i;
        if (p.exclusive) {
          y[at] = sum;
          sum = add(sum, x[at]);
        } else {
          sum = add(sum, x[at]);
          y[at] = sum;
        }
      }
    }
}
template void cumsum<float>(const CumSumParams&, const float*, float*);
template void cumsum<double>(const CumSumParams&, const double*, double*);
template void cumsum<int32_t>(const CumSumParams&, const int32_t*, int32_t*);
template void cumsum<int64_t>(const CumSumParams&, const int64_t*, int64_t*);

}  // namespace qs::kernels::ref
