// Element-wise ops: broadcast arithmetic (Add Sub Mul Div Pow Mod), variadic Sum Mean Max Min,
// unary math (with the trigonometric and hyperbolic functions), comparisons and logic, IsNaN,
// IsInf, Where, Cast/CastLike, Identity and Dropout.
#include <algorithm>
#include <cstring>
#include <limits>

#include "kernels/fast/eltwise_fast.h"
#include "kernels/reference/elementwise.h"
#include "ops/families.h"

namespace qs::ops {
namespace {

namespace ref = kernels::ref;
using In = std::span<const Tensor* const>;
using Out = std::span<Tensor* const>;

// Calls f(T{}) with the C++ type of a numeric dtype (float16 excluded); false if none.
template <typename F>
bool visit_numeric(DType t, F&& f) {
  switch (t) {
    case DType::kFloat32: f(float{}); return true;
    case DType::kFloat64: f(double{}); return true;
    case DType::kInt8: f(int8_t{}); return true;
    case DType::kUInt8: f(uint8_t{}); return true;
    case DType::kInt16: f(int16_t{}); return true;
    case DType::kUInt16: f(uint16_t{}); return true;
    case DType::kInt32: f(int32_t{}); return true;
    case DType::kUInt32: f(uint32_t{}); return true;
    case DType::kInt64: f(int64_t{}); return true;
    case DType::kUInt64: f(uint64_t{}); return true;
    default: return false;
  }
}

constexpr std::initializer_list<DType> kNumeric = {
    DType::kFloat32, DType::kFloat64, DType::kInt8,   DType::kUInt8,  DType::kInt16,
    DType::kUInt16,  DType::kInt32,   DType::kUInt32, DType::kInt64,  DType::kUInt64};
constexpr std::initializer_list<DType> kNumericOrHalf = {
    DType::kFloat32, DType::kFloat64, DType::kFloat16, DType::kInt8,   DType::kUInt8,  DType::kInt16,
    DType::kUInt16,  DType::kInt32,   DType::kUInt32,  DType::kInt64,  DType::kUInt64};

Status expect_same_dtype(const PrepareContext& ctx, size_t i, size_t j) {
  if (ctx.in(i).dtype != ctx.in(j).dtype)
    return ctx.error("input {} has element type {} but input {} has {}; they must match", j,
                     dtype_name(ctx.in(j).dtype), i, dtype_name(ctx.in(i).dtype));
  return Status::Ok();
}

// Every input present (variadic ops have no optional inputs) and all of one type.
Status expect_variadic(const PrepareContext& ctx, std::initializer_list<DType> allowed) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, std::numeric_limits<size_t>::max()));
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    QS_RETURN_IF_ERROR(ctx.expect_dtype(i, allowed));
    QS_RETURN_IF_ERROR(expect_same_dtype(ctx, 0, i));
  }
  return Status::Ok();
}

// ---- Add Sub Mul Div, and the variadic Sum Mean Max Min --------------------------------

// Runs op over all inputs: y = x0 op x1, then y = y op xk, each step broadcasting.
struct FoldPlan {
  ref::BinaryOp op;
  DType dtype;
  std::vector<ref::BroadcastParams> steps;  // steps[0]: {x0, x1} (or {x0} alone); then {y, xk}
  double scale = 1.0;                       // Mean divides at the end
  int64_t numel = 0;
};

