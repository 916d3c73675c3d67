// qscope.EltwiseChain: a chain of element-wise ops run block by block (passes/eltwise_chain.h).
//
// Node layout (made by the pass):
//   inputs  [X, I1, I2, ...]: X the chain's first variable input; Ik scalar constants or other
//                             variable inputs of X's shape;
//   members (strings)       : the members' op types, in order;
//   arity   (ints)          : per member, its number of inputs;
//   args    (ints)          : per member input, -1 for the value of the member before, -2 for an
//                             absent input, k >= 0 for the chain's input k;
//   scales  (floats, optional): per member input, the scale an INT8 member reads it with
//                             (quantize-dequantize, as runtime/precision_kernels.h does over the
//                             whole tensor), 0 to read it as it is;
//   "m<i>:<name>"           : member i's attribute <name>;
//   chain   (string)        : the members' names (what the chain computes, for the plan's caches).
// Each member runs the kernel its op prepares on its own, on blocks of X, so the chain computes
// what the members would (the same kernels on the same values), without writing the values
// between them to memory.
#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <iterator>
#include <utility>
#include <string>

#include "kernels/fast/eltwise_fast.h"  // parallel_chunks
#include "kernels/fast/quantize_fast.h"
#include "ops/families.h"

namespace qs::ops {

namespace {

// Elements per block: a block of X and one of Y (16 KiB each) stay in the L1 cache while every
// member passes over them. A multiple of every vector width, so kernels split vector and scalar
// work at the same positions as over the whole tensor (except in the last block).
constexpr int64_t kBlock = 4096;
// Chains do several ops per element; below this many elements per thread one thread does it.
constexpr int64_t kMinPerThread = 64 * 1024;

constexpr std::array<std::string_view, 33> kChainable = {
    "Add", "Sub", "Mul", "Div", "Max", "Min", "Pow",
    "Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Elu", "Selu", "Celu",
    "Softplus", "Softsign", "Abs", "Neg", "Exp", "Log", "Sqrt", "Reciprocal", "Erf", "Gelu", "Mish",
    "Floor", "Ceil", "Round", "Sin", "Cos"};

struct Member {
  std::shared_ptr<Kernel> full;  // for kBlock elements
  std::shared_ptr<Kernel> last;  // for the last block, when it is shorter
  std::vector<int> args;
  std::vector<float> scales;        // per arg: read through quantize-dequantize with it, or 0
  std::vector<Tensor> q_scalars;    // per arg: a constant scalar so read (else undefined)
};

struct Chain {
  std::vector<Member> members;
  std::vector<Tensor> scalars;  // per chain input: its constant as a scalar (undefined for variables)
  int64_t n = 0;
};

}  // namespace

bool chainable_elementwise(std::string_view op_type) {
  return std::find(kChainable.begin(), kChainable.end(), op_type) != kChainable.end();
}

Expected<std::unique_ptr<Kernel>> prepare_eltwise_chain(PrepareContext& ctx) {
  if (!ctx.has_input(0)) return ctx.error("input 0 (X) is missing");
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  const ir::Node& node = ctx.node;
  auto members = node.attrs.find("members");
  if (members == node.attrs.end() || members->second.strings.empty()) return ctx.error("no 'members'");
  QS_ASSIGN_OR_RETURN(std::vector<int64_t> arity, node.attr_ints("arity"));
  QS_ASSIGN_OR_RETURN(std::vector<int64_t> args, node.attr_ints("args"));
  const std::vector<std::string>& ops = members->second.strings;
  if (arity.size() != ops.size()) return ctx.error("'arity' has {} entries for {} members", arity.size(), ops.size());
  int64_t total = 0;
  for (int64_t a : arity) {
    if (a < 1 || a > 8) return ctx.error("a member has {} inputs", a);
    total += a;
  }
  if (total != static_cast<int64_t>(args.size())) return ctx.error("'args' has {} entries, 'arity' sums to {}", args.size(), total);
  std::vector<float> scales(args.size(), 0.f);
  if (node.attrs.count("scales")) {
    QS_ASSIGN_OR_RETURN(scales, node.attr_floats("scales"));
    if (scales.size() != args.size()) return ctx.error("'scales' has {} entries for {} inputs", scales.size(), args.size());
    for (float q : scales)
      if (!(q >= 0.f) || !std::isfinite(q)) return ctx.error("'scales' holds {}, not a finite scale >= 0", q);
  }

  auto chain = std::make_shared<Chain>();
  chain->n = numel(ctx.in(0).shape);
  chain->scalars.resize(ctx.inputs.size());
  for (size_t k = 1; k < ctx.inputs.size(); ++k) {
    if (!ctx.has_input(k)) return ctx.error("input {} is missing", k);
    const Tensor* c = ctx.in(k).value;
    if (!c) {
      if (ctx.in(k).dtype != DType::kFloat32 || ctx.in(k).shape != ctx.in(0).shape)
        return ctx.error("input {} is neither a scalar constant nor a float value of X's shape", k);
      continue;
    }
    if (c->numel() != 1) return ctx.error("input {} is not a scalar constant", k);
    chain->scalars[k] = c->Reshaped({});
  }
  const int64_t full = std::min(chain->n, kBlock);
  const int64_t last = chain->n % kBlock;
  size_t next_arg = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (!chainable_elementwise(ops[i])) return ctx.error("member {} ({}) is not a chainable element-wise op", i, ops[i]);
    const OpSchema* schema = find_op("", ops[i]);
    if (!schema) return ctx.error("member {}: unknown op {}", i, ops[i]);
    ir::Node m;
    m.name = node.name + "/" + std::to_string(i);
    m.op_type = ops[i];
    m.outputs = {"y"};
    const std::string prefix = "m" + std::to_string(i) + ":";
    for (const auto& [name, attr] : node.attrs)
      if (name.starts_with(prefix)) m.attrs[name.substr(prefix.size())] = attr;
    Member mem;
    for (int64_t a = 0; a < arity[i]; ++a) {
      const float scale = scales[next_arg];
      const int64_t code = args[next_arg++];
      if (code < -2 || code >= static_cast<int64_t>(ctx.inputs.size()))
        return ctx.error("member {} reads input {} of {}", i, code, ctx.inputs.size());
      if (code == -1 && i == 0) return ctx.error("the first member reads a value before it");
      if (code == -2 && scale > 0.f) return ctx.error("member {} reads an absent input in INT8", i);
      for (size_t b = 0; b < mem.args.size(); ++b)
        if (code == -1 && mem.args[b] == -1 && mem.scales[b] != scale)
          return ctx.error("member {} reads the value before it with two scales", i);
      mem.args.push_back(static_cast<int>(code));
      mem.scales.push_back(scale);
      mem.q_scalars.emplace_back();
      if (code > 0 && scale > 0.f && chain->scalars[static_cast<size_t>(code)].defined()) {
        const Tensor& c = chain->scalars[static_cast<size_t>(code)];
        if (c.dtype() != DType::kFloat32) return ctx.error("member {} reads non-float input {} in INT8", i, code);
        mem.q_scalars.back() = Tensor(DType::kFloat32, {});
        kernels::fast::fake_quantize_f32(c.data<float>(), mem.q_scalars.back().data<float>(), 1, scale);
      }
      m.inputs.push_back(code == -2 ? "" : code == -1 ? "prev" : node.inputs[static_cast<size_t>(code)]);
    }
    // Prepares the member's own kernel for blocks of `len` elements.
    auto prepare = [&](int64_t len) -> Expected<std::shared_ptr<Kernel>> {
      PrepareContext mc{m, ctx.opset, {}, {}, ctx.options, Precision::kFp32, {}};
      mc.outputs.resize(1);
      for (int code : mem.args) {
        const bool variable = code == -1 || (code >= 0 && !chain->scalars[static_cast<size_t>(code)].defined());
        if (code == -2) {
          mc.inputs.emplace_back();
        } else if (variable) {
          mc.inputs.push_back(TensorInfo{DType::kFloat32, {len}, nullptr});
        } else {
          const size_t a = mc.inputs.size();
          const Tensor* c = mem.q_scalars[a].defined() ? &mem.q_scalars[a] : &chain->scalars[static_cast<size_t>(code)];
          mc.inputs.push_back(TensorInfo{c->dtype(), {}, c});
        }
      }
      auto k = schema->prepare(mc);
      if (!k.ok()) return k.status().WithPrefix(fmt::format("{}member {} ({}): ", node.where(), i, ops[i]));
      if (mc.outputs[0].dtype != DType::kFloat32 || mc.outputs[0].shape != Shape{len} || (*k)->makes_outputs())
        return ctx.error("member {} ({}) does not map {} floats to {} floats", i, ops[i], len, len);
      return std::shared_ptr<Kernel>(std::move(k).value());
    };
    QS_ASSIGN_OR_RETURN(mem.full, prepare(full));
    if (last != 0 && chain->n > kBlock) {
      QS_ASSIGN_OR_RETURN(mem.last, prepare(last));
    }
    chain->members.push_back(std::move(mem));
  }
  ctx.set_output(0, DType::kFloat32, ctx.in(0).shape);
  return make_kernel([chain](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    Tensor& y = *out[0];
    const int64_t n = chain->n;
    const int64_t blocks = (n + kBlock - 1) / kBlock;
    kernels::fast::parallel_chunks(blocks, std::max<int64_t>(1, kMinPerThread / kBlock), [&](int64_t lo, int64_t hi) {
      std::vector<const Tensor*> ins;
      std::vector<Tensor> parts(in.size());  // this block of each variable input
      // A variable input's block read through quantize-dequantize, made once a block for each
      // input and scale that reads it (a buffer of kBlock values, and the view of this block).
      struct Quantized {
        int input = -1;  // -1: not made for this block
        float scale = 0.f;
        Tensor buffer, view;
      };
      std::deque<Quantized> quantized;
      for (int64_t b = lo; b < hi; ++b) {
        const int64_t off = b * kBlock, len = std::min(kBlock, n - off);
        for (size_t k = 0; k < in.size(); ++k)
          if (k == 0 || !chain->scalars[k].defined()) parts[k] = in[k]->Part(off, {len});
        Tensor yb = y.Part(off, {len});
        Tensor* outs[1] = {&yb};
        for (Quantized& q : quantized) q.input = -1;
        auto quantized_read = [&](int input, float scale) -> const Tensor* {
          for (Quantized& q : quantized)
            if (q.input == input && q.scale == scale) return &q.view;
          auto q = std::find_if(quantized.begin(), quantized.end(), [](const Quantized& e) { return e.input < 0; });
          if (q == quantized.end()) {  // a deque: the views handed out before stay where they are
            quantized.push_back(Quantized{-1, 0.f, Tensor(DType::kFloat32, {kBlock}), {}});
            q = std::prev(quantized.end());
          }
          q->input = input;
          q->scale = scale;
          q->view = q->buffer.Part(0, {len});
          const Tensor& from = parts[static_cast<size_t>(input)];
          kernels::fast::fake_quantize_f32(from.data<float>(), q->view.data<float>(), len, scale);
          return &q->view;
        };
        for (const Member& mem : chain->members) {
          ins.clear();
          bool prev_quantized = false;
          for (size_t a = 0; a < mem.args.size(); ++a) {
            const int code = mem.args[a];
            const float scale = mem.scales[a];
            if (code == -2) {
              ins.push_back(nullptr);
            } else if (code == -1) {
              // The value before has this member as its only reader: quantized where it lies.
              if (scale > 0.f && !prev_quantized) {
                kernels::fast::fake_quantize_f32(yb.data<float>(), yb.data<float>(), len, scale);
                prev_quantized = true;
              }
              ins.push_back(&yb);
            } else if (!chain->scalars[static_cast<size_t>(code)].defined()) {
              ins.push_back(scale > 0.f ? quantized_read(code, scale) : &parts[static_cast<size_t>(code)]);
            } else {
              ins.push_back(mem.q_scalars[a].defined() ? &mem.q_scalars[a] : &chain->scalars[static_cast<size_t>(code)]);
            }
          }
          (len == kBlock || !mem.last ? mem.full : mem.last)->run(ins, outs);
        }
      }
    });
  }, ctx.options.use_fast ? "fast" : "reference", true);
}

}  // namespace qs::ops
