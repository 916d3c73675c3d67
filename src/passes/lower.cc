#include "passes/lower.h"

#include <cmath>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "passes/int8_capability.h"

namespace qs::passes {

namespace {

bool is_pooling(const std::string& op) {
  return op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" || op == "GlobalMaxPool";
}

// Scale lookup with INT8.md item 8: an INT8 pooling layer's output keeps its input's scale.
struct ScaleResolver {
  const std::map<std::string, float>& scales;
  std::unordered_map<std::string, const ir::Node*> producer;
  const LayerPrecisions& actual;

  float of(const std::string& tensor, int depth = 0) const {
    auto p = producer.find(tensor);
    if (depth < 64 && p != producer.end() && is_pooling(p->second->op_type) &&
        actual.at(p->second->name) == Precision::kInt8)
      return of(p->second->input(0), depth + 1);
    auto it = scales.find(tensor);
    return it == scales.end() ? 0.f : it->second;
  }
};

// Inputs a layer reads in INT8 and the tensor whose scale each uses; Concat's inputs share
// the output's range (item 8).
std::vector<std::pair<size_t, std::string>> int8_reads(const GraphView& view, const ir::Node& n) {
  std::vector<std::pair<size_t, std::string>> reads;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const std::string& in = n.inputs[i];
    if (in.empty() || view.is_constant(in) || view.dtype(in) != DType::kFloat32) continue;
    reads.emplace_back(i, n.op_type == "Concat" ? n.outputs[0] : in);
  }
  return reads;
}

std::vector<std::pair<size_t, std::string>> group_reads(const FusionGroup& g) {
  std::vector<std::pair<size_t, std::string>> reads{{0, g.head()->input(0)}};
  if (g.residual_add) reads.emplace_back(3, g.residual);
  return reads;
}

bool emitted_as_block(const FusionGroup& g, Precision p, bool fuse_fp32) {
  if (p == Precision::kFp32) {
    const std::string& head = g.head()->op_type;
    return fuse_fp32 && (head == "Conv" || head == "ConvTranspose" || g.members.size() > 1);
  }
  return p == Precision::kInt8 || (p == Precision::kFp16 && g.members.size() > 1);
}

// W' = W * a[c], B' = (B - mean) * a + beta with a = gamma / sqrt(var + eps), c the output
// channel (axis 0 for Conv, axis 1 for ConvTranspose with group 1).
void fold_batch_norm(const GraphView& view, const FusionGroup& g, Tensor* w_out, Tensor* b_out) {
  const ir::Node& head = *g.head();
  const ir::Node& bn = *g.batch_norm;
  const Tensor& w = *view.constant(head.input(1));
  const Tensor* b = head.input(2).empty() ? nullptr : view.constant(head.input(2));
  const float* gamma = view.constant(bn.input(1))->data<float>();
  const float* beta = view.constant(bn.input(2))->data<float>();
  const float* mean = view.constant(bn.input(3))->data<float>();
  const float* var = view.constant(bn.input(4))->data<float>();
  const float eps = bn.attr_float("epsilon", 1e-5f).ok() ? *bn.attr_float("epsilon", 1e-5f) : 1e-5f;
  const bool transpose = head.op_type == "ConvTranspose";
  const int64_t channels = transpose ? w.dim(1) : w.dim(0);
  const int64_t outer = transpose ? w.dim(0) : 1;
  const int64_t inner = w.numel() / (channels * outer);
  *w_out = w.Clone();
  *b_out = Tensor(DType::kFloat32, {channels});
  float* wd = w_out->data<float>();
  for (int64_t c = 0; c < channels; ++c) {
    const float a = gamma[c] / std::sqrt(var[c] + eps);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) wd[(o * channels + c) * inner + i] *= a;
    const float bias = b ? b->data<float>()[c] : 0.f;
    b_out->data<float>()[c] = (bias - mean[c]) * a + beta[c];
  }
}

void set_float(ir::Node& n, const std::string& name, float v) { n.attrs[name] = ir::Attribute::Float(v); }

