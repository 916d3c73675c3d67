#include "passes/int8_capability.h"

#include <set>

namespace qs::passes {

Int8Capability int8_capability(const ir::Node& node, const std::map<std::string, Tensor>& constants) {
  // Ops with integer kernels, or that only move or select values and so keep the input's scale.
  static const std::set<std::string> kCapable = {
      "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Add", "Mul",
      "BatchNormalization", "Relu", "Clip", "LeakyRelu", "PRelu", "HardSigmoid", "HardSwish", "Concat",
      "Reshape", "Transpose", "Flatten", "Slice", "Squeeze", "Unsqueeze", "Identity", "Split", "Resize",
      "Upsample", "Pad"};
  if (node.op_type == "Gemm" || node.op_type == "MatMul") {
    if (node.inputs.size() >= 2 && constants.count(node.inputs[1])) return {true, ""};
    return {false, node.op_type + " weights are not constant"};
  }
  if (node.op_type == "Conv" || node.op_type == "ConvTranspose") {
    if (node.inputs.size() >= 2 && constants.count(node.inputs[1])) return {true, ""};
    return {false, node.op_type + " weights are not constant"};
  }
  if (kCapable.count(node.op_type)) return {true, ""};
  return {false, node.op_type + " has no INT8 implementation"};
}

}  // namespace qs::passes
