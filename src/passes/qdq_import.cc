#include "passes/qdq_import.h"

#include "passes/int8_capability.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <set>

#include "kernels/reference/quantize_linear.h"

namespace qs::passes {

namespace {

namespace ref = kernels::ref;

bool is_q(const ir::Node& n) { return n.domain.empty() && n.op_type == "QuantizeLinear"; }
bool is_dq(const ir::Node& n) { return n.domain.empty() && n.op_type == "DequantizeLinear"; }
bool is_pool(const std::string& op) {
  return op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" || op == "GlobalMaxPool";
}
bool is_head(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
}
int64_t int_attr(const ir::Node& n, const std::string& name, int64_t dflt) {
  auto v = n.attr_int(name, dflt);
  return v.ok() ? *v : dflt;
}
bool reads_all_inputs(const std::string& op) { return op == "Add" || op == "Mul" || op == "Concat"; }

// Scale, zero point and axis of a Q or DQ node, when they are constants.
struct QParams {
  std::vector<float> scale;
  std::vector<int64_t> zp;
  DType qtype = DType::kUndefined;  // the zero point's type (uint8 for a Q without one)
  bool per_tensor = true;
  int64_t axis = 1;
};

const Tensor* initializer(const ir::Graph& g, const std::string& v) {
  auto it = g.initializers.find(v);
  return v.empty() || it == g.initializers.end() ? nullptr : &it->second;
}

std::optional<QParams> params_of(const ir::Graph& g, const ir::Node& n) {
  const Tensor* s = initializer(g, n.input(1));
  if (!s || s->dtype() != DType::kFloat32 || s->rank() > 1 || s->numel() < 1) return std::nullopt;
  QParams p;
  p.scale.assign(s->data<float>(), s->data<float>() + s->numel());
  if (!n.input(2).empty()) {
    const Tensor* z = initializer(g, n.input(2));
    if (!z || z->numel() != s->numel()) return std::nullopt;
    p.qtype = z->dtype();
    for (int64_t i = 0; i < z->numel(); ++i) p.zp.push_back(z->GetAsInt64(i));
  } else {
    p.qtype = is_q(n) ? DType::kUInt8 : DType::kUndefined;
    p.zp.assign(p.scale.size(), 0);
  }
  p.per_tensor = s->numel() == 1;
  auto axis = n.attr_int("axis", 1);
  if (!axis.ok()) return std::nullopt;
  p.axis = *axis;
  return p;
}

bool same_params(const QParams& a, const QParams& b) {
  if (a.scale.size() != b.scale.size() || a.zp != b.zp || a.per_tensor != b.per_tensor) return false;
  if (std::memcmp(a.scale.data(), b.scale.data(), a.scale.size() * sizeof(float)) != 0) return false;
  if (a.qtype != DType::kUndefined && b.qtype != DType::kUndefined && a.qtype != b.qtype) return false;
  return a.per_tensor || a.axis == b.axis;
}

Expected<ref::QuantLayout> layout_of(const ir::Node& n, const Shape& xs, const QParams& p) {
  ref::QuantLayout l;
  l.outer = numel(xs);
  if (p.per_tensor) return l;
  auto axis = normalize_axis(p.axis, static_cast<int64_t>(xs.size()));
  if (!axis.ok()) return InvalidInput("{}axis {}: {}", n.where(), p.axis, axis.status().message());
  const size_t a = static_cast<size_t>(*axis);
  if (xs[a] != static_cast<int64_t>(p.scale.size()))
    return InvalidInput("{}scale has {} values, axis {} of {} has {}", n.where(), p.scale.size(), *axis, shape_str(xs),
                        xs[a]);
  l.outer = l.inner = 1;
  for (size_t d = 0; d < a; ++d) l.outer *= xs[d];
  for (size_t d = a + 1; d < xs.size(); ++d) l.inner *= xs[d];
  l.channels = xs[a];
  return l;
}

// Evaluates a Q or DQ node of constant inputs; nullopt when the types are not ones it handles.
Expected<std::optional<Tensor>> evaluate(const ir::Node& n, const Tensor& x, const QParams& p) {
  QS_ASSIGN_OR_RETURN(ref::QuantLayout l, layout_of(n, x.shape(), p));
  const float* s = p.scale.data();
  if (is_q(n)) {
    if (x.dtype() != DType::kFloat32) return std::optional<Tensor>();
    if (p.qtype == DType::kInt8) {
      std::vector<int8_t> z(p.zp.begin(), p.zp.end());
      Tensor y(DType::kInt8, x.shape());
      ref::quantize_linear_s8(l, x.data<float>(), s, z.data(), y.data<int8_t>());
      return std::optional<Tensor>(std::move(y));
    }
    if (p.qtype == DType::kUInt8) {
      std::vector<uint8_t> z(p.zp.begin(), p.zp.end());
      Tensor y(DType::kUInt8, x.shape());
      ref::quantize_linear_u8(l, x.data<float>(), s, z.data(), y.data<uint8_t>());
      return std::optional<Tensor>(std::move(y));
    }
    return std::optional<Tensor>();
  }
  if (p.qtype != DType::kUndefined && p.qtype != x.dtype()) return std::optional<Tensor>();
  Tensor y(DType::kFloat32, x.shape());
  if (x.dtype() == DType::kInt8) {
    std::vector<int8_t> z(p.zp.begin(), p.zp.end());
    ref::dequantize_linear_s8(l, x.data<int8_t>(), s, z.data(), y.data<float>());
  } else if (x.dtype() == DType::kUInt8) {
    std::vector<uint8_t> z(p.zp.begin(), p.zp.end());
    ref::dequantize_linear_u8(l, x.data<uint8_t>(), s, z.data(), y.data<float>());
  } else if (x.dtype() == DType::kInt32) {
    std::vector<int32_t> z(p.zp.begin(), p.zp.end());
    ref::dequantize_linear_s32(l, x.data<int32_t>(), s, z.data(), y.data<float>());
  } else {
    return std::optional<Tensor>();
  }
  return std::optional<Tensor>(std::move(y));
}

// A weight that a DQ of a constant produced: its integers and parameters.
struct FoldedWeight {
  Tensor q;
  QParams p;
};

// True when the engine's per-channel scales (max|W_k| / 127 along `axis`) give back the
// model's integers and scales exactly: one scale per channel and max |q - zp| = 127 (or 0).
bool requantizes_exactly(const FoldedWeight& w, int64_t axis) {
  const Shape& s = w.q.shape();
  if (axis >= static_cast<int64_t>(s.size())) return false;
  if (!w.p.per_tensor) {
    auto a = normalize_axis(w.p.axis, static_cast<int64_t>(s.size()));
    if (!a.ok() || *a != axis) return false;
  }
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= s[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < s.size(); ++d) inner *= s[d];
  const int64_t channels = s[static_cast<size_t>(axis)];
  for (int64_t c = 0; c < channels; ++c) {
    const int64_t zp = w.p.zp[w.p.per_tensor ? 0 : static_cast<size_t>(c)];
    int64_t m = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) m = std::max<int64_t>(m, std::llabs(w.q.GetAsInt64((o * channels + c) * inner + i) - zp));
    if (m != 0 && m != 127) return false;
  }
  return true;
}

struct Pair {
  std::string x, out;  // Q's input, DQ's output
  size_t q = 0, dq = 0;
  float scale = 0.f;
};

struct Read {
  size_t node = 0;
  size_t input = 0;
  size_t pair = 0;
};

class Importer {
 public:
  Importer(const ir::Graph& g, const QdqImportOptions& o) : options_(o) { r_.graph = g; }

