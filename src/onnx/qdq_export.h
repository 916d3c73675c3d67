// Writes a Q/DQ ONNX model (SPEC.md "Exports", INT8.md items 18-20): the original model file,
// re-read so that everything in it stays as it was (names, initializers, value infos, opset
// raised to 13 when lower), with QuantizeLinear/DequantizeLinear nodes where a QdqPlan says.
// The plan is plain data that passes/qdq_plan.h computes from the precision lowering; this
// module only edits protobuf (dependencies: core, ir).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace qs::onnx_io {

// Q -> DQ (symmetric int8, zero point 0, per tensor) in front of input `input` of node
// `consumer`, which reads `tensor`. Readers of one tensor with the same scale share a pair.
struct QdqActivation {
  std::string tensor;
  std::string consumer;
  int input = 0;
  float scale = 0.f;
};

// DQ of an int8 initializer (zero point 0, per channel along `axis`) as input `input` of
// node `consumer`, replacing the float weights it read.
struct QdqWeight {
  std::string consumer;
  int input = 1;
  int64_t axis = 0;
  Tensor values;              // int8, the weight's shape
  std::vector<float> scales;  // values.dim(axis) entries, all > 0
  // A BatchNormalization folded into `values`: the node is removed, its output becomes the
  // consumer's, and `bias` (float) becomes the consumer's input 2.
  std::string folded_node;
  std::optional<Tensor> bias;
};

struct QdqPlan {
  std::vector<QdqActivation> activations;
  std::vector<QdqWeight> weights;
};

struct QdqExportStats {
  int quantize_nodes = 0, dequantize_nodes = 0, weights = 0, folded_nodes = 0;
  int64_t opset_before = 0, opset_after = 0;
};

// Node names are qscope's (unnamed nodes get "<OpType>_<index>", as on import) and are written
// into the model. Returns the serialized model; errors name the file and the node.
Expected<std::string> export_qdq_model(const std::string& model_path, const QdqPlan& plan,
                                       QdqExportStats* stats = nullptr);

}  // namespace qs::onnx_io
