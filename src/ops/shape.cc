// Shape ops: Reshape Flatten Transpose Squeeze Unsqueeze Shape Size Constant
// ConstantOfShape Expand Tile Range DepthToSpace SpaceToDepth. Dtype-agnostic: elements move as bytes.
// Reshape-like ops copy their input; sharing the buffer would need the planner's help.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <string>

#include "kernels/fast/layout.h"
#include "kernels/reference/shape.h"
#include "ops/families.h"

namespace qs::ops {
namespace {

using TensorIn = std::span<const Tensor* const>;
using TensorOut = std::span<Tensor* const>;

// A kernel that writes a value fixed at plan time.
std::unique_ptr<Kernel> constant_kernel(Tensor value) {
  return make_kernel([value](TensorIn, TensorOut out) {
    if (value.nbytes()) std::memcpy(out[0]->raw(), value.raw(), value.nbytes());
  });
}

Status check_shape(const PrepareContext& ctx, const Shape& s, DType t) {
  auto n = checked_numel(s, dtype_size(t));
  return n.ok() ? Status::Ok() : ctx.error("output {}", n.status().message());
}

// Axes from the attribute (before `input_opset`) or from optional input 1.
Expected<std::optional<std::vector<int64_t>>> axes_attr_or_input(const PrepareContext& ctx, int64_t input_opset) {
  if (ctx.opset < input_opset) {
    if (!ctx.node.has_attr("axes")) return std::optional<std::vector<int64_t>>{};
    QS_ASSIGN_OR_RETURN(auto a, ctx.node.attr_ints("axes"));
    return std::optional<std::vector<int64_t>>{a};
  }
  if (!ctx.has_input(1)) return std::optional<std::vector<int64_t>>{};
  QS_ASSIGN_OR_RETURN(auto a, ctx.constant_ints(1, "axes"));
  return std::optional<std::vector<int64_t>>{a};
}

// Normalises axes against a rank; rejects out-of-range and repeated axes.
Expected<std::vector<int64_t>> normalize_axes(const PrepareContext& ctx, std::vector<int64_t> axes, int64_t rank) {
  std::set<int64_t> seen;
  for (int64_t& a : axes) {
    if (a < -rank || a >= rank) return ctx.error("axis {} is out of range for rank {}", a, rank);
    if (a < 0) a += rank;
    if (!seen.insert(a).second) return ctx.error("axis {} is repeated", a);
  }
  return axes;
}

Expected<std::unique_ptr<Kernel>> prepare_reshape(PrepareContext& ctx) {
  std::vector<int64_t> spec;
  int64_t allowzero = 0;
  if (ctx.opset < 5) {
    QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    QS_ASSIGN_OR_RETURN(spec, ctx.node.attr_ints("shape"));
  } else {
    QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
    QS_ASSIGN_OR_RETURN(spec, ctx.constant_ints(1, "shape"));
    if (ctx.in(1).rank() != 1) return ctx.error("shape input must be 1-D, got {}", shape_str(ctx.in(1).shape));
    if (ctx.opset >= 14) {
      QS_ASSIGN_OR_RETURN(allowzero, ctx.node.attr_int("allowzero", 0));
    }
  }
  const TensorInfo& x = ctx.in(0);
  const int64_t total = numel(x.shape);
  Shape out(spec.size());
  int64_t infer = -1;
  bool has_zero = false;
  for (size_t i = 0; i < spec.size(); ++i) {
    const int64_t d = spec[i];
    if (d == -1) {
      if (infer >= 0) return ctx.error("shape {} has more than one -1", shape_str(spec));
      infer = static_cast<int64_t>(i);
      out[i] = 1;
    } else if (d < -1) {
      return ctx.error("shape {} has invalid dimension {}", shape_str(spec), d);
    } else if (d == 0 && !allowzero) {
      if (static_cast<int64_t>(i) >= x.rank())
        return ctx.error("shape {} copies dimension {} (0), but the input {} has rank {}", shape_str(spec), i,
                         shape_str(x.shape), x.rank());
      out[i] = x.shape[i];
    } else {
      has_zero |= d == 0;
      out[i] = d;
    }
  }
  if (has_zero && infer >= 0) return ctx.error("shape {} has both 0 and -1 with allowzero=1", shape_str(spec));
  auto known = checked_numel(out, dtype_size(x.dtype));
  if (!known.ok()) return ctx.error("shape {}: {}", shape_str(spec), known.status().message());
  if (infer >= 0) {
    if (*known == 0 || total % *known != 0)
      return ctx.error("cannot reshape {} ({} elements) to {}", shape_str(x.shape), total, shape_str(spec));
    out[static_cast<size_t>(infer)] = total / *known;
  } else if (*known != total) {
    return ctx.error("cannot reshape {} ({} elements) to {} ({} elements)", shape_str(x.shape), total, shape_str(out),
                     *known);
  }
  ctx.set_output(0, x.dtype, out);
  return std::unique_ptr<Kernel>(std::make_unique<ViewKernel>(out));
}

Expected<std::unique_ptr<Kernel>> prepare_flatten(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  const TensorInfo& x = ctx.in(0);
  QS_ASSIGN_OR_RETURN(int64_t axis, ctx.node.attr_int("axis", 1));
  if (axis < -x.rank() || axis > x.rank()) return ctx.error("axis {} is out of range for rank {}", axis, x.rank());
  if (axis < 0) axis += x.rank();
  int64_t a = 1, b = 1;
  for (int64_t i = 0; i < x.rank(); ++i) (i < axis ? a : b) *= x.shape[static_cast<size_t>(i)];
  ctx.set_output(0, x.dtype, {a, b});
  return std::unique_ptr<Kernel>(std::make_unique<ViewKernel>(Shape{a, b}));
}

Expected<std::unique_ptr<Kernel>> prepare_transpose(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  const TensorInfo& x = ctx.in(0);
  std::vector<int64_t> perm(static_cast<size_t>(x.rank()));
  for (int64_t i = 0; i < x.rank(); ++i) perm[static_cast<size_t>(i)] = x.rank() - 1 - i;
  QS_ASSIGN_OR_RETURN(perm, ctx.node.attr_ints("perm", perm));
  if (static_cast<int64_t>(perm.size()) != x.rank())
    return ctx.error("perm {} has {} entries, the input {} has rank {}", shape_str(perm), perm.size(), shape_str(x.shape),
                     x.rank());
  std::vector<bool> used(perm.size(), false);
  Shape out(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    int64_t p = perm[i];
    if (p < -x.rank() || p >= x.rank() || used[static_cast<size_t>(p < 0 ? p + x.rank() : p)])
      return ctx.error("perm {} is not a permutation of the {} axes", shape_str(perm), x.rank());
    if (p < 0) p += x.rank();  // tolerated like ORT; the spec only has non-negative entries
    perm[i] = p;
    used[static_cast<size_t>(p)] = true;
    out[i] = x.shape[static_cast<size_t>(p)];
  }
  ctx.set_output(0, x.dtype, out);
  const size_t es = dtype_size(x.dtype);
  if (ctx.options.use_fast)
    return make_kernel([perm, es](TensorIn in, TensorOut o) {
      kernels::fast::transpose(in[0]->raw(), o[0]->raw(), in[0]->shape(), perm, es);
    }, "fast", true);
  return make_kernel([perm, es](TensorIn in, TensorOut o) {
    kernels::ref::transpose(in[0]->raw(), o[0]->raw(), in[0]->shape(), perm, es);
  }, "reference", true);
}

Expected<std::unique_ptr<Kernel>> prepare_squeeze(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, ctx.opset >= 13 ? 2 : 1));
  const TensorInfo& x = ctx.in(0);
  QS_ASSIGN_OR_RETURN(auto axes, axes_attr_or_input(ctx, 13));
  std::vector<bool> drop(static_cast<size_t>(x.rank()), false);
  if (axes) {
    QS_ASSIGN_OR_RETURN(auto norm, normalize_axes(ctx, *axes, x.rank()));
    for (int64_t a : norm) {
      if (x.shape[static_cast<size_t>(a)] != 1)
        return ctx.error("cannot squeeze axis {} of {}: its size is not 1", a, shape_str(x.shape));
      drop[static_cast<size_t>(a)] = true;
    }
  } else {
    for (size_t i = 0; i < drop.size(); ++i) drop[i] = x.shape[i] == 1;
  }
  Shape out;
  for (size_t i = 0; i < drop.size(); ++i)
    if (!drop[i]) out.push_back(x.shape[i]);
  ctx.set_output(0, x.dtype, out);
  return std::unique_ptr<Kernel>(std::make_unique<ViewKernel>(out));
}

