#include "onnx/import.h"

#include <google/protobuf/io/coded_stream.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <set>

#include "onnx/infer_shapes.h"
#include "onnx/tensor_proto.h"

namespace qs::onnx_io {

namespace fs = std::filesystem;

namespace {

Expected<std::string> read_file(const std::string& path, int64_t max_bytes) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return IoError("cannot open '{}': no such file", path);
  if (fs::is_directory(path, ec)) return IoError("cannot open '{}': it is a directory", path);
  const auto size = fs::file_size(path, ec);
  if (ec) return IoError("cannot read '{}': {}", path, ec.message());
  if (static_cast<int64_t>(size) > max_bytes)
    return InvalidInput("cannot load '{}': file is {} bytes, above the limit of {}", path, size, max_bytes);
  std::ifstream f(path, std::ios::binary);
  if (!f) return IoError("cannot open '{}'", path);
  std::string bytes(size, '\0');
  f.read(bytes.data(), static_cast<std::streamsize>(size));
  if (!f) return IoError("cannot read '{}'", path);
  return bytes;
}

template <typename Msg>
bool parse_message(std::string_view bytes, Msg* msg) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(INT32_MAX);
  in.SetRecursionLimit(64);
  return msg->ParseFromCodedStream(&in) && in.ConsumedEntireMessage();
}

ir::ValueInfo value_info_from_proto(const onnx::ValueInfoProto& vi) {
  ir::ValueInfo v;
  v.name = vi.name();
  if (vi.type().has_tensor_type()) {
    const auto& tt = vi.type().tensor_type();
    v.dtype = dtype_from_onnx(tt.elem_type());
    if (tt.has_shape()) {
      v.has_shape = true;
      for (const auto& d : tt.shape().dim()) {
        v.dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
        v.dim_params.push_back(d.has_dim_param() ? d.dim_param() : "");
      }
    }
  }
  return v;
}

Expected<ir::Attribute> attribute_from_proto(const onnx::AttributeProto& a, const std::string& where,
                                             const std::string& base_dir) {
  ir::Attribute r;
  using A = onnx::AttributeProto;
  switch (a.type()) {
    case A::FLOAT: r.kind = ir::Attribute::Kind::kFloat; r.f = a.f(); break;
    case A::INT: r.kind = ir::Attribute::Kind::kInt; r.i = a.i(); break;
    case A::STRING: r.kind = ir::Attribute::Kind::kString; r.s = a.s(); break;
    case A::TENSOR: {
      r.kind = ir::Attribute::Kind::kTensor;
      auto t = tensor_from_proto(a.t(), base_dir);
      if (!t.ok()) return t.status().WithPrefix(where + "attribute '" + a.name() + "': ");
      r.t = std::move(t).value();
      break;
    }
    case A::FLOATS: r.kind = ir::Attribute::Kind::kFloats; r.floats.assign(a.floats().begin(), a.floats().end()); break;
    case A::INTS: r.kind = ir::Attribute::Kind::kInts; r.ints.assign(a.ints().begin(), a.ints().end()); break;
    case A::STRINGS: r.kind = ir::Attribute::Kind::kStrings; r.strings.assign(a.strings().begin(), a.strings().end()); break;
    case A::GRAPH: case A::GRAPHS: r.kind = ir::Attribute::Kind::kGraph; break;
    default:
      // Older models leave `type` unset; infer it from the populated field.
      if (a.has_f()) { r.kind = ir::Attribute::Kind::kFloat; r.f = a.f(); }
      else if (a.has_i()) { r.kind = ir::Attribute::Kind::kInt; r.i = a.i(); }
      else if (a.has_s()) { r.kind = ir::Attribute::Kind::kString; r.s = a.s(); }
      else if (a.ints_size()) { r.kind = ir::Attribute::Kind::kInts; r.ints.assign(a.ints().begin(), a.ints().end()); }
      else if (a.floats_size()) { r.kind = ir::Attribute::Kind::kFloats; r.floats.assign(a.floats().begin(), a.floats().end()); }
      else r.kind = ir::Attribute::Kind::kOther;
  }
  return r;
}

std::string one_line(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > 300) out = out.substr(0, 297) + "...";
  return out;
}

