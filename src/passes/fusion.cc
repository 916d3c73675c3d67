#include "passes/fusion.h"

#include <cmath>
#include <limits>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace qs::passes {

const std::string& FusionGroup::output() const { return members.back()->outputs.front(); }

std::string FusionGroup::describe() const {
  std::string s;
  for (const ir::Node* m : members) {
    if (!s.empty()) s += "+";
    s += m->op_type;
  }
  return s;
}

namespace {

struct Consumers {
  std::unordered_map<std::string, std::vector<const ir::Node*>> of;  // value -> layers reading it
  std::unordered_set<std::string> graph_outputs;
};

Consumers find_consumers(const GraphView& view) {
  Consumers c;
  for (const ir::Node* n : view.layers)
    for (const auto& in : n->inputs)
      if (!in.empty()) {
        auto& v = c.of[in];
        if (v.empty() || v.back() != n) v.push_back(n);
      }
  for (const auto& o : view.graph->outputs) c.graph_outputs.insert(o.name);
  return c;
}

// The one layer that reads `value`, when exactly one does and the value is no graph output.
const ir::Node* sole_consumer(const Consumers& c, const std::string& value) {
  if (c.graph_outputs.count(value)) return nullptr;
  auto it = c.of.find(value);
  return it != c.of.end() && it->second.size() == 1 ? it->second.front() : nullptr;
}

bool all_constant(const GraphView& view, const ir::Node& n, size_t from) {
  for (size_t i = from; i < n.inputs.size(); ++i)
    if (!n.inputs[i].empty() && !view.is_constant(n.inputs[i])) return false;
  return true;
}

float scalar_or(const GraphView& view, const std::string& value, float dflt) {
  const Tensor* t = value.empty() ? nullptr : view.constant(value);
  return t && t->numel() == 1 && t->dtype() == DType::kFloat32 ? t->data<float>()[0] : dflt;
}

// Reads Relu / Clip / LeakyRelu into the group; false when the node is no fusable activation.
bool take_activation(const GraphView& view, const ir::Node& n, FusionGroup& g) {
  if (n.op_type == "Relu") {
    g.activation = "Relu";
    return true;
  }
  if (n.op_type == "LeakyRelu") {
    auto a = n.attr_float("alpha", 0.01f);
    if (!a.ok()) return false;
    g.activation = "LeakyRelu";
    g.act_alpha = *a;
    return true;
  }
  if (n.op_type == "Clip") {
    const float inf = std::numeric_limits<float>::infinity();
    float lo = -inf, hi = inf;
    if (n.has_attr("min") || n.has_attr("max")) {  // before opset 11
      auto mn = n.attr_float("min", -inf);
      auto mx = n.attr_float("max", inf);
      if (!mn.ok() || !mx.ok()) return false;
      lo = *mn;
      hi = *mx;
    } else {
      if (!all_constant(view, n, 1)) return false;
      lo = scalar_or(view, n.input(1), -inf);
      hi = scalar_or(view, n.input(2), inf);
    }
    g.activation = "Clip";
    g.act_alpha = lo;
    g.act_beta = hi;
    return true;
  }
  return false;
}

// x -> Sigmoid -> Mul(x, sigmoid(x)): both read x, the Mul reads the Sigmoid's only output.
bool take_silu(const GraphView& view, const Consumers& c, const std::string& x, FusionGroup& g,
               const LayerPrecisions& prec, Precision p) {
  if (c.graph_outputs.count(x)) return false;
  auto it = c.of.find(x);
  if (it == c.of.end() || it->second.size() != 2) return false;
  const ir::Node* sig = nullptr;
  const ir::Node* mul = nullptr;
  for (const ir::Node* n : it->second) {
    if (n->op_type == "Sigmoid") sig = n;
    else if (n->op_type == "Mul") mul = n;
  }
  if (!sig || !mul || sole_consumer(c, sig->outputs[0]) != mul) return false;
  const bool reads = (mul->input(0) == x && mul->input(1) == sig->outputs[0]) ||
                     (mul->input(1) == x && mul->input(0) == sig->outputs[0]);
  if (!reads || prec.at(sig->name) != p || prec.at(mul->name) != p) return false;
  g.members.push_back(sig);
  g.members.push_back(mul);
  g.activation = "Silu";
  return true;
}

bool only_first_output(const ir::Node& n) {
  for (size_t i = 1; i < n.outputs.size(); ++i)
    if (!n.outputs[i].empty()) return false;
  return true;
}

}  // namespace

