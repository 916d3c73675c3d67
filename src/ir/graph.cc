#include "ir/graph.h"

#include <queue>
#include <set>
#include <unordered_map>

namespace qs::ir {

namespace {
const Attribute* find_attr(const Node& n, const std::string& name) {
  auto it = n.attrs.find(name);
  return it == n.attrs.end() ? nullptr : &it->second;
}
const char* kind_name(Attribute::Kind k) {
  switch (k) {
    case Attribute::Kind::kFloat: return "float";
    case Attribute::Kind::kInt: return "int";
    case Attribute::Kind::kString: return "string";
    case Attribute::Kind::kTensor: return "tensor";
    case Attribute::Kind::kFloats: return "floats";
    case Attribute::Kind::kInts: return "ints";
    case Attribute::Kind::kStrings: return "strings";
    case Attribute::Kind::kGraph: return "graph";
    case Attribute::Kind::kOther: return "other";
  }
  return "other";
}
}  // namespace

std::string Node::where() const { return "node '" + name + "' (" + op_type + "): "; }

size_t Node::num_inputs() const {
  size_t n = inputs.size();
  while (n > 0 && inputs[n - 1].empty()) --n;
  return n;
}

const std::string& Node::input(size_t i) const {
  static const std::string kEmpty;
  return i < inputs.size() ? inputs[i] : kEmpty;
}

#define QS_ATTR_GETTER(Type, Method, KindValue, field)                                                     \
  Expected<Type> Node::Method(const std::string& n, std::optional<Type> dflt) const {                      \
    const Attribute* a = find_attr(*this, n);                                                              \
    if (!a) {                                                                                              \
      if (dflt) return *dflt;                                                                              \
      return InvalidInput("{}required attribute '{}' is missing", where(), n);                             \
    }                                                                                                      \
    if (a->kind != Attribute::Kind::KindValue)                                                             \
      return InvalidInput("{}attribute '{}' is {}, expected {}", where(), n, kind_name(a->kind),           \
                          kind_name(Attribute::Kind::KindValue));                                          \
    return a->field;                                                                                       \
  }
QS_ATTR_GETTER(int64_t, attr_int, kInt, i)
QS_ATTR_GETTER(float, attr_float, kFloat, f)
QS_ATTR_GETTER(std::string, attr_string, kString, s)
QS_ATTR_GETTER(std::vector<int64_t>, attr_ints, kInts, ints)
QS_ATTR_GETTER(std::vector<float>, attr_floats, kFloats, floats)
QS_ATTR_GETTER(std::vector<std::string>, attr_strings, kStrings, strings)
#undef QS_ATTR_GETTER

Expected<Tensor> Node::attr_tensor(const std::string& n) const {
  const Attribute* a = find_attr(*this, n);
  if (!a) return InvalidInput("{}required attribute '{}' is missing", where(), n);
  if (a->kind != Attribute::Kind::kTensor)
    return InvalidInput("{}attribute '{}' is {}, expected tensor", where(), n, kind_name(a->kind));
  return a->t;
}

const Node* Graph::find_node(const std::string& name) const {
  for (const auto& n : nodes)
    if (n.name == name) return &n;
  return nullptr;
}

bool ValueInfo::fits(const Shape& s) const {
  if (s.size() != dims.size()) return false;
  for (size_t d = 0; d < dims.size(); ++d)
    if (dims[d] >= 0 && dims[d] != s[d]) return false;
  return true;
}

std::string ValueInfo::dims_str() const {
  std::string out = "[";
  for (size_t d = 0; d < dims.size(); ++d) {
    if (d) out += ",";
    out += dims[d] >= 0 ? std::to_string(dims[d]) : (d < dim_params.size() && !dim_params[d].empty() ? dim_params[d] : "?");
  }
  return out + "]";
}

const ValueInfo* Graph::find_input(const std::string& name) const {
  for (const auto& v : inputs)
    if (v.name == name) return &v;
  return nullptr;
}

void assign_node_names(Graph& g) {
  std::set<std::string> used;
  for (const auto& n : g.nodes)
    if (!n.name.empty()) used.insert(n.name);
  std::set<std::string> taken;
  for (auto& n : g.nodes) {
    std::string base = n.name.empty() ? n.op_type + "_" + std::to_string(n.index) : n.name;
    std::string name = base;
    for (int k = 1; taken.count(name) || (n.name.empty() && used.count(name)); ++k)
      name = base + "_" + std::to_string(k);
    taken.insert(name);
    n.name = name;
  }
}

Status topological_sort(Graph& g) {
  std::unordered_map<std::string, int> producer;  // value -> node index (-1: graph input / initializer)
  for (const auto& [name, t] : g.initializers) producer[name] = -1;
  for (const auto& v : g.inputs) producer[v.name] = -1;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const auto& o : g.nodes[i].outputs) {
      if (o.empty()) continue;
      auto [it, inserted] = producer.emplace(o, static_cast<int>(i));
      if (!inserted)
        return InvalidInput("{}output '{}' is already produced by {}", g.nodes[i].where(), o,
                            it->second < 0 ? std::string("a graph input or initializer")
                                           : "node '" + g.nodes[it->second].name + "'");
    }
  }
  const size_t n = g.nodes.size();
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> consumers(n);
  for (size_t i = 0; i < n; ++i) {
    std::set<int> deps;
    for (const auto& in : g.nodes[i].inputs) {
      if (in.empty()) continue;
      auto it = producer.find(in);
      if (it == producer.end())
        return InvalidInput("{}input '{}' is not produced by any node, initializer or graph input",
                            g.nodes[i].where(), in);
      if (it->second >= 0) deps.insert(it->second);
    }
    for (int d : deps) {
      if (d == static_cast<int>(i)) return InvalidInput("{}reads its own output: the graph has a cycle", g.nodes[i].where());
      consumers[d].push_back(static_cast<int>(i));
    }
    pending[i] = static_cast<int>(deps.size());
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;  // smallest original index first
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0) ready.push(static_cast<int>(i));
  std::vector<Node> sorted;
  sorted.reserve(n);
  std::vector<bool> done(n, false);
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    done[i] = true;
    sorted.push_back(g.nodes[i]);
    for (int c : consumers[i])
      if (--pending[c] == 0) ready.push(c);
  }
  if (sorted.size() != n) {
    for (size_t i = 0; i < n; ++i)
      if (!done[i]) return InvalidInput("{}is part of a cycle in the graph", g.nodes[i].where());
  }
  for (const auto& o : g.outputs)
    if (!producer.count(o.name)) return InvalidInput("graph output '{}' is not produced by any node", o.name);
  g.nodes = std::move(sorted);
  return Status::Ok();
}

}  // namespace qs::ir
