#include "passes/qdq_plan.h"

#include "kernels/reference/int8.h"
#include "ops/op.h"
#include "passes/int8_capability.h"

namespace qs::passes {

namespace {

const Tensor* find_constant(const GraphView& view, const Lowered& lowered, const std::string& name) {
  if (auto it = lowered.graph->initializers.find(name); it != lowered.graph->initializers.end()) return &it->second;
  return view.constant(name);
}

Expected<onnx_io::QdqWeight> weight_of(const GraphView& view, const Lowered& lowered, const ir::Node& block,
                                       const FusionGroup& g) {
  const ir::Node& head = *g.head();
  onnx_io::QdqWeight w;
  w.consumer = head.name;
  w.input = 1;
  const Tensor* t = find_constant(view, lowered, block.input(1));
  if (!t || t->dtype() != DType::kFloat32) return Unsupported("{}INT8 weights must be constant float32", head.where());
  w.axis = weight_channel_axis(head, t->shape());
  if (w.axis < 0 && head.op_type != "ConvTranspose")
    return InvalidInput("{}its weights have no per-output-channel axis", head.where());
  if (w.axis < 0)
    return Unsupported("{}grouped ConvTranspose: its per-channel weight scales are not one axis of the weights, "
                       "which a Q/DQ model cannot express; run it in fp32 or fp16",
                       head.where());
  if (w.axis >= t->rank()) return InvalidInput("{}weights of rank {} have no axis {}", head.where(), t->rank(), w.axis);
  w.values = Tensor(DType::kInt8, t->shape());
  w.scales.resize(static_cast<size_t>(t->dim(w.axis)));
  kernels::ref::quantize_weights_s8(t->data<float>(), t->shape(), w.axis, w.values.data<int8_t>(), w.scales.data());
  for (float& s : w.scales)
    if (!(s > 0.f)) s = 1.f;  // an all-zero channel: its values are 0 whatever the scale
  if (g.batch_norm) {
    w.folded_node = g.batch_norm->name;
    const Tensor* b = find_constant(view, lowered, block.input(2));
    if (!b) return InvalidInput("{}folded bias '{}' is missing", head.where(), block.input(2));
    w.bias = b->Clone();
  }
  return w;
}

}  // namespace

Expected<onnx_io::QdqPlan> make_qdq_plan(const GraphView& view, const Lowered& lowered) {
  onnx_io::QdqPlan plan;
  std::map<std::string, const FusionGroup*> group_at;
  for (const FusionGroup& g : lowered.groups) group_at[g.head()->name] = &g;
  for (const ir::Node& node : lowered.graph->nodes) {
    auto ex = lowered.exec.find(node.name);
    if (ex == lowered.exec.end() || ex->second.precision != Precision::kInt8) continue;
    const std::vector<float>& scales = ex->second.input_scales;
    auto scale = [&](size_t i) { return i < scales.size() ? scales[i] : 0.f; };
    if (node.domain == ops::kInternalDomain) {
      auto it = group_at.find(node.name);
      if (it == group_at.end()) return InvalidInput("{}INT8 block without its fusion group", node.where());
      const FusionGroup& g = *it->second;
      const ir::Node& head = *g.head();
      plan.activations.push_back({head.input(0), head.name, 0, scale(0)});
      if (g.residual_add) {
        const ir::Node& add = *g.residual_add;
        const int at = add.input(0) == g.residual ? 0 : 1;
        plan.activations.push_back({g.residual, add.name, at, scale(3)});
      }
      QS_ASSIGN_OR_RETURN(onnx_io::QdqWeight w, weight_of(view, lowered, node, g));
      plan.weights.push_back(std::move(w));
      continue;
    }
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (scale(i) > 0.f) plan.activations.push_back({node.inputs[i], node.name, static_cast<int>(i), scale(i)});
  }
  return plan;
}

}  // namespace qs::passes
