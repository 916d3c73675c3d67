// Chains of element-wise layers as one qscope.EltwiseChain node (ops/eltwise_chain.cc), which
// runs the members' own kernels block by block instead of writing every value between them to
// memory: GELU written out (Div, Erf, Add, Mul, Mul), x * Sigmoid(x), HardSwish written out, a
// residual Add and the activation after it, ...
//
// A chain starts at an element-wise layer that reads variable values of its output's shape (X,
// the first of them, and maybe others) and scalar constants, and takes the layer reading its
// output while that output has no other reader and is no graph output, and the reader's inputs
// are that output, variable values of X's shape, and scalar constants. Every member is FP32 or
// INT8 and keeps X's shape: an INT8 member reads its variable inputs through quantize-dequantize
// with their scales (runtime/precision_kernels.h), which the chain does block by block
// (per-tensor scales: the same values); an FP16 layer also rounds its output and stays a layer
// of its own. Values inside a chain are not computed, as with the fused convolution blocks: the
// optimized plans only (PlanOptions::optimize).
#pragma once
#include <map>
#include <string>

#include "ir/graph.h"
#include "passes/graph_view.h"
#include "passes/lower.h"

namespace qs::passes {

// g: a lowered graph of the model that `model` views (before the layout pass); exec: how each
// node runs (chains get an FP32 entry). Rewrites g in place; returns the number of chains made.
int fuse_elementwise_chains(ir::Graph& g, const GraphView& model, std::map<std::string, NodeExec>& exec);

}  // namespace qs::passes
