#include "kernels/reference/gemm.h"

#include <algorithm>
#include <cstddef>
#include <type_traits>

namespace qs::kernels::ref {

void gemm_f32(const GemmParams& p, const float* a, const float* b, const float* c, float* y) {
  for (int64_t m = 0; m < p.M; ++m)
    for (int64_t n = 0; n < p.N; ++n) {
      double acc = 0.0;
      for (int64_t k = 0; k < p.K; ++k) {
        const float av = p.trans_a ? a[k * p.M + m] : a[m * p.K + k];
        const float bv = p.trans_b ? b[n * p.K + k] : b[k * p.N + n];
        acc += static_cast<double>(av) * bv;
      }
      double v = static_cast<double>(p.alpha) * acc;
      if (c && p.c_rows > 0) {
        const int64_t r = p.c_rows == 1 ? 0 : m, col = p.c_cols == 1 ? 0 : n;
        v += static_cast<double>(p.beta) * c[r * p.c_cols + col];
      }
      y[m * p.N + n] = static_cast<float>(v);
    }
}

MatMulParams matmul_params(const std::vector<int64_t>& a_shape, const std::vector<int64_t>& b_shape,
                           std::vector<int64_t>* out_shape) {
  MatMulParams p;
  const bool a_vec = a_shape.size() == 1, b_vec = b_shape.size() == 1;
  p.M = a_vec ? 1 : a_shape[a_shape.size() - 2];
  p.K = a_shape.back();
  p.N = b_vec ? 1 : b_shape.back();
  const std::vector<int64_t> a_batch(a_shape.begin(), a_shape.end() - (a_vec ? 1 : 2));
  const std::vector<int64_t> b_batch(b_shape.begin(), b_shape.end() - (b_vec ? 1 : 2));
  const size_t r = std::max(a_batch.size(), b_batch.size());
  // Right-aligned batch dims of each operand, 1 where it has fewer dims.
  std::vector<int64_t> ad(r, 1), bd(r, 1), od(r, 1);
  std::copy(a_batch.begin(), a_batch.end(), ad.begin() + static_cast<ptrdiff_t>(r - a_batch.size()));
  std::copy(b_batch.begin(), b_batch.end(), bd.begin() + static_cast<ptrdiff_t>(r - b_batch.size()));
  p.batch = 1;
  for (size_t i = 0; i < r; ++i) {
    od[i] = ad[i] == 1 ? bd[i] : ad[i];
    p.batch *= od[i];
  }
  // Element strides of each operand's batch dims; a broadcast dim gets stride 0.
  std::vector<int64_t> as(r, 0), bs(r, 0);
  int64_t a_stride = p.M * p.K, b_stride = p.K * p.N;
  for (size_t i = r; i-- > 0;) {
    as[i] = ad[i] == 1 ? 0 : a_stride;
    bs[i] = bd[i] == 1 ? 0 : b_stride;
    a_stride *= ad[i];
    b_stride *= bd[i];
  }
  p.a_offset.resize(static_cast<size_t>(p.batch));
  p.b_offset.resize(static_cast<size_t>(p.batch));
  std::vector<int64_t> idx(r, 0);
  for (int64_t i = 0; i < p.batch; ++i) {
    int64_t ao = 0, bo = 0;
    for (size_t j = 0; j < r; ++j) {
      ao += idx[j] * as[j];
      bo += idx[j] * bs[j];
    }
    p.a_offset[static_cast<size_t>(i)] = ao;
    p.b_offset[static_cast<size_t>(i)] = bo;
    for (size_t j = r; j-- > 0;) {
      if (++idx[j] < od[j]) break;
      idx[j] = 0;
    }
  }
  if (out_shape) {
    *out_shape = od;
    if (!a_vec) out_shape->push_back(p.M);
    if (!b_vec) out_shape->push_back(p.N);
  }
  return p;
}

namespace {

template <typename T>
void matmul(const MatMulParams& p, const T* a, const T* b, T* y) {
  // Floats accumulate in double; integers in uint64, which wraps like numpy's int arithmetic
  // without signed-overflow undefined behaviour.
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;
  for (int64_t i = 0; i < p.batch; ++i) {
    const T* ab = a + p.a_offset[static_cast<size_t>(i)];
    const T* bb = b + p.b_offset[static_cast<size_t>(i)];
    T* yb = y + i * p.M * p.N;
    for (int64_t m = 0; m < p.M; ++m)
      for (int64_t n = 0; n < p.N; ++n) {
        Acc acc = 0;
        for (int64_t k = 0; k < p.K; ++k) acc += static_cast<Acc>(ab[m * p.K + k]) * static_cast<Acc>(bb[k * p.N + n]);
        yb[m * p.N + n] = static_cast<T>(acc);
      }
  }
}

}  // namespace

void matmul_f32(const MatMulParams& p, const float* a, const float* b, float* y) { matmul(p, a, b, y); }
void matmul_f64(const MatMulParams& p, const double* a, const double* b, double* y) { matmul(p, a, b, y); }
void matmul_i32(const MatMulParams& p, const int32_t* a, const int32_t* b, int32_t* y) { matmul(p, a, b, y); }
void matmul_i64(const MatMulParams& p, const int64_t* a, const int64_t* b, int64_t* y) { matmul(p, a, b, y); }

}  // namespace qs::kernels::ref
