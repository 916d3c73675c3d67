// Data-movement ops: Concat Split Slice Gather GatherElements GatherND Scatter ScatterElements
// ScatterND Trilu OneHot ReverseSequence EyeLike Pad, plus Resize, Upsample and GridSample (their
// prepare lives in ops/resize.cc). Elements move as bytes, so every dtype works.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/half.h"
#include "kernels/reference/data.h"
#include "kernels/reference/shape.h"
#include "ops/families.h"

namespace qs::ops {

// Defined in ops/resize.cc; declared here rather than in families.h because Resize,
// Upsample and GridSample belong to this family's table.
Expected<std::unique_ptr<Kernel>> prepare_resize(PrepareContext& ctx);
Expected<std::unique_ptr<Kernel>> prepare_grid_sample(PrepareContext& ctx);
Expected<std::unique_ptr<Kernel>> prepare_upsample(PrepareContext& ctx);

namespace {

using TensorIn = std::span<const Tensor* const>;
using TensorOut = std::span<Tensor* const>;

Status check_shape(const PrepareContext& ctx, const Shape& s, DType t) {
  auto n = checked_numel(s, dtype_size(t));
  return n.ok() ? Status::Ok() : ctx.error("output {}", n.status().message());
}

Expected<int64_t> axis_attr(const PrepareContext& ctx, int64_t rank, std::optional<int64_t> dflt) {
  QS_ASSIGN_OR_RETURN(int64_t axis, ctx.node.attr_int("axis", dflt));
  if (axis < -rank || axis >= rank) return ctx.error("axis {} is out of range for rank {}", axis, rank);
  return axis < 0 ? axis + rank : axis;
}

Expected<std::unique_ptr<Kernel>> prepare_concat(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, std::numeric_limits<size_t>::max()));
  const TensorInfo& x0 = ctx.in(0);
  if (x0.rank() == 0) return ctx.error("cannot concatenate scalars");
  QS_ASSIGN_OR_RETURN(int64_t axis, axis_attr(ctx, x0.rank(), ctx.opset < 4 ? std::optional<int64_t>(1) : std::nullopt));
  Shape out = x0.shape;
  out[static_cast<size_t>(axis)] = 0;
  std::vector<int64_t> lens;
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    const TensorInfo& xi = ctx.in(i);
    if (!xi.present()) return ctx.error("input {} is missing", i);
    if (xi.dtype != x0.dtype)
      return ctx.error("input {} is {}, input 0 is {}", i, dtype_name(xi.dtype), dtype_name(x0.dtype));
    bool fits = xi.rank() == x0.rank();
    for (int64_t d = 0; fits && d < x0.rank(); ++d)
      fits = d == axis || xi.shape[static_cast<size_t>(d)] == x0.shape[static_cast<size_t>(d)];
    if (!fits)
      return ctx.error("input {} has shape {}, which does not match input 0 {} outside axis {}", i, shape_str(xi.shape),
                       shape_str(x0.shape), axis);
    lens.push_back(xi.shape[static_cast<size_t>(axis)]);
    out[static_cast<size_t>(axis)] += lens.back();
  }
  QS_RETURN_IF_ERROR(check_shape(ctx, out, x0.dtype));
  ctx.set_output(0, x0.dtype, out);
  const kernels::ref::AxisView v = kernels::ref::axis_view(out, axis);
  const size_t es = dtype_size(x0.dtype);
  return make_kernel([lens, v, es](TensorIn in, TensorOut o) {
    std::vector<const void*> parts;
    for (size_t i = 0; i < lens.size(); ++i) parts.push_back(in[i]->raw());
    kernels::ref::concat(parts, lens, v.outer, v.inner, o[0]->raw(), es);
  });
}

