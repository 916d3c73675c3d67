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

// The INT8-capable ops that are no block head (Conv, ConvTranspose, Gemm, MatMul): ops that only
// move, select or combine values element by element, which INT8 reads through the tensors' scales.
bool is_simple_int8_op(const std::string& op_type);

}  // namespace qs::passes
