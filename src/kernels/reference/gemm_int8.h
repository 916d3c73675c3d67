// Reference INT8 Gemm and MatMul: int8 x int8 products summed in an int32 accumulator. The op
// applies alpha, beta * C and the bias in float after the epilogue (int8.h); this kernel
// ignores GemmParams' alpha, beta and c. Plain loops, the oracle for the oneDNN INT8 kernels.
// The op checks int8_reduction_fits(K) (int8.h) so that the accumulator cannot overflow.
#pragma once
#include <cstdint>

#include "kernels/reference/gemm.h"

namespace qs::kernels::ref {

// acc[M, N] = op(a) * op(b), with a and b laid out as for gemm_f32.
void gemm_s8s8s32(const GemmParams& p, const int8_t* a, const int8_t* b, int32_t* acc);
// Same offsets and layout as matmul_f32.
void matmul_s8s8s32(const MatMulParams& p, const int8_t* a, const int8_t* b, int32_t* acc);

}  // namespace qs::kernels::ref