ir::Node make_block(const GraphView& view, const FusionGroup& g, ir::Graph& out, FoldCache* folds) {
  const ir::Node& head = *g.head();
  ir::Node n;
  n.name = head.name;
  n.domain = std::string(ops::kInternalDomain);
  n.index = head.index;
  n.attrs = head.attrs;
  n.outputs = {g.output()};
  const bool conv = head.op_type == "Conv" || head.op_type == "ConvTranspose";
  if (conv) {
    n.op_type = "FusedConv";
    n.attrs["transpose"] = ir::Attribute::Int(head.op_type == "ConvTranspose" ? 1 : 0);
    std::string w = head.input(1), b = head.input(2);
    if (g.batch_norm) {
      Tensor wf, bf;
      if (!folds || !folds->Find(head.name, &wf, &bf)) {
        fold_batch_norm(view, g, &wf, &bf);
        if (folds) folds->Put(head.name, wf, bf);
      }
      w = head.name + "::folded_W";
      b = head.name + "::folded_B";
      out.initializers[w] = wf;
      out.initializers[b] = bf;
    }
    n.inputs = {head.input(0), w, b, g.residual};
  } else {
    n.op_type = "FusedGemm";
    n.attrs["head"] = ir::Attribute::String(head.op_type);
    n.inputs = {head.input(0), head.input(1), head.op_type == "Gemm" ? head.input(2) : g.bias};
  }
  n.attrs["activation"] = ir::Attribute::String(g.activation);
  set_float(n, "act_alpha", g.act_alpha);
  set_float(n, "act_beta", g.act_beta);
  return n;
}

}  // namespace

bool FoldCache::Find(const std::string& head, Tensor* w, Tensor* b) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = folded_.find(head);
  if (it == folded_.end()) return false;
  *w = it->second.first;
  *b = it->second.second;
  return true;
}

void FoldCache::Put(const std::string& head, const Tensor& w, const Tensor& b) {
  std::lock_guard<std::mutex> lock(mu_);
  folded_.emplace(head, std::make_pair(w, b));
}