Expected<std::unique_ptr<Kernel>> prepare_split(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, ctx.opset >= 13 ? 2 : 1));
  const TensorInfo& x = ctx.in(0);
  if (x.rank() == 0) return ctx.error("cannot split a scalar");
  QS_ASSIGN_OR_RETURN(int64_t axis, axis_attr(ctx, x.rank(), 0));
  const int64_t dim = x.shape[static_cast<size_t>(axis)];
  const auto n_out = static_cast<int64_t>(ctx.outputs.size());
  if (n_out < 1) return ctx.error("has no outputs");
  std::vector<int64_t> lens;
  if (ctx.opset < 13 && ctx.node.has_attr("split")) {
    QS_ASSIGN_OR_RETURN(lens, ctx.node.attr_ints("split"));
  } else if (ctx.opset >= 13 && ctx.has_input(1)) {
    QS_ASSIGN_OR_RETURN(lens, ctx.constant_ints(1, "split"));
  }
  const bool has_num = ctx.opset >= 18 && ctx.node.has_attr("num_outputs");
  if (has_num) {
    if (!lens.empty()) return ctx.error("takes either the split input or num_outputs, not both");
    QS_ASSIGN_OR_RETURN(int64_t num, ctx.node.attr_int("num_outputs"));
    if (num != n_out) return ctx.error("num_outputs is {} but the node has {} outputs", num, n_out);
    // Opset 18: chunks of ceil(dim / n), the last one smaller.
    const int64_t chunk = (dim + num - 1) / num;
    for (int64_t i = 0, left = dim; i < num; ++i, left -= std::min(chunk, left)) lens.push_back(std::min(chunk, left));
  } else if (lens.empty()) {
    if (dim % n_out != 0) return ctx.error("cannot split axis {} of size {} into {} equal parts", axis, dim, n_out);
    lens.assign(static_cast<size_t>(n_out), dim / n_out);
  }
  if (static_cast<int64_t>(lens.size()) != n_out)
    return ctx.error("split has {} entries but the node has {} outputs", lens.size(), n_out);
  int64_t sum = 0;
  for (int64_t l : lens) {
    if (l < 0 || l > dim) return ctx.error("split {} has an invalid entry {}", shape_str(lens), l);
    sum += l;
  }
  if (sum != dim) return ctx.error("split {} sums to {}, axis {} has size {}", shape_str(lens), sum, axis, dim);
  for (size_t i = 0; i < lens.size(); ++i) {
    Shape s = x.shape;
    s[static_cast<size_t>(axis)] = lens[i];
    ctx.set_output(i, x.dtype, s);
  }
  const kernels::ref::AxisView v = kernels::ref::axis_view(x.shape, axis);
  const size_t es = dtype_size(x.dtype);
  return make_kernel([lens, v, es](TensorIn in, TensorOut o) {
    std::vector<void*> parts;
    for (Tensor* t : o) parts.push_back(t ? t->raw() : nullptr);
    kernels::ref::split(in[0]->raw(), v.outer, v.inner, lens, parts, es);
  });
}

std::unique_ptr<Kernel> index_map_kernel(kernels::ref::IndexMap map, size_t es, std::vector<std::byte> fill) {
  return make_kernel([map = std::move(map), es, fill = std::move(fill)](TensorIn in, TensorOut out) {
    if (out[0]->numel() == 0) return;
    kernels::ref::index_map_copy(in[0]->raw(), out[0]->raw(), map, fill.data(), es);
  });
}

