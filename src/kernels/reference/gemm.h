// Reference Gemm and MatMul kernels: plain loops, the oracle for the oneDNN kernels.
#pragma once
#include <cstdint>
#include <vector>

namespace qs::kernels::ref {

// ONNX Gemm: y[M,N] = alpha * op(a) * op(b) + beta * c, with op(a) [M,K] and op(b) [K,N].
// a is [M,K] ([K,M] when trans_a), b is [K,N] ([N,K] when trans_b). c, when present, is
// [c_rows, c_cols] with each dim either 1 or equal to M / N (a scalar or a [N] vector arrive
// as [1,1] / [1,N]); c_rows == 0 means no c.
struct GemmParams {
  int64_t M = 0, N = 0, K = 0;
  bool trans_a = false, trans_b = false;
  float alpha = 1.f, beta = 1.f;
  int64_t c_rows = 0, c_cols = 0;
};

void gemm_f32(const GemmParams& p, const float* a, const float* b, const float* c, float* y);

// ONNX MatMul (numpy matmul) as `batch` independent [M,K] x [K,N] products. Output product i
// is written at y + i*M*N and reads a + a_offset[i], b + b_offset[i]: the offsets encode
// batch broadcasting, and 1-D operands are [1,K] / [K,1] matrices.
struct MatMulParams {
  int64_t batch = 1, M = 0, N = 0, K = 0;
  std::vector<int64_t> a_offset, b_offset;  // in elements, one per output product
};

// Builds MatMulParams and the output shape for operand shapes the op has already checked
// (ranks >= 1, inner dims equal, batch dims broadcastable).
MatMulParams matmul_params(const std::vector<int64_t>& a_shape, const std::vector<int64_t>& b_shape,
                           std::vector<int64_t>* out_shape);

void matmul_f32(const MatMulParams& p, const float* a, const float* b, float* y);
void matmul_f64(const MatMulParams& p, const double* a, const double* b, double* y);
void matmul_i32(const MatMulParams& p, const int32_t* a, const int32_t* b, int32_t* y);
void matmul_i64(const MatMulParams& p, const int64_t* a, const int64_t* b, int64_t* y);

}  // namespace qs::kernels::ref
