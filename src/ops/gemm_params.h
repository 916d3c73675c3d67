// Gemm node validation shared by the ONNX op and the fused blocks: inputs A, B, optional C
// at indices 0..2, the ONNX attributes (transA, transB, alpha, beta) on ctx.node.
#pragma once
#include "kernels/reference/gemm.h"
#include "ops/op.h"

namespace qs::ops {

using kernels::ref::GemmParams;
using kernels::ref::MatMulParams;

Expected<GemmParams> gemm_params(const PrepareContext& ctx);

}  // namespace qs::ops