  Expected<QdqImport> Run() {
    constants_to_initializers();
    QS_RETURN_IF_ERROR(fold_constants());
    cancel_dq_q();
    index();
    find_pairs();
    std::set<size_t> forbidden;
    for (int round = 0;; ++round) {
      decide(forbidden);
      auto conflict = assign_scales();
      if (!conflict) break;
      forbidden.insert(*conflict);
      if (round > static_cast<int>(g().nodes.size()) + 8) break;
    }
    rewire();
    warn_weights();
    return finish();
  }

 private:
  ir::Graph& g() { return r_.graph; }
  const ir::Node& node(size_t i) { return g().nodes[i]; }

  // Constant nodes that Q/DQ nodes read become initializers, so their parameters are known.
  void constants_to_initializers() {
    std::set<std::string> qdq_inputs, outputs;
    for (const auto& n : g().nodes)
      if (is_q(n) || is_dq(n))
        for (const auto& in : n.inputs) qdq_inputs.insert(in);
    for (const auto& o : g().outputs) outputs.insert(o.name);
    for (size_t i = 0; i < g().nodes.size(); ++i) {
      const ir::Node& n = node(i);
      if (n.op_type != "Constant" || !n.domain.empty() || n.outputs.size() != 1 || !qdq_inputs.count(n.outputs[0]) ||
          outputs.count(n.outputs[0]))
        continue;
      auto t = n.attr_tensor("value");
      if (!t.ok()) continue;
      g().initializers[n.outputs[0]] = std::move(t).value();
      removed_.insert(i);
    }
  }

