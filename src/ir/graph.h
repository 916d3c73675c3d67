// qscope's model IR: nodes in topological order over named values, with initializers.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace qs::ir {

struct Attribute {
  enum class Kind { kFloat, kInt, kString, kTensor, kFloats, kInts, kStrings, kGraph, kOther };
  Kind kind = Kind::kOther;
  float f = 0.f;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;

  static Attribute Int(int64_t v) { Attribute a; a.kind = Kind::kInt; a.i = v; return a; }
  static Attribute Float(float v) { Attribute a; a.kind = Kind::kFloat; a.f = v; return a; }
  static Attribute String(std::string v) { Attribute a; a.kind = Kind::kString; a.s = std::move(v); return a; }
  static Attribute Ints(std::vector<int64_t> v) { Attribute a; a.kind = Kind::kInts; a.ints = std::move(v); return a; }
  static Attribute Floats(std::vector<float> v) { Attribute a; a.kind = Kind::kFloats; a.floats = std::move(v); return a; }
};

// Type and shape of a value as the model declares it; -1 marks an unknown dimension.
struct ValueInfo {
  std::string name;
  DType dtype = DType::kUndefined;
  bool has_shape = false;
  Shape dims;
  std::vector<std::string> dim_params;  // symbolic names where dims[i] == -1 (may be empty)

  // Whether a tensor of shape `s` fits: same rank, the fixed dimensions equal.
  bool fits(const Shape& s) const;
  // The declared shape, symbolic dimensions by name ("[N,3,224,224]"; "?" where unnamed).
  std::string dims_str() const;
};

struct Node {
  std::string name;      // unique; "<OpType>_<index>" for nodes the model left unnamed
  std::string op_type;
  std::string domain;    // "" for the default ONNX domain
  std::vector<std::string> inputs;   // "" marks an absent optional input
  std::vector<std::string> outputs;  // "" marks an absent optional output
  std::map<std::string, Attribute> attrs;
  int index = 0;  // position in the model's original node list

  bool has_attr(const std::string& n) const { return attrs.count(n) != 0; }
  // Typed attribute access; the error names the node and attribute.
  Expected<int64_t> attr_int(const std::string& n, std::optional<int64_t> dflt = std::nullopt) const;
  Expected<float> attr_float(const std::string& n, std::optional<float> dflt = std::nullopt) const;
  Expected<std::string> attr_string(const std::string& n, std::optional<std::string> dflt = std::nullopt) const;
  Expected<std::vector<int64_t>> attr_ints(const std::string& n,
                                           std::optional<std::vector<int64_t>> dflt = std::nullopt) const;
  Expected<std::vector<float>> attr_floats(const std::string& n,
                                           std::optional<std::vector<float>> dflt = std::nullopt) const;
  Expected<std::vector<std::string>> attr_strings(const std::string& n,
                                                 std::optional<std::vector<std::string>> dflt = std::nullopt) const;
  Expected<Tensor> attr_tensor(const std::string& n) const;
  // "node 'conv1' (Conv): " prefix for error messages.
  std::string where() const;
  // Number of inputs that are present (non-empty) counting from the front up to the last present one.
  size_t num_inputs() const;
  const std::string& input(size_t i) const;  // "" when absent or out of range
};

struct Graph {
  std::string name;
  int64_t opset = 0;  // default-domain opset of the model
  std::vector<Node> nodes;                     // topological order
  std::map<std::string, Tensor> initializers;  // constant tensors by value name
  std::vector<ValueInfo> inputs;               // graph inputs that are not initializers
  std::vector<ValueInfo> outputs;
  std::map<std::string, ValueInfo> value_info;  // declared or inferred infos of intermediate values

  const Node* find_node(const std::string& name) const;
  const ValueInfo* find_input(const std::string& name) const;
};

// Sorts nodes topologically (stable: keeps the model's order where it is free to) and
// checks that every input is produced once, by a node, an initializer or a graph input.
Status topological_sort(Graph& g);
// Gives unnamed nodes "<OpType>_<index>" and makes duplicate names unique.
void assign_node_names(Graph& g);

}  // namespace qs::ir