bool has_constant_weights(const GraphView& view, const ir::Node& n) {
  if (n.op_type == "Conv" || n.op_type == "ConvTranspose") return all_constant(view, n, 1);
  if (n.op_type == "Gemm") return view.is_constant(n.input(1));
  if (n.op_type == "MatMul") {
    const Tensor* b = view.constant(n.input(1));
    const Shape* a = view.shape(n.input(0));
    return b && b->rank() == 2 && b->dtype() == DType::kFloat32 && a && a->size() >= 2;
  }
  return false;
}

std::vector<FusionGroup> form_fusion_groups(const GraphView& view, const LayerPrecisions& prec) {
  const Consumers c = find_consumers(view);
  std::vector<FusionGroup> groups;
  std::unordered_set<const ir::Node*> taken;
  for (const ir::Node* head : view.layers) {
    if (taken.count(head) || !has_constant_weights(view, *head)) continue;
    const Precision p = prec.at(head->name);
    auto same = [&](const ir::Node* n) { return n && !taken.count(n) && prec.at(n->name) == p; };
    FusionGroup g;
    g.members.push_back(head);
    const bool conv = head->op_type == "Conv" || head->op_type == "ConvTranspose";
    std::string cur = head->outputs[0];
    const ir::Node* next = sole_consumer(c, cur);
    if (conv) {
      const int64_t group = head->attr_int("group", 1).ok() ? *head->attr_int("group", 1) : 1;
      const bool can_fold = head->op_type == "Conv" || group == 1;
      if (same(next) && can_fold && next->op_type == "BatchNormalization" && next->input(0) == cur &&
          next->num_inputs() == 5 && all_constant(view, *next, 1) && only_first_output(*next)) {
        g.batch_norm = next;
        g.members.push_back(next);
        cur = next->outputs[0];
        next = sole_consumer(c, cur);
      }
      if (same(next) && next->op_type == "Add" && next->num_inputs() == 2) {
        const std::string other = next->input(0) == cur ? next->input(1) : next->input(0);
        const Shape* so = view.shape(other);
        const Shape* sc = view.shape(cur);
        if (other != cur && !view.is_constant(other) && so && sc && *so == *sc) {
          g.residual_add = next;
          g.residual = other;
          g.members.push_back(next);
          cur = next->outputs[0];
          next = sole_consumer(c, cur);
        }
      }
    } else if (head->op_type == "MatMul" && same(next) && next->op_type == "Add" && next->num_inputs() == 2) {
      const std::string other = next->input(0) == cur ? next->input(1) : next->input(0);
      const Tensor* b = view.constant(other);
      const Tensor* w = view.constant(head->input(1));
      if (b && w && b->rank() == 1 && b->dim(0) == w->dim(1) && b->dtype() == DType::kFloat32) {
        g.bias_add = next;
        g.bias = other;
        g.members.push_back(next);
        cur = next->outputs[0];
        next = sole_consumer(c, cur);
      }
    }
    if (same(next) && next->input(0) == cur && take_activation(view, *next, g)) g.members.push_back(next);
    else take_silu(view, c, cur, g, prec, p);
    for (const ir::Node* m : g.members) taken.insert(m);
    groups.push_back(std::move(g));
  }
  return groups;
}

}  // namespace qs::passes
