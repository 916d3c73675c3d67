#include "kernels/reference/gemm_int8.h"

#include <cstddef>

namespace qs::kernels::ref {

// int32 sums: with K <= kMaxInt8Reduction every partial sum stays below 2^31 (int8.h).
void gemm_s8s8s32(const GemmParams& p, const int8_t* a, const int8_t* b, int32_t* acc) {
  for (int64_t m = 0; m < p.M; ++m)
    for (int64_t n = 0; n < p.N; ++n) {
      int32_t sum = 0;
      for (int64_t k = 0; k < p.K; ++k) {
        const int32_t av = p.trans_a ? a[k * p.M + m] : a[m * p.K + k];
        const int32_t bv = p.trans_b ? b[n * p.K + k] : b[k * p.N + n];
        sum += av * bv;
      }
      acc[m * p.N + n] = sum;
    }
}

void matmul_s8s8s32(const MatMulParams& p, const int8_t* a, const int8_t* b, int32_t* acc) {
  for (int64_t i = 0; i < p.batch; ++i) {
    const int8_t* ab = a + p.a_offset[static_cast<size_t>(i)];
    const int8_t* bb = b + p.b_offset[static_cast<size_t>(i)];
    int32_t* yb = acc + i * p.M * p.N;
    for (int64_t m = 0; m < p.M; ++m)
      for (int64_t n = 0; n < p.N; ++n) {
        int32_t sum = 0;
        for (int64_t k = 0; k < p.K; ++k) sum += int32_t{ab[m * p.K + k]} * int32_t{bb[k * p.N + n]};
        yb[m * p.N + n] = sum;
      }
  }
}

}  // namespace qs::kernels::ref