Expected<std::unique_ptr<Kernel>> fold_kernel(PrepareContext& ctx, ref::BinaryOp op, bool mean) {
  Shape out = ctx.in(0).shape;
  for (size_t i = 1; i < ctx.inputs.size(); ++i) {
    QS_ASSIGN_OR_RETURN(out, broadcast_shapes(ctx, out, ctx.in(i).shape));
  }
  const DType dt = ctx.in(0).dtype;
  ctx.set_output(0, dt, out);
  FoldPlan plan{op, dt, {}, mean ? 1.0 / static_cast<double>(ctx.inputs.size()) : 1.0, numel(out)};
  if (ctx.inputs.size() == 1) {
    plan.steps.push_back(ref::make_broadcast(out, {ctx.in(0).shape}));
  } else {
    plan.steps.push_back(ref::make_broadcast(out, {ctx.in(0).shape, ctx.in(1).shape}));
    for (size_t i = 2; i < ctx.inputs.size(); ++i) plan.steps.push_back(ref::make_broadcast(out, {out, ctx.in(i).shape}));
  }
  if (ctx.options.use_fast && dt == DType::kFloat32 && ctx.inputs.size() >= 2)
    return make_kernel([plan](In in, Out o) {
      float* py = o[0]->data<float>();
      kernels::fast::binary_f32(plan.op, plan.steps[0], in[0]->data<float>(), in[1]->data<float>(), py);
      for (size_t i = 2; i < in.size(); ++i)
        kernels::fast::binary_f32(plan.op, plan.steps[i - 1], py, in[i]->data<float>(), py);
      if (plan.scale != 1.0) ref::scale<float>(py, plan.numel, plan.scale);
    }, "fast", true);
  return make_kernel([plan](In in, Out o) {
    Tensor& y = *o[0];
    if (in.size() == 1) {
      ref::broadcast_copy(plan.steps[0], in[0]->raw(), y.raw(), dtype_size(plan.dtype));
      return;
    }
    if (plan.dtype == DType::kFloat16) {
      auto* py = y.data<uint16_t>();
      ref::binary_f16(plan.op, plan.steps[0], in[0]->data<uint16_t>(), in[1]->data<uint16_t>(), py);
      for (size_t i = 2; i < in.size(); ++i) ref::binary_f16(plan.op, plan.steps[i - 1], py, in[i]->data<uint16_t>(), py);
      if (plan.scale != 1.0) ref::scale_f16(py, plan.numel, plan.scale);
      return;
    }
    visit_numeric(plan.dtype, [&](auto tag) {
      using T = decltype(tag);
      T* py = y.data<T>();
      ref::binary<T>(plan.op, plan.steps[0], in[0]->data<T>(), in[1]->data<T>(), py);
      for (size_t i = 2; i < in.size(); ++i) ref::binary<T>(plan.op, plan.steps[i - 1], py, in[i]->data<T>(), py);
      if constexpr (std::is_floating_point_v<T>)
        if (plan.scale != 1.0) ref::scale<T>(py, plan.numel, plan.scale);
    });
  }, "reference", true);
}

template <ref::BinaryOp kOp>
Expected<std::unique_ptr<Kernel>> prepare_binary(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, kNumericOrHalf));
  QS_RETURN_IF_ERROR(expect_same_dtype(ctx, 0, 1));
  return fold_kernel(ctx, kOp, false);
}

template <ref::BinaryOp kOp, bool kMean = false>
Expected<std::unique_ptr<Kernel>> prepare_variadic(PrepareContext& ctx) {
  if (kMean || kOp == ref::BinaryOp::kAdd) {
    QS_RETURN_IF_ERROR(expect_variadic(ctx, {DType::kFloat32, DType::kFloat64, DType::kFloat16}));
  } else {
    QS_RETURN_IF_ERROR(expect_variadic(ctx, kNumericOrHalf));
  }
  return fold_kernel(ctx, kOp, kMean);
}

// ---- Mod ----------------------------------------------------------------------------------

Expected<std::unique_ptr<Kernel>> prepare_mod(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, kNumericOrHalf));
  QS_RETURN_IF_ERROR(expect_same_dtype(ctx, 0, 1));
  QS_ASSIGN_OR_RETURN(int64_t fmod, ctx.node.attr_int("fmod", 0));
  if (fmod != 0 && fmod != 1) return ctx.error("'fmod' is {}, expected 0 or 1", fmod);
  const DType dt = ctx.in(0).dtype;
  if (is_float(dt) && fmod != 1) return ctx.error("floating-point Mod needs fmod=1 (ONNX), got fmod={}", fmod);
  QS_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(ctx, ctx.in(0).shape, ctx.in(1).shape));
  ctx.set_output(0, dt, out);
  const ref::BroadcastParams p = ref::make_broadcast(out, {ctx.in(0).shape, ctx.in(1).shape});
  if (dt == DType::kFloat16)
    return make_kernel([p](In in, Out o) {
      ref::mod_f16(p, in[0]->data<uint16_t>(), in[1]->data<uint16_t>(), o[0]->data<uint16_t>());
    });
  std::unique_ptr<Kernel> kernel;
  visit_numeric(dt, [&](auto tag) {
    using T = decltype(tag);
    kernel = make_kernel([p, fmod](In in, Out o) {
      ref::mod<T>(p, in[0]->data<T>(), in[1]->data<T>(), o[0]->data<T>(), fmod != 0);
    });
  });
  return kernel;
}

