#include "analysis/diagnose.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <set>

#include "analysis/metrics.h"
#include "kernels/reference/int8.h"
#include "passes/int8_capability.h"

namespace qs::analysis {

namespace {

// Elements per step along `axis` of a row-major tensor of `shape` (the product of the later dims).
int64_t inner_size(const Shape& shape, int64_t axis) { return numel(Shape(shape.begin() + axis + 1, shape.end())); }

// At most this many |x| values per tensor are kept for its percentile (evenly spaced ones).
constexpr int64_t kMaxKept = int64_t{1} << 22;

struct Stats {
  double max_abs = 0;
  int64_t count = 0, beyond = 0;
  std::vector<float> magnitudes;  // |x|, for the percentile
  std::vector<double> channel_max;
};

// The channel axis of a tensor as `reader` reads it: the last for Gemm, MatMul and the
// normalisations over the last axis; axis 1 for convolutions, pooling and other NCHW readers.
int64_t channel_axis(const ir::Node& reader, int64_t rank) {
  static const std::set<std::string> kLast = {"Gemm", "MatMul", "LayerNormalization", "Softmax"};
  if (rank < 2) return -1;
  return kLast.count(reader.op_type) ? rank - 1 : 1;
}

void add_values(Stats& s, const Tensor& t, float scale, size_t runs, int64_t axis) {
  if (t.dtype() != DType::kFloat32 || t.numel() == 0) return;
  const float* x = t.data<float>();
  const double range = static_cast<double>(scale) * 127.0;
  const int64_t stride = std::max<int64_t>(1, t.numel() * static_cast<int64_t>(runs) / kMaxKept);
  const bool per_channel = axis >= 0 && axis < t.rank();
  const int64_t channels = per_channel ? t.dim(axis) : 1;
  const int64_t inner = per_channel ? inner_size(t.shape(), axis) : 1;
  if (s.channel_max.size() < static_cast<size_t>(channels)) s.channel_max.resize(static_cast<size_t>(channels), 0.0);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double a = std::fabs(static_cast<double>(x[i]));
    s.max_abs = std::max(s.max_abs, a);
    double& cm = s.channel_max[static_cast<size_t>((i / inner) % channels)];
    cm = std::max(cm, a);
    if (a > range) ++s.beyond;
    if (i % stride == 0) s.magnitudes.push_back(static_cast<float>(a));
  }
  s.count += t.numel();
}

double percentile(std::vector<float>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

Tensor fake_quantized(const Tensor& t, float scale) {
  Tensor q(DType::kFloat32, t.shape());
  kernels::ref::fake_quantize_f32(t.data<float>(), q.data<float>(), t.numel(), scale);
  return q;
}

// Per-channel INT8 weights as the engine makes them, dequantized.
Tensor fake_quantized_weights(const Tensor& w, int64_t axis) {
  Tensor q8(DType::kInt8, w.shape());
  std::vector<float> scales(static_cast<size_t>(w.dim(axis)));
  kernels::ref::quantize_weights_s8(w.data<float>(), w.shape(), axis, q8.data<int8_t>(), scales.data());
  const int64_t inner = inner_size(w.shape(), axis);
  Tensor deq(DType::kFloat32, w.shape());
  for (int64_t i = 0; i < w.numel(); ++i)
    deq.data<float>()[i] = static_cast<float>(q8.data<int8_t>()[i]) * scales[static_cast<size_t>((i / inner) % w.dim(axis))];
  return deq;
}

// The output channel (along `axis`) whose max |w| is the most times its median |w|.
void weight_spread(const Tensor& w, int64_t axis, LayerDiagnosis* d) {
  const int64_t channels = w.dim(axis);
  const int64_t inner = inner_size(w.shape(), axis);
  std::vector<std::vector<float>> values(static_cast<size_t>(channels));
  for (int64_t i = 0; i < w.numel(); ++i)
    values[static_cast<size_t>((i / inner) % channels)].push_back(std::fabs(w.data<float>()[i]));
  for (int64_t c = 0; c < channels; ++c) {
    auto& v = values[static_cast<size_t>(c)];
    if (v.size() < 4) continue;
    const float top = *std::max_element(v.begin(), v.end());
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    const float median = v[v.size() / 2];
    if (median > 0 && top / median > d->weight_spread) {
      d->weight_spread = top / median;
      d->weight_spread_channel = c;
    }
  }
}

// "spans 12 of the 127 INT8 steps", or "rounds to zero" below half a step.
std::string steps(double n, const char* verb, const char* zero) {
  return n < 0.5 ? std::string(zero) : fmt::format("{} {:.0f} of the 127 INT8 steps", verb, n);
}

std::string verdict_of(const LayerDiagnosis& d) {
  const QuantizedInput* worst = nullptr;
  for (const auto& in : d.inputs)
    if (!worst || in.similarity < worst->similarity) worst = &in;
  if (!worst && std::isnan(d.weight_similarity)) return "";
  if (!worst || (!std::isnan(d.weight_similarity) && d.weight_similarity < worst->similarity)) {
    std::string v = fmt::format("its weights lose most ({:.4f}% with only them in INT8)", d.weight_similarity);
    if (d.weight_spread >= 20)
      v += fmt::format(": in output channel {} the largest |w| is {:.0f}x the median |w|, so most of its weights {}",
                       d.weight_spread_channel, d.weight_spread, steps(127 / d.weight_spread, "span", "round to zero"));
    return v;
  }
  std::string v = fmt::format("its input {} loses most ({:.4f}% with only it in INT8)", worst->tensor, worst->similarity);
  if (worst->top_channel >= 0 && worst->median_channel_max > 0 && worst->range >= 10 * worst->median_channel_max &&
      worst->top_channel_max >= 4 * worst->median_channel_max)
    v += fmt::format(": channel {} (max |x| {:.4g}) sets its range {:.4g}, {:.0f}x the median channel's max ({:.4g}), "
                     "which then {}",
                     worst->top_channel, worst->top_channel_max, worst->range,
                     worst->range / worst->median_channel_max, worst->median_channel_max,
                     steps(127 * worst->median_channel_max / worst->range, "spans", "rounds to zero"));
  else if (worst->p999 > 0 && worst->range >= 20 * worst->p999)
    v += fmt::format(": its range {:.4g} is {:.0f}x the 99.9th percentile of |x| ({:.4g}), so 99.9% of its values {}",
                     worst->range, worst->range / worst->p999, worst->p999,
                     steps(127 * worst->p999 / worst->range, "span", "round to zero"));
  else if (worst->clipped > 0.001)
    v += fmt::format(": {:.2f}% of its values lie beyond its range {:.4g} and are clipped", 100 * worst->clipped,
                     worst->range);
  return v;
}

// The layer alone, as a graph whose inputs are its activations and whose constants are the
// plan's (initializers and folded values); `weights` replaces input 1 when given.
std::shared_ptr<const ir::Graph> layer_graph(const ir::Graph& model, const ir::Node& node, const runtime::Plan& plan,
                                             const Tensor* weights) {
  const auto& constants = plan.constants();
  auto g = std::make_shared<ir::Graph>();
  g->name = node.name;
  g->opset = model.opset;
  g->nodes.push_back(node);
  g->nodes.back().index = 0;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const std::string& in = node.inputs[i];
    if (in.empty() || g->initializers.count(in)) continue;
    if (i == 1 && weights) {
      g->initializers[in] = *weights;
    } else if (auto c = constants.find(in); c != constants.end()) {
      g->initializers[in] = c->second;
    } else if (!g->find_input(in)) {
      ir::ValueInfo v;
      v.name = in;
      auto info = plan.value_infos().find(in);
      v.dtype = info == plan.value_infos().end() ? DType::kFloat32 : info->second.dtype;
      g->inputs.push_back(v);
    }
  }
  for (const auto& o : node.outputs)
    if (!o.empty()) {
      auto info = plan.value_infos().find(o);
      g->outputs.push_back(ir::ValueInfo{o, info == plan.value_infos().end() ? DType::kFloat32 : info->second.dtype, false, {}, {}});
    }
  return g;
}

}  // namespace

