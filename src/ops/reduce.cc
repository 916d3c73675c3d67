// Reduction ops: ReduceSum/Mean/Max/Min/Prod/L1/L2/SumSquare/LogSum/LogSumExp, ArgMax, ArgMin, TopK, CumSum.
#include <cstring>
#include <string_view>
#include <vector>

#include "kernels/reference/data.h"
#include "kernels/reference/reduce.h"
#include "ops/families.h"

namespace qs::ops {
namespace {

namespace ref = kernels::ref;
using ref::ReduceOp;

// Axes moved from an attribute to an optional input: ReduceSum at opset 13, the others at 18.
bool axes_are_input(ReduceOp op, int64_t opset) { return opset >= 18 || (op == ReduceOp::kSum && opset >= 13); }

Expected<std::unique_ptr<Kernel>> prepare_reduce(PrepareContext& ctx, ReduceOp op) {
  const bool axes_input = axes_are_input(op, ctx.opset);
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, axes_input ? 2 : 1));
  // Sums of logs, exps and roots only make sense for floats; Max and Min also order 8-bit integers.
  const bool float_only = op == ReduceOp::kL2 || op == ReduceOp::kLogSum || op == ReduceOp::kLogSumExp;
  if (float_only) {
    QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32, DType::kFloat64}));
  } else if (op == ReduceOp::kMax || op == ReduceOp::kMin) {
    QS_RETURN_IF_ERROR(ctx.expect_dtype(
        0, {DType::kFloat32, DType::kFloat64, DType::kInt32, DType::kInt64, DType::kInt8, DType::kUInt8}));
  } else {
    QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32, DType::kFloat64, DType::kInt32, DType::kInt64}));
  }
  const Shape& xs = ctx.in(0).shape;
  const int64_t rank = static_cast<int64_t>(xs.size());

  std::vector<int64_t> axes;
  bool noop_when_empty = false;
  if (axes_input) {
    if (ctx.has_input(1)) {
      QS_ASSIGN_OR_RETURN(axes, ctx.constant_ints(1, "axes"));
    }
    QS_ASSIGN_OR_RETURN(int64_t noop, ctx.node.attr_int("noop_with_empty_axes", 0));
    if (noop != 0 && noop != 1) return ctx.error("'noop_with_empty_axes' is {}, expected 0 or 1", noop);
    noop_when_empty = noop == 1;
  } else {
    QS_ASSIGN_OR_RETURN(axes, ctx.node.attr_ints("axes", std::vector<int64_t>{}));
  }
  QS_ASSIGN_OR_RETURN(int64_t keepdims, ctx.node.attr_int("keepdims", 1));
  if (keepdims != 0 && keepdims != 1) return ctx.error("'keepdims' is {}, expected 0 or 1", keepdims);

  const DType t = ctx.in(0).dtype;
  if (axes.empty() && noop_when_empty) {
    ctx.set_output(0, t, xs);
    return make_kernel([](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
      if (in[0]->nbytes() > 0) std::memcpy(out[0]->raw(), in[0]->raw(), in[0]->nbytes());
    });
  }

  ref::ReduceParams p;
  p.shape = xs;
  p.op = op;
  p.reduced.assign(xs.size(), axes.empty());  // no axes: reduce over all of them
  for (int64_t a : axes) {
    auto ax = normalize_axis(a, rank);
    if (!ax.ok())
      return ctx.error("axes {}: {} (input shape {})", shape_str(axes), ax.status().message(), shape_str(xs));
    if (p.reduced[static_cast<size_t>(*ax)]) return ctx.error("axes {} name axis {} twice", shape_str(axes), *ax);
    p.reduced[static_cast<size_t>(*ax)] = true;
  }
  Shape out_shape;
  for (size_t d = 0; d < xs.size(); ++d) {
    if (!p.reduced[d]) {
      out_shape.push_back(xs[d]);
    } else if (keepdims) {
      out_shape.push_back(1);
    }
  }
  ctx.set_output(0, t, out_shape);
  return make_kernel([p, t](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    switch (t) {
      case DType::kFloat64: ref::reduce_f64(p, in[0]->data<double>(), out[0]->data<double>()); break;
      case DType::kInt32: ref::reduce_i32(p, in[0]->data<int32_t>(), out[0]->data<int32_t>()); break;
      case DType::kInt64: ref::reduce_i64(p, in[0]->data<int64_t>(), out[0]->data<int64_t>()); break;
      case DType::kInt8: ref::reduce_i8(p, in[0]->data<int8_t>(), out[0]->data<int8_t>()); break;
      case DType::kUInt8: ref::reduce_u8(p, in[0]->data<uint8_t>(), out[0]->data<uint8_t>()); break;
      default: ref::reduce_f32(p, in[0]->data<float>(), out[0]->data<float>()); break;
    }
  });
}