// ---- Pow ----------------------------------------------------------------------------------

Expected<std::unique_ptr<Kernel>> prepare_pow(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32, DType::kFloat64, DType::kInt32, DType::kInt64}));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(1, kNumeric));
  const DType tb = ctx.in(0).dtype, te = ctx.in(1).dtype;
  QS_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(ctx, ctx.in(0).shape, ctx.in(1).shape));
  ctx.set_output(0, tb, out);
  // x^2 (variance in decomposed normalisations) is exactly x*x: take the cheap path.
  const Tensor* e = ctx.in(1).value;
  if (e && e->numel() == 1 && e->GetAsDouble(0) == 2.0 && numel(out) == numel(ctx.in(0).shape) &&
      (tb == DType::kFloat32 || tb == DType::kFloat64)) {
    const Shape& s = ctx.in(0).shape;
    const ref::BroadcastParams p = ref::make_broadcast(s, {s, s});
    return make_kernel([p, tb](In in, Out o) {
      if (tb == DType::kFloat32)
        ref::binary<float>(ref::BinaryOp::kMul, p, in[0]->data<float>(), in[0]->data<float>(), o[0]->data<float>());
      else
        ref::binary<double>(ref::BinaryOp::kMul, p, in[0]->data<double>(), in[0]->data<double>(), o[0]->data<double>());
    });
  }
  const ref::BroadcastParams p = ref::make_broadcast(out, {ctx.in(0).shape, ctx.in(1).shape});
  std::unique_ptr<Kernel> kernel;
  visit_numeric(tb, [&](auto base) {
    visit_numeric(te, [&](auto exponent) {
      using TB = decltype(base);
      using TE = decltype(exponent);
      if constexpr (std::is_same_v<TB, float> || std::is_same_v<TB, double> || std::is_same_v<TB, int32_t> ||
                    std::is_same_v<TB, int64_t>) {
        kernel = make_kernel([p](In in, Out o) {
          ref::pow<TB, TE>(p, in[0]->data<TB>(), in[1]->data<TE>(), o[0]->data<TB>());
        });
      }
    });
  });
  return kernel;
}

// ---- Unary math ---------------------------------------------------------------------------

template <ref::UnaryOp kOp, bool kIntegers = false>
Expected<std::unique_ptr<Kernel>> prepare_unary(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  if (kIntegers) {
    QS_RETURN_IF_ERROR(ctx.expect_dtype(
        0, {DType::kFloat32, DType::kFloat64, DType::kInt8, DType::kInt16, DType::kInt32, DType::kInt64}));
  } else {
    QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32, DType::kFloat64}));
  }
  const DType dt = ctx.in(0).dtype;
  ctx.set_output(0, dt, ctx.in(0).shape);
  std::unique_ptr<Kernel> kernel;
  visit_numeric(dt, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float> && kOp == ref::UnaryOp::kErf) {
      kernel = ctx.options.use_fast
                   ? make_kernel([](In in, Out o) {
                       kernels::fast::erf_f32(in[0]->data<float>(), o[0]->data<float>(), in[0]->numel());
                     }, "fast", true)
                   : make_kernel([](In in, Out o) {
                       ref::unary<float>(kOp, in[0]->data<float>(), o[0]->data<float>(), in[0]->numel());
                     }, "reference", true);
    } else if constexpr (std::is_floating_point_v<T>) {
      kernel = make_kernel([](In in, Out o) { ref::unary<T>(kOp, in[0]->data<T>(), o[0]->data<T>(), in[0]->numel()); },
                           "reference", true);
    } else if constexpr (kIntegers && std::is_signed_v<T>) {
      kernel = make_kernel([](In in, Out o) { ref::unary_int<T>(kOp, in[0]->data<T>(), o[0]->data<T>(), in[0]->numel()); },
                           "reference", true);
    }
  });
  return kernel;
}

