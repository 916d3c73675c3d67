#include "runtime/plan.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <set>
#include <string_view>

#include "core/hash.h"
#include "kernels/fast/conv_onednn.h"
#include "kernels/fast/eltwise_fast.h"
#include "passes/eltwise_chain.h"
#include "passes/int8_handoff.h"
#include "passes/layout.h"
#include "runtime/precision_kernels.h"

namespace qs::runtime {

namespace {

uint64_t hash_string(const std::string& s, uint64_t seed) { return hash_bytes(s.data(), s.size(), seed); }

// What computes a node's outputs: the node, how it runs, and what computes its inputs.
uint64_t node_signature(const ir::Node& node, const passes::NodeExec* exec, const std::vector<uint64_t>& input_sigs) {
  uint64_t h = hash_string(node.domain + "/" + node.op_type + "/" + node.name, 14695981039346656037ull);
  const Precision p = exec ? exec->precision : Precision::kFp32;
  h = hash_combine(h, static_cast<uint64_t>(p));
  if (p == Precision::kInt8) h = hash_bytes(exec->input_scales.data(), exec->input_scales.size() * sizeof(float), h);
  // Attributes the passes set: fused blocks differ in their activation, layouts and int8 hand-off,
  // element-wise chains in their members and the scales their INT8 members read with.
  static constexpr std::string_view kPassAttrs[] = {"activation",      "act_alpha",       "act_beta",
                                                    "x_channels_last", "y_channels_last", "channels_last",
                                                    "x_int8",          "y_int8_scale",    "chain",
                                                    "scales",          "r_int8"};
  for (const auto& [name, attr] : node.attrs) {
    if (std::find(std::begin(kPassAttrs), std::end(kPassAttrs), name) == std::end(kPassAttrs)) continue;
    h = hash_string(name + "=" + attr.s, h);
    h = hash_bytes(&attr.f, sizeof attr.f, h);
    h = hash_combine(h, static_cast<uint64_t>(attr.i));
    h = hash_bytes(attr.floats.data(), attr.floats.size() * sizeof(float), h);
  }
  for (uint64_t s : input_sigs) h = hash_combine(h, s);
  return h;
}

// What decides a node's kernel (kernel_cache.h).
uint64_t kernel_key(const ir::Node& node, Precision precision, const passes::NodeExec* exec,
                    const std::vector<ops::TensorInfo>& inputs, const ops::KernelOptions& options) {
  uint64_t h = node_signature(node, precision == Precision::kFp32 ? nullptr : exec, {});
  h = hash_combine(h, options.use_fast);
  h = hash_combine(h, options.winograd);
  h = hash_combine(h, options.few_runs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ops::TensorInfo& ti = inputs[i];
    h = hash_combine(h, static_cast<uint64_t>(ti.dtype));
    h = hash_bytes(ti.shape.data(), ti.shape.size() * sizeof(int64_t), h);
    // A constant's identity is its name within the model; folded constants are named after
    // the nodes that made them, so the name stands for the value here too.
    h = hash_string(ti.value ? "const:" + node.inputs[i] : std::string("var"), h);
  }
  return h;
}

// Multiply-adds of a convolution or matrix product (from its input shapes; stride 1 assumed,
// so strided convolutions are over-estimated), or -1 for other ops. *rows: a matrix product's
// rows of A (its batch included).
int64_t estimated_macs(const ir::Node& node, const std::vector<ops::TensorInfo>& in, int64_t* rows) {
  if (in.size() < 2 || !in[0].present() || !in[1].present() || in[0].shape.empty() || in[1].shape.empty()) return -1;
  const std::string& op = node.op_type;
  const Shape& x = in[0].shape;
  if (op == "Conv" || op == "FusedConv") {
    const bool cl = node.attr_int("x_channels_last", 0).ok() && *node.attr_int("x_channels_last", 0) == 1;
    const int64_t channels = x.size() < 2 ? 0 : (cl ? x.back() : x[1]);
    return channels > 0 ? numel(x) / channels * numel(in[1].shape) : -1;
  }
  if (op == "Gemm" || op == "FusedGemm" || op == "MatMul") {
    // rows of A (its batch included) x N x K; a batched B ([..., K, N]) read by a 2-D A repeats A.
    const Shape& b = in[1].shape;
    const int64_t k = x.back();
    if (k <= 0) return -1;
    const int64_t n = b.size() == 1 ? 1 : b.back();
    *rows = numel(x) / k;
    if (b.size() >= 3 && x.size() == 2 && b[b.size() - 2] > 0 && n > 0) *rows *= numel(b) / (b[b.size() - 2] * n);
    return *rows * n * k;
  }
  return -1;
}

bool is_matrix_product(const std::string& op) { return op == "Gemm" || op == "FusedGemm" || op == "MatMul"; }

// Below this many (FP32) multiply-adds a convolution or product runs on one thread: waking a
// second one costs tens of microseconds (more on a busy machine), about what it would save.
// Kept low: each switch between one and several threads leaves the other threads asleep for
// the next layer, and at 4M MobileNetV2 at batch 1 ran 20-30% slower on 2 threads than with
// every layer threaded. Matrix products need more, as oneDNN splits them by rows: four times as
// much with at most kStreamingRows rows, which stream their weights (a second thread adds
// memory bandwidth: MobileNetV2's 1280 -> 1000 classifier at batch 1, 1.3M, took 0.20 ms on one
// thread and 0.14 on two), eight times with more rows. A transformer's 64-token linear layers
// ran 6-30% slower on two threads than on one at 256K (64 x 64 x 64; bench/transformer_bench),
// and at 1M (64 x 64 x 256) 0-25% faster alone but 50% slower inside vit_tiny (11 against 17 us:
// the second thread sleeps between the layers around it); vit_tiny at batch 1 ran as fast on two
// threads as on one once those layers kept one thread (0.98 -> 0.90 ms).
// Kernels that pick their own thread count (Kernel::picks_threads: the in-register INT8
// kernels, which wake a second thread from about 10k cycles of work) are left to it: held to
// one thread, MobileNetV2's depthwise layers at 14x14 and 7x7 ran no faster on 2 threads than
// on 1, and at batch 1 the second thread sat idle in 34 % of its time (16 % after).
constexpr int64_t kMinParallelMacs = int64_t{1} << 18;
constexpr int64_t kStreamingRows = 16;

// The multiply-adds from which a layer of this kind takes several threads.
int64_t min_parallel_macs(const ir::Node& node, Precision precision, int64_t rows) {
  // int8 products run about four times as fast, so they need four times the work.
  const int64_t int8 = precision == Precision::kInt8 ? 4 : 1;
  if (!is_matrix_product(node.op_type)) return int8 * kMinParallelMacs;
  return int8 * (rows <= kStreamingRows ? 4 : 8) * kMinParallelMacs;
}

}  // namespace

Status check_supported_ops(const ir::Graph& g) {
  std::string missing;
  std::set<std::string> seen;
  for (const auto& n : g.nodes) {
    const bool known = ops::find_op(n.domain, n.op_type) != nullptr;
    if (known) continue;
    const std::string op = n.domain.empty() ? n.op_type : n.domain + "." + n.op_type;
    if (!seen.insert(op).second) continue;
    if (!missing.empty()) missing += ", ";
    missing += op + " (node '" + n.name + "')";
  }
  if (missing.empty()) return Status::Ok();
  return Unsupported("unsupported op{}: {}", seen.size() > 1 ? "s" : "", missing);
}

Expected<Plan> Plan::Build(std::shared_ptr<const ir::Graph> graph, const std::map<std::string, Shape>& input_shapes,
                           const PlanOptions& options) {
  Plan p;
  p.graph_ = graph;
  p.input_shapes_ = input_shapes;
  const ir::Graph& g = *graph;
  QS_RETURN_IF_ERROR(check_supported_ops(g));

  auto new_slot = [&p](const std::string& name) {
    p.slot_of_[name] = p.num_slots_;
    return p.num_slots_++;
  };
  for (const auto& [name, t] : g.initializers) {
    p.constants_[name] = t;
    p.infos_[name] = ops::TensorInfo{t.dtype(), t.shape(), nullptr};
  }
  for (const auto& in : g.inputs) {
    auto it = input_shapes.find(in.name);
    if (it == input_shapes.end()) return InvalidInput("no value given for model input '{}'", in.name);
    QS_ASSIGN_OR_RETURN(int64_t n, checked_numel(it->second, dtype_size(in.dtype)));
    (void)n;
    p.infos_[in.name] = ops::TensorInfo{in.dtype, it->second, nullptr};
    p.constants_.erase(in.name);  // a graph input overrides an initializer of the same name
    p.input_slots_.emplace_back(in.name, new_slot(in.name));
  }

  std::unordered_map<std::string, uint64_t> sig_of;  // value -> signature of its computation
  for (const auto& in : g.inputs) sig_of[in.name] = hash_string("input:" + in.name, 1);
  auto value_sig = [&sig_of](const std::string& v) {
    auto it = sig_of.find(v);
    return it != sig_of.end() ? it->second : hash_string("const:" + v, 2);
  };
  for (const auto& node : g.nodes) {
    const ops::OpSchema* schema = ops::find_op(node.domain, node.op_type);
    ops::PrepareContext ctx{node, g.opset, {}, {}, options.kernel, Precision::kFp32, {}};
    const passes::NodeExec* exec = nullptr;
    if (options.exec)
      if (auto it = options.exec->find(node.name); it != options.exec->end()) exec = &it->second;
    const Precision precision = exec ? exec->precision : Precision::kFp32;
    if (precision == Precision::kInt8 && schema->native_int8) {
      ctx.precision = Precision::kInt8;
      ctx.input_scales = exec->input_scales;
    }
    bool all_constant = true;
    for (const auto& in : node.inputs) {
      if (in.empty()) {
        ctx.inputs.emplace_back();
        continue;
      }
      auto info = p.infos_.find(in);
      if (info == p.infos_.end()) return InternalError("{}input '{}' has no planned value", node.where(), in);
      ops::TensorInfo ti = info->second;
      auto c = p.constants_.find(in);
      ti.value = c == p.constants_.end() ? nullptr : &c->second;
      if (!ti.value && !schema->reads_only_shape) all_constant = false;
      ctx.inputs.push_back(ti);
    }
    ctx.outputs.resize(node.outputs.size());
    std::shared_ptr<ops::Kernel> kernel;
    const uint64_t key = options.kernels && !all_constant
                             ? kernel_key(node, precision, exec, ctx.inputs, options.kernel)
                             : 0;
    int64_t rows = 0;
    const int64_t macs = estimated_macs(node, ctx.inputs, &rows);
    const bool single_thread = macs >= 0 && macs < min_parallel_macs(node, precision, rows);
    std::optional<kernels::fast::SingleThreaded> one_thread;  // oneDNN sizes its work split at creation
    if (single_thread) one_thread.emplace();
    KernelCache::Entry cached;
    if (key && options.kernels->Find(key, &cached)) {
      kernel = cached.kernel;
      ctx.outputs = cached.outputs;
    } else {
      // FP16: the kernel sees its float constants rounded to half (the FP16 wrapper keeps them;
      // vector moves keep the addresses), except where they size the output (Resize's scales,
      // Range's bounds): the layer's shapes do not depend on its precision.
      std::vector<Tensor> half_constants;
      if (precision == Precision::kFp16) {
        ctx.options.winograd = false;
        half_constants = round_constants_to_half(ctx.inputs);
        const bool sizes_output = node.op_type == "Resize" || node.op_type == "Upsample" || node.op_type == "Range";
        for (size_t i = 0; i < half_constants.size() && !sizes_output; ++i)
          if (half_constants[i].defined()) ctx.inputs[i].value = &half_constants[i];
      }
      auto prepared = schema->prepare(ctx);
      if (!prepared.ok()) return prepared.status();
      std::unique_ptr<ops::Kernel> k = std::move(prepared).value();
      if (precision == Precision::kInt8 && !schema->native_int8) {
        // A max pool without its indices output: the maximum of its input's elements.
        const bool max_of_input =
            node.domain.empty() && (node.op_type == "GlobalMaxPool" ||
                                    (node.op_type == "MaxPool" && (node.outputs.size() < 2 || node.outputs[1].empty())));
        k = make_fake_quant_kernel(std::move(k), exec->input_scales, max_of_input);
      } else if (precision == Precision::kFp16) {
        k = make_fp16_kernel(std::move(k), std::move(half_constants));
      }
      kernel = std::move(k);
      if (key) {
        std::vector<ops::TensorInfo> outs = ctx.outputs;
        for (auto& o : outs) o.value = nullptr;
        options.kernels->Put(key, KernelCache::Entry{kernel, outs});
      }
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i].empty()) continue;
      const auto& oi = ctx.outputs[i];
      if (!oi.present()) return InternalError("{}output {} was not planned", node.where(), i);
      QS_ASSIGN_OR_RETURN(int64_t n, checked_numel(oi.shape, dtype_size(oi.dtype)));
      (void)n;
      p.infos_[node.outputs[i]] = ops::TensorInfo{oi.dtype, oi.shape, nullptr};
    }
    if (all_constant) {
      // Fold now: the node computes only from constants, so it is no layer.
      std::vector<const Tensor*> ins;
      for (const auto& ti : ctx.inputs) ins.push_back(ti.value);
      std::vector<Tensor> outs;
      for (const auto& oi : ctx.outputs) outs.push_back(oi.present() ? Tensor(oi.dtype, oi.shape) : Tensor());
      // reads_only_shape ops read their input's shape only; give them a shape-only stand-in.
      std::vector<Tensor> shape_only;
      shape_only.reserve(ins.size());
      for (size_t i = 0; i < ins.size(); ++i) {
        if (!ins[i] && ctx.inputs[i].present()) {
          shape_only.push_back(Tensor(ctx.inputs[i].dtype, {0}).Reshaped(ctx.inputs[i].shape));
          ins[i] = &shape_only.back();
        }
      }
      std::vector<Tensor*> out_ptrs;
      for (auto& o : outs) out_ptrs.push_back(&o);
      kernel->run(ins, out_ptrs);
      for (size_t i = 0; i < node.outputs.size(); ++i)
        if (!node.outputs[i].empty()) p.constants_[node.outputs[i]] = outs[i];
      continue;
    }
    Step s;
    s.node = &node;
    s.precision = precision;
    s.single_thread = single_thread && !kernel->picks_threads();
    s.kernel = std::move(kernel);
    for (const auto& o : node.outputs)
      s.output_infos.push_back(o.empty() ? ops::TensorInfo{} : p.infos_.at(o));
    {
      std::vector<uint64_t> in_sigs;
      for (const auto& in : node.inputs) in_sigs.push_back(in.empty() ? 0 : value_sig(in));
      const uint64_t base = node_signature(node, exec, in_sigs);
      for (size_t k = 0; k < node.outputs.size(); ++k) {
        s.output_signatures.push_back(hash_combine(base, k));
        if (!node.outputs[k].empty()) sig_of[node.outputs[k]] = s.output_signatures.back();
      }
    }
    if (precision != Precision::kFp32) p.last_quantized_step_ = static_cast<int>(p.steps_.size());
    for (const auto& in : node.inputs) {
      if (in.empty()) {
        s.inputs.push_back(-1);
        continue;
      }
      auto it = p.slot_of_.find(in);
      s.inputs.push_back(it != p.slot_of_.end() ? it->second : new_slot(in));  // constants get slots on first use
    }
    for (const auto& out : node.outputs) s.outputs.push_back(out.empty() ? -1 : new_slot(out));
    p.steps_.push_back(std::move(s));
  }

  p.slot_init_.resize(static_cast<size_t>(p.num_slots_));
  for (const auto& [name, slot] : p.slot_of_) {
    auto c = p.constants_.find(name);
    if (c != p.constants_.end()) p.slot_init_[static_cast<size_t>(slot)] = c->second;
  }
  std::set<int> keep;
  for (const auto& o : g.outputs) {
    auto it = p.slot_of_.find(o.name);
    int slot = it != p.slot_of_.end() ? it->second : -1;
    if (slot < 0) {  // an output that folded to a constant or is an input
      slot = new_slot(o.name);
      p.slot_init_.resize(static_cast<size_t>(p.num_slots_));
      auto c = p.constants_.find(o.name);
      if (c == p.constants_.end()) return InvalidInput("graph output '{}' is not produced", o.name);
      p.slot_init_[static_cast<size_t>(slot)] = c->second;
    }
    keep.insert(slot);
    p.output_slots_.emplace_back(o.name, slot);
  }
  // Release each non-output, non-constant slot after its last reader.
  std::vector<int> last_use(static_cast<size_t>(p.num_slots_), -1);
  for (size_t i = 0; i < p.steps_.size(); ++i)
    for (int s : p.steps_[i].inputs)
      if (s >= 0) last_use[static_cast<size_t>(s)] = static_cast<int>(i);
  for (int s = 0; s < p.num_slots_; ++s) {
    if (keep.count(s) || p.slot_init_[static_cast<size_t>(s)].defined() || last_use[static_cast<size_t>(s)] < 0) continue;
    p.steps_[static_cast<size_t>(last_use[static_cast<size_t>(s)])].release.push_back(s);
  }
  // Outputs that may take over an input's buffer: the input dies here (released by this step,
  // read by no other of its inputs) and has output 0's dtype and shape.
  for (Step& s : p.steps_) {
    const int k = s.kernel->in_place_input();
    if (k < 0 || static_cast<size_t>(k) >= s.inputs.size() || s.outputs.empty() || s.outputs[0] < 0) continue;
    const int slot = s.inputs[static_cast<size_t>(k)];
    if (slot < 0 || std::count(s.release.begin(), s.release.end(), slot) == 0 ||
        std::count(s.inputs.begin(), s.inputs.end(), slot) != 1)
      continue;
    const ops::TensorInfo& in = p.infos_.at(s.node->inputs[static_cast<size_t>(k)]);
    if (in.dtype == s.output_infos[0].dtype && in.shape == s.output_infos[0].shape) s.in_place = k;
  }
  return p;
}