  // Q/DQ of constants -> initializers (weights, biases).
  Status fold_constants() {
    for (size_t i = 0; i < g().nodes.size(); ++i) {
      const ir::Node& n = node(i);
      if (removed_.count(i) || !(is_q(n) || is_dq(n)) || n.outputs.size() != 1) continue;
      const Tensor* x = initializer(g(), n.input(0));
      auto p = params_of(g(), n);
      if (!x || !p) continue;
      QS_ASSIGN_OR_RETURN(std::optional<Tensor> y, evaluate(n, *x, *p));
      if (!y) continue;
      if (is_dq(n)) folded_[n.outputs[0]] = FoldedWeight{*x, *p};
      g().initializers[n.outputs[0]] = std::move(*y);
      removed_.insert(i);
      ++r_.folded_constants;
    }
    return Status::Ok();
  }

  void index() {
    producer_.clear();
    readers_.clear();
    for (size_t i = 0; i < g().nodes.size(); ++i) {
      if (removed_.count(i)) continue;
      const ir::Node& n = node(i);
      for (const auto& o : n.outputs)
        if (!o.empty()) producer_[o] = i;
      for (size_t k = 0; k < n.inputs.size(); ++k)
        if (!n.inputs[k].empty()) readers_[n.inputs[k]].push_back({i, k});
    }
    graph_outputs_.clear();
    for (const auto& o : g().outputs) graph_outputs_.insert(o.name);
    constant_.clear();
    for (const auto& [name, t] : g().initializers) constant_.insert(name);
    for (size_t i = 0; i < g().nodes.size(); ++i) {
      if (removed_.count(i)) continue;
      const ir::Node& n = node(i);
      bool all = true;
      for (const auto& in : n.inputs) all &= in.empty() || constant_.count(in) != 0;
      if (all && !n.inputs.empty())
        for (const auto& o : n.outputs) constant_.insert(o);
    }
  }

  void replace_reads(const std::string& from, const std::string& to) {
    for (auto& n : g().nodes)
      for (auto& in : n.inputs)
        if (in == from) in = to;
  }

  // DQ -> Q with the same parameters give back the DQ's input (INT8.md item 19).
  void cancel_dq_q() {
    index();
    for (size_t i = 0; i < g().nodes.size(); ++i) {
      const ir::Node& q = node(i);
      if (removed_.count(i) || !is_q(q) || graph_outputs_.count(q.outputs[0])) continue;
      auto p = producer_.find(q.input(0));
      if (p == producer_.end() || !is_dq(node(p->second))) continue;
      auto a = params_of(g(), q), b = params_of(g(), node(p->second));
      if (!a || !b || !same_params(*a, *b)) continue;
      replace_reads(q.outputs[0], node(p->second).input(0));
      removed_.insert(i);
      index();
    }
  }

