// onnx::TensorProto <-> qs::Tensor, including external data files.
#pragma once
#include <string>

#include "core/status.h"
#include "core/tensor.h"

namespace onnx {
class TensorProto;
}

namespace qs::onnx_io {

// base_dir resolves external data locations, which must stay inside it.
Expected<Tensor> tensor_from_proto(const onnx::TensorProto& tp, const std::string& base_dir);
void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* tp);

}  // namespace qs::onnx_io
