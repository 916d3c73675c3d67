#include "app/model.h"

#include <fmt/format.h>

#include "onnx/import.h"
#include "passes/qdq_import.h"
#include "runtime/plan.h"

namespace qs::app {

Expected<std::shared_ptr<const ir::Graph>> load_model(const std::string& path) {
  QS_ASSIGN_OR_RETURN(ir::Graph g, onnx_io::load_model(path));
  Status st = runtime::check_supported_ops(g);
  if (!st.ok()) return st.WithPrefix("cannot load '" + path + "': ");
  return std::shared_ptr<const ir::Graph>(std::make_shared<ir::Graph>(std::move(g)));
}

Expected<LoadedModel> load_model_qdq(const std::string& path) {
  LoadedModel m;
  QS_ASSIGN_OR_RETURN(m.graph, load_model(path));
  m.float_graph = m.graph;
  if (!passes::has_qdq_nodes(*m.graph)) return m;
  auto imported = passes::import_qdq(*m.graph);
  if (!imported.ok()) return imported.status().WithPrefix("cannot load '" + path + "': Q/DQ: ");
  m.has_qdq = true;
  m.plan = imported->plan;
  m.scales = imported->scales;
  m.warnings = imported->warnings;
  m.summary = fmt::format("Q/DQ model: {} INT8 layers, {} activation scales, {} Q/DQ pairs absorbed, {} Q/DQ nodes "
                          "left as fake quantization, {} constants dequantized",
                          m.plan.layers.size(), m.scales.size(), imported->absorbed_pairs, imported->kept_nodes,
                          imported->folded_constants);
  m.float_graph = std::make_shared<const ir::Graph>(std::move(imported->graph));
  return m;
}

}  // namespace qs::app