Expected<std::unique_ptr<Kernel>> prepare_arg_reduce(PrepareContext& ctx, bool is_max) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(
      0, {DType::kFloat32, DType::kFloat64, DType::kInt32, DType::kInt64, DType::kInt8, DType::kUInt8}));
  const Shape& xs = ctx.in(0).shape;
  QS_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node.attr_int("axis", 0));
  QS_ASSIGN_OR_RETURN(int64_t keepdims, ctx.node.attr_int("keepdims", 1));
  QS_ASSIGN_OR_RETURN(int64_t last, ctx.node.attr_int("select_last_index", 0));
  if (keepdims != 0 && keepdims != 1) return ctx.error("'keepdims' is {}, expected 0 or 1", keepdims);
  if (last != 0 && last != 1) return ctx.error("'select_last_index' is {}, expected 0 or 1", last);
  auto ax = normalize_axis(axis_attr, static_cast<int64_t>(xs.size()));
  if (!ax.ok()) return ctx.error("{} (input shape {})", ax.status().message(), shape_str(xs));
  const size_t axis = static_cast<size_t>(*ax);
  if (xs[axis] == 0)
    return ctx.error("input has shape {}: no element along axis {} to pick an index from", shape_str(xs), axis);
  ref::ArgReduceParams p;
  const ref::AxisView v = ref::axis_view(xs, static_cast<int64_t>(axis));
  p.outer = v.outer, p.n = v.axis, p.inner = v.inner;
  p.is_max = is_max;
  p.select_last_index = last == 1;
  Shape out_shape = xs;
  if (keepdims) {
    out_shape[axis] = 1;
  } else {
    out_shape.erase(out_shape.begin() + static_cast<std::ptrdiff_t>(axis));
  }
  ctx.set_output(0, DType::kInt64, out_shape);
  const DType t = ctx.in(0).dtype;
  return make_kernel([p, t](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    int64_t* y = out[0]->data<int64_t>();
    switch (t) {
      case DType::kFloat64: ref::arg_reduce_f64(p, in[0]->data<double>(), y); break;
      case DType::kInt32: ref::arg_reduce_i32(p, in[0]->data<int32_t>(), y); break;
      case DType::kInt64: ref::arg_reduce_i64(p, in[0]->data<int64_t>(), y); break;
      case DType::kInt8: ref::arg_reduce_i8(p, in[0]->data<int8_t>(), y); break;
      case DType::kUInt8: ref::arg_reduce_u8(p, in[0]->data<uint8_t>(), y); break;
      default: ref::arg_reduce_f32(p, in[0]->data<float>(), y); break;
    }
  });
}

// TopK: K from the input (opset 10) or the attribute k (before); values and int64 indices.
Expected<std::unique_ptr<Kernel>> prepare_top_k(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(ctx.opset >= 10 ? 2 : 1, ctx.opset >= 10 ? 2 : 1));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32, DType::kFloat64, DType::kInt32, DType::kInt64}));
  const Shape& xs = ctx.in(0).shape;
  int64_t k = 0;
  if (ctx.opset >= 10) {
    QS_ASSIGN_OR_RETURN(std::vector<int64_t> kv, ctx.constant_ints(1, "K"));
    if (kv.size() != 1) return ctx.error("K has {} values, expected 1", kv.size());
    k = kv[0];
  } else {
    QS_ASSIGN_OR_RETURN(k, ctx.node.attr_int("k"));
  }
  QS_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node.attr_int("axis", -1));
  QS_ASSIGN_OR_RETURN(int64_t largest, ctx.node.attr_int("largest", 1));
  auto ax = normalize_axis(axis_attr, static_cast<int64_t>(xs.size()));
  if (!ax.ok()) return ctx.error("{} (input shape {})", ax.status().message(), shape_str(xs));
  const size_t axis = static_cast<size_t>(*ax);
  if (k < 0 || k > xs[axis])
    return ctx.error("K is {}, expected 0 to {} (axis {} of input shape {})", k, xs[axis], axis, shape_str(xs));
  ref::TopKParams p;
  const ref::AxisView v = ref::axis_view(xs, static_cast<int64_t>(axis));
  p.outer = v.outer, p.n = v.axis, p.inner = v.inner;
  p.k = k;
  p.largest = largest != 0;
  Shape out = xs;
  out[axis] = k;
  const DType t = ctx.in(0).dtype;
  ctx.set_output(0, t, out);
  ctx.set_output(1, DType::kInt64, out);
  return make_kernel([p, t](std::span<const Tensor* const> in, std::span<Tensor* const> o) {
    int64_t* idx = o[1]->data<int64_t>();
    switch (t) {
      case DType::kFloat64: ref::top_k(p, in[0]->data<double>(), o[0]->data<double>(), idx); break;
      case DType::kInt32: ref::top_k(p, in[0]->data<int32_t>(), o[0]->data<int32_t>(), idx); break;
      case DType::kInt64: ref::top_k(p, in[0]->data<int64_t>(), o[0]->data<int64_t>(), idx); break;
      default: ref::top_k(p, in[0]->data<float>(), o[0]->data<float>(), idx); break;
    }
  }, "reference", true);
}