Expected<Lowered> lower_precision(const GraphView& view, const PrecisionPlan& plan,
                                  const std::map<std::string, float>& scales, const LowerOptions& options) {
  Lowered r;
  std::unordered_set<std::string> layer_names;
  for (const ir::Node* n : view.layers) layer_names.insert(n->name);
  for (const auto& [name, p] : plan.layers)
    if (!layer_names.count(name)) {
      if (view.graph->find_node(name))
        return InvalidInput("layer '{}' computes only from constants, so it has no precision to set", name);
      return InvalidInput("layer '{}' is not in the model", name);
    }

  LayerPrecisions actual;
  std::unordered_map<std::string, std::string> reason;
  // Sigmoids asked for INT8: they have no INT8 kernel of their own, so alone they run FP32,
  // but as the Sigmoid of a SiLU (Sigmoid·x) they join an INT8 block's float epilogue
  // (item 9; item 10 compares the plan's precisions, which agree).
  std::unordered_set<std::string> silu_candidates;
  for (const ir::Node* n : view.layers) {
    Precision p = plan.of(n->name);
    if (p == Precision::kInt8) {
      const Int8Capability cap = int8_capability(view, *n);
      if (!cap.capable) {
        p = Precision::kFp32;
        reason[n->name] = cap.reason;
        if (n->op_type == "Sigmoid") silu_candidates.insert(n->name);
      }
    }
    actual[n->name] = p;
  }

  ScaleResolver resolver{scales, {}, actual};
  for (const ir::Node* n : view.layers)
    for (const auto& o : n->outputs) resolver.producer[o] = n;

  // Demote INT8 units that lack a range until none does; demotion can change grouping, so
  // groups are formed again after each round (it converges: precisions only go down).
  std::vector<FusionGroup> groups;
  for (int round = 0; round < 8; ++round) {
    LayerPrecisions as_member = actual;
    for (const std::string& name : silu_candidates) as_member[name] = Precision::kInt8;
    groups = form_fusion_groups(view, as_member);
    if (!options.require_ranges) break;
    bool changed = false;
    std::set<const ir::Node*> grouped;
    auto demote = [&](const std::vector<const ir::Node*>& members, const std::string& tensor) {
      for (const ir::Node* m : members) {
        actual[m->name] = Precision::kFp32;
        reason[m->name] = "no INT8 range for tensor '" + tensor + "'";
        silu_candidates.erase(m->name);
      }
      changed = true;
    };
    for (const FusionGroup& g : groups) {
      for (const ir::Node* m : g.members) grouped.insert(m);
      if (actual[g.head()->name] != Precision::kInt8) continue;
      for (const auto& [i, tensor] : group_reads(g))
        if (!(resolver.of(tensor) > 0.f)) {
          demote(g.members, tensor);
          break;
        }
    }
    for (const ir::Node* n : view.layers) {
      if (grouped.count(n) || actual[n->name] != Precision::kInt8) continue;
      for (const auto& [i, tensor] : int8_reads(view, *n))
        if (!(resolver.of(tensor) > 0.f)) {
          demote({n}, tensor);
          break;
        }
    }
    if (!changed) break;
  }
  // The Sigmoid of an INT8 block's SiLU runs INT8 with it.
  for (const FusionGroup& g : groups)
    if (actual[g.head()->name] == Precision::kInt8)
      for (const ir::Node* m : g.members)
        if (silu_candidates.count(m->name)) {
          actual[m->name] = Precision::kInt8;
          reason.erase(m->name);
        }

  // The lowered graph: blocks replace their members; everything else is copied.
  // The model's value infos are left out: the runtime plans every value itself, and blocks
  // remove some of the values.
  r.graph = std::make_shared<ir::Graph>();
  r.graph->name = view.graph->name;
  r.graph->opset = view.graph->opset;
  r.graph->inputs = view.graph->inputs;
  r.graph->outputs = view.graph->outputs;
  r.graph->nodes.reserve(view.graph->nodes.size());
  std::unordered_map<const ir::Node*, int> group_of;
  for (size_t gi = 0; gi < groups.size(); ++gi)
    for (const ir::Node* m : groups[gi].members) group_of[m] = static_cast<int>(gi);
  std::map<int, int> kept_group;  // index in `groups` -> index in r.groups
  for (const ir::Node& node : view.graph->nodes) {
    const bool is_layer = layer_names.count(node.name) != 0;
    auto gi = group_of.find(&node);
    if (is_layer && gi != group_of.end()) {
      const FusionGroup& g = groups[static_cast<size_t>(gi->second)];
      const Precision p = actual[g.head()->name];
      if (emitted_as_block(g, p, options.fuse_fp32)) {
        // The block goes where its last member was: every member reads the one before it,
        // so that is after all the block reads (a residual may be produced after the head)
        // and before all that reads the block; the graph stays in topological order.
        if (g.members.back() != &node) continue;
        if (p != Precision::kFp32) {
          kept_group[gi->second] = static_cast<int>(r.groups.size());
          r.groups.push_back(g);
        }
        ir::Node block = make_block(view, g, *r.graph, options.folds);
        NodeExec ex{p, std::vector<float>(block.inputs.size(), 0.f)};
        if (p == Precision::kInt8)
          for (const auto& [i, tensor] : group_reads(g)) ex.input_scales[i] = resolver.of(tensor);
        r.exec[block.name] = ex;
        r.graph->nodes.push_back(std::move(block));
        continue;
      }
    }
    r.graph->nodes.push_back(node);
    if (!is_layer) continue;
    const Precision p = actual[node.name];
    NodeExec ex{p, std::vector<float>(node.inputs.size(), 0.f)};
    if (p == Precision::kInt8)
      for (const auto& [i, tensor] : int8_reads(view, node)) ex.input_scales[i] = resolver.of(tensor);
    r.exec[node.name] = ex;
  }
  // Only the initializers the lowered graph reads, besides the folded weights the blocks
  // added: folded BatchNormalization parameters and the weights they replaced are left out, so
  // the plan does not copy them (a step of a sweep plans this graph afresh).
  const auto& model_initializers = view.graph->initializers;
  auto keep_initializer = [&](const std::string& v) {
    if (v.empty() || r.graph->initializers.count(v)) return;
    if (auto it = model_initializers.find(v); it != model_initializers.end()) r.graph->initializers.emplace(*it);
  };
  for (const ir::Node& n : r.graph->nodes)
    for (const std::string& in : n.inputs) keep_initializer(in);
  for (const auto& o : r.graph->outputs) keep_initializer(o.name);
  for (const ir::Node* n : view.layers) {
    LayerPrecision lp{n->name, n->op_type, plan.of(n->name), actual[n->name], "", -1};
    if (auto it = reason.find(n->name); it != reason.end() && lp.actual != lp.requested) lp.reason = it->second;
    if (auto gi = group_of.find(n); gi != group_of.end())
      if (auto k = kept_group.find(gi->second); k != kept_group.end()) lp.group = k->second;
    r.layers.push_back(std::move(lp));
  }
  return r;
}

}  // namespace qs::passes
