// Activation ops: Relu LeakyRelu PRelu Clip Sigmoid HardSigmoid HardSwish Tanh Elu Selu
// Softplus Softsign Gelu Mish Celu ThresholdedRelu Shrink.
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/fast/eltwise_fast.h"
#include "kernels/reference/activation.h"
#include "ops/families.h"

namespace qs::ops {
namespace {

namespace ref = kernels::ref;
using In = std::span<const Tensor* const>;
using Out = std::span<Tensor* const>;
using A = ref::Activation;

std::unique_ptr<Kernel> activation_kernel(PrepareContext& ctx, const ref::ActivationParams& p) {
  const DType dt = ctx.in(0).dtype;
  ctx.set_output(0, dt, ctx.in(0).shape);
  if (ctx.options.use_fast && dt == DType::kFloat32 && kernels::fast::activation_supported(p.kind))
    return make_kernel([p](In in, Out o) { kernels::fast::activation_f32(p, in[0]->data<float>(), o[0]->data<float>(), in[0]->numel()); }, "fast", true);
  if (dt == DType::kFloat64)
    return make_kernel([p](In in, Out o) { ref::activation<double>(p, in[0]->data<double>(), o[0]->data<double>(), in[0]->numel()); },
                       "reference", true);
  return make_kernel([p](In in, Out o) { ref::activation<float>(p, in[0]->data<float>(), o[0]->data<float>(), in[0]->numel()); },
                     "reference", true);
}

Status expect_float_input(const PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  return ctx.expect_dtype(0, {DType::kFloat32, DType::kFloat64});
}

Status expect_finite(const PrepareContext& ctx, const char* name, double v) {
  if (!std::isfinite(v)) return ctx.error("attribute '{}' must be finite, got {}", name, v);
  return Status::Ok();
}

Expected<std::unique_ptr<Kernel>> prepare_relu(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(expect_float_input(ctx));
  if (ctx.in(0).dtype == DType::kFloat32) {
    ctx.set_output(0, DType::kFloat32, ctx.in(0).shape);
    if (ctx.options.use_fast)
      return make_kernel([](In in, Out o) { kernels::fast::relu_f32(in[0]->data<float>(), o[0]->data<float>(), in[0]->numel()); }, "fast", true);
    return make_kernel([](In in, Out o) { ref::relu_f32(in[0]->data<float>(), o[0]->data<float>(), in[0]->numel()); },
                       "reference", true);
  }
  return activation_kernel(ctx, {A::kRelu});
}

// Ops without attributes.
template <A kKind>
Expected<std::unique_ptr<Kernel>> prepare_plain(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(expect_float_input(ctx));
  return activation_kernel(ctx, {kKind});
}

// Ops with a single 'alpha' attribute and its ONNX default.
template <A kKind>
Expected<std::unique_ptr<Kernel>> prepare_alpha(PrepareContext& ctx, float dflt) {
  QS_RETURN_IF_ERROR(expect_float_input(ctx));
  QS_ASSIGN_OR_RETURN(float alpha, ctx.node.attr_float("alpha", dflt));
  QS_RETURN_IF_ERROR(expect_finite(ctx, "alpha", alpha));
  return activation_kernel(ctx, {kKind, alpha});
}

Expected<std::unique_ptr<Kernel>> prepare_leaky_relu(PrepareContext& ctx) { return prepare_alpha<A::kLeakyRelu>(ctx, 0.01f); }
Expected<std::unique_ptr<Kernel>> prepare_elu(PrepareContext& ctx) { return prepare_alpha<A::kElu>(ctx, 1.0f); }
Expected<std::unique_ptr<Kernel>> prepare_thresholded_relu(PrepareContext& ctx) {
  return prepare_alpha<A::kThresholdedRelu>(ctx, 1.0f);
}

Expected<std::unique_ptr<Kernel>> prepare_shrink(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(expect_float_input(ctx));
  QS_ASSIGN_OR_RETURN(float lambd, ctx.node.attr_float("lambd", 0.5f));
  QS_ASSIGN_OR_RETURN(float bias, ctx.node.attr_float("bias", 0.f));
  QS_RETURN_IF_ERROR(expect_finite(ctx, "lambd", lambd));
  QS_RETURN_IF_ERROR(expect_finite(ctx, "bias", bias));
  return activation_kernel(ctx, {A::kShrink, lambd, bias});
}

Expected<std::unique_ptr<Kernel>> prepare_celu(PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(float alpha, ctx.node.attr_float("alpha", 1.0f));
  if (alpha == 0.f) return ctx.error("attribute 'alpha' must not be 0 (Celu divides by it)");
  return prepare_alpha<A::kCelu>(ctx, 1.0f);
}

Expected<std::unique_ptr<Kernel>> prepare_hard_sigmoid(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(expect_float_input(ctx));
  QS_ASSIGN_OR_RETURN(float alpha, ctx.node.attr_float("alpha", 0.2f));
  QS_ASSIGN_OR_RETURN(float beta, ctx.node.attr_float("beta", 0.5f));
  QS_RETURN_IF_ERROR(expect_finite(ctx, "alpha", alpha));
  QS_RETURN_IF_ERROR(expect_finite(ctx, "beta", beta));
  return activation_kernel(ctx, {A::kHardSigmoid, alpha, beta});
}

Expected<std::unique_ptr<Kernel>> prepare_selu(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(expect_float_input(ctx));
  QS_ASSIGN_OR_RETURN(float alpha, ctx.node.attr_float("alpha", 1.67326319217681884765625f));
  QS_ASSIGN_OR_RETURN(float gamma, ctx.node.attr_float("gamma", 1.05070102214813232421875f));
  QS_RETURN_IF_ERROR(expect_finite(ctx, "alpha", alpha));
  QS_RETURN_IF_ERROR(expect_finite(ctx, "gamma", gamma));
  return activation_kernel(ctx, {A::kSelu, alpha, 0.0, gamma});
}

Expected<std::unique_ptr<Kernel>> prepare_gelu(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(expect_float_input(ctx));
  QS_ASSIGN_OR_RETURN(std::string approximate, ctx.node.attr_string("approximate", "none"));
  if (approximate == "none") return activation_kernel(ctx, {A::kGelu});
  if (approximate == "tanh") return activation_kernel(ctx, {A::kGeluTanh});
  return ctx.error("attribute 'approximate' must be 'none' or 'tanh', got '{}'", approximate);
}

// y = x < 0 ? slope * x : x; slope broadcasts onto x (unidirectionally), so [C,1,1] gives a
// per-channel slope for an [N,C,H,W] input.
Expected<std::unique_ptr<Kernel>> prepare_prelu(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32, DType::kFloat64}));
  const DType dt = ctx.in(0).dtype;
  if (ctx.in(1).dtype != dt)
    return ctx.error("slope has element type {} but the input has {}; they must match", dtype_name(ctx.in(1).dtype),
                     dtype_name(dt));
  const Shape& x = ctx.in(0).shape;
  const Shape& slope = ctx.in(1).shape;
  QS_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(ctx, x, slope));
  if (out != x)
    return ctx.error("slope of shape {} does not broadcast onto the input's shape {}", shape_str(slope), shape_str(x));
  ctx.set_output(0, dt, x);
  const ref::BroadcastParams p = ref::make_broadcast(x, {x, slope});
  if (dt == DType::kFloat64)
    return make_kernel([p](In in, Out o) { ref::prelu<double>(p, in[0]->data<double>(), in[1]->data<double>(), o[0]->data<double>()); });
  return make_kernel([p](In in, Out o) { ref::prelu<float>(p, in[0]->data<float>(), in[1]->data<float>(), o[0]->data<float>()); });
}