Expected<std::unique_ptr<Kernel>> prepare_unsqueeze(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(ctx.opset >= 13 ? 2 : 1, ctx.opset >= 13 ? 2 : 1));
  const TensorInfo& x = ctx.in(0);
  QS_ASSIGN_OR_RETURN(auto axes, axes_attr_or_input(ctx, 13));
  if (!axes) return ctx.error("required attribute 'axes' is missing");
  const int64_t rank = x.rank() + static_cast<int64_t>(axes->size());
  QS_ASSIGN_OR_RETURN(auto norm, normalize_axes(ctx, *axes, rank));
  std::vector<bool> inserted(static_cast<size_t>(rank), false);
  for (int64_t a : norm) inserted[static_cast<size_t>(a)] = true;
  Shape out;
  size_t k = 0;
  for (int64_t i = 0; i < rank; ++i) out.push_back(inserted[static_cast<size_t>(i)] ? 1 : x.shape[k++]);
  ctx.set_output(0, x.dtype, out);
  return std::unique_ptr<Kernel>(std::make_unique<ViewKernel>(out));
}

Expected<std::unique_ptr<Kernel>> prepare_shape(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  const TensorInfo& x = ctx.in(0);
  int64_t start = 0, end = x.rank();
  if (ctx.opset >= 15) {
    QS_ASSIGN_OR_RETURN(start, ctx.node.attr_int("start", 0));
    QS_ASSIGN_OR_RETURN(end, ctx.node.attr_int("end", x.rank()));
  }
  // Out-of-range start/end clamp, as the spec says.
  auto clamp = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + x.rank() : v, 0, x.rank()); };
  start = clamp(start);
  end = std::max(clamp(end), start);
  std::vector<int64_t> dims(x.shape.begin() + start, x.shape.begin() + end);
  ctx.set_output(0, DType::kInt64, {end - start});
  return constant_kernel(Tensor::FromVector<int64_t>({end - start}, dims));
}