  void find_pairs() {
    for (size_t i = 0; i < g().nodes.size(); ++i) {
      const ir::Node& dq = node(i);
      if (removed_.count(i) || !is_dq(dq) || dq.outputs.size() != 1) continue;
      auto p = producer_.find(dq.input(0));
      if (p == producer_.end() || !is_q(node(p->second))) continue;
      const ir::Node& q = node(p->second);
      if (constant_.count(q.input(0))) continue;
      auto a = params_of(g(), q), b = params_of(g(), dq);
      if (!a || !b || !same_params(*a, *b) || !a->per_tensor) continue;
      const float s = a->scale[0];
      if (!(s > 0.f) || !std::isfinite(s)) continue;
      Pair pair{q.input(0), dq.outputs[0], p->second, i, s};
      const int64_t zp = a->zp[0];
      if (a->qtype == DType::kInt8 && zp == 0) {
      } else if (a->qtype == DType::kUInt8 && zp == 128) {
      } else if (a->qtype == DType::kUInt8 && options_.map_asymmetric) {
        pair.scale = s * static_cast<float>(std::max<int64_t>(zp, 255 - zp)) / 127.f;
        ++asymmetric_;
      } else {
        continue;
      }
      pair_of_.emplace(pair.out, pairs_.size());
      pairs_.push_back(std::move(pair));
    }
  }

  bool quantized(const std::string& v) const { return pair_of_.count(v) != 0; }

  // The one node that reads v (v no graph output), or -1.
  long sole_reader(const std::string& v) {
    if (graph_outputs_.count(v)) return -1;
    auto it = readers_.find(v);
    if (it == readers_.end()) return -1;
    std::set<size_t> nodes;
    for (const auto& [n, k] : it->second) nodes.insert(n);
    return nodes.size() == 1 ? static_cast<long>(*nodes.begin()) : -1;
  }

  bool same_declared_shape(const std::string& a, const std::string& b) {
    auto ia = g().value_info.find(a), ib = g().value_info.find(b);
    if (ia == g().value_info.end() || ib == g().value_info.end() || !ia->second.has_shape || !ib->second.has_shape)
      return true;  // unknown: the lowering decides
    return ia->second.dims == ib->second.dims;
  }

  void mark(size_t i) { int8_.insert(i); }
  void add_read(size_t i, size_t k) { reads_.push_back({i, k, pair_of_.at(node(i).inputs[k])}); }

  bool takes_activation(const ir::Node& n, const std::string& v) {
    if (n.input(0) != v) return false;
    if (n.op_type == "Relu" || n.op_type == "LeakyRelu") return true;
    if (n.op_type == "Clip") return (n.input(1).empty() || constant_.count(n.input(1))) &&
                                    (n.input(2).empty() || constant_.count(n.input(2)));
    return false;
  }

  // The layers a fusion joins to INT8 head h (passes/fusion.cc), marked INT8 with it.
  void take_members(size_t h, const std::set<size_t>& forbidden) {
    const ir::Node& head = node(h);
    std::string v = head.outputs[0];
    long j = sole_reader(v);
    auto ok = [&](long j) { return j >= 0 && !forbidden.count(static_cast<size_t>(j)) && !int8_.count(static_cast<size_t>(j)); };
    if (head.op_type == "Conv" || head.op_type == "ConvTranspose") {
      const bool can_fold = head.op_type == "Conv" || int_attr(head, "group", 1) == 1;
      if (ok(j) && can_fold && node(j).op_type == "BatchNormalization" && node(j).input(0) == v &&
          node(j).num_inputs() == 5) {
        bool params = true;
        for (size_t k = 1; k < 5; ++k) params &= constant_.count(node(j).input(k)) != 0;
        if (params) {
          mark(static_cast<size_t>(j));
          v = node(j).outputs[0];
          j = sole_reader(v);
        }
      }
      if (ok(j) && node(j).op_type == "Add" && node(j).num_inputs() == 2) {
        const ir::Node& add = node(j);
        const size_t other = add.input(0) == v ? 1 : 0;
        if (add.input(1 - other) == v && add.input(other) != v && quantized(add.input(other)) &&
            same_declared_shape(pairs_[pair_of_.at(add.input(other))].x, v)) {
          mark(static_cast<size_t>(j));
          add_read(static_cast<size_t>(j), other);
          v = add.outputs[0];
          j = sole_reader(v);
        }
      }
    } else if (head.op_type == "MatMul" && ok(j) && node(j).op_type == "Add" && node(j).num_inputs() == 2) {
      const ir::Node& add = node(j);
      const std::string other = add.input(0) == v ? add.input(1) : add.input(0);
      const Tensor* b = initializer(g(), other);
      if (b && b->rank() == 1) {
        mark(static_cast<size_t>(j));
        v = add.outputs[0];
        j = sole_reader(v);
      }
    }
    if (ok(j) && takes_activation(node(j), v)) {
      mark(static_cast<size_t>(j));
      return;
    }
    // SiLU: v read by exactly Sigmoid(v) and Mul(v, sigmoid(v)).
    auto it = readers_.find(v);
    if (graph_outputs_.count(v) || it == readers_.end() || it->second.size() != 2) return;
    long sig = -1, mul = -1;
    for (const auto& [n, k] : it->second) {
      if (node(n).op_type == "Sigmoid") sig = static_cast<long>(n);
      if (node(n).op_type == "Mul") mul = static_cast<long>(n);
    }
    if (!ok(sig) || !ok(mul) || sole_reader(node(sig).outputs[0]) != mul) return;
    const ir::Node& m = node(mul);
    const std::string& s = node(sig).outputs[0];
    if ((m.input(0) == v && m.input(1) == s) || (m.input(1) == v && m.input(0) == s)) {
      mark(static_cast<size_t>(sig));
      mark(static_cast<size_t>(mul));
    }
  }