// Holds what libonnx writes to std::cerr while it lives (libonnx prints warnings there; qscope
// reports on its own terms).
class QuietCerr {
 public:
  QuietCerr() : old_(std::cerr.rdbuf(sink_.rdbuf())) {}
  ~QuietCerr() { std::cerr.rdbuf(old_); }
  QuietCerr(const QuietCerr&) = delete;
  QuietCerr& operator=(const QuietCerr&) = delete;

 private:
  std::ostringstream sink_;
  std::streambuf* old_;
};

// True when a node (in the graph or a subgraph) has a strides, dilations or kernel_shape value
// <= 0: libonnx 1.12's shape inference divides by them (SIGFPE, found by fuzz/onnx_model), so
// such models skip it and qscope's own validation names the node at plan time.
bool has_nonpositive_window_attribute(const onnx::GraphProto& root) {
  std::vector<const onnx::GraphProto*> todo{&root};
  while (!todo.empty()) {
    const onnx::GraphProto* g = todo.back();
    todo.pop_back();
    for (const auto& node : g->node())
      for (const auto& a : node.attribute()) {
        if (a.name() == "strides" || a.name() == "dilations" || a.name() == "kernel_shape")
          for (int64_t v : a.ints())
            if (v <= 0) return true;
        if (a.has_g()) todo.push_back(&a.g());
        for (const auto& sub : a.graphs()) todo.push_back(&sub);
      }
  }
  return false;
}

// Runs libonnx's checker and shape inference on a model whose nodes are sorted; inferred
// shapes go into g.value_info. libonnx knows opsets up to max_known_opset(); for newer models
// qscope relies on its own shape inference at plan time.
Status check_and_infer(onnx::ModelProto& model, ir::Graph& g, const std::string& base_dir, const LoadOptions& options,
                       const std::string& prefix) {
  if (g.opset > max_known_opset()) return Status::Ok();
  if (options.run_checker) {
    try {
      onnx::checker::CheckerContext ctx;
      ctx.set_ir_version(static_cast<int>(model.ir_version()));
      std::unordered_map<std::string, int> opsets;
      for (const auto& op : model.opset_import()) opsets[op.domain()] = static_cast<int>(op.version());
      ctx.set_opset_imports(opsets);
      ctx.set_model_dir(base_dir);
      onnx::checker::LexicalScopeContext lex;
      const QuietCerr quiet;  // its warning on experimental ops (ImageScaler): qscope checks those itself
      onnx::checker::check_graph(model.graph(), ctx, lex);
    } catch (const std::exception& e) {
      return InvalidInput("{}ONNX checker: {}", prefix, one_line(e.what()));
    }
  }
  // Inferred shapes are a convenience; qscope infers its own when it plans a run.
  if (options.run_shape_inference && try_infer_shapes(model))
    for (const auto& vi : model.graph().value_info()) g.value_info[vi.name()] = value_info_from_proto(vi);
  return Status::Ok();
}

}  // namespace

bool try_infer_shapes(onnx::ModelProto& model) {
  if (has_nonpositive_window_attribute(model.graph())) return false;
  const int known = model.graph().value_info_size();
  const QuietCerr quiet;
  try {
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(false, 0, true));
  } catch (const std::exception&) {
    auto* vi = model.mutable_graph()->mutable_value_info();
    if (vi->size() > known) vi->DeleteSubrange(known, vi->size() - known);
    return false;
  }
  return true;
}

int64_t max_known_opset() {
  const auto& map = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = map.find("");
  return it == map.end() ? 0 : it->second.second;
}