Expected<std::unique_ptr<Kernel>> prepare_size(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  ctx.set_output(0, DType::kInt64, {});
  return constant_kernel(Tensor::Scalar<int64_t>(numel(ctx.in(0).shape)));
}

Expected<std::unique_ptr<Kernel>> prepare_constant(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(0, 0));
  const ir::Node& n = ctx.node;
  const char* kinds[] = {"value", "value_float", "value_floats", "value_int", "value_ints", "value_string",
                         "value_strings", "sparse_value"};
  int count = 0;
  std::string which;
  for (const char* k : kinds)
    if (n.has_attr(k)) ++count, which = k;
  if (count != 1) return ctx.error("needs exactly one value attribute, found {}", count);
  Tensor value;
  if (which == "value") {
    QS_ASSIGN_OR_RETURN(value, n.attr_tensor("value"));
  } else if (which == "value_float") {
    QS_ASSIGN_OR_RETURN(float f, n.attr_float(which));
    value = Tensor::Scalar<float>(f);
  } else if (which == "value_floats") {
    QS_ASSIGN_OR_RETURN(auto v, n.attr_floats(which));
    value = Tensor::FromVector<float>({static_cast<int64_t>(v.size())}, v);
  } else if (which == "value_int") {
    QS_ASSIGN_OR_RETURN(int64_t i, n.attr_int(which));
    value = Tensor::Scalar<int64_t>(i);
  } else if (which == "value_ints") {
    QS_ASSIGN_OR_RETURN(auto v, n.attr_ints(which));
    value = Tensor::FromVector<int64_t>({static_cast<int64_t>(v.size())}, v);
  } else {
    return ctx.unsupported("attribute '{}' is not supported (no string or sparse tensors)", which);
  }
  if (!value.defined()) return ctx.error("attribute '{}' holds no tensor", which);
  ctx.set_output(0, value.dtype(), value.shape());
  return constant_kernel(value);
}

Expected<std::unique_ptr<Kernel>> prepare_constant_of_shape(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  QS_ASSIGN_OR_RETURN(Shape shape, ctx.constant_ints(0, "shape"));
  if (ctx.in(0).rank() != 1) return ctx.error("shape input must be 1-D, got {}", shape_str(ctx.in(0).shape));
  Tensor value = Tensor::Scalar<float>(0.f);
  if (ctx.node.has_attr("value")) {
    QS_ASSIGN_OR_RETURN(value, ctx.node.attr_tensor("value"));
    if (value.numel() != 1) return ctx.error("attribute 'value' must hold one element, it has {}", value.numel());
  }
  for (int64_t d : shape)
    if (d < 0) return ctx.error("shape {} has a negative dimension", shape_str(shape));
  QS_RETURN_IF_ERROR(check_shape(ctx, shape, value.dtype()));
  ctx.set_output(0, value.dtype(), shape);
  return make_kernel([value](TensorIn, TensorOut out) {
    kernels::ref::fill(out[0]->raw(), value.raw(), out[0]->numel(), dtype_size(value.dtype()));
  });
}