Expected<std::unique_ptr<Kernel>> prepare_slice(PrepareContext& ctx) {
  const TensorInfo& x = ctx.in(0);
  const int64_t rank = x.rank();
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset < 10) {
    QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    QS_ASSIGN_OR_RETURN(starts, ctx.node.attr_ints("starts"));
    QS_ASSIGN_OR_RETURN(ends, ctx.node.attr_ints("ends"));
    if (ctx.node.has_attr("axes")) {
      QS_ASSIGN_OR_RETURN(axes, ctx.node.attr_ints("axes"));
    }
  } else {
    QS_RETURN_IF_ERROR(ctx.expect_inputs(3, 5));
    QS_ASSIGN_OR_RETURN(starts, ctx.constant_ints(1, "starts"));
    QS_ASSIGN_OR_RETURN(ends, ctx.constant_ints(2, "ends"));
    if (ctx.has_input(3)) {
      QS_ASSIGN_OR_RETURN(axes, ctx.constant_ints(3, "axes"));
    }
    if (ctx.has_input(4)) {
      QS_ASSIGN_OR_RETURN(steps, ctx.constant_ints(4, "steps"));
    }
  }
  const size_t n = starts.size();
  if (axes.empty() && n > 0 && !(ctx.opset >= 10 ? ctx.has_input(3) : ctx.node.has_attr("axes")))
    for (size_t i = 0; i < n; ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty() && !(ctx.opset >= 10 && ctx.has_input(4))) steps.assign(n, 1);
  if (ends.size() != n || axes.size() != n || steps.size() != n)
    return ctx.error("starts, ends, axes and steps have {}, {}, {} and {} entries; they must match", n, ends.size(),
                     axes.size(), steps.size());
  std::vector<int64_t> start(static_cast<size_t>(rank), 0), step(static_cast<size_t>(rank), 1);
  Shape out = x.shape;
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (size_t i = 0; i < n; ++i) {
    int64_t a = axes[i];
    if (a < -rank || a >= rank) return ctx.error("axis {} is out of range for rank {}", a, rank);
    if (a < 0) a += rank;
    if (seen[static_cast<size_t>(a)]) return ctx.error("axis {} is repeated", a);
    seen[static_cast<size_t>(a)] = true;
    const int64_t dim = x.shape[static_cast<size_t>(a)];
    const int64_t st = steps[i];
    if (st == 0) return ctx.error("step for axis {} is 0", a);
    // ONNX: negative positions count from the end, then clamp; a negative step may end
    // at -1 (before the first element).
    int64_t s = starts[i], e = ends[i];
    if (s < 0) s = s < -dim ? -1 : s + dim;  // avoids overflow for huge negatives
    if (e < 0) e = e < -dim ? -1 : e + dim;
    int64_t count;
    if (dim == 0) {
      s = 0;
      count = 0;
    } else if (st > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      count = e > s ? (e - s + st - 1) / st : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      count = s > e ? (s - e + (-st) - 1) / (-st) : 0;
    }
    start[static_cast<size_t>(a)] = s;
    step[static_cast<size_t>(a)] = st;
    out[static_cast<size_t>(a)] = count;
  }
  kernels::ref::IndexMap map{x.shape, {}};
  for (int64_t a = 0; a < rank; ++a)
    map.src.push_back(kernels::ref::slice_axis_map(start[static_cast<size_t>(a)], step[static_cast<size_t>(a)],
                                                   out[static_cast<size_t>(a)]));
  ctx.set_output(0, x.dtype, out);
  return index_map_kernel(std::move(map), dtype_size(x.dtype), {});
}

// Copies int32/int64 indices into int64.
std::vector<int64_t> read_indices(const Tensor& t) {
  std::vector<int64_t> v(static_cast<size_t>(t.numel()));
  if (t.dtype() == DType::kInt32)
    std::copy(t.data<int32_t>(), t.data<int32_t>() + t.numel(), v.begin());
  else
    std::copy(t.data<int64_t>(), t.data<int64_t>() + t.numel(), v.begin());
  return v;
}

// Indices known at plan time must be in [-dim, dim); run-time ones that are not give zeros.
Status check_constant_indices(const PrepareContext& ctx, int64_t dim) {
  const Tensor* t = ctx.in(1).value;
  if (!t) return Status::Ok();
  for (int64_t i = 0; i < t->numel(); ++i) {
    const int64_t k = t->GetAsInt64(i);
    if (k < -dim || k >= dim) return ctx.error("index {} is out of range for an axis of size {}", k, dim);
  }
  return Status::Ok();
}

Expected<std::unique_ptr<Kernel>> prepare_gather(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(1, {DType::kInt32, DType::kInt64}));
  const TensorInfo& x = ctx.in(0);
  const TensorInfo& idx = ctx.in(1);
  if (x.rank() == 0) return ctx.error("cannot gather from a scalar");
  QS_ASSIGN_OR_RETURN(int64_t axis, axis_attr(ctx, x.rank(), 0));
  const int64_t dim = x.shape[static_cast<size_t>(axis)];
  QS_RETURN_IF_ERROR(check_constant_indices(ctx, dim));
  Shape out(x.shape.begin(), x.shape.begin() + axis);
  out.insert(out.end(), idx.shape.begin(), idx.shape.end());
  out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
  QS_RETURN_IF_ERROR(check_shape(ctx, out, x.dtype));
  ctx.set_output(0, x.dtype, out);
  const kernels::ref::AxisView v = kernels::ref::axis_view(x.shape, axis);
  const size_t es = dtype_size(x.dtype);
  return make_kernel([v, es](TensorIn in, TensorOut o) {
    const std::vector<int64_t> ind = read_indices(*in[1]);
    kernels::ref::gather(in[0]->raw(), v, ind.data(), static_cast<int64_t>(ind.size()), o[0]->raw(), es);
  });
}

