// Where a Q/DQ export puts its QuantizeLinear / DequantizeLinear nodes (SPEC.md "Exports",
// INT8.md items 5, 18-20), read off the precision lowering so that the exported model
// computes what qscope's engine computes for the plan:
//  - every INT8 read of an activation gets Q -> DQ with the scale the lowering gave it: a
//    fused block's input and its residual (on the Add's input, item 20), each input of an
//    INT8 element-wise / pooling / shape layer (Concat inputs with the output's scale,
//    readers of an INT8 pool's output with the pool input's scale, item 8);
//  - every INT8 block's weights become an int8 initializer with per-channel scales
//    (quantize_weights_s8: max|W_k| / 127, axis 0; axis 1 for ConvTranspose and for Gemm /
//    MatMul weights [K, N]; axis 0 for Gemm with transB); all-zero channels get scale 1;
//  - a BatchNormalization folded into an INT8 convolution is folded in the export too: the
//    int8 weights are the folded ones (INT8.md item 3) and the folded bias replaces the
//    convolution's. TensorRT folds BN the same way before quantizing, and the exported model
//    then needs no folding to give qscope's numbers exactly.
//  - floating-point layers get nothing around them (their INT8 readers quantize).
#pragma once
#include "core/status.h"
#include "onnx/qdq_export.h"
#include "passes/graph_view.h"
#include "passes/lower.h"

namespace qs::passes {

// view: the FP32 view the lowering was made from. Errors name the node (e.g. a grouped
// ConvTranspose, whose per-channel weight scales are not one axis of its weights).
Expected<onnx_io::QdqPlan> make_qdq_plan(const GraphView& view, const Lowered& lowered);

}  // namespace qs::passes