std::unique_ptr<Kernel> index_map_kernel(kernels::ref::IndexMap map, size_t es) {
  return make_kernel([map = std::move(map), es](TensorIn in, TensorOut out) {
    if (out[0]->numel() == 0) return;
    kernels::ref::index_map_copy(in[0]->raw(), out[0]->raw(), map, nullptr, es);
  });
}

Expected<std::unique_ptr<Kernel>> prepare_expand(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
  const TensorInfo& x = ctx.in(0);
  QS_ASSIGN_OR_RETURN(Shape shape, ctx.constant_ints(1, "shape"));
  if (ctx.in(1).rank() != 1) return ctx.error("shape input must be 1-D, got {}", shape_str(ctx.in(1).shape));
  for (int64_t d : shape)
    if (d < 0) return ctx.error("shape {} has a negative dimension", shape_str(shape));
  QS_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(ctx, x.shape, shape));
  QS_RETURN_IF_ERROR(check_shape(ctx, out, x.dtype));
  // Input dims aligned to the right of the output, padded with 1s.
  kernels::ref::IndexMap map;
  map.in_shape.assign(out.size() - x.shape.size(), 1);
  map.in_shape.insert(map.in_shape.end(), x.shape.begin(), x.shape.end());
  for (size_t i = 0; i < out.size(); ++i) map.src.push_back(kernels::ref::broadcast_axis_map(map.in_shape[i], out[i]));
  ctx.set_output(0, x.dtype, out);
  return index_map_kernel(std::move(map), dtype_size(x.dtype));
}

Expected<std::unique_ptr<Kernel>> prepare_tile(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
  const TensorInfo& x = ctx.in(0);
  QS_ASSIGN_OR_RETURN(auto repeats, ctx.constant_ints(1, "repeats"));
  if (static_cast<int64_t>(repeats.size()) != x.rank())
    return ctx.error("repeats has {} entries, the input {} has rank {}", repeats.size(), shape_str(x.shape), x.rank());
  Shape out(repeats.size());
  kernels::ref::IndexMap map{x.shape, {}};
  for (size_t i = 0; i < repeats.size(); ++i) {
    if (repeats[i] < 0) return ctx.error("repeats {} has a negative entry", shape_str(repeats));
    if (x.shape[i] != 0 && repeats[i] > std::numeric_limits<int64_t>::max() / x.shape[i])
      return ctx.error("repeats {} overflow the output size", shape_str(repeats));
    out[i] = x.shape[i] * repeats[i];
  }
  QS_RETURN_IF_ERROR(check_shape(ctx, out, x.dtype));
  for (size_t i = 0; i < repeats.size(); ++i) map.src.push_back(kernels::ref::tile_axis_map(x.shape[i], repeats[i]));
  ctx.set_output(0, x.dtype, out);
  return index_map_kernel(std::move(map), dtype_size(x.dtype));
}

template <typename T>
std::unique_ptr<Kernel> range_kernel(const Tensor& start, const Tensor& delta) {
  const T s = start.data<T>()[0], d = delta.data<T>()[0];
  return make_kernel([s, d](TensorIn, TensorOut out) { kernels::ref::range<T>(s, d, out[0]->data<T>(), out[0]->numel()); });
}

Expected<std::unique_ptr<Kernel>> prepare_range(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(3, 3));
  const DType t = ctx.in(0).dtype;
  const Tensor* v[3];
  const char* names[] = {"start", "limit", "delta"};
  for (size_t i = 0; i < 3; ++i) {
    QS_RETURN_IF_ERROR(ctx.expect_dtype(i, {DType::kFloat32, DType::kFloat64, DType::kInt16, DType::kInt32, DType::kInt64}));
    if (ctx.in(i).dtype != t) return ctx.error("inputs must share one element type");
    QS_ASSIGN_OR_RETURN(v[i], ctx.constant_input(i, names[i]));
    if (v[i]->numel() != 1) return ctx.error("{} must be a scalar, got shape {}", names[i], shape_str(v[i]->shape()));
  }
  const double start = v[0]->GetAsDouble(0), limit = v[1]->GetAsDouble(0), delta = v[2]->GetAsDouble(0);
  if (delta == 0 || !std::isfinite(start) || !std::isfinite(limit) || !std::isfinite(delta))
    return ctx.error("needs finite start and limit and a nonzero finite delta");
  const double count = std::max(std::ceil((limit - start) / delta), 0.0);
  if (count > static_cast<double>(max_tensor_bytes()))
    return ctx.error("would produce {} elements, more than the tensor size cap", count);
  const Shape out{static_cast<int64_t>(count)};
  QS_RETURN_IF_ERROR(check_shape(ctx, out, t));
  ctx.set_output(0, t, out);
  switch (t) {
    case DType::kFloat32: return range_kernel<float>(*v[0], *v[2]);
    case DType::kFloat64: return range_kernel<double>(*v[0], *v[2]);
    case DType::kInt16: return range_kernel<int16_t>(*v[0], *v[2]);
    case DType::kInt32: return range_kernel<int32_t>(*v[0], *v[2]);
    default: return range_kernel<int64_t>(*v[0], *v[2]);
  }
}