Expected<std::map<std::string, Tensor>> Plan::Run(const std::map<std::string, Tensor>& inputs,
                                                  const StepObserver& observer) const {
  RunOptions o;
  o.observer = observer;
  return Run(inputs, o);
}

Expected<std::map<std::string, Tensor>> Plan::Run(const std::map<std::string, Tensor>& inputs,
                                                  const RunOptions& options) const {
  const StepObserver& observer = options.observer;
  ActivationCache* cache = options.cache;
  std::vector<Tensor> slots = slot_init_;
  for (const auto& [name, slot] : input_slots_) {
    auto it = inputs.find(name);
    if (it == inputs.end()) return InvalidInput("no value given for model input '{}'", name);
    const ops::TensorInfo& want = infos_.at(name);
    if (it->second.dtype() != want.dtype || it->second.shape() != want.shape)
      return InvalidInput("input '{}' is {} {}, the plan expects {} {}", name, dtype_name(it->second.dtype()),
                          shape_str(it->second.shape()), dtype_name(want.dtype), shape_str(want.shape));
    slots[static_cast<size_t>(slot)] = it->second;
  }
  std::vector<const Tensor*> in_ptrs;
  std::vector<Tensor*> out_ptrs;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& s = steps_[i];
    in_ptrs.clear();
    out_ptrs.clear();
    if (cache) {
      // Take every output from the cache, or compute the step.
      bool all = true;
      for (size_t k = 0; k < s.outputs.size() && all; ++k) {
        if (s.outputs[k] < 0) continue;
        all = cache->Get(hash_combine(s.output_signatures[k], options.input_key), &slots[static_cast<size_t>(s.outputs[k])]);
      }
      if (all) {
        for (int slot : s.outputs) out_ptrs.push_back(slot < 0 ? nullptr : &slots[static_cast<size_t>(slot)]);
        if (observer) observer(i, *s.node, std::span<const Tensor* const>(out_ptrs.data(), out_ptrs.size()));
        for (int slot : s.release) slots[static_cast<size_t>(slot)] = Tensor();
        continue;
      }
    }
    for (int slot : s.inputs) in_ptrs.push_back(slot < 0 ? nullptr : &slots[static_cast<size_t>(slot)]);
    for (size_t k = 0; k < s.outputs.size(); ++k) {
      const int slot = s.outputs[k];
      if (slot < 0) {
        out_ptrs.push_back(nullptr);
        continue;
      }
      const ops::TensorInfo& info = s.output_infos[k];
      if (k == 0 && s.in_place >= 0) {
        const Tensor& taken = slots[static_cast<size_t>(s.inputs[static_cast<size_t>(s.in_place)])];
        if (taken.sole_owner()) {
          slots[static_cast<size_t>(slot)] = taken;  // the input's slot is released after the step
          slots[static_cast<size_t>(slot)].set_known_finite(false);
          out_ptrs.push_back(&slots[static_cast<size_t>(slot)]);
          continue;
        }
      }
      slots[static_cast<size_t>(slot)] = s.kernel->makes_outputs()        ? Tensor()
                                         : s.kernel->writes_all_outputs() ? Tensor::Uninitialized(info.dtype, info.shape)
                                                                          : Tensor(info.dtype, info.shape);
      out_ptrs.push_back(&slots[static_cast<size_t>(slot)]);
    }
    {
      std::optional<kernels::fast::SingleThreaded> one_thread;
      if (s.single_thread) one_thread.emplace();
      s.kernel->run(in_ptrs, out_ptrs);
    }
    if (cache && (options.cache_everything || static_cast<int>(i) <= last_quantized_step_))
      for (size_t k = 0; k < s.outputs.size(); ++k)
        if (out_ptrs[k]) cache->Put(hash_combine(s.output_signatures[k], options.input_key), *out_ptrs[k]);
    if (observer) observer(i, *s.node, std::span<const Tensor* const>(out_ptrs.data(), out_ptrs.size()));
    for (int slot : s.release) slots[static_cast<size_t>(slot)] = Tensor();
  }
  std::map<std::string, Tensor> out;
  for (const auto& [name, slot] : output_slots_) out[name] = slots[static_cast<size_t>(slot)];
  return out;
}

