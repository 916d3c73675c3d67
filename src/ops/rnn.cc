// Recurrent ops: RNN, GRU, LSTM (float32, reference kernels): every direction, both layouts,
// the activation lists with their alphas and betas, clip, sequence lengths, initial states and
// LSTM's peepholes.
#include <memory>
#include <string>
#include <vector>

#include "kernels/reference/rnn.h"
#include "ops/families.h"

namespace qs::ops {
namespace {

namespace ref = kernels::ref;
using ref::RnnActivation;
using ref::RnnKind;

struct ActivationInfo {
  const char* name;
  RnnActivation::Fn fn;
  int params;  // how many of alpha, beta it takes
  float alpha, beta;  // the defaults of the ONNX op of that name
};

constexpr ActivationInfo kActivations[] = {
    {"Relu", RnnActivation::Fn::kRelu, 0, 0.f, 0.f},
    {"Tanh", RnnActivation::Fn::kTanh, 0, 0.f, 0.f},
    {"Sigmoid", RnnActivation::Fn::kSigmoid, 0, 0.f, 0.f},
    {"Affine", RnnActivation::Fn::kAffine, 2, 1.f, 0.f},
    {"LeakyRelu", RnnActivation::Fn::kLeakyRelu, 1, 0.01f, 0.f},
    {"ThresholdedRelu", RnnActivation::Fn::kThresholdedRelu, 1, 1.f, 0.f},
    {"ScaledTanh", RnnActivation::Fn::kScaledTanh, 2, 1.f, 1.f},
    {"HardSigmoid", RnnActivation::Fn::kHardSigmoid, 2, 0.2f, 0.5f},
    {"Elu", RnnActivation::Fn::kElu, 1, 1.f, 0.f},
    {"Softsign", RnnActivation::Fn::kSoftsign, 0, 0.f, 0.f},
    {"Softplus", RnnActivation::Fn::kSoftplus, 0, 0.f, 0.f},
};

// The activations per direction (ONNX's defaults when the attribute is absent); alphas and betas
// are taken in order by the functions that have them.
Expected<std::vector<RnnActivation>> read_activations(const PrepareContext& ctx, RnnKind kind, int64_t directions) {
  const int64_t per_dir = ref::rnn_activations(kind);
  std::vector<std::string> defaults = kind == RnnKind::kRnn   ? std::vector<std::string>{"Tanh"}
                                      : kind == RnnKind::kGru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                                              : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
  std::vector<std::string> names;
  for (int64_t d = 0; d < directions; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
  QS_ASSIGN_OR_RETURN(names, ctx.node.attr_strings("activations", names));
  if (static_cast<int64_t>(names.size()) != per_dir * directions)
    return ctx.error("'activations' has {} entries, expected {} ({} per direction, {} direction(s))", names.size(),
                     per_dir * directions, per_dir, directions);
  QS_ASSIGN_OR_RETURN(std::vector<float> alphas, ctx.node.attr_floats("activation_alpha", std::vector<float>{}));
  QS_ASSIGN_OR_RETURN(std::vector<float> betas, ctx.node.attr_floats("activation_beta", std::vector<float>{}));
  size_t ai = 0, bi = 0;
  std::vector<RnnActivation> acts;
  for (const std::string& name : names) {
    const ActivationInfo* info = nullptr;
    for (const ActivationInfo& a : kActivations)
      if (name == a.name) info = &a;
    if (!info)
      return ctx.error("activation '{}' is not one of Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, "
                       "ScaledTanh, HardSigmoid, Elu, Softsign, Softplus",
                       name);
    RnnActivation a{info->fn, info->alpha, info->beta};
    if (info->params >= 1 && ai < alphas.size()) a.alpha = alphas[ai++];
    if (info->params >= 2 && bi < betas.size()) a.beta = betas[bi++];
    acts.push_back(a);
  }
  return acts;
}

Status expect_shape(const PrepareContext& ctx, size_t i, const char* what, const Shape& want) {
  if (ctx.in(i).shape != want)
    return ctx.error("input {} ({}) has shape {}, expected {}", i, what, shape_str(ctx.in(i).shape), shape_str(want));
  return Status::Ok();
}

bool has_output(const PrepareContext& ctx, size_t i) { return i < ctx.node.outputs.size() && !ctx.node.outputs[i].empty(); }

Expected<std::unique_ptr<Kernel>> prepare_recurrent(PrepareContext& ctx, RnnKind kind) {
  const bool lstm = kind == RnnKind::kLstm;
  QS_RETURN_IF_ERROR(ctx.expect_inputs(3, lstm ? 8 : 6));
  for (size_t i : {0, 1, 2}) QS_RETURN_IF_ERROR(ctx.expect_dtype(i, {DType::kFloat32}));
  ref::RnnParams p;
  p.kind = kind;
  QS_ASSIGN_OR_RETURN(std::string direction, ctx.node.attr_string("direction", "forward"));
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    return ctx.error("'direction' is '{}', expected forward, reverse or bidirectional", direction);
  p.directions = direction == "bidirectional" ? 2 : 1;
  p.reverse = direction == "reverse";
  QS_ASSIGN_OR_RETURN(int64_t layout, ctx.node.attr_int("layout", 0));
  if (layout != 0 && layout != 1) return ctx.error("'layout' is {}, expected 0 or 1", layout);
  p.batch_first = layout == 1;

  const Shape& xs = ctx.in(0).shape;
  const Shape& ws = ctx.in(1).shape;
  if (xs.size() != 3)
    return ctx.error("input 0 (X) has shape {}, expected rank 3 ({})", shape_str(xs),
                     p.batch_first ? "batch, seq, input" : "seq, batch, input");
  p.seq = p.batch_first ? xs[1] : xs[0];
  p.batch = p.batch_first ? xs[0] : xs[1];
  p.input = xs[2];
  const int64_t G = ref::rnn_gates(kind), D = p.directions;
  if (ws.size() != 3 || ws[0] != D || ws[1] % G != 0 || ws[1] == 0 || ws[2] != p.input)
    return ctx.error("input 1 (W) has shape {}, expected [{}, {} * hidden_size, {}]", shape_str(ws), D, G, p.input);
  p.hidden = ws[1] / G;
  QS_ASSIGN_OR_RETURN(int64_t hidden_attr, ctx.node.attr_int("hidden_size", p.hidden));
  if (hidden_attr != p.hidden)
    return ctx.error("'hidden_size' is {}, but W has shape {} ({} gates of {})", hidden_attr, shape_str(ws), G, p.hidden);
  const int64_t H = p.hidden;
  QS_RETURN_IF_ERROR(expect_shape(ctx, 2, "R", Shape{D, G * H, H}));
  if (ctx.has_input(3)) {
    QS_RETURN_IF_ERROR(ctx.expect_dtype(3, {DType::kFloat32}));
    QS_RETURN_IF_ERROR(expect_shape(ctx, 3, "B", Shape{D, 2 * G * H}));
  }
  if (ctx.has_input(4)) {
    QS_RETURN_IF_ERROR(ctx.expect_dtype(4, {DType::kInt32}));
    QS_RETURN_IF_ERROR(expect_shape(ctx, 4, "sequence_lens", Shape{p.batch}));
  }
  const Shape state = p.batch_first ? Shape{p.batch, D, H} : Shape{D, p.batch, H};
  for (size_t i : {size_t{5}, size_t{6}}) {
    if (i == 6 && !lstm) break;
    if (!ctx.has_input(i)) continue;
    QS_RETURN_IF_ERROR(ctx.expect_dtype(i, {DType::kFloat32}));
    QS_RETURN_IF_ERROR(expect_shape(ctx, i, i == 5 ? "initial_h" : "initial_c", state));
  }
  if (lstm && ctx.has_input(7)) {
    QS_RETURN_IF_ERROR(ctx.expect_dtype(7, {DType::kFloat32}));
    QS_RETURN_IF_ERROR(expect_shape(ctx, 7, "P", Shape{D, 3 * H}));
  }
  // The reference kernel multiplies W and R into every step: refuse what would not finish.
  const double products = double(p.seq) * double(p.batch) * double(D) * double(G * H) * double(p.input + H);
  if (products > 1e11)
    return ctx.unsupported("the recurrence takes {:.3g} products; the reference kernel stops at 1e11", products);
  QS_ASSIGN_OR_RETURN(p.acts, read_activations(ctx, kind, D));
  if (ctx.node.has_attr("clip")) {
    QS_ASSIGN_OR_RETURN(p.clip, ctx.node.attr_float("clip", 0.f));
    if (!(p.clip > 0.f)) return ctx.error("'clip' is {}, expected a positive threshold", p.clip);
  }
  if (kind == RnnKind::kGru) {
    QS_ASSIGN_OR_RETURN(int64_t lbr, ctx.node.attr_int("linear_before_reset", 0));
    p.linear_before_reset = lbr != 0;
  }
  if (lstm) {
    QS_ASSIGN_OR_RETURN(int64_t coupled, ctx.node.attr_int("input_forget", 0));
    p.input_forget = coupled != 0;
  }

  if (has_output(ctx, 0))
    ctx.set_output(0, DType::kFloat32, p.batch_first ? Shape{p.batch, p.seq, D, H} : Shape{p.seq, D, p.batch, H});
  if (has_output(ctx, 1)) ctx.set_output(1, DType::kFloat32, state);
  if (lstm && has_output(ctx, 2)) ctx.set_output(2, DType::kFloat32, state);
  return make_kernel([p, lstm](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    auto opt_in = [&](size_t i) { return i < in.size() && in[i] ? in[i] : nullptr; };
    auto opt_out = [&](size_t i) {
      return i < out.size() && out[i] && out[i]->defined() ? out[i]->data<float>() : nullptr;
    };
    const Tensor* b = opt_in(3);
    const Tensor* lens = opt_in(4);
    const Tensor* h0 = opt_in(5);
    const Tensor* c0 = lstm ? opt_in(6) : nullptr;
    const Tensor* peep = lstm ? opt_in(7) : nullptr;
    ref::rnn_f32(p, in[0]->data<float>(), in[1]->data<float>(), in[2]->data<float>(), b ? b->data<float>() : nullptr,
                 lens ? lens->data<int32_t>() : nullptr, h0 ? h0->data<float>() : nullptr,
                 c0 ? c0->data<float>() : nullptr, peep ? peep->data<float>() : nullptr, opt_out(0), opt_out(1),
                 lstm ? opt_out(2) : nullptr);
  }, "reference", true);
}

Expected<std::unique_ptr<Kernel>> prepare_rnn(PrepareContext& ctx) { return prepare_recurrent(ctx, RnnKind::kRnn); }
Expected<std::unique_ptr<Kernel>> prepare_gru(PrepareContext& ctx) { return prepare_recurrent(ctx, RnnKind::kGru); }
Expected<std::unique_ptr<Kernel>> prepare_lstm(PrepareContext& ctx) { return prepare_recurrent(ctx, RnnKind::kLstm); }

const OpSchema kOps[] = {
    {"GRU", prepare_gru},
    {"LSTM", prepare_lstm},
    {"RNN", prepare_rnn},
};

}  // namespace

std::span<const OpSchema> rnn_ops() { return kOps; }

}  // namespace qs::ops