Expected<std::unique_ptr<Kernel>> prepare_gather_elements(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(1, {DType::kInt32, DType::kInt64}));
  const TensorInfo& x = ctx.in(0);
  const TensorInfo& idx = ctx.in(1);
  if (x.rank() == 0) return ctx.error("cannot gather from a scalar");
  QS_ASSIGN_OR_RETURN(int64_t axis, axis_attr(ctx, x.rank(), 0));
  if (idx.rank() != x.rank())
    return ctx.error("indices {} must have the rank of the data {}", shape_str(idx.shape), shape_str(x.shape));
  for (int64_t d = 0; d < x.rank(); ++d)
    if (d != axis && idx.shape[static_cast<size_t>(d)] > x.shape[static_cast<size_t>(d)])
      return ctx.error("indices {} exceed the data {} on axis {}", shape_str(idx.shape), shape_str(x.shape), d);
  QS_RETURN_IF_ERROR(check_constant_indices(ctx, x.shape[static_cast<size_t>(axis)]));
  ctx.set_output(0, x.dtype, idx.shape);
  const size_t es = dtype_size(x.dtype);
  return make_kernel([axis, es](TensorIn in, TensorOut o) {
    const std::vector<int64_t> ind = read_indices(*in[1]);
    kernels::ref::gather_elements(in[0]->raw(), in[0]->shape(), ind.data(), in[1]->shape(), axis, o[0]->raw(), es);
  });
}

// The constant value of Pad as raw bytes of the data's dtype.
std::vector<std::byte> value_bytes(const Tensor* v, DType t, double fallback) {
  std::vector<std::byte> b(dtype_size(t));
  if (v && v->numel() > 0) {
    std::memcpy(b.data(), v->raw(), b.size());
    return b;
  }
  Tensor s(t, {});
  switch (t) {
    case DType::kFloat32: *s.data<float>() = static_cast<float>(fallback); break;
    case DType::kFloat64: *s.data<double>() = fallback; break;
    case DType::kFloat16: *s.data<uint16_t>() = float_to_half(static_cast<float>(fallback)); break;
    default: break;  // the attribute form (opset < 11) is float-only; zero otherwise
  }
  std::memcpy(b.data(), s.raw(), b.size());
  return b;
}

Expected<std::unique_ptr<Kernel>> prepare_pad(PrepareContext& ctx) {
  const TensorInfo& x = ctx.in(0);
  const int64_t rank = x.rank();
  QS_ASSIGN_OR_RETURN(std::string mode_s, ctx.node.attr_string("mode", "constant"));
  kernels::ref::PadMode mode;
  if (mode_s == "constant") mode = kernels::ref::PadMode::kConstant;
  else if (mode_s == "reflect") mode = kernels::ref::PadMode::kReflect;
  else if (mode_s == "edge") mode = kernels::ref::PadMode::kEdge;
  else if (mode_s == "wrap" && ctx.opset >= 19) mode = kernels::ref::PadMode::kWrap;
  else return ctx.error("unknown mode '{}'", mode_s);
  std::vector<int64_t> pads, axes;
  double value = 0;
  const Tensor* value_t = nullptr;
  if (ctx.opset < 11) {
    QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    QS_ASSIGN_OR_RETURN(pads, ctx.node.attr_ints(ctx.opset < 2 ? "paddings" : "pads"));
    QS_ASSIGN_OR_RETURN(float v, ctx.node.attr_float("value", 0.f));
    value = v;
  } else {
    QS_RETURN_IF_ERROR(ctx.expect_inputs(2, ctx.opset >= 18 ? 4 : 3));
    QS_ASSIGN_OR_RETURN(pads, ctx.constant_ints(1, "pads"));
    if (ctx.has_input(2)) {
      QS_ASSIGN_OR_RETURN(value_t, ctx.constant_input(2, "constant_value"));
      if (value_t->dtype() != x.dtype || value_t->numel() > 1)
        return ctx.error("constant_value must be one {} element", dtype_name(x.dtype));
    }
    if (ctx.has_input(3)) {
      QS_ASSIGN_OR_RETURN(axes, ctx.constant_ints(3, "axes"));
    }
  }
  if (axes.empty())
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  if (pads.size() != 2 * axes.size())
    return ctx.error("pads has {} entries, expected {} (begin and end for {} axes)", pads.size(), 2 * axes.size(),
                     axes.size());
  std::vector<int64_t> begin(static_cast<size_t>(rank), 0), end(static_cast<size_t>(rank), 0);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i];
    if (a < -rank || a >= rank) return ctx.error("axis {} is out of range for rank {}", a, rank);
    if (a < 0) a += rank;
    if (seen[static_cast<size_t>(a)]) return ctx.error("axis {} is repeated", a);
    seen[static_cast<size_t>(a)] = true;
    begin[static_cast<size_t>(a)] = pads[i];
    end[static_cast<size_t>(a)] = pads[i + axes.size()];
  }
  Shape out(static_cast<size_t>(rank));
  const int64_t big = int64_t{1} << 40;  // keeps the sums below from overflowing
  kernels::ref::IndexMap map{x.shape, {}};
  for (size_t a = 0; a < static_cast<size_t>(rank); ++a) {
    const int64_t d = x.shape[a], b = begin[a], e = end[a];
    if (std::abs(b) > big || std::abs(e) > big) return ctx.error("pads {} are too large", shape_str(pads));
    out[a] = d + b + e;
    if (out[a] < 0) return ctx.error("pads {} crop axis {} of size {} below zero", shape_str(pads), a, d);
    const int64_t kept = d - std::max<int64_t>(0, -b) - std::max<int64_t>(0, -e);
    if (mode != kernels::ref::PadMode::kConstant && (b > 0 || e > 0) && kept <= 0)
      return ctx.error("{} padding of axis {} needs input data, but the axis is empty after cropping", mode_s, a);
  }
  QS_RETURN_IF_ERROR(check_shape(ctx, out, x.dtype));
  for (size_t a = 0; a < static_cast<size_t>(rank); ++a)
    map.src.push_back(kernels::ref::pad_axis_map(x.shape[a], begin[a], end[a], mode));
  ctx.set_output(0, x.dtype, out);
  return index_map_kernel(std::move(map), dtype_size(x.dtype), value_bytes(value_t, x.dtype, value));
}

