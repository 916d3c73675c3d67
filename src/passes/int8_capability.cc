#include "passes/int8_capability.h"

#include <set>

#include "passes/fusion.h"

namespace qs::passes {

bool is_simple_int8_op(const std::string& op_type) {
  // Pooling keeps the input's scale (INT8.md item 8).
  static const std::set<std::string> kOps = {
      "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Add", "Mul", "BatchNormalization", "ImageScaler", "Relu",
      "Clip", "LeakyRelu", "PRelu", "HardSigmoid", "HardSwish", "Concat", "Reshape", "Transpose", "Flatten", "Slice",
      "Squeeze", "Unsqueeze", "Identity", "Split", "Resize", "Upsample", "Pad", "DepthToSpace", "SpaceToDepth"};
  return kOps.count(op_type) != 0;
}

int64_t conv_transpose_weight_axis(const Shape& weight_shape, int64_t group) {
  if (group == 1) return 1;
  if (weight_shape.size() >= 2 && weight_shape[0] == group && weight_shape[1] == 1) return 0;
  return -1;
}

int64_t weight_channel_axis(const ir::Node& node, const Shape& weight_shape) {
  if (node.op_type == "Conv") return 0;
  if (node.op_type == "ConvTranspose") {
    const auto group = node.attr_int("group", 1);
    return group.ok() ? conv_transpose_weight_axis(weight_shape, *group) : -1;
  }
  if (node.op_type == "Gemm") {
    const auto trans_b = node.attr_int("transB", 0);
    return trans_b.ok() ? (*trans_b ? 0 : 1) : -1;
  }
  if (node.op_type == "MatMul") return static_cast<int64_t>(weight_shape.size()) - 1;
  return -1;
}

Int8Capability int8_capability(const GraphView& view, const ir::Node& node) {
  if (node.op_type == "Conv" || node.op_type == "ConvTranspose" || node.op_type == "Gemm" ||
      node.op_type == "MatMul") {
    if (node.op_type == "ConvTranspose" && has_constant_weights(view, node)) {
      const auto group = node.attr_int("group", 1);
      if (group.ok() && conv_transpose_weight_axis(view.constant(node.input(1))->shape(), *group) < 0)
        return {false,
                "grouped ConvTranspose: its per-output-channel weight scales are not one axis of its weights, which "
                "no Q/DQ model can express"};
    }
    if (has_constant_weights(view, node)) return {true, ""};
    if (node.op_type == "MatMul") return {false, "MatMul has no constant 2-D weights"};
    return {false, node.op_type + " weights are not constant"};
  }
  if (!is_simple_int8_op(node.op_type)) return {false, node.op_type + " has no INT8 implementation"};
  bool reads_float = false;
  for (const auto& in : node.inputs)
    if (!in.empty() && !view.is_constant(in) && view.dtype(in) == DType::kFloat32) reads_float = true;
  if (!reads_float) return {false, node.op_type + " reads no float activation"};
  return {true, ""};
}

}  // namespace qs::passes
