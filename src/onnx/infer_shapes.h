// libonnx's shape inference, guarded; shared by the importer and the Q/DQ export.
#pragma once
#include <onnx/onnx_pb.h>

namespace qs::onnx_io {

// Runs libonnx's shape inference on `model`, which fills its value_info. Returns false, and
// leaves value_info as it was, where inference would crash (a window attribute <= 0) or throws.
bool try_infer_shapes(onnx::ModelProto& model);

}  // namespace qs::onnx_io