  void decide(const std::set<size_t>& forbidden) {
    int8_.clear();
    reads_.clear();
    for (size_t i = 0; i < g().nodes.size(); ++i) {
      const ir::Node& n = node(i);
      if (removed_.count(i) || forbidden.count(i) || int8_.count(i) || !n.domain.empty() || is_q(n) || is_dq(n))
        continue;
      if (is_head(n.op_type)) {
        if (!quantized(n.input(0)) || !folded_.count(n.input(1))) continue;
        if (n.op_type == "MatMul" && initializer(g(), n.input(1))->rank() != 2) continue;
        // The engine's INT8 rule for it (int8_capability): other layers keep their pairs as
        // fake quantization, exactly as ONNX runs them.
        if (n.op_type == "ConvTranspose" &&
            conv_transpose_weight_axis(initializer(g(), n.input(1))->shape(), int_attr(n, "group", 1)) < 0)
          continue;
        bool rest = true;
        for (size_t k = 2; k < n.inputs.size(); ++k) rest &= n.inputs[k].empty() || constant_.count(n.inputs[k]) != 0;
        if (!rest) continue;
        mark(i);
        add_read(i, 0);
        take_members(i, forbidden);
        continue;
      }
      if (!is_simple_int8_op(n.op_type)) continue;
      std::vector<size_t> ks;
      bool ok = true;
      if (reads_all_inputs(n.op_type)) {
        for (size_t k = 0; k < n.inputs.size(); ++k) {
          if (n.inputs[k].empty() || constant_.count(n.inputs[k])) continue;
          if (quantized(n.inputs[k])) ks.push_back(k);
          else ok = false;
        }
      } else if (quantized(n.input(0))) {
        ks.push_back(0);
      }
      if (!ok || ks.empty()) continue;
      mark(i);
      for (size_t k : ks) add_read(i, k);
    }
  }

  // The tensor whose scale a read uses (INT8.md item 8), as lower.cc resolves it.
  std::string scale_key(const Read& rd) {
    const ir::Node& n = node(rd.node);
    std::string key = n.op_type == "Concat" ? n.outputs[0] : pairs_[rd.pair].x;
    for (int depth = 0; depth < 64; ++depth) {
      auto p = producer_.find(key);
      if (p == producer_.end() || !int8_.count(p->second) || !is_pool(node(p->second).op_type)) break;
      const std::string& in = node(p->second).input(0);
      key = quantized(in) ? pairs_[pair_of_.at(in)].x : in;
    }
    return key;
  }

  // One scale per tensor; the first read that disagrees names the layer to run in float.
  std::optional<size_t> assign_scales() {
    r_.scales.clear();
    for (const Read& rd : reads_) {
      const std::string key = scale_key(rd);
      const float s = pairs_[rd.pair].scale;
      auto [it, fresh] = r_.scales.emplace(key, s);
      if (!fresh && it->second != s) return rd.node;
    }
    return std::nullopt;
  }

