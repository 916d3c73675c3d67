#include "passes/layout.h"

#include <set>

#include "ops/op.h"

namespace qs::passes {

namespace {

// Ops that compute each output element from the same element of their inputs only.
const std::set<std::string> kElementwise = {
    "Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Elu", "Selu", "Celu",
    "Softplus", "Softsign", "Abs", "Neg", "Exp", "Log", "Sqrt", "Reciprocal", "Erf", "Gelu", "Mish",
    "Identity", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos",
    "Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "Pow"};

const std::set<std::string> kPools = {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"};

// 1-D and 2-D convolutions: [N, W, C] and [N, H, W, C] (oneDNN's nwc and nhwc).
bool is_conv_activation(const GraphView& m, const std::string& v) {
  const Shape* s = m.shape(v);
  return s && (s->size() == 3 || s->size() == 4) && m.dtype(v) == DType::kFloat32;
}

}  // namespace

std::string channels_last_name(const std::string& value) { return value + "::nhwc"; }

Status to_channels_last(ir::Graph& g, const GraphView& model, const std::map<std::string, NodeExec>* exec) {
  std::vector<ir::Node> nodes = std::move(g.nodes);
  g.nodes.clear();
  g.nodes.reserve(nodes.size());
  std::set<std::string> cl;       // values held channels-last (original names)
  std::set<std::string> plain;    // channels-last values whose plain copy exists
  auto precision = [&](const ir::Node& n) {
    if (!exec) return Precision::kFp32;
    auto it = exec->find(n.name);
    return it == exec->end() ? Precision::kFp32 : it->second.precision;
  };
  auto constant = [&](const std::string& v) { return g.initializers.count(v) != 0 || model.is_constant(v); };
  // The plain value v, made by a ToNCHW node the first time a reader needs it.
  auto need_plain = [&](const std::string& v) {
    if (!cl.count(v) || !plain.insert(v).second) return;
    ir::Node t;
    t.name = v + "::to_nchw";
    t.op_type = kToNchwOp;
    t.domain = std::string(ops::kInternalDomain);
    t.inputs = {channels_last_name(v)};
    t.outputs = {v};
    g.nodes.push_back(std::move(t));
  };
  auto set_int = [](ir::Node& n, const char* name, int64_t v) { n.attrs[name] = ir::Attribute::Int(v); };

  for (ir::Node& src : nodes) {
    ir::Node n = std::move(src);
    const bool folded = !n.outputs.empty() && !n.outputs[0].empty() && constant(n.outputs[0]);
    if (folded) {
      g.nodes.push_back(std::move(n));
      continue;
    }
    bool handled = false;
    if (n.domain == ops::kInternalDomain && n.op_type == "FusedConv" && !n.inputs.empty() &&
        is_conv_activation(model, n.inputs[0]) && precision(n) != Precision::kFp16 &&
        n.attr_int("transpose", 0).ok() && *n.attr_int("transpose", 0) == 0) {
      const std::string& r = n.input(3);
      const bool y_cl = r.empty() || cl.count(r);
      const bool x_cl = cl.count(n.inputs[0]) != 0;
      if (x_cl) n.inputs[0] = channels_last_name(n.inputs[0]);
      if (y_cl) {
        if (!r.empty()) n.inputs[3] = channels_last_name(r);
        cl.insert(n.outputs[0]);
        n.outputs[0] = channels_last_name(n.outputs[0]);
      } else {
        need_plain(r);
      }
      set_int(n, "x_channels_last", x_cl);
      set_int(n, "y_channels_last", y_cl);
      handled = true;
    } else if (((n.domain.empty() && kElementwise.count(n.op_type)) ||
                (n.domain == ops::kInternalDomain && n.op_type == "EltwiseChain")) &&
               n.outputs.size() == 1) {
      // Every variable input channels-last and of the output's shape; constants scalar.
      const Shape* first = nullptr;
      bool ok = true, any_var = false;
      for (const std::string& in : n.inputs) {
        if (in.empty()) continue;
        if (constant(in)) {
          const Tensor* c = model.constant(in);
          if (!c) c = g.initializers.count(in) ? &g.initializers.at(in) : nullptr;
          ok = ok && c && c->numel() == 1;
          continue;
        }
        any_var = true;
        const Shape* s = model.shape(in);
        ok = ok && cl.count(in) && s && (!first || *s == *first);
        if (!first) first = s;
      }
      const Shape* os = model.shape(n.outputs[0]);
      if (ok && any_var && first && os && *os == *first) {
        for (std::string& in : n.inputs)
          if (!in.empty() && !constant(in)) in = channels_last_name(in);
        cl.insert(n.outputs[0]);
        n.outputs[0] = channels_last_name(n.outputs[0]);
        handled = true;
      }
    } else if (n.domain.empty() && kPools.count(n.op_type) && !n.inputs.empty() && cl.count(n.inputs[0]) &&
               n.outputs.size() == 1 && precision(n) != Precision::kFp16) {
      n.inputs[0] = channels_last_name(n.inputs[0]);
      set_int(n, "channels_last", 1);
      if (n.op_type == "MaxPool" || n.op_type == "AveragePool") {
        cl.insert(n.outputs[0]);
        n.outputs[0] = channels_last_name(n.outputs[0]);
      }
      handled = true;
    }
    if (!handled)
      for (const std::string& in : n.inputs) need_plain(in);
    g.nodes.push_back(std::move(n));
  }
  for (const auto& o : g.outputs) need_plain(o.name);
  return Status::Ok();
}

}  // namespace qs::passes