Expected<std::unique_ptr<Kernel>> prepare_cumsum(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32, DType::kFloat64, DType::kInt32, DType::kInt64}));
  const Shape& xs = ctx.in(0).shape;
  QS_ASSIGN_OR_RETURN(std::vector<int64_t> axis_v, ctx.constant_ints(1, "axis"));
  if (axis_v.size() != 1) return ctx.error("axis has {} values, expected 1", axis_v.size());
  auto ax = normalize_axis(axis_v[0], static_cast<int64_t>(xs.size()));
  if (!ax.ok()) return ctx.error("{} (input shape {})", ax.status().message(), shape_str(xs));
  const size_t axis = static_cast<size_t>(*ax);
  QS_ASSIGN_OR_RETURN(int64_t exclusive, ctx.node.attr_int("exclusive", 0));
  QS_ASSIGN_OR_RETURN(int64_t reverse, ctx.node.attr_int("reverse", 0));
  ref::CumSumParams p;
  const ref::AxisView v = ref::axis_view(xs, static_cast<int64_t>(axis));
  p.outer = v.outer, p.n = v.axis, p.inner = v.inner;
  p.exclusive = exclusive != 0;
  p.reverse = reverse != 0;
  const DType t = ctx.in(0).dtype;
  ctx.set_output(0, t, xs);
  return make_kernel([p, t](std::span<const Tensor* const> in, std::span<Tensor* const> o) {
    switch (t) {
      case DType::kFloat64: ref::cumsum(p, in[0]->data<double>(), o[0]->data<double>()); break;
      case DType::kInt32: ref::cumsum(p, in[0]->data<int32_t>(), o[0]->data<int32_t>()); break;
      case DType::kInt64: ref::cumsum(p, in[0]->data<int64_t>(), o[0]->data<int64_t>()); break;
      default: ref::cumsum(p, in[0]->data<float>(), o[0]->data<float>()); break;
    }
  }, "reference", true);
}

template <ReduceOp op>
Expected<std::unique_ptr<Kernel>> prepare_reduce_op(PrepareContext& ctx) {
  return prepare_reduce(ctx, op);
}
Expected<std::unique_ptr<Kernel>> prepare_argmax(PrepareContext& ctx) { return prepare_arg_reduce(ctx, true); }
Expected<std::unique_ptr<Kernel>> prepare_argmin(PrepareContext& ctx) { return prepare_arg_reduce(ctx, false); }

const OpSchema kOps[] = {
    {"ArgMax", prepare_argmax},
    {"ArgMin", prepare_argmin},
    {"CumSum", prepare_cumsum},
    {"ReduceL1", prepare_reduce_op<ReduceOp::kL1>},
    {"ReduceL2", prepare_reduce_op<ReduceOp::kL2>},
    {"ReduceLogSum", prepare_reduce_op<ReduceOp::kLogSum>},
    {"ReduceLogSumExp", prepare_reduce_op<ReduceOp::kLogSumExp>},
    {"ReduceMax", prepare_reduce_op<ReduceOp::kMax>},
    {"ReduceMean", prepare_reduce_op<ReduceOp::kMean>},
    {"ReduceMin", prepare_reduce_op<ReduceOp::kMin>},
    {"ReduceProd", prepare_reduce_op<ReduceOp::kProd>},
    {"ReduceSum", prepare_reduce_op<ReduceOp::kSum>},
    {"ReduceSumSquare", prepare_reduce_op<ReduceOp::kSumSquare>},
    {"TopK", prepare_top_k},
};

}  // namespace

std::span<const OpSchema> reduce_ops() { return kOps; }

}  // namespace qs::ops
