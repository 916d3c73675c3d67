// Loading a model for qscope's commands: ONNX import plus the check that every op is supported.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"
#include "passes/precision_plan.h"

namespace qs::app {

// Errors read "cannot load 'PATH': ..." and name the node where there is one.
Expected<std::shared_ptr<const ir::Graph>> load_model(const std::string& path);

// A model that may hold QuantizeLinear / DequantizeLinear nodes. `graph` is the model as
// written (Q/DQ nodes run in float, as ONNX defines them); for a Q/DQ model, `float_graph`,
// `plan` and `scales` are what passes/qdq_import.h derives: the float model, the layers the
// Q/DQ nodes make INT8 and the model's own INT8 scales.
struct LoadedModel {
  std::shared_ptr<const ir::Graph> graph;
  bool has_qdq = false;
  std::shared_ptr<const ir::Graph> float_graph;  // == graph when !has_qdq
  passes::PrecisionPlan plan;
  std::map<std::string, float> scales;
  std::vector<std::string> warnings;
  std::string summary;  // one line: pairs absorbed, nodes kept, INT8 layers
};
Expected<LoadedModel> load_model_qdq(const std::string& path);

}  // namespace qs::app