Expected<std::vector<LayerDiagnosis>> diagnose_layers(std::shared_ptr<const ir::Graph> graph,
                                                      const std::vector<std::map<std::string, Tensor>>& inputs,
                                                      const std::map<std::string, float>& scales,
                                                      const std::vector<std::string>& layers,
                                                      const runtime::PlanOptions& options) {
  std::vector<LayerDiagnosis> out;
  if (layers.empty() || inputs.empty()) return out;
  std::map<std::string, const ir::Node*> node_of, producer_of;
  for (const auto& n : graph->nodes) {
    node_of[n.name] = &n;
    for (const auto& o : n.outputs)
      if (!o.empty()) producer_of[o] = &n;
  }
  runtime::PlanOptions fp32 = options;
  fp32.exec = nullptr;
  fp32.optimize = false;  // the model's own tensors
  runtime::Engine engine(graph, fp32);
  QS_ASSIGN_OR_RETURN(const runtime::MixedPlan* first, engine.PlanFor(inputs.front()));
  const auto& constants = first->plan->constants();  // the engine keeps the plan

  // The activations the layers read: kept per input set; stats for those with a range.
  std::set<std::string> wanted;
  std::map<std::string, int64_t> axis_of;  // tensor -> channel axis (as its first diagnosed reader reads it)
  for (const auto& name : layers) {
    auto it = node_of.find(name);
    if (it == node_of.end()) return InvalidInput("layer '{}' is not in the model", name);
    for (const auto& in : it->second->inputs)
      if (!in.empty() && !constants.count(in) && wanted.insert(in).second) {
        const auto& infos = first->plan->value_infos();
        const auto info = infos.find(in);
        const int64_t rank = info == infos.end() ? 0 : static_cast<int64_t>(info->second.shape.size());
        axis_of[in] = channel_axis(*it->second, rank);
      }
  }
  std::vector<std::map<std::string, Tensor>> kept(inputs.size());
  std::map<std::string, Stats> stats;
  for (size_t k = 0; k < inputs.size(); ++k) {
    auto keep = [&](const std::string& name, const Tensor& t) {
      kept[k][name] = t;
      if (auto s = scales.find(name); s != scales.end()) add_values(stats[name], t, s->second, inputs.size(), axis_of[name]);
    };
    QS_ASSIGN_OR_RETURN(const runtime::MixedPlan* mp, engine.PlanFor(inputs[k]));
    for (const auto& [name, t] : inputs[k])
      if (wanted.count(name)) keep(name, t);
    auto observer = [&](size_t, const ir::Node& node, std::span<const Tensor* const> outs) {
      for (size_t i = 0; i < node.outputs.size() && i < outs.size(); ++i)
        if (outs[i] && wanted.count(node.outputs[i])) keep(node.outputs[i], outs[i]->Clone());
    };
    QS_RETURN_IF_ERROR(mp->plan->Run(inputs[k], observer).status());
  }

  for (const auto& name : layers) {
    const ir::Node& node = *node_of.at(name);
    LayerDiagnosis d;
    d.layer = name;
    std::optional<Tensor> weights;
    if (node.inputs.size() > 1)
      if (auto w = constants.find(node.inputs[1]); w != constants.end() && w->second.dtype() == DType::kFloat32) {
        const int64_t axis = passes::weight_channel_axis(node, w->second.shape());
        if (axis >= 0 && axis < w->second.rank() && w->second.numel() > 0) {
          weights = fake_quantized_weights(w->second, axis);
          weight_spread(w->second, axis, &d);
        }
      }
    runtime::Engine alone(layer_graph(*graph, node, *first->plan, nullptr), fp32);
    std::optional<runtime::Engine> alone_w;
    if (weights) {
      alone_w.emplace(layer_graph(*graph, node, *first->plan, &*weights), fp32);
      d.weight_similarity = 100;
    }
    std::set<std::string> seen;
    for (const auto& in : node.inputs) {
      if (in.empty() || !scales.count(in) || !wanted.count(in) || !seen.insert(in).second) continue;
      QuantizedInput q;
      q.tensor = in;
      if (auto p = producer_of.find(in); p != producer_of.end()) q.producer = p->second->name;
      q.range = static_cast<double>(scales.at(in)) * 127.0;
      Stats& s = stats[in];
      q.max_abs = s.max_abs;
      q.clipped = s.count ? static_cast<double>(s.beyond) / static_cast<double>(s.count) : 0;
      q.p999 = percentile(s.magnitudes, 0.999);
      if (s.channel_max.size() > 1) {
        q.top_channel = std::max_element(s.channel_max.begin(), s.channel_max.end()) - s.channel_max.begin();
        q.top_channel_max = s.channel_max[static_cast<size_t>(q.top_channel)];
        std::vector<double> m = s.channel_max;
        std::nth_element(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(m.size() / 2), m.end());
        q.median_channel_max = m[m.size() / 2];
      }
      q.similarity = 100;
      d.inputs.push_back(q);
    }
    // Each part in INT8 alone, on every input set; the worst input counts.
    auto measure = [&]() -> Status {
      const std::string& y = node.outputs.front();
      for (size_t k = 0; k < inputs.size(); ++k) {
        std::map<std::string, Tensor> feed;
        for (const auto& v : alone.graph().inputs) {
          auto it = kept[k].find(v.name);
          if (it == kept[k].end()) return InternalError("the FP32 run gave no '{}'", v.name);
          feed[v.name] = it->second;
        }
        QS_ASSIGN_OR_RETURN(auto base, alone.Run(feed));
        if (!base.count(y)) return InternalError("the layer alone gave no '{}'", y);
        auto worst = [&](double& into, const std::map<std::string, Tensor>& test) {
          const double sim = cosine_percent(base.at(y), test.at(y));
          if (std::isnan(sim) || sim < into) into = sim;
        };
        for (auto& q : d.inputs) {
          std::map<std::string, Tensor> f = feed;
          f[q.tensor] = fake_quantized(feed.at(q.tensor), scales.at(q.tensor));
          QS_ASSIGN_OR_RETURN(auto test, alone.Run(f));
          worst(q.similarity, test);
        }
        if (alone_w) {
          QS_ASSIGN_OR_RETURN(auto test, alone_w->Run(feed));
          worst(d.weight_similarity, test);
        }
      }
      return Status::Ok();
    };
    if (Status st = node.outputs.empty() || node.outputs.front().empty() ? InvalidInput("no first output") : measure();
        !st.ok()) {
      for (auto& q : d.inputs) q.similarity = NAN;
      d.weight_similarity = NAN;
      d.verdict = "not measured: the layer did not run alone (" + st.message() + ")";
    } else {
      d.verdict = verdict_of(d);
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace qs::analysis