// GatherND: int64 index tuples of length k into the axes after batch_dims.
Expected<std::unique_ptr<Kernel>> prepare_gather_nd(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(1, {DType::kInt64}));
  const TensorInfo& x = ctx.in(0);
  const TensorInfo& idx = ctx.in(1);
  QS_ASSIGN_OR_RETURN(int64_t b, ctx.node.attr_int("batch_dims", 0));
  if (x.rank() < 1 || idx.rank() < 1) return ctx.error("data {} and indices {} need rank >= 1", shape_str(x.shape), shape_str(idx.shape));
  const int64_t k = idx.shape.back();
  if (b < 0 || b >= std::min(x.rank(), idx.rank()) || k < 1 || b + k > x.rank())
    return ctx.error("batch_dims {} and index tuples of length {} do not fit data {} (indices {})", b, k,
                     shape_str(x.shape), shape_str(idx.shape));
  for (size_t d = 0; d < static_cast<size_t>(b); ++d)
    if (x.shape[d] != idx.shape[d])
      return ctx.error("batch axis {} differs: data {}, indices {}", d, shape_str(x.shape), shape_str(idx.shape));
  if (const Tensor* t = idx.value)
    for (int64_t i = 0; i < t->numel(); ++i) {
      const int64_t dim = x.shape[static_cast<size_t>(b + i % k)];
      const int64_t j = t->data<int64_t>()[i];
      if (j < -dim || j >= dim) return ctx.error("index {} is out of range for an axis of size {}", j, dim);
    }
  Shape out(idx.shape.begin(), idx.shape.end() - 1);
  out.insert(out.end(), x.shape.begin() + b + k, x.shape.end());
  ctx.set_output(0, x.dtype, out);
  const size_t es = dtype_size(x.dtype);
  return make_kernel([b, es](TensorIn in, TensorOut o) {
    kernels::ref::gather_nd(in[0]->raw(), in[0]->shape(), in[1]->data<int64_t>(), in[1]->shape(), b, o[0]->raw(), es);
  }, "reference", true);
}

Expected<kernels::ref::ScatterReduction> read_reduction(const PrepareContext& ctx, DType t) {
  using R = kernels::ref::ScatterReduction;
  QS_ASSIGN_OR_RETURN(std::string r, ctx.node.attr_string("reduction", "none"));
  R red;
  if (r == "none") red = R::kNone;
  else if (r == "add") red = R::kAdd;
  else if (r == "mul") red = R::kMul;
  else if (r == "max") red = R::kMax;
  else if (r == "min") red = R::kMin;
  else return ctx.error("'reduction' is '{}', expected none, add, mul, max or min", r);
  if (red != R::kNone && t != DType::kFloat32 && t != DType::kFloat64 && t != DType::kInt32 && t != DType::kInt64)
    return ctx.unsupported("reduction '{}' on {} data (float, double, int32 and int64 are supported)", r, dtype_name(t));
  return red;
}

