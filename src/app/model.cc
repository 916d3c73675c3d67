#include "app/model.h"

#include "onnx/import.h"
#include "runtime/plan.h"

namespace qs::app {

Expected<std::shared_ptr<const ir::Graph>> load_model(const std::string& path) {
  QS_ASSIGN_OR_RETURN(ir::Graph g, onnx_io::load_model(path));
  Status st = runtime::check_supported_ops(g);
  if (!st.ok()) return st.WithPrefix("cannot load '" + path + "': ");
  return std::shared_ptr<const ir::Graph>(std::make_shared<ir::Graph>(std::move(g)));
}

}  // namespace qs::app