// ---- Clip -------------------------------------------------------------------------------

// Checks Clip's min (i = 1) or max (i = 2) input: absent means unbounded; present, it must
// be a constant scalar of the input's type. Returns the constant or nullptr.
Expected<const Tensor*> clip_bound(const PrepareContext& ctx, size_t i) {
  if (!ctx.has_input(i)) return static_cast<const Tensor*>(nullptr);
  const char* what = i == 1 ? "min" : "max";
  QS_ASSIGN_OR_RETURN(const Tensor* t, ctx.constant_input(i, what));
  if (t->dtype() != ctx.in(0).dtype)
    return ctx.error("input {} ({}) has element type {} but the input has {}; they must match", i, what,
                     dtype_name(t->dtype()), dtype_name(ctx.in(0).dtype));
  if (t->numel() != 1) return ctx.error("input {} ({}) must be a scalar, got shape {}", i, what, shape_str(t->shape()));
  if (std::isnan(t->GetAsDouble(0))) return ctx.error("input {} ({}) is NaN", i, what);
  return t;
}

template <typename T>
std::unique_ptr<Kernel> clip_kernel(const Tensor* min, const Tensor* max, bool use_fast = false) {
  // An absent bound is the type's own limit; for floats that is infinity, so -inf stays -inf.
  constexpr bool kFloat = std::is_floating_point_v<T>;
  const T lo = min ? min->data<T>()[0] : kFloat ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
  const T hi = max ? max->data<T>()[0] : kFloat ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max();
  if constexpr (std::is_same_v<T, float>)
    if (use_fast)
      return make_kernel([lo, hi](In in, Out o) { kernels::fast::clip_f32(in[0]->data<float>(), o[0]->data<float>(), in[0]->numel(), lo, hi); }, "fast", true);
  return make_kernel([lo, hi](In in, Out o) { ref::clip<T>(in[0]->data<T>(), o[0]->data<T>(), in[0]->numel(), lo, hi); },
                     "reference", true);
}