// ---- Comparisons, logic, Where ---------------------------------------------------------------

template <ref::CompareOp kOp>
Expected<std::unique_ptr<Kernel>> prepare_compare(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
  if (kOp == ref::CompareOp::kEqual) {
    QS_RETURN_IF_ERROR(ctx.expect_dtype(
        0, {DType::kFloat32, DType::kFloat64, DType::kInt8, DType::kUInt8, DType::kInt16, DType::kUInt16,
            DType::kInt32, DType::kUInt32, DType::kInt64, DType::kUInt64, DType::kBool}));
  } else {
    QS_RETURN_IF_ERROR(ctx.expect_dtype(0, kNumeric));
  }
  QS_RETURN_IF_ERROR(expect_same_dtype(ctx, 0, 1));
  QS_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(ctx, ctx.in(0).shape, ctx.in(1).shape));
  ctx.set_output(0, DType::kBool, out);
  const ref::BroadcastParams p = ref::make_broadcast(out, {ctx.in(0).shape, ctx.in(1).shape});
  // bool compares as its bytes (0 or 1).
  const DType dt = ctx.in(0).dtype == DType::kBool ? DType::kUInt8 : ctx.in(0).dtype;
  std::unique_ptr<Kernel> kernel;
  visit_numeric(dt, [&](auto tag) {
    using T = decltype(tag);
    kernel = make_kernel([p](In in, Out o) {
      ref::compare<T>(kOp, p, in[0]->data<T>(), in[1]->data<T>(), o[0]->data<bool>());
    });
  });
  return kernel;
}

template <ref::LogicOp kOp>
Expected<std::unique_ptr<Kernel>> prepare_logic(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kBool}));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(1, {DType::kBool}));
  QS_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(ctx, ctx.in(0).shape, ctx.in(1).shape));
  ctx.set_output(0, DType::kBool, out);
  const ref::BroadcastParams p = ref::make_broadcast(out, {ctx.in(0).shape, ctx.in(1).shape});
  return make_kernel([p](In in, Out o) {
    ref::logic(kOp, p, in[0]->data<uint8_t>(), in[1]->data<uint8_t>(), o[0]->data<bool>());
  });
}

Expected<std::unique_ptr<Kernel>> prepare_not(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kBool}));
  ctx.set_output(0, DType::kBool, ctx.in(0).shape);
  return make_kernel([](In in, Out o) { ref::logical_not(in[0]->data<uint8_t>(), o[0]->data<bool>(), in[0]->numel()); });
}

// IsNaN (is_inf false) and IsInf, with detect_negative / detect_positive.
template <bool kInf>
Expected<std::unique_ptr<Kernel>> prepare_is_special(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32, DType::kFloat64}));
  QS_ASSIGN_OR_RETURN(int64_t neg, ctx.node.attr_int("detect_negative", 1));
  QS_ASSIGN_OR_RETURN(int64_t pos, ctx.node.attr_int("detect_positive", 1));
  ctx.set_output(0, DType::kBool, ctx.in(0).shape);
  const bool f64 = ctx.in(0).dtype == DType::kFloat64;
  return make_kernel([f64, neg, pos](In in, Out o) {
    bool* y = o[0]->data<bool>();
    const int64_t n = in[0]->numel();
    if (!kInf && f64) ref::is_nan(in[0]->data<double>(), y, n);
    if (!kInf && !f64) ref::is_nan(in[0]->data<float>(), y, n);
    if (kInf && f64) ref::is_inf(in[0]->data<double>(), y, n, neg != 0, pos != 0);
    if (kInf && !f64) ref::is_inf(in[0]->data<float>(), y, n, neg != 0, pos != 0);
  });
}

