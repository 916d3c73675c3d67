#include "passes/int8_capability.h"

#include <set>

#include "passes/fusion.h"

namespace qs::passes {

Int8Capability int8_capability(const GraphView& view, const ir::Node& node) {
  // Ops that only move, select or combine values element by element: INT8 reads their
  // inputs through the tensors' scales (and pooling keeps the input's scale).
  static const std::set<std::string> kCapable = {
      "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Add", "Mul", "BatchNormalization", "Relu",
      "Clip", "LeakyRelu", "PRelu", "HardSigmoid", "HardSwish", "Concat", "Reshape", "Transpose", "Flatten", "Slice",
      "Squeeze", "Unsqueeze", "Identity", "Split", "Resize", "Upsample", "Pad"};
  if (node.op_type == "Conv" || node.op_type == "ConvTranspose" || node.op_type == "Gemm" ||
      node.op_type == "MatMul") {
    if (has_constant_weights(view, node)) return {true, ""};
    if (node.op_type == "MatMul") return {false, "MatMul has no constant 2-D weights"};
    return {false, node.op_type + " weights are not constant"};
  }
  if (!kCapable.count(node.op_type)) return {false, node.op_type + " has no INT8 implementation"};
  bool reads_float = false;
  for (const auto& in : node.inputs)
    if (!in.empty() && !view.is_constant(in) && view.dtype(in) == DType::kFloat32) reads_float = true;
  if (!reads_float) return {false, node.op_type + " reads no float activation"};
  return {true, ""};
}

}  // namespace qs::passes