Expected<std::unique_ptr<Kernel>> prepare_clip(PrepareContext& ctx) {
  const DType dt = ctx.in(0).dtype;
  if (ctx.opset < 11) {  // bounds are attributes, floats only
    QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32, DType::kFloat64}));
    QS_ASSIGN_OR_RETURN(float min, ctx.node.attr_float("min", -std::numeric_limits<float>::max()));
    QS_ASSIGN_OR_RETURN(float max, ctx.node.attr_float("max", std::numeric_limits<float>::max()));
    if (std::isnan(min) || std::isnan(max)) return ctx.error("attributes 'min' and 'max' must not be NaN");
    ctx.set_output(0, dt, ctx.in(0).shape);
    const Tensor lo = dt == DType::kFloat64 ? Tensor::Scalar<double>(min) : Tensor::Scalar<float>(min);
    const Tensor hi = dt == DType::kFloat64 ? Tensor::Scalar<double>(max) : Tensor::Scalar<float>(max);
    return dt == DType::kFloat64 ? clip_kernel<double>(&lo, &hi) : clip_kernel<float>(&lo, &hi, ctx.options.use_fast);
  }
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 3));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32, DType::kFloat64, DType::kInt8, DType::kUInt8,
                                          DType::kInt16, DType::kInt32, DType::kInt64}));
  QS_ASSIGN_OR_RETURN(const Tensor* min, clip_bound(ctx, 1));
  QS_ASSIGN_OR_RETURN(const Tensor* max, clip_bound(ctx, 2));
  ctx.set_output(0, dt, ctx.in(0).shape);
  switch (dt) {
    case DType::kFloat64: return clip_kernel<double>(min, max);
    case DType::kInt8: return clip_kernel<int8_t>(min, max);
    case DType::kUInt8: return clip_kernel<uint8_t>(min, max);
    case DType::kInt16: return clip_kernel<int16_t>(min, max);
    case DType::kInt32: return clip_kernel<int32_t>(min, max);
    case DType::kInt64: return clip_kernel<int64_t>(min, max);
    default: return clip_kernel<float>(min, max, ctx.options.use_fast);
  }
}

const OpSchema kOps[] = {
    {"Relu", prepare_relu},
    {"LeakyRelu", prepare_leaky_relu},
    {"PRelu", prepare_prelu},
    {"Clip", prepare_clip},
    {"Sigmoid", prepare_plain<A::kSigmoid>},
    {"HardSigmoid", prepare_hard_sigmoid},
    {"HardSwish", prepare_plain<A::kHardSwish>},
    {"Tanh", prepare_plain<A::kTanh>},
    {"Elu", prepare_elu},
    {"Selu", prepare_selu},
    {"Softplus", prepare_plain<A::kSoftplus>},
    {"Softsign", prepare_plain<A::kSoftsign>},
    {"Gelu", prepare_gelu},
    {"Mish", prepare_plain<A::kMish>},
    {"Celu", prepare_celu},
    {"Shrink", prepare_shrink},
    {"ThresholdedRelu", prepare_thresholded_relu},
};

}  // namespace

std::span<const OpSchema> activation_ops() { return kOps; }

}  // namespace qs::ops