Expected<std::unique_ptr<Kernel>> prepare_where(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(3, 3));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kBool}));
  const DType dt = ctx.in(1).dtype;
  if (dtype_size(dt) == 0) return ctx.unsupported("input 1 has element type {}", dtype_name(dt));
  QS_RETURN_IF_ERROR(expect_same_dtype(ctx, 1, 2));
  QS_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(ctx, ctx.in(0).shape, ctx.in(1).shape));
  QS_ASSIGN_OR_RETURN(out, broadcast_shapes(ctx, out, ctx.in(2).shape));
  ctx.set_output(0, dt, out);
  const ref::BroadcastParams p = ref::make_broadcast(out, {ctx.in(0).shape, ctx.in(1).shape, ctx.in(2).shape});
  return make_kernel([p, dt](In in, Out o) {
    ref::where(p, in[0]->data<uint8_t>(), in[1]->raw(), in[2]->raw(), o[0]->raw(), dtype_size(dt));
  });
}

// ---- Cast, CastLike, Identity, Dropout ---------------------------------------------------

Expected<std::unique_ptr<Kernel>> cast_kernel(PrepareContext& ctx, DType to) {
  const DType from = ctx.in(0).dtype;
  if (!ref::cast_supported(from))
    return ctx.unsupported("cannot cast from element type {}", dtype_name(from));
  if (!ref::cast_supported(to)) return ctx.unsupported("cannot cast to element type {}", dtype_name(to));
  ctx.set_output(0, to, ctx.in(0).shape);
  return make_kernel([from, to](In in, Out o) { ref::cast(from, in[0]->raw(), to, o[0]->raw(), in[0]->numel()); });
}

Expected<std::unique_ptr<Kernel>> prepare_cast(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  QS_ASSIGN_OR_RETURN(int64_t to, ctx.node.attr_int("to"));
  const DType t = to >= 0 && to <= std::numeric_limits<int>::max() ? dtype_from_onnx(static_cast<int>(to))
                                                                   : DType::kUndefined;
  if (t == DType::kUndefined) return ctx.unsupported("cannot cast to ONNX element type {}", to);
  // 'saturate' (opset 19) only concerns float8 targets, which are not supported anyway.
  return cast_kernel(ctx, t);
}

Expected<std::unique_ptr<Kernel>> prepare_cast_like(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
  return cast_kernel(ctx, ctx.in(1).dtype);
}

Expected<std::unique_ptr<Kernel>> copy_kernel(PrepareContext& ctx) {
  const DType dt = ctx.in(0).dtype;
  if (dtype_size(dt) == 0) return ctx.unsupported("input 0 has element type {}", dtype_name(dt));
  ctx.set_output(0, dt, ctx.in(0).shape);
  return make_kernel([](In in, Out o) {
    if (in[0]->nbytes()) std::memcpy(o[0]->raw(), in[0]->raw(), in[0]->nbytes());
  }, "reference", true);
}

Expected<std::unique_ptr<Kernel>> prepare_identity(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  const DType dt = ctx.in(0).dtype;
  if (dtype_size(dt) == 0) return ctx.unsupported("input 0 has element type {}", dtype_name(dt));
  ctx.set_output(0, dt, ctx.in(0).shape);
  return std::unique_ptr<Kernel>(std::make_unique<ViewKernel>(ctx.in(0).shape));
}