Expected<Plan> build_view_plan(std::shared_ptr<const ir::Graph> graph, const std::map<std::string, Shape>& shapes,
                               PlanOptions options) {
  options.kernel.use_fast = false;
  options.kernels = nullptr;
  options.optimize = false;
  return Plan::Build(std::move(graph), shapes, options);
}

passes::GraphView graph_view(const Plan& plan) {
  passes::GraphView v;
  v.graph = &plan.graph();
  for (const auto& step : plan.steps()) v.layers.push_back(step.node);
  v.constants = &plan.constants();
  v.infos = &plan.value_infos();
  return v;
}

namespace {

// The precision lowering of config (all FP32 when null) against view, as build_mixed_plan uses it.
Expected<std::unique_ptr<passes::Lowered>> lower_for(const passes::GraphView& view, const PrecisionConfig* config,
                                                     const PlanOptions& options) {
  passes::LowerOptions lower_options;
  lower_options.folds = options.folds;
  lower_options.fuse_fp32 = options.optimize;
  const passes::PrecisionPlan all_fp32;
  const std::map<std::string, float> no_scales;
  auto lowered = passes::lower_precision(view, config ? config->plan : all_fp32, config ? config->scales : no_scales,
                                         lower_options);
  if (!lowered.ok())
    return lowered.status().WithPrefix(!config || config->plan_name.empty() ? "precision plan: "
                                                                            : "plan '" + config->plan_name + "': ");
  return std::make_unique<passes::Lowered>(std::move(lowered).value());
}

}  // namespace