// Runs fn<T> with T the data's type for a reduction, or an unsigned type of its size for none.
template <typename Fn>
void with_scatter_type(DType t, Fn&& fn) {
  switch (t) {
    case DType::kFloat32: return fn(float{});
    case DType::kFloat64: return fn(double{});
    case DType::kInt32: return fn(int32_t{});
    case DType::kInt64: return fn(int64_t{});
    default: break;
  }
  switch (dtype_size(t)) {
    case 1: return fn(uint8_t{});
    case 2: return fn(uint16_t{});
    case 4: return fn(uint32_t{});
    default: return fn(uint64_t{});
  }
}

// ScatterND (is_nd) or ScatterElements / Scatter: y = data, then the updates land on it.
Expected<std::unique_ptr<Kernel>> prepare_scatter(PrepareContext& ctx, bool is_nd) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(3, 3));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(1, is_nd ? std::initializer_list<DType>{DType::kInt64}
                                                : std::initializer_list<DType>{DType::kInt32, DType::kInt64}));
  const TensorInfo& x = ctx.in(0);
  const TensorInfo& idx = ctx.in(1);
  const TensorInfo& upd = ctx.in(2);
  if (upd.dtype != x.dtype)
    return ctx.error("updates are {}, the data {}", dtype_name(upd.dtype), dtype_name(x.dtype));
  if (dtype_size(x.dtype) == 0) return ctx.unsupported("data of element type {}", dtype_name(x.dtype));
  QS_ASSIGN_OR_RETURN(auto red, read_reduction(ctx, x.dtype));
  int64_t axis = 0;
  if (is_nd) {
    const int64_t k = idx.rank() ? idx.shape.back() : 0;
    if (idx.rank() < 1 || k < 1 || k > x.rank())
      return ctx.error("indices {} need index tuples of 1 to {} values (data {})", shape_str(idx.shape), x.rank(),
                       shape_str(x.shape));
    Shape want(idx.shape.begin(), idx.shape.end() - 1);
    want.insert(want.end(), x.shape.begin() + k, x.shape.end());
    if (upd.shape != want)
      return ctx.error("updates have shape {}, expected {} (indices {}, data {})", shape_str(upd.shape), shape_str(want),
                       shape_str(idx.shape), shape_str(x.shape));
  } else {
    if (x.rank() == 0) return ctx.error("cannot scatter into a scalar");
    QS_ASSIGN_OR_RETURN(axis, axis_attr(ctx, x.rank(), 0));
    if (idx.shape != upd.shape || idx.rank() != x.rank())
      return ctx.error("indices {} and updates {} must share a shape of the data's rank {}", shape_str(idx.shape),
                       shape_str(upd.shape), x.rank());
    for (int64_t d = 0; d < x.rank(); ++d)
      if (d != axis && idx.shape[static_cast<size_t>(d)] > x.shape[static_cast<size_t>(d)])
        return ctx.error("indices {} exceed the data {} on axis {}", shape_str(idx.shape), shape_str(x.shape), d);
    QS_RETURN_IF_ERROR(check_constant_indices(ctx, x.shape[static_cast<size_t>(axis)]));
  }
  ctx.set_output(0, x.dtype, x.shape);
  const DType t = x.dtype;
  return make_kernel([is_nd, axis, red, t](TensorIn in, TensorOut o) {
    std::memcpy(o[0]->raw(), in[0]->raw(), in[0]->nbytes());
    const std::vector<int64_t> ind = read_indices(*in[1]);
    with_scatter_type(t, [&](auto tag) {
      using T = decltype(tag);
      T* y = static_cast<T*>(o[0]->raw());
      const T* u = static_cast<const T*>(in[2]->raw());
      if (is_nd) kernels::ref::scatter_nd(y, in[0]->shape(), ind.data(), in[1]->shape(), u, red);
      else kernels::ref::scatter_elements(y, in[0]->shape(), ind.data(), in[1]->shape(), u, axis, red);
    });
  }, "reference", true);
}

