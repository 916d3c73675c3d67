#include "onnx/qdq_export.h"

#include <google/protobuf/io/coded_stream.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/version_converter/convert.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unordered_map>

#include "ir/graph.h"
#include "onnx/import.h"
#include "onnx/infer_shapes.h"
#include "onnx/tensor_proto.h"

namespace qs::onnx_io {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMinOpset = 13;  // per-axis DequantizeLinear

Expected<std::string> read_bytes(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return IoError("cannot open '{}': no such file", path);
  std::ifstream f(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), {});
  if (!f && !f.eof()) return IoError("cannot read '{}'", path);
  return bytes;
}

std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (text.size() > 300) text = text.substr(0, 297) + "...";
  return text;
}

int64_t default_opset(const onnx::ModelProto& m) {
  for (const auto& op : m.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") return op.version();
  return m.opset_import_size() == 0 ? 1 : 0;
}

// Fresh value and node names that collide with nothing in the graph.
class Names {
 public:
  explicit Names(const onnx::GraphProto& g) {
    for (const auto& n : g.node()) {
      used_.insert(n.name());
      for (const auto& s : n.input()) used_.insert(s);
      for (const auto& s : n.output()) used_.insert(s);
    }
    for (const auto& t : g.initializer()) used_.insert(t.name());
    for (const auto& v : g.input()) used_.insert(v.name());
    for (const auto& v : g.output()) used_.insert(v.name());
    for (const auto& v : g.value_info()) used_.insert(v.name());
  }
  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int k = 1; used_.count(name); ++k) name = base + "_" + std::to_string(k);
    used_.insert(name);
    return name;
  }

 private:
  std::set<std::string> used_;
};

// Pad before opset 11 takes its fill value as an optional attribute (default 0), which ONNX's
// converter reads as required.
void set_pad_value_defaults(onnx::GraphProto* g) {
  for (auto& n : *g->mutable_node()) {
    if (n.op_type() != "Pad" || !n.domain().empty()) continue;
    bool has_value = false;
    for (const auto& a : n.attribute()) has_value |= a.name() == "value";
    if (has_value) continue;
    auto* a = n.add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(0.f);
  }
}

// ONNX's version converter replaces some nodes (Upsample-9 becomes Resize, for one) with new,
// unnamed nodes that write new tensor names, and adds unnamed Constant nodes. The plan names
// qscope's layers and tensors, so the replacements take back the names of the nodes they
// replace and write their tensors again; added nodes get fresh names.
void restore_names(const onnx::GraphProto& before, onnx::GraphProto* after) {
  std::map<std::string, int> position;  // converted node name -> index
  for (int i = 0; i < after->node_size(); ++i)
    if (!after->node(i).name().empty()) position[after->node(i).name()] = i;
  std::set<std::string> produced;
  for (const auto& n : after->node())
    for (const auto& o : n.output()) produced.insert(o);
  auto rename_tensor = [&](const std::string& from, const std::string& to) {
    if (from.empty() || to.empty() || from == to || produced.count(to)) return;
    for (auto& n : *after->mutable_node())
      for (auto& in : *n.mutable_input())
        if (in == from) in = to;
    for (auto& v : *after->mutable_output())
      if (v.name() == from) v.set_name(to);
    for (auto& v : *after->mutable_value_info())
      if (v.name() == from) v.set_name(to);
    produced.erase(from);
    produced.insert(to);
  };
  int next = 0;  // converted nodes before this one are matched or added
  for (const auto& orig : before.node()) {
    int at = -1;
    if (auto it = position.find(orig.name()); it != position.end() && it->second >= next) {
      at = it->second;
    } else {
      // The first unnamed node from here that is not an added Constant stands in for it.
      for (int i = next; i < after->node_size() && at < 0; ++i) {
        const auto& n = after->node(i);
        if (!n.name().empty()) break;
        if (n.op_type() != "Constant" || orig.op_type() == "Constant") at = i;
      }
      if (at < 0) continue;
      after->mutable_node(at)->set_name(orig.name());
    }
    onnx::NodeProto* n = after->mutable_node(at);
    if (n->output_size() == orig.output_size())
      for (int j = 0; j < n->output_size(); ++j) {
        const std::string from = n->output(j);
        if (from == orig.output(j) || orig.output(j).empty() || produced.count(orig.output(j))) continue;
        n->set_output(j, orig.output(j));
        rename_tensor(from, orig.output(j));
      }
    next = at + 1;
  }
  Names names(*after);
  for (auto& n : *after->mutable_node())
    if (n.name().empty()) n.set_name(names.fresh(n.op_type() + "_opset" + std::to_string(kMinOpset)));
}

