// Which layers have an INT8 implementation (INT8.md item 7), and why not.
#pragma once
#include <string>

#include "ir/graph.h"
#include "passes/graph_view.h"

namespace qs::passes {

struct Int8Capability {
  bool capable = false;
  std::string reason;  // why not, when not capable
};

Int8Capability int8_capability(const GraphView& view, const ir::Node& node);

// Where the per-output-channel scales of a ConvTranspose's weights [C_in, C_out / group, k...]
// lie: axis 1 with one group, axis 0 when every group has one input and one output channel
// (depthwise); -1 otherwise, where they are not one axis of the weights and no Q/DQ model can
// express them, so such a layer does not run INT8 (the engine and its export stay in step).
int64_t conv_transpose_weight_axis(const Shape& weight_shape, int64_t group);

// The axis of a block head's weights (input 1) that carries one INT8 scale per output channel:
// Conv 0; ConvTranspose as above; Gemm 0 with transB, else 1; MatMul the last. -1 for other
// ops, for a grouped ConvTranspose that no axis fits, and on a bad attribute.
int64_t weight_channel_axis(const ir::Node& node, const Shape& weight_shape);

// The INT8-capable ops that are no block head (Conv, ConvTranspose, Gemm, MatMul): ops that only
// move, select or combine values element by element, which INT8 reads through the tensors' scales.
bool is_simple_int8_op(const std::string& op_type);

}  // namespace qs::passes
