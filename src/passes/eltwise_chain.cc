#include "passes/eltwise_chain.h"

#include <unordered_map>
#include <unordered_set>

#include "ops/op.h"

namespace qs::passes {

namespace {

struct ChainPlan {
  std::vector<size_t> members;  // indices into the graph's nodes, in order
  std::string x;                // the chain's variable input
};

}  // namespace

int fuse_elementwise_chains(ir::Graph& g, const GraphView& model, std::map<std::string, NodeExec>& exec) {
  const size_t n = g.nodes.size();
  // Readers of each value (distinct nodes), the first of them, and the graph outputs.
  std::unordered_map<std::string, int> readers;
  std::unordered_map<std::string, size_t> first_reader;
  for (size_t i = 0; i < n; ++i) {
    std::unordered_set<std::string> seen;
    for (const std::string& in : g.nodes[i].inputs)
      if (!in.empty() && seen.insert(in).second) {
        if (readers[in]++ == 0) first_reader[in] = i;
      }
  }
  std::unordered_set<std::string> outputs;
  for (const auto& o : g.outputs) outputs.insert(o.name);

  auto constant = [&](const std::string& v) -> const Tensor* {
    if (const Tensor* c = model.constant(v)) return c;
    auto it = g.initializers.find(v);
    return it == g.initializers.end() ? nullptr : &it->second;
  };
  // A single-output FP32 or INT8 element-wise layer whose output is float32 and not a constant.
  // (An INT8 one reads its variable inputs through quantize-dequantize, which the chain does on
  // each block; FP16 rounds its output too and stays alone.)
  auto candidate = [&](const ir::Node& node) {
    if (!node.domain.empty() || node.outputs.size() != 1 || node.outputs[0].empty()) return false;
    if (!ops::chainable_elementwise(node.op_type)) return false;
    auto ex = exec.find(node.name);
    if (ex == exec.end() || (ex->second.precision != Precision::kFp32 && ex->second.precision != Precision::kInt8))
      return false;
    const std::string& out = node.outputs[0];
    return !model.is_constant(out) && model.dtype(out) == DType::kFloat32;
  };
  // Whether every input of node is empty, a or b, a scalar constant, or another float value of
  // X's shape xs. (A scalar of higher rank than X broadcasts X to more dimensions; the callers'
  // check that the output keeps X's shape leaves such a layer out.)
  auto inputs_fit = [&](const ir::Node& node, const std::string& a, const std::string& b, const Shape& xs) {
    for (const std::string& in : node.inputs) {
      if (in.empty() || in == a || in == b) continue;
      if (const Tensor* c = constant(in)) {
        if (c->numel() != 1) return false;
        continue;
      }
      const Shape* s = model.shape(in);
      if (model.dtype(in) != DType::kFloat32 || !s || *s != xs) return false;
    }
    return true;
  };
  std::vector<ChainPlan> chains;
  std::vector<int> chain_of(n, -1);
  for (size_t i = 0; i < n; ++i) {
    const ir::Node& head = g.nodes[i];
    if (chain_of[i] >= 0 || !candidate(head)) continue;
    std::string x;  // the first variable input
    for (const std::string& in : head.inputs)
      if (!in.empty() && !constant(in)) {
        x = in;
        break;
      }
    if (x.empty() || model.dtype(x) != DType::kFloat32) continue;
    const Shape* xs = model.shape(x);
    const Shape* hs = model.shape(head.outputs[0]);
    if (!xs || !hs || *xs != *hs || !inputs_fit(head, x, x, *xs)) continue;
    ChainPlan c{{i}, x};
    std::string cur = head.outputs[0];
    while (!outputs.count(cur) && readers[cur] == 1) {
      const size_t j = first_reader.at(cur);
      const ir::Node& next = g.nodes[j];
      if (chain_of[j] >= 0 || !candidate(next)) break;
      const Shape* s = model.shape(next.outputs[0]);
      if (!s || *s != *xs || !inputs_fit(next, cur, x, *xs)) break;
      c.members.push_back(j);
      cur = next.outputs[0];
    }
    if (c.members.size() < 2) continue;
    for (size_t m : c.members) chain_of[m] = static_cast<int>(chains.size());
    chains.push_back(std::move(c));
  }
  if (chains.empty()) return 0;

  std::vector<ir::Node> nodes = std::move(g.nodes);
  g.nodes.clear();
  g.nodes.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (chain_of[i] < 0) {
      g.nodes.push_back(std::move(nodes[i]));
      continue;
    }
    const ChainPlan& c = chains[static_cast<size_t>(chain_of[i])];
    // The chain goes where its last member was: after X and before every reader of its output.
    if (c.members.back() != i) continue;
    ir::Node chain;
    chain.op_type = "EltwiseChain";
    chain.domain = std::string(ops::kInternalDomain);
    chain.name = nodes[i].name;
    chain.index = nodes[i].index;
    chain.inputs = {c.x};
    chain.outputs = {nodes[i].outputs[0]};
    ir::Attribute member_ops;
    member_ops.kind = ir::Attribute::Kind::kStrings;
    std::vector<int64_t> arity, args;
    std::vector<float> scales;  // per args entry: the INT8 scale the member reads it with, or 0
    bool int8 = false;
    std::string names;
    std::string prev;
    for (size_t k = 0; k < c.members.size(); ++k) {
      const ir::Node& m = nodes[c.members[k]];
      member_ops.strings.push_back(m.op_type);
      arity.push_back(static_cast<int64_t>(m.inputs.size()));
      const NodeExec& ex = exec.at(m.name);
      for (size_t a = 0; a < m.inputs.size(); ++a) {
        const float scale =
            ex.precision == Precision::kInt8 && a < ex.input_scales.size() ? ex.input_scales[a] : 0.f;
        scales.push_back(scale > 0.f ? scale : 0.f);
        int8 = int8 || scale > 0.f;
      }
      for (const std::string& in : m.inputs) {
        if (in.empty()) {
          args.push_back(-2);
        } else if (k > 0 && in == prev) {
          args.push_back(-1);
        } else if (in == c.x) {
          args.push_back(0);
        } else {
          auto at = std::find(chain.inputs.begin(), chain.inputs.end(), in);
          args.push_back(at - chain.inputs.begin());
          if (at == chain.inputs.end()) chain.inputs.push_back(in);
        }
      }
      for (const auto& [name, attr] : m.attrs) chain.attrs["m" + std::to_string(k) + ":" + name] = attr;
      names += (k ? "," : "") + m.name;
      prev = m.outputs[0];
    }
    chain.attrs["members"] = std::move(member_ops);
    chain.attrs["arity"] = ir::Attribute::Ints(std::move(arity));
    chain.attrs["args"] = ir::Attribute::Ints(std::move(args));
    if (int8) chain.attrs["scales"] = ir::Attribute::Floats(std::move(scales));
    chain.attrs["chain"] = ir::Attribute::String(names);
    exec[chain.name] = NodeExec{Precision::kFp32, std::vector<float>(chain.inputs.size(), 0.f)};
    g.nodes.push_back(std::move(chain));
  }
  return static_cast<int>(chains.size());
}

}  // namespace qs::passes