  void rewire() {
    std::set<size_t> absorbed;
    for (const Read& rd : reads_) {
      g().nodes[rd.node].inputs[rd.input] = pairs_[rd.pair].x;
      absorbed.insert(rd.pair);
    }
    r_.absorbed_pairs = static_cast<int>(absorbed.size());
    // Q/DQ nodes nothing reads any more go (DQs first, then their Qs).
    for (int pass = 0; pass < 2; ++pass) {
      index();
      for (size_t i = 0; i < g().nodes.size(); ++i) {
        const ir::Node& n = node(i);
        if (removed_.count(i) || !(is_q(n) || is_dq(n))) continue;
        bool read = graph_outputs_.count(n.outputs[0]) != 0 || readers_.count(n.outputs[0]) != 0;
        if (!read) removed_.insert(i);
      }
    }
  }

  void warn_weights() {
    if (asymmetric_)
      r_.warnings.push_back(fmt::format(
          "{} uint8 activation Q/DQ pairs with a zero point other than 128 (asymmetric) run as symmetric INT8 "
          "over the same range (scale * max(zp, 255 - zp) / 127)",
          asymmetric_));
    for (size_t i : int8_) {
      const ir::Node& n = node(i);
      if (!is_head(n.op_type)) continue;
      int64_t axis = 0;
      if (n.op_type == "MatMul") axis = 1;
      if (n.op_type == "Gemm") axis = int_attr(n, "transB", 0) ? 0 : 1;
      if (n.op_type == "ConvTranspose")
        axis = conv_transpose_weight_axis(folded_.at(n.input(1)).q.shape(), int_attr(n, "group", 1));
      if (!requantizes_exactly(folded_.at(n.input(1)), axis))
        r_.warnings.push_back(fmt::format(
            "{}its int8 weights are not symmetric per output channel with max |q| = 127; qscope derives the "
            "scales again as max|W|/127 (the weights are requantized on a finer grid)",
            n.where()));
    }
  }

  Expected<QdqImport> finish() {
    ir::Graph& gr = g();
    std::vector<ir::Node> nodes;
    std::set<std::string> dropped_inputs;
    for (size_t i = 0; i < gr.nodes.size(); ++i) {
      if (removed_.count(i)) {
        for (const auto& in : gr.nodes[i].inputs) dropped_inputs.insert(in);
        continue;
      }
      if (int8_.count(i)) r_.plan.layers[gr.nodes[i].name] = Precision::kInt8;
      if (is_q(gr.nodes[i]) || is_dq(gr.nodes[i])) ++r_.kept_nodes;
      nodes.push_back(std::move(gr.nodes[i]));
    }
    gr.nodes = std::move(nodes);
    std::set<std::string> read;
    for (const auto& n : gr.nodes)
      for (const auto& in : n.inputs) read.insert(in);
    for (const auto& o : gr.outputs) read.insert(o.name);
    for (const auto& v : dropped_inputs)
      if (!read.count(v)) gr.initializers.erase(v);
    r_.plan.default_precision = Precision::kFp32;
    QS_RETURN_IF_ERROR(ir::topological_sort(gr));
    return std::move(r_);
  }

  QdqImportOptions options_;
  QdqImport r_;
  std::set<size_t> removed_;
  std::map<std::string, FoldedWeight> folded_;
  std::map<std::string, size_t> producer_;
  std::map<std::string, std::vector<std::pair<size_t, size_t>>> readers_;
  std::set<std::string> graph_outputs_, constant_;
  std::vector<Pair> pairs_;
  std::map<std::string, size_t> pair_of_;
  std::set<size_t> int8_;
  std::vector<Read> reads_;
  int asymmetric_ = 0;
};

}  // namespace

bool has_qdq_nodes(const ir::Graph& g) {
  for (const auto& n : g.nodes)
    if (is_q(n) || is_dq(n)) return true;
  return false;
}

Expected<QdqImport> import_qdq(const ir::Graph& g, const QdqImportOptions& options) {
  return Importer(g, options).Run();
}

}  // namespace qs::passes
