#include "passes/int8_handoff.h"

#include <set>
#include <vector>

#include "ops/op.h"

namespace qs::passes {

namespace {

// An INT8 2-D/any-rank FusedConv (not transposed) and its input scales, or nullptr.
const NodeExec* int8_conv(const ir::Node& n, const std::map<std::string, NodeExec>& exec) {
  if (n.domain != ops::kInternalDomain || n.op_type != "FusedConv") return nullptr;
  auto t = n.attr_int("transpose", 0);
  if (!t.ok() || *t != 0) return nullptr;
  auto it = exec.find(n.name);
  if (it == exec.end() || it->second.precision != Precision::kInt8) return nullptr;
  return &it->second;
}

}  // namespace

void hand_off_int8(ir::Graph& g, const std::map<std::string, NodeExec>& exec) {
  std::map<std::string, std::vector<std::pair<size_t, size_t>>> readers;  // value -> (node, input)
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (size_t k = 0; k < g.nodes[i].inputs.size(); ++k)
      if (!g.nodes[i].inputs[k].empty()) readers[g.nodes[i].inputs[k]].emplace_back(i, k);
  std::set<std::string> graph_outputs;
  for (const auto& o : g.outputs) graph_outputs.insert(o.name);

  for (ir::Node& producer : g.nodes) {
    if (!int8_conv(producer, exec) || producer.outputs.empty()) continue;
    const std::string v = producer.outputs[0];
    if (v.empty() || graph_outputs.count(v)) continue;
    auto r = readers.find(v);
    if (r == readers.end() || r->second.empty()) continue;
    // Every reader an INT8 block reading it as X (input 0) or as its residual R (input 3),
    // all with one scale.
    float scale = 0.f;
    bool ok = true;
    for (const auto& [node, input] : r->second) {
      const NodeExec* e = int8_conv(g.nodes[node], exec);
      const bool as_x_or_r = input == 0 || input == 3;
      const float s = e && as_x_or_r && e->input_scales.size() > input ? e->input_scales[input] : 0.f;
      ok = ok && s > 0.f && (scale == 0.f || s == scale);
      scale = s;
    }
    if (!ok) continue;
    const std::string q = v + "::s8";
    producer.outputs[0] = q;
    producer.attrs["y_int8_scale"] = ir::Attribute::Float(scale);
    for (const auto& [node, input] : r->second) {
      g.nodes[node].inputs[input] = q;
      g.nodes[node].attrs[input == 0 ? "x_int8" : "r_int8"] = ir::Attribute::Int(1);
    }
  }
}

}  // namespace qs::passes