// Stable topological order (Kahn, taking the earliest ready node first).
Status sort_nodes(onnx::GraphProto* g, const std::string& prefix) {
  const int n = g->node_size();
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < n; ++i)
    for (const auto& o : g->node(i).output())
      if (!o.empty()) producer[o] = i;
  std::vector<std::vector<int>> readers(static_cast<size_t>(n));
  std::vector<int> pending(static_cast<size_t>(n), 0);
  for (int i = 0; i < n; ++i) {
    std::set<int> deps;
    for (const auto& in : g->node(i).input())
      if (auto it = producer.find(in); !in.empty() && it != producer.end() && it->second != i) deps.insert(it->second);
    pending[static_cast<size_t>(i)] = static_cast<int>(deps.size());
    for (int d : deps) readers[static_cast<size_t>(d)].push_back(i);
  }
  std::set<int> ready;
  for (int i = 0; i < n; ++i)
    if (!pending[static_cast<size_t>(i)]) ready.insert(i);
  std::vector<int> order;
  while (!ready.empty()) {
    const int i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (int r : readers[static_cast<size_t>(i)])
      if (--pending[static_cast<size_t>(r)] == 0) ready.insert(r);
  }
  if (static_cast<int>(order.size()) != n) return InvalidInput("{}the graph has a cycle", prefix);
  google::protobuf::RepeatedPtrField<onnx::NodeProto> sorted;
  for (int i : order) *sorted.Add() = g->node(i);
  g->mutable_node()->Swap(&sorted);
  return Status::Ok();
}

void add_initializer(onnx::GraphProto* g, const Tensor& t, const std::string& name) {
  tensor_to_proto(t, name, g->add_initializer());
}

// ImageScaler (an experimental op of opsets 1-9 that no later opset has) becomes the
// BatchNormalization it equals (mean 0, var 1, epsilon 0), or a Mul without a bias, keeping its
// name and tensors.
// Before IR version 4 an initializer is also a graph input: the new ones are, for the
// converter, and are returned so that they can be taken out of the inputs after it.
std::set<std::string> replace_image_scalers(onnx::GraphProto* g, int64_t ir_version) {
  Names names(*g);
  std::set<std::string> inputs;
  for (auto& n : *g->mutable_node()) {
    if (n.op_type() != "ImageScaler" || !n.domain().empty() || n.input_size() < 1) continue;
    float scale = 1.f;
    std::vector<float> bias;
    for (const auto& a : n.attribute()) {
      if (a.name() == "scale") scale = a.f();
      if (a.name() == "bias") bias.assign(a.floats().begin(), a.floats().end());
    }
    const int64_t c = static_cast<int64_t>(bias.size());
    const std::string base = n.name().empty() ? std::string("ImageScaler") : n.name();
    auto add_const = [&](const Tensor& t, const char* what) {
      const std::string name = names.fresh(base + "." + what);
      add_initializer(g, t, name);
      if (ir_version < 4) {
        inputs.insert(name);
        auto* in = g->add_input();
        in->set_name(name);
        in->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
        auto* shape = in->mutable_type()->mutable_tensor_type()->mutable_shape();
        for (int64_t d : t.shape()) shape->add_dim()->set_dim_value(d);
      }
      return name;
    };
    auto vec = [&](const char* what, float fill, const std::vector<float>* values) {
      Tensor t(DType::kFloat32, {c});
      for (int64_t i = 0; i < c; ++i) t.data<float>()[i] = values ? (*values)[static_cast<size_t>(i)] : fill;
      return add_const(t, what);
    };
    const std::string x = n.input(0);
    n.clear_input();
    n.add_input(x);
    n.clear_attribute();
    if (c == 0) {  // no bias: y = scale * x, whatever the channel count
      n.add_input(add_const(Tensor::FromVector<float>({}, std::vector<float>{scale}), "scale"));
      n.set_op_type("Mul");
      continue;
    }
    n.add_input(vec("scale", scale, nullptr));
    n.add_input(vec("bias", 0.f, &bias));
    n.add_input(vec("mean", 0.f, nullptr));
    n.add_input(vec("var", 1.f, nullptr));
    auto* eps = n.add_attribute();
    eps->set_name("epsilon");
    eps->set_type(onnx::AttributeProto::FLOAT);
    eps->set_f(0.f);
    n.set_op_type("BatchNormalization");
  }
  return inputs;
}

