// The export forms of a precision plan (SPEC.md "Exports"): the Q/DQ ONNX model, trtexec's
// flags, the nodes_to_exclude list. The plan is lowered on the FP32 plan of the model bound to
// `shapes` (passes/lower.h), so each form describes what qscope's engine runs.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"
#include "onnx/qdq_export.h"
#include "passes/lower.h"
#include "runtime/plan.h"

namespace qs::app {

struct PlanExport {
  std::vector<passes::LayerPrecision> layers;  // each layer's actual precision
  onnx_io::QdqPlan qdq;
};

// The declared input shapes, unknown dimensions set to 1 (errors name the model and input).
Expected<std::map<std::string, Shape>> declared_shapes(const ir::Graph& g, const std::string& model_path);

Expected<PlanExport> plan_export(std::shared_ptr<const ir::Graph> graph, const std::map<std::string, Shape>& shapes,
                                 const runtime::PrecisionConfig& config);

// The Q/DQ model bytes of model_path (the file `graph` was loaded from).
Expected<std::string> qdq_model_bytes(const std::string& model_path, const PlanExport& e,
                                      onnx_io::QdqExportStats* stats = nullptr);

// "trtexec --onnx=MODEL --int8 [--fp16] [--calib=CACHE] --precisionConstraints=obey
// --layerPrecisions=a:fp32,..." (each layer that does not run INT8), shell-quoted where needed.
std::string trtexec_command(const std::string& model_path, const std::string& calib_path, const PlanExport& e);
// JSON list of the layers that do not run INT8 (nodes_to_exclude), in layer order.
std::string exclude_list_json(const PlanExport& e);

}  // namespace qs::app

namespace qs::app {

// plan_export on the shapes of `inputs`, then the Q/DQ model of model_path written atomically.
Status write_qdq_model(const std::string& model_path, std::shared_ptr<const ir::Graph> graph,
                       const std::map<std::string, Tensor>& inputs, const runtime::PrecisionConfig& config,
                       const std::string& out);

}  // namespace qs::app