Expected<std::unique_ptr<passes::Lowered>> lower_mixed(const Plan& fp32, const PrecisionConfig& config,
                                                       const PlanOptions& options) {
  return lower_for(graph_view(fp32), &config, options);
}

Expected<MixedPlan> build_mixed_plan(std::shared_ptr<const ir::Graph> graph, const std::map<std::string, Shape>& shapes,
                                     const PrecisionConfig* config, const PlanOptions& options, const Plan* fp32,
                                     std::unique_ptr<passes::Lowered> lowered) {
  MixedPlan m;
  std::unique_ptr<Plan> own_fp32;
  PlanOptions model_options = options;
  model_options.optimize = false;
  // The model's own plan runs when nothing is lowered or optimized; else only its view is read.
  const bool model_runs = !config && !options.optimize;
  if (!fp32 || model_runs) {
    QS_ASSIGN_OR_RETURN(Plan p, model_runs ? Plan::Build(graph, shapes, model_options)
                                           : build_view_plan(graph, shapes, model_options));
    own_fp32 = std::make_unique<Plan>(std::move(p));
    fp32 = own_fp32.get();
    lowered.reset();  // made against another plan
  }
  if (model_runs) {
    m.plan = std::move(own_fp32);
    return m;
  }
  const passes::GraphView view = graph_view(*fp32);
  std::unique_ptr<passes::Lowered> owned = std::move(lowered);
  if (!owned) {
    QS_ASSIGN_OR_RETURN(owned, lower_for(view, config, options));
  }
  // The lowering is this plan's own, so the chain, layout and hand-off passes rewrite its graph in place.
  if (options.optimize && options.kernel.use_fast) passes::fuse_elementwise_chains(*owned->graph, view, owned->exec);
  if (options.optimize && options.kernel.use_fast && kernels::fast::channels_last_preferred())
    QS_RETURN_IF_ERROR(passes::to_channels_last(*owned->graph, view, &owned->exec));
  if (options.optimize && config) passes::hand_off_int8(*owned->graph, owned->exec);
  std::shared_ptr<const ir::Graph> run_graph = owned->graph;
  PlanOptions lowered_options = options;
  lowered_options.exec = &owned->exec;
  QS_ASSIGN_OR_RETURN(Plan p, Plan::Build(run_graph, shapes, lowered_options));
  m.plan = std::make_unique<Plan>(std::move(p));
  // The plan refers to the lowering's exec table only while building; the lowering is kept
  // for callers that report it (none without a precision config).
  if (config) m.lowered = std::move(owned);
  return m;
}