// Trilu: k (optional int64 scalar input) may be computed at run time; the shape does not depend on it.
Expected<std::unique_ptr<Kernel>> prepare_trilu(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 2));
  const TensorInfo& x = ctx.in(0);
  if (x.rank() < 2) return ctx.error("input has shape {}, expected rank >= 2", shape_str(x.shape));
  if (dtype_size(x.dtype) == 0) return ctx.unsupported("input of element type {}", dtype_name(x.dtype));
  if (ctx.has_input(1)) {
    QS_RETURN_IF_ERROR(ctx.expect_dtype(1, {DType::kInt64}));
    if (numel(ctx.in(1).shape) != 1) return ctx.error("k has shape {}, expected one value", shape_str(ctx.in(1).shape));
  }
  QS_ASSIGN_OR_RETURN(int64_t upper, ctx.node.attr_int("upper", 1));
  ctx.set_output(0, x.dtype, x.shape);
  const int64_t rows = x.shape[x.shape.size() - 2], cols = x.shape.back();
  const int64_t batch = numel(x.shape) / std::max<int64_t>(1, rows * cols);
  const size_t es = dtype_size(x.dtype);
  return make_kernel([rows, cols, batch, upper, es](TensorIn in, TensorOut o) {
    const int64_t k = in.size() > 1 && in[1] ? in[1]->data<int64_t>()[0] : 0;
    if (rows * cols == 0) return;
    kernels::ref::trilu(in[0]->raw(), o[0]->raw(), batch, rows, cols, k, upper != 0, es);
  }, "reference", true);
}

// OneHot: depth must be a constant (it decides the shape); values [off, on] are read at run time.
Expected<std::unique_ptr<Kernel>> prepare_one_hot(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(3, 3));
  const TensorInfo& idx = ctx.in(0);
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kInt32, DType::kInt64, DType::kFloat32, DType::kFloat64}));
  QS_ASSIGN_OR_RETURN(const Tensor* depth_t, ctx.constant_input(1, "depth"));
  if (depth_t->numel() != 1) return ctx.error("depth has shape {}, expected one value", shape_str(depth_t->shape()));
  const double depth_d = depth_t->GetAsDouble(0);
  if (!(depth_d >= 1 && depth_d <= double(int64_t{1} << 31))) return ctx.error("depth {} is not a positive size", depth_d);
  const int64_t depth = static_cast<int64_t>(depth_d);
  const TensorInfo& values = ctx.in(2);
  if (numel(values.shape) != 2) return ctx.error("values has shape {}, expected [off, on]", shape_str(values.shape));
  if (dtype_size(values.dtype) == 0) return ctx.unsupported("values of element type {}", dtype_name(values.dtype));
  QS_ASSIGN_OR_RETURN(int64_t axis, ctx.node.attr_int("axis", -1));
  const int64_t r = idx.rank();
  if (axis < -r - 1 || axis > r) return ctx.error("'axis' {} is out of range for indices of rank {}", axis, r);
  if (axis < 0) axis += r + 1;
  Shape out = idx.shape;
  out.insert(out.begin() + axis, depth);
  ctx.set_output(0, values.dtype, out);
  const int64_t outer = numel(Shape(idx.shape.begin(), idx.shape.begin() + axis));
  const int64_t inner = numel(Shape(idx.shape.begin() + axis, idx.shape.end()));
  const size_t es = dtype_size(values.dtype);
  return make_kernel([outer, inner, depth, es](TensorIn in, TensorOut o) {
    std::vector<int64_t> ind(static_cast<size_t>(in[0]->numel()));
    for (size_t i = 0; i < ind.size(); ++i) {
      const double v = in[0]->GetAsDouble(static_cast<int64_t>(i));
      ind[i] = std::fabs(v) < 9e18 ? static_cast<int64_t>(v) : -(int64_t{1} << 62);  // NaN and huge: no hot position
    }
    const auto* vals = static_cast<const std::byte*>(in[2]->raw());
    kernels::ref::one_hot(ind.data(), outer, inner, depth, vals, vals + es, o[0]->raw(), es);
  }, "reference", true);
}