Expected<ir::Graph> load_model_bytes(std::string_view bytes, const std::string& name, const std::string& base_dir,
                                     const LoadOptions& options) {
  const std::string prefix = "cannot load '" + name + "': ";
  onnx::ModelProto model;
  if (bytes.empty()) return InvalidInput("{}file is empty", prefix);
  if (!parse_message(bytes, &model)) return InvalidInput("{}not a valid ONNX protobuf (truncated or corrupt)", prefix);
  if (!model.has_graph()) return InvalidInput("{}model has no graph", prefix);

  ir::Graph g;
  g.name = model.graph().name();
  for (const auto& op : model.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") g.opset = op.version();
  if (g.opset == 0) {
    if (model.opset_import_size() == 0) g.opset = 1;
    else return Unsupported("{}model imports no default-domain (ai.onnx) opset", prefix);
  }
  if (g.opset > 21) return Unsupported("{}opset {} is newer than qscope supports (7 to 21)", prefix, g.opset);
  if (g.opset < 7) return Unsupported("{}opset {} is older than qscope supports (7 to 21)", prefix, g.opset);

  const auto& gp = model.graph();
  std::set<std::string> init_names;
  for (const auto& t : gp.initializer()) {
    if (t.name().empty()) return InvalidInput("{}an initializer has no name", prefix);
    auto tensor = tensor_from_proto(t, base_dir);
    if (!tensor.ok()) return tensor.status().WithPrefix(prefix + "initializer '" + t.name() + "': ");
    g.initializers[t.name()] = std::move(tensor).value();
    init_names.insert(t.name());
  }
  for (const auto& vi : gp.input()) {
    if (init_names.count(vi.name())) continue;  // pre-IR4 models list initializers as inputs
    ir::ValueInfo v = value_info_from_proto(vi);
    if (v.dtype == DType::kUndefined)
      return Unsupported("{}graph input '{}' has an element type qscope does not support", prefix, vi.name());
    g.inputs.push_back(std::move(v));
  }
  for (const auto& vi : gp.output()) g.outputs.push_back(value_info_from_proto(vi));
  if (g.outputs.empty()) return InvalidInput("{}graph has no outputs", prefix);
  for (const auto& vi : gp.value_info()) g.value_info[vi.name()] = value_info_from_proto(vi);

  g.nodes.reserve(static_cast<size_t>(gp.node_size()));
  for (int i = 0; i < gp.node_size(); ++i) {
    const auto& np = gp.node(i);
    ir::Node n;
    n.name = np.name();
    n.op_type = np.op_type();
    n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    n.index = i;
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    g.nodes.push_back(std::move(n));
  }
  ir::assign_node_names(g);
  for (int i = 0; i < gp.node_size(); ++i) {
    auto& n = g.nodes[static_cast<size_t>(i)];
    for (const auto& a : gp.node(i).attribute()) {
      auto attr = attribute_from_proto(a, n.where(), base_dir);
      if (!attr.ok()) return attr.status().WithPrefix(prefix);
      n.attrs[a.name()] = std::move(attr).value();
    }
  }
  Status st = ir::topological_sort(g);
  if (!st.ok()) return st.WithPrefix(prefix);

  // ONNX's checker and shape inference want nodes in topological order; qscope accepts any
  // order, so they see the sorted graph.
  {
    google::protobuf::RepeatedPtrField<onnx::NodeProto> sorted;
    for (const auto& n : g.nodes) *sorted.Add() = model.graph().node(n.index);
    model.mutable_graph()->mutable_node()->Swap(&sorted);
  }
  QS_RETURN_IF_ERROR(check_and_infer(model, g, base_dir, options, prefix));
  return g;
}

Expected<ir::Graph> load_model(const std::string& path, const LoadOptions& options) {
  QS_ASSIGN_OR_RETURN(std::string bytes, read_file(path, options.max_model_bytes));
  std::string base = fs::path(path).parent_path().string();
  if (base.empty()) base = ".";
  return load_model_bytes(bytes, path, base, options);
}

Expected<Tensor> load_tensor_pb(const std::string& path, std::string* tensor_name) {
  QS_ASSIGN_OR_RETURN(std::string bytes, read_file(path, max_tensor_bytes() + (int64_t{1} << 20)));
  onnx::TensorProto tp;
  if (bytes.empty() || !parse_message(bytes, &tp))
    return InvalidInput("cannot read '{}': not a valid ONNX TensorProto (truncated or corrupt)", path);
  if (tensor_name) *tensor_name = tp.name();
  std::string base = fs::path(path).parent_path().string();
  auto t = tensor_from_proto(tp, base.empty() ? "." : base);
  if (!t.ok()) return t.status().WithPrefix("cannot read '" + path + "': ");
  return t;
}

}  // namespace qs::onnx_io