// DepthToSpace and SpaceToDepth move blocks of b x b values between the channels and the
// picture of an [N, C, H, W] tensor: each is a transpose of a 6-D view of it (the ONNX
// definitions are written that way).
Expected<int64_t> read_blocksize(const PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  const Shape& xs = ctx.in(0).shape;
  if (xs.size() != 4) return ctx.error("input has shape {}, expected rank 4 (N, C, H, W)", shape_str(xs));
  QS_ASSIGN_OR_RETURN(int64_t b, ctx.node.attr_int("blocksize", 0));
  if (b < 1) return ctx.error("'blocksize' is {}, expected a positive integer", b);
  return b;
}

std::unique_ptr<Kernel> transpose_view_kernel(const Shape& view, const std::vector<int64_t>& perm, size_t es) {
  return make_kernel([view, perm, es](TensorIn in, TensorOut o) {
    kernels::ref::transpose(in[0]->raw(), o[0]->raw(), view, perm, es);
  });
}

Expected<std::unique_ptr<Kernel>> prepare_depth_to_space(PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(const int64_t b, read_blocksize(ctx));
  const Shape& xs = ctx.in(0).shape;
  QS_ASSIGN_OR_RETURN(std::string mode, ctx.node.attr_string("mode", "DCR"));
  if (mode != "DCR" && mode != "CRD") return ctx.error("'mode' is '{}', expected DCR or CRD", mode);
  const int64_t n = xs[0], c = xs[1], h = xs[2], w = xs[3];
  if (c % (b * b) != 0)
    return ctx.error("input has {} channels, not a multiple of blocksize^2 = {} (shape {})", c, b * b, shape_str(xs));
  const int64_t oc = c / (b * b);
  ctx.set_output(0, ctx.in(0).dtype, Shape{n, oc, h * b, w * b});
  const size_t es = dtype_size(ctx.in(0).dtype);
  // DCR: [N, b, b, C', H, W] -> [N, C', H, b, W, b]; CRD: [N, C', b, b, H, W] -> the same.
  if (mode == "DCR") return transpose_view_kernel(Shape{n, b, b, oc, h, w}, {0, 3, 4, 1, 5, 2}, es);
  return transpose_view_kernel(Shape{n, oc, b, b, h, w}, {0, 1, 4, 2, 5, 3}, es);
}

Expected<std::unique_ptr<Kernel>> prepare_space_to_depth(PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(const int64_t b, read_blocksize(ctx));
  const Shape& xs = ctx.in(0).shape;
  const int64_t n = xs[0], c = xs[1], h = xs[2], w = xs[3];
  if (h % b != 0 || w % b != 0)
    return ctx.error("input has shape {}: height and width must be multiples of blocksize {}", shape_str(xs), b);
  ctx.set_output(0, ctx.in(0).dtype, Shape{n, c * b * b, h / b, w / b});
  // [N, C, H/b, b, W/b, b] -> [N, b, b, C, H/b, W/b]
  return transpose_view_kernel(Shape{n, c, h / b, b, w / b, b}, {0, 3, 5, 1, 2, 4}, dtype_size(ctx.in(0).dtype));
}

const OpSchema kOps[] = {
    {"Constant", prepare_constant},
    {"ConstantOfShape", prepare_constant_of_shape},
    {"DepthToSpace", prepare_depth_to_space},
    {"Expand", prepare_expand},
    {"Flatten", prepare_flatten},
    {"Range", prepare_range},
    {"Reshape", prepare_reshape},
    {"Shape", prepare_shape, true},
    {"Size", prepare_size, true},
    {"SpaceToDepth", prepare_space_to_depth},
    {"Squeeze", prepare_squeeze},
    {"Tile", prepare_tile},
    {"Transpose", prepare_transpose},
    {"Unsqueeze", prepare_unsqueeze},
};

}  // namespace

std::span<const OpSchema> shape_ops() { return kOps; }

}  // namespace qs::ops
