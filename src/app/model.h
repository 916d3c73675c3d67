// Loading a model for qscope's commands: ONNX import plus the check that every op is supported.
#pragma once
#include <memory>
#include <string>

#include "core/status.h"
#include "ir/graph.h"

namespace qs::app {

// Errors read "cannot load 'PATH': ..." and name the node where there is one.
Expected<std::shared_ptr<const ir::Graph>> load_model(const std::string& path);

}  // namespace qs::app
