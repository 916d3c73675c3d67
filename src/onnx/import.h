// ONNX protobuf -> ir::Graph. The only module that sees protobuf.
#pragma once
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace qs::onnx_io {

struct LoadOptions {
  bool run_checker = true;          // onnx::checker on models whose opset libonnx knows
  bool run_shape_inference = true;  // fills value_info with ONNX's inferred shapes
  int64_t max_model_bytes = int64_t{4} << 30;
};

// Reads an ONNX model file (external data files resolved next to it). Errors name the file.
Expected<ir::Graph> load_model(const std::string& path, const LoadOptions& options = {});
// Parses model bytes; `name` is used in messages, `base_dir` resolves external data.
Expected<ir::Graph> load_model_bytes(std::string_view bytes, const std::string& name, const std::string& base_dir,
                                     const LoadOptions& options = {});
// Reads a serialized ONNX TensorProto (.pb, as in ONNX's test data).
Expected<Tensor> load_tensor_pb(const std::string& path, std::string* tensor_name = nullptr);
// The newest default-domain opset whose schemas the linked libonnx knows.
int64_t max_known_opset();

}  // namespace qs::onnx_io