// Initializers stored in external files are read in, so that the written model stands alone.
Status inline_external_data(onnx::GraphProto* g, const std::string& base_dir, const std::string& prefix) {
  for (auto& tp : *g->mutable_initializer()) {
    if (tp.data_location() != onnx::TensorProto::EXTERNAL) continue;
    auto t = tensor_from_proto(tp, base_dir);
    if (!t.ok()) return t.status().WithPrefix(prefix + "initializer '" + tp.name() + "': ");
    const std::string name = tp.name();
    tensor_to_proto(*t, name, &tp);
  }
  return Status::Ok();
}

}  // namespace

Expected<std::string> export_qdq_model(const std::string& model_path, const QdqPlan& plan, QdqExportStats* stats) {
  const std::string prefix = "cannot export '" + model_path + "': ";
  QS_ASSIGN_OR_RETURN(std::string bytes, read_bytes(model_path));
  onnx::ModelProto model;
  {
    google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                              static_cast<int>(bytes.size()));
    in.SetTotalBytesLimit(INT32_MAX);
    if (bytes.empty() || !model.ParseFromCodedStream(&in) || !model.has_graph())
      return InvalidInput("{}not a valid ONNX model", prefix);
  }
  bytes.clear();
  std::string base = fs::path(model_path).parent_path().string();
  QS_RETURN_IF_ERROR(inline_external_data(model.mutable_graph(), base.empty() ? "." : base, prefix));

  // qscope's node names (ir::assign_node_names on the model's order), written into the model.
  {
    ir::Graph names;
    for (int i = 0; i < model.graph().node_size(); ++i) {
      ir::Node n;
      n.name = model.graph().node(i).name();
      n.op_type = model.graph().node(i).op_type();
      n.index = i;
      names.nodes.push_back(std::move(n));
    }
    ir::assign_node_names(names);
    for (int i = 0; i < model.graph().node_size(); ++i)
      model.mutable_graph()->mutable_node(i)->set_name(names.nodes[static_cast<size_t>(i)].name);
  }

  QdqExportStats st;
  st.opset_before = default_opset(model);
  if (st.opset_before <= 0) return Unsupported("{}model imports no default-domain (ai.onnx) opset", prefix);
  if (st.opset_before < kMinOpset) {
    const onnx::GraphProto before = model.graph();
    // The converter needs what libonnx's shape inference knows (Softmax-11 on a 4-D input, for
    // one; the inferred shapes are dropped after it) and fails on a Pad-2 without its optional
    // 'value' (set to its default).
    const std::set<std::string> added_inputs = replace_image_scalers(model.mutable_graph(), model.ir_version());
    try_infer_shapes(model);
    set_pad_value_defaults(model.mutable_graph());
    try {
      model = onnx::version_conversion::ConvertVersion(model, static_cast<int>(kMinOpset));
    } catch (const std::exception& e) {
      return Unsupported("{}cannot convert opset {} to {}: {}", prefix, st.opset_before, kMinOpset, one_line(e.what()));
    }
    if (model.ir_version() < 7) model.set_ir_version(7);
    restore_names(before, model.mutable_graph());
    *model.mutable_graph()->mutable_value_info() = before.value_info();
    auto* inputs = model.mutable_graph()->mutable_input();
    inputs->erase(std::remove_if(inputs->begin(), inputs->end(),
                                 [&](const onnx::ValueInfoProto& v) { return added_inputs.count(v.name()) != 0; }),
                  inputs->end());
  }
  st.opset_after = default_opset(model);

  onnx::GraphProto* g = model.mutable_graph();
  Names names(*g);
  std::map<std::string, int> node_of;
  for (int i = 0; i < g->node_size(); ++i) node_of[g->node(i).name()] = i;
  auto find = [&](const std::string& name, const char* role) -> Expected<onnx::NodeProto*> {
    auto it = node_of.find(name);
    if (it == node_of.end()) return InvalidInput("{}node '{}' ({}) is not in the model", prefix, name, role);
    return g->mutable_node(it->second);
  };
  std::set<std::string> removed_nodes;
  std::vector<onnx::NodeProto> added;
  std::set<std::string> replaced_inits;

  for (const QdqWeight& w : plan.weights) {
    QS_ASSIGN_OR_RETURN(onnx::NodeProto * node, find(w.consumer, "weight reader"));
    const std::string where = "node '" + w.consumer + "' (" + node->op_type() + "): ";
    if (w.input < 0 || w.input >= node->input_size() || node->input(w.input).empty())
      return InvalidInput("{}{}has no input {}", prefix, where, w.input);
    if (w.values.dtype() != DType::kInt8 || w.axis < 0 || w.axis >= w.values.rank() ||
        static_cast<int64_t>(w.scales.size()) != w.values.dim(w.axis))
      return InvalidInput("{}{}weight values and scales do not match", prefix, where);
    for (float s : w.scales)
      if (!(s > 0.f)) return InvalidInput("{}{}weight scales must be positive", prefix, where);
    if (!w.folded_node.empty()) {
      QS_ASSIGN_OR_RETURN(onnx::NodeProto * bn, find(w.folded_node, "folded node"));
      if (bn->input_size() < 1 || node->output_size() < 1 || bn->input(0) != node->output(0) || bn->output_size() < 1)
        return InvalidInput("{}{}node '{}' does not read its output", prefix, where, w.folded_node);
      node->set_output(0, bn->output(0));
      removed_nodes.insert(bn->name());
      for (int k = 1; k < bn->input_size(); ++k) replaced_inits.insert(bn->input(k));
      ++st.folded_nodes;
    }
    if (w.bias) {
      const std::string bias = names.fresh(w.consumer + ".bias_folded");
      add_initializer(g, *w.bias, bias);
      if (node->input_size() > 2) replaced_inits.insert(node->input(2));
      while (node->input_size() < 3) node->add_input("");
      node->set_input(2, bias);
    }
    const std::string q = names.fresh(w.consumer + ".weight_quantized");
    const std::string s = names.fresh(w.consumer + ".weight_scale");
    const std::string z = names.fresh(w.consumer + ".weight_zero_point");
    const std::string out = names.fresh(w.consumer + ".weight_dequantized");
    add_initializer(g, w.values, q);
    add_initializer(g, Tensor::FromVector<float>({static_cast<int64_t>(w.scales.size())}, w.scales), s);
    add_initializer(g, Tensor(DType::kInt8, {static_cast<int64_t>(w.scales.size())}), z);
    onnx::NodeProto dq;
    dq.set_name(names.fresh(w.consumer + ".weight_DequantizeLinear"));
    dq.set_op_type("DequantizeLinear");
    dq.add_input(q);
    dq.add_input(s);
    dq.add_input(z);
    dq.add_output(out);
    auto* axis = dq.add_attribute();
    axis->set_name("axis");
    axis->set_type(onnx::AttributeProto::INT);
    axis->set_i(w.axis);
    added.push_back(std::move(dq));
    replaced_inits.insert(node->input(w.input));
    node->set_input(w.input, out);
    ++st.weights;
    ++st.dequantize_nodes;
  }

  // One Q -> DQ pair per (tensor, scale).
  std::map<std::pair<std::string, uint32_t>, std::string> pair_output;
  for (const QdqActivation& a : plan.activations) {
    QS_ASSIGN_OR_RETURN(onnx::NodeProto * node, find(a.consumer, "INT8 reader"));
    const std::string where = "node '" + a.consumer + "' (" + node->op_type() + "): ";
    if (a.input < 0 || a.input >= node->input_size() || node->input(a.input) != a.tensor)
      return InvalidInput("{}{}input {} is not '{}'", prefix, where, a.input, a.tensor);
    if (!(a.scale > 0.f) || !std::isfinite(a.scale))
      return InvalidInput("{}{}scale of '{}' must be positive", prefix, where, a.tensor);
    uint32_t bits;
    std::memcpy(&bits, &a.scale, 4);
    auto [it, fresh] = pair_output.emplace(std::make_pair(a.tensor, bits), "");
    if (fresh) {
      const std::string s = names.fresh(a.tensor + "_scale");
      const std::string z = names.fresh(a.tensor + "_zero_point");
      const std::string qv = names.fresh(a.tensor + "_quantized");
      it->second = names.fresh(a.tensor + "_dequantized");
      add_initializer(g, Tensor::Scalar<float>(a.scale), s);
      add_initializer(g, Tensor::Scalar<int8_t>(0), z);
      onnx::NodeProto q, dq;
      q.set_name(names.fresh(a.tensor + "_QuantizeLinear"));
      q.set_op_type("QuantizeLinear");
      q.add_input(a.tensor);
      q.add_input(s);
      q.add_input(z);
      q.add_output(qv);
      dq.set_name(names.fresh(a.tensor + "_DequantizeLinear"));
      dq.set_op_type("DequantizeLinear");
      dq.add_input(qv);
      dq.add_input(s);
      dq.add_input(z);
      dq.add_output(it->second);
      added.push_back(std::move(q));
      added.push_back(std::move(dq));
      ++st.quantize_nodes;
      ++st.dequantize_nodes;
    }
    node->set_input(a.input, it->second);
  }

  // Assemble: drop folded nodes, add the new ones, sort, drop what nothing reads any more.
  {
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    for (const auto& n : g->node())
      if (!removed_nodes.count(n.name())) *nodes.Add() = n;
    for (auto& n : added) *nodes.Add() = std::move(n);
    g->mutable_node()->Swap(&nodes);
  }
  std::set<std::string> live;
  for (const auto& n : g->node()) {
    for (const auto& s : n.input()) live.insert(s);
    for (const auto& s : n.output()) live.insert(s);
  }
  for (const auto& v : g->output()) live.insert(v.name());
  {
    google::protobuf::RepeatedPtrField<onnx::TensorProto> inits;
    for (auto& t : *g->mutable_initializer())
      if (!replaced_inits.count(t.name()) || live.count(t.name())) *inits.Add() = std::move(t);
    g->mutable_initializer()->Swap(&inits);
    google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> inputs;
    for (auto& v : *g->mutable_input())
      if (!replaced_inits.count(v.name()) || live.count(v.name())) *inputs.Add() = std::move(v);
    g->mutable_input()->Swap(&inputs);
    google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> infos;
    for (auto& v : *g->mutable_value_info())
      if (live.count(v.name())) *infos.Add() = std::move(v);
    g->mutable_value_info()->Swap(&infos);
  }
  QS_RETURN_IF_ERROR(sort_nodes(g, prefix));

  try {
    if (st.opset_after <= max_known_opset()) onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    return InvalidInput("{}the written model fails ONNX's checker: {}", prefix, one_line(e.what()));
  }
  std::string out;
  if (!model.SerializeToString(&out)) return InvalidInput("{}cannot serialize the model (larger than 2 GiB?)", prefix);
  if (stats) *stats = st;
  return out;
}

}  // namespace qs::onnx_io
