// Conv and ConvTranspose node validation shared by the ONNX ops and the fused blocks:
// inputs X, W, optional B at indices 0..2, the ONNX attributes on ctx.node.
#pragma once
#include "kernels/reference/conv.h"
#include "ops/op.h"

namespace qs::ops {

using kernels::ref::ConvParams;

Expected<ConvParams> conv_params(const PrepareContext& ctx);
Expected<ConvParams> conv_transpose_params(const PrepareContext& ctx);
Shape conv_output_shape(const ConvParams& p);

}  // namespace qs::ops