Expected<const MixedPlan*> Engine::PlanFor(const std::map<std::string, Tensor>& inputs) {
  std::map<std::string, Shape> shapes;
  for (const auto& in : graph_->inputs) {
    auto it = inputs.find(in.name);
    if (it == inputs.end()) return InvalidInput("no value given for model input '{}'", in.name);
    const Tensor& t = it->second;
    if (t.dtype() != in.dtype)
      return InvalidInput("input '{}' is {}, the model expects {}", in.name, dtype_name(t.dtype()), dtype_name(in.dtype));
    if (in.has_shape && !in.fits(t.shape()))
      return InvalidInput("input '{}' has shape {}, the model expects {}", in.name, shape_str(t.shape()), in.dims_str());
    shapes[in.name] = t.shape();
  }
  for (const auto& [name, t] : inputs)
    if (!graph_->find_input(name)) return InvalidInput("the model has no input named '{}'", name);
  auto it = plans_.find(shapes);
  if (it == plans_.end()) {
    QS_ASSIGN_OR_RETURN(MixedPlan p, build_mixed_plan(graph_, shapes, precision_ ? &*precision_ : nullptr, options_));
    it = plans_.emplace(shapes, std::make_unique<MixedPlan>(std::move(p))).first;
  }
  return it->second.get();
}

Expected<std::map<std::string, Tensor>> Engine::Run(const std::map<std::string, Tensor>& inputs,
                                                    const StepObserver& observer) {
  QS_ASSIGN_OR_RETURN(const MixedPlan* plan, PlanFor(inputs));
  return plan->plan->Run(inputs, observer);
}

}  // namespace qs::runtime