Expected<std::unique_ptr<Kernel>> prepare_reverse_sequence(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(1, {DType::kInt64}));
  const TensorInfo& x = ctx.in(0);
  if (dtype_size(x.dtype) == 0) return ctx.unsupported("input of element type {}", dtype_name(x.dtype));
  QS_ASSIGN_OR_RETURN(int64_t batch_axis, ctx.node.attr_int("batch_axis", 1));
  QS_ASSIGN_OR_RETURN(int64_t time_axis, ctx.node.attr_int("time_axis", 0));
  if (x.rank() < 2 || batch_axis == time_axis || batch_axis < 0 || batch_axis > 1 || time_axis < 0 || time_axis > 1)
    return ctx.error("batch_axis {} and time_axis {} must be 0 and 1 in some order (input shape {})", batch_axis,
                     time_axis, shape_str(x.shape));
  kernels::ref::ReverseSequenceParams p;
  p.batch = x.shape[static_cast<size_t>(batch_axis)];
  p.time = x.shape[static_cast<size_t>(time_axis)];
  p.batch_first = batch_axis < time_axis;
  p.inner = numel(Shape(x.shape.begin() + 2, x.shape.end()));
  if (ctx.in(1).shape != Shape{p.batch})
    return ctx.error("sequence_lens has shape {}, expected [{}]", shape_str(ctx.in(1).shape), p.batch);
  ctx.set_output(0, x.dtype, x.shape);
  const size_t es = dtype_size(x.dtype);
  return make_kernel([p, es](TensorIn in, TensorOut o) {
    kernels::ref::reverse_sequence(p, in[0]->raw(), in[1]->data<int64_t>(), o[0]->raw(), es);
  }, "reference", true);
}

// EyeLike: ones on the k-th diagonal of a 2-D tensor of the input's shape; it reads only the shape.
Expected<std::unique_ptr<Kernel>> prepare_eye_like(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  const TensorInfo& x = ctx.in(0);
  if (x.rank() != 2) return ctx.error("input has shape {}, expected rank 2", shape_str(x.shape));
  DType t = x.dtype;
  if (ctx.node.has_attr("dtype")) {
    QS_ASSIGN_OR_RETURN(int64_t dt, ctx.node.attr_int("dtype"));
    t = dt >= 0 && dt <= 64 ? dtype_from_onnx(static_cast<int>(dt)) : DType::kUndefined;
  }
  if (t != DType::kFloat32 && t != DType::kFloat64 && t != DType::kInt32 && t != DType::kInt64 && t != DType::kInt8 &&
      t != DType::kUInt8 && t != DType::kBool)
    return ctx.unsupported("EyeLike output of element type {}", dtype_name(t));
  QS_ASSIGN_OR_RETURN(int64_t k, ctx.node.attr_int("k", 0));
  ctx.set_output(0, t, x.shape);
  const int64_t rows = x.shape[0], cols = x.shape[1];
  return make_kernel([rows, cols, k, t](TensorIn, TensorOut o) {
    Tensor& y = *o[0];
    std::memset(y.raw(), 0, y.nbytes());
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t c = r + k;
      if (c < 0 || c >= cols) continue;
      const int64_t at = r * cols + c;
      switch (t) {
        case DType::kFloat32: y.data<float>()[at] = 1.f; break;
        case DType::kFloat64: y.data<double>()[at] = 1.0; break;
        case DType::kInt32: y.data<int32_t>()[at] = 1; break;
        case DType::kInt64: y.data<int64_t>()[at] = 1; break;
        case DType::kInt8: y.data<int8_t>()[at] = 1; break;
        default: static_cast<uint8_t*>(y.raw())[at] = 1; break;  // uint8, bool
      }
    }
  }, "reference", true);
}

Expected<std::unique_ptr<Kernel>> prepare_scatter_nd(PrepareContext& ctx) { return prepare_scatter(ctx, true); }
Expected<std::unique_ptr<Kernel>> prepare_scatter_elements(PrepareContext& ctx) { return prepare_scatter(ctx, false); }

const OpSchema kOps[] = {
    {"Concat", prepare_concat},
    {"EyeLike", prepare_eye_like, true},
    {"Gather", prepare_gather},
    {"GatherElements", prepare_gather_elements},
    {"GatherND", prepare_gather_nd},
    {"GridSample", prepare_grid_sample},
    {"OneHot", prepare_one_hot},
    {"Pad", prepare_pad},
    {"Resize", prepare_resize},
    {"ReverseSequence", prepare_reverse_sequence},
    {"Scatter", prepare_scatter_elements},
    {"ScatterElements", prepare_scatter_elements},
    {"ScatterND", prepare_scatter_nd},
    {"Slice", prepare_slice},
    {"Split", prepare_split},
    {"Trilu", prepare_trilu},
    {"Upsample", prepare_upsample},
};

}  // namespace

std::span<const OpSchema> data_ops() { return kOps; }

}  // namespace qs::ops