// Inference only: the output is the input and the optional mask is all ones.
Expected<std::unique_ptr<Kernel>> prepare_dropout(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, ctx.opset >= 12 ? 3 : 1));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32, DType::kFloat64, DType::kFloat16}));
  if (ctx.has_input(2)) {
    QS_ASSIGN_OR_RETURN(const Tensor* training, ctx.constant_input(2, "training_mode"));
    if (training->dtype() != DType::kBool || training->numel() != 1)
      return ctx.error("input 2 (training_mode) must be a bool scalar, got {} {}", dtype_name(training->dtype()),
                       shape_str(training->shape()));
    if (training->GetAsInt64(0) != 0) return ctx.unsupported("training mode is not supported (inference only)");
  }
  QS_ASSIGN_OR_RETURN(auto kernel, copy_kernel(ctx));
  if (ctx.outputs.size() < 2 || ctx.node.outputs[1].empty()) return kernel;
  // Before opset 10 the mask had the input's type; since, it is bool.
  const DType mask = ctx.opset >= 10 ? DType::kBool : ctx.in(0).dtype;
  ctx.set_output(1, mask, ctx.in(0).shape);
  std::shared_ptr<Kernel> copy = std::move(kernel);
  return make_kernel([copy, mask](In in, Out o) {
    copy->run(in, o);
    if (o.size() < 2 || !o[1] || !o[1]->defined()) return;
    Tensor& m = *o[1];
    const int64_t n = m.numel();
    switch (mask) {
      case DType::kFloat32: std::fill_n(m.data<float>(), n, 1.f); break;
      case DType::kFloat64: std::fill_n(m.data<double>(), n, 1.0); break;
      case DType::kFloat16: std::fill_n(m.data<uint16_t>(), n, uint16_t{0x3C00}); break;  // 1.0 in half
      default: std::fill_n(m.data<bool>(), n, true); break;
    }
  });
}

using B = ref::BinaryOp;
using U = ref::UnaryOp;
using C = ref::CompareOp;

const OpSchema kOps[] = {
    {"Add", prepare_binary<B::kAdd>},
    {"Sub", prepare_binary<B::kSub>},
    {"Mul", prepare_binary<B::kMul>},
    {"Div", prepare_binary<B::kDiv>},
    {"Pow", prepare_pow},
    {"Mod", prepare_mod},
    {"Sum", prepare_variadic<B::kAdd>},
    {"Mean", prepare_variadic<B::kAdd, true>},
    {"Max", prepare_variadic<B::kMax>},
    {"Min", prepare_variadic<B::kMin>},
    {"Sqrt", prepare_unary<U::kSqrt>},
    {"Exp", prepare_unary<U::kExp>},
    {"Log", prepare_unary<U::kLog>},
    {"Erf", prepare_unary<U::kErf>},
    {"Abs", prepare_unary<U::kAbs, true>},
    {"Neg", prepare_unary<U::kNeg, true>},
    {"Sign", prepare_unary<U::kSign, true>},
    {"Reciprocal", prepare_unary<U::kReciprocal>},
    {"Floor", prepare_unary<U::kFloor>},
    {"Ceil", prepare_unary<U::kCeil>},
    {"Round", prepare_unary<U::kRound>},
    {"Sin", prepare_unary<U::kSin>},
    {"Cos", prepare_unary<U::kCos>},
    {"Tan", prepare_unary<U::kTan>},
    {"Asin", prepare_unary<U::kAsin>},
    {"Acos", prepare_unary<U::kAcos>},
    {"Atan", prepare_unary<U::kAtan>},
    {"Sinh", prepare_unary<U::kSinh>},
    {"Cosh", prepare_unary<U::kCosh>},
    {"Asinh", prepare_unary<U::kAsinh>},
    {"Acosh", prepare_unary<U::kAcosh>},
    {"Atanh", prepare_unary<U::kAtanh>},
    {"Equal", prepare_compare<C::kEqual>},
    {"Less", prepare_compare<C::kLess>},
    {"Greater", prepare_compare<C::kGreater>},
    {"LessOrEqual", prepare_compare<C::kLessOrEqual>},
    {"GreaterOrEqual", prepare_compare<C::kGreaterOrEqual>},
    {"And", prepare_logic<ref::LogicOp::kAnd>},
    {"Or", prepare_logic<ref::LogicOp::kOr>},
    {"Xor", prepare_logic<ref::LogicOp::kXor>},
    {"Not", prepare_not},
    {"IsNaN", prepare_is_special<false>},
    {"IsInf", prepare_is_special<true>},
    {"Where", prepare_where},
    {"Cast", prepare_cast},
    {"CastLike", prepare_cast_like},
    {"Identity", prepare_identity},
    {"Dropout", prepare_dropout},
};

}  // namespace

std::span<const OpSchema> elementwise_ops() { return kOps; }

}  // namespace qs::ops
