// Pooling ops: MaxPool, AveragePool, LpPool, GlobalAveragePool, GlobalMaxPool, GlobalLpPool, MaxUnpool.
#include <string>
#include <utility>
#include <vector>

#include "kernels/fast/pool_fast.h"
#include "kernels/reference/pool.h"
#include "ops/families.h"

namespace qs::ops {
namespace {

using kernels::ref::PoolParams;

// Reads an ints attribute that must hold one value per spatial dim (or be absent: dflt each).
Expected<std::vector<int64_t>> per_dim_attr(const PrepareContext& ctx, const std::string& name, size_t count,
                                            int64_t dflt) {
  QS_ASSIGN_OR_RETURN(auto v, ctx.node.attr_ints(name, std::vector<int64_t>(count, dflt)));
  if (v.size() != count) return ctx.error("'{}' has {} values, expected {}", name, v.size(), count);
  return v;
}

// Validates the window attributes shared by MaxPool, AveragePool and LpPool against the
// input and computes the geometry; *out_shape receives [N, C, out spatial...].
Expected<PoolParams> pool_geometry(const PrepareContext& ctx, Shape* out_shape) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  QS_ASSIGN_OR_RETURN(auto kernel, ctx.node.attr_ints("kernel_shape"));
  const size_t nsp = kernel.size();
  if (nsp == 0) return ctx.error("'kernel_shape' is empty");
  if (nsp > 3) return ctx.unsupported("{}-D pooling is not supported (1-D to 3-D only)", nsp);
  const Shape& xs = ctx.in(0).shape;
  if (xs.size() != nsp + 2)
    return ctx.error("input has shape {}, expected rank {} (N, C and {} spatial dims of 'kernel_shape')", shape_str(xs),
                     nsp + 2, nsp);
  QS_ASSIGN_OR_RETURN(auto strides, per_dim_attr(ctx, "strides", nsp, 1));
  QS_ASSIGN_OR_RETURN(auto dilations, per_dim_attr(ctx, "dilations", nsp, 1));
  QS_ASSIGN_OR_RETURN(auto pads, per_dim_attr(ctx, "pads", 2 * nsp, 0));
  QS_ASSIGN_OR_RETURN(std::string auto_pad, ctx.node.attr_string("auto_pad", std::string("NOTSET")));
  QS_ASSIGN_OR_RETURN(int64_t ceil_mode, ctx.node.attr_int("ceil_mode", 0));
  if (ceil_mode != 0 && ceil_mode != 1) return ctx.error("'ceil_mode' is {}, expected 0 or 1", ceil_mode);
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER")
    return ctx.error("'auto_pad' is '{}', expected NOTSET, VALID, SAME_UPPER or SAME_LOWER", auto_pad);

  PoolParams p;
  p.batch = xs[0];
  p.channels = xs[1];
  p.spatial_rank = static_cast<int>(nsp);
  *out_shape = {xs[0], xs[1]};
  for (size_t i = 0; i < nsp; ++i) {
    if (kernel[i] < 1) return ctx.error("'kernel_shape' value {} is {}, expected >= 1", i, kernel[i]);
    if (strides[i] < 1) return ctx.error("'strides' value {} is {}, expected >= 1", i, strides[i]);
    if (dilations[i] < 1) return ctx.error("'dilations' value {} is {}, expected >= 1", i, dilations[i]);
    const int64_t in = xs[2 + i];
    const int64_t extent = dilations[i] * (kernel[i] - 1) + 1;
    int64_t pb = pads[i], pe = pads[nsp + i], out = 0;
    if (auto_pad == "NOTSET") {
      if (pb < 0 || pe < 0) return ctx.error("'pads' {} has a negative value", shape_str(pads));
      // A pad as wide as the window would make windows that see only padding.
      if (pb >= extent || pe >= extent)
        return ctx.error("'pads' {} must be smaller than the kernel extent {} in spatial dim {}", shape_str(pads),
                         extent, i);
      out = kernels::ref::pool_output_size(in, kernel[i], strides[i], dilations[i], pb, pe, ceil_mode == 1);
    } else if (auto_pad == "VALID") {
      pb = pe = 0;
      out = kernels::ref::pool_output_size(in, kernel[i], strides[i], dilations[i], 0, 0, false);
    } else {
      out = (in + strides[i] - 1) / strides[i];
      const int64_t total = std::max<int64_t>(0, (out - 1) * strides[i] + extent - in);
      pb = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pe = total - pb;
    }
    if (out < 1)
      return ctx.error("input spatial dim {} of size {} (padded {} + {}) is smaller than the kernel extent {}", i, in,
                       pb, pe, extent);
    const size_t s = 3 - nsp + i;  // right-aligned in the kernel's 3 slots
    p.in[s] = in;
    p.out[s] = out;
    p.kernel[s] = kernel[i];
    p.stride[s] = strides[i];
    p.dilation[s] = dilations[i];
    p.pad_begin[s] = pb;
    p.pad_end[s] = pe;
    out_shape->push_back(out);
  }
  return p;
}

// MaxPool and AveragePool with the layout pass's channels_last = 1 (passes/layout.h): a 1-D or
// 2-D float pool whose X and Y are [N, W, C] or [N, H, W, C]. Returns nullptr when the node is
// plain. A 1-D pool runs as the 2-D pool of [N, W, 1, C] (the same memory): its output pixels
// are rows, which the kernel splits over threads.
using NhwcPoolFn = bool (*)(const PoolParams&, const float*, float*);
Expected<std::unique_ptr<Kernel>> channels_last_pool(PrepareContext& ctx, NhwcPoolFn fn, bool average) {
  QS_ASSIGN_OR_RETURN(int64_t cl, ctx.node.attr_int("channels_last", 0));
  if (cl == 0) return std::unique_ptr<Kernel>();
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  const size_t rank = ctx.in(0).shape.size();
  if ((rank != 3 && rank != 4) || ctx.node.outputs.size() != 1)
    return ctx.error("channels-last pooling needs a 3-D or 4-D input and one output, got {}", shape_str(ctx.in(0).shape));
  PrepareContext plain = ctx;
  plain.inputs[0].shape = channels_first_shape(ctx.in(0).shape);
  Shape out_shape;
  QS_ASSIGN_OR_RETURN(PoolParams p, pool_geometry(plain, &out_shape));
  if (rank == 3) {  // slot 2 (W) -> slot 1 (H); slot 2 becomes the unit column
    p.spatial_rank = 2;
    p.in[1] = std::exchange(p.in[2], 1);
    p.out[1] = std::exchange(p.out[2], 1);
    p.kernel[1] = std::exchange(p.kernel[2], 1);
    p.stride[1] = std::exchange(p.stride[2], 1);
    p.dilation[1] = std::exchange(p.dilation[2], 1);
    p.pad_begin[1] = std::exchange(p.pad_begin[2], 0);
    p.pad_end[1] = std::exchange(p.pad_end[2], 0);
  }
  if (average) {
    QS_ASSIGN_OR_RETURN(int64_t include_pad, ctx.node.attr_int("count_include_pad", 0));
    p.count_include_pad = include_pad == 1;
  }
  ctx.set_output(0, DType::kFloat32, channels_last_shape(out_shape));
  return make_kernel([p, fn](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    fn(p, in[0]->data<float>(), out[0]->data<float>());  // 2-D (a 1-D one made 2-D above): always handled
  }, "fast-nhwc", true);
}

Expected<std::unique_ptr<Kernel>> prepare_max_pool(PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(auto nhwc, channels_last_pool(ctx, kernels::fast::max_pool_nhwc_f32, false));
  if (nhwc) return nhwc;
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32, DType::kFloat64, DType::kInt8, DType::kUInt8}));
  Shape out_shape;
  QS_ASSIGN_OR_RETURN(PoolParams p, pool_geometry(ctx, &out_shape));
  QS_ASSIGN_OR_RETURN(int64_t storage_order, ctx.node.attr_int("storage_order", 0));
  if (storage_order != 0 && storage_order != 1)
    return ctx.error("'storage_order' is {}, expected 0 (row major) or 1 (column major)", storage_order);
  const DType t = ctx.in(0).dtype;
  ctx.set_output(0, t, out_shape);
  if (ctx.outputs.size() > 1) ctx.set_output(1, DType::kInt64, out_shape);
  const bool col = storage_order == 1;
  const bool want_indices = ctx.outputs.size() > 1 && ctx.node.outputs.size() > 1 && !ctx.node.outputs[1].empty();
  if (ctx.options.use_fast && t == DType::kFloat32 && !want_indices)
    return make_kernel([p](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
      kernels::fast::max_pool_f32(p, in[0]->data<float>(), out[0]->data<float>());
    }, "fast");
  return make_kernel([p, t, col](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    int64_t* idx = out.size() > 1 && out[1] ? out[1]->data<int64_t>() : nullptr;
    switch (t) {
      case DType::kFloat64:
        kernels::ref::max_pool_f64(p, in[0]->data<double>(), out[0]->data<double>(), idx, col);
        break;
      case DType::kInt8:
        kernels::ref::max_pool_i8(p, in[0]->data<int8_t>(), out[0]->data<int8_t>(), idx, col);
        break;
      case DType::kUInt8:
        kernels::ref::max_pool_u8(p, in[0]->data<uint8_t>(), out[0]->data<uint8_t>(), idx, col);
        break;
      default:
        kernels::ref::max_pool_f32(p, in[0]->data<float>(), out[0]->data<float>(), idx, col);
        break;
    }
  });
}

Expected<std::unique_ptr<Kernel>> prepare_average_pool(PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(auto nhwc, channels_last_pool(ctx, kernels::fast::avg_pool_nhwc_f32, true));
  if (nhwc) return nhwc;
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  Shape out_shape;
  QS_ASSIGN_OR_RETURN(PoolParams p, pool_geometry(ctx, &out_shape));
  QS_ASSIGN_OR_RETURN(int64_t include_pad, ctx.node.attr_int("count_include_pad", 0));
  if (include_pad != 0 && include_pad != 1)
    return ctx.error("'count_include_pad' is {}, expected 0 or 1", include_pad);
  p.count_include_pad = include_pad == 1;
  ctx.set_output(0, DType::kFloat32, out_shape);
  if (ctx.options.use_fast)
    return make_kernel([p](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
      kernels::fast::avg_pool_f32(p, in[0]->data<float>(), out[0]->data<float>());
    }, "fast");
  return make_kernel([p](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    kernels::ref::avg_pool_f32(p, in[0]->data<float>(), out[0]->data<float>());
  });
}

// LpPool's p was a float before opset 2 and an int since; either way it must be a whole number >= 1.
Expected<int64_t> lp_exponent(const PrepareContext& ctx) {
  auto it = ctx.node.attrs.find("p");
  int64_t p = 2;
  if (it != ctx.node.attrs.end() && it->second.kind == ir::Attribute::Kind::kFloat) {
    const float f = it->second.f;
    if (f < 1.f || f > 64.f || f != static_cast<float>(static_cast<int64_t>(f)))
      return ctx.unsupported("'p' is {}, only whole exponents 1..64 are supported", f);
    p = static_cast<int64_t>(f);
  } else {
    QS_ASSIGN_OR_RETURN(p, ctx.node.attr_int("p", 2));
  }
  if (p < 1 || p > 64) return ctx.error("'p' is {}, expected 1..64", p);
  return p;
}

Expected<std::unique_ptr<Kernel>> prepare_lp_pool(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  Shape out_shape;
  QS_ASSIGN_OR_RETURN(PoolParams p, pool_geometry(ctx, &out_shape));
  QS_ASSIGN_OR_RETURN(p.p, lp_exponent(ctx));
  ctx.set_output(0, DType::kFloat32, out_shape);
  return make_kernel([p](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    kernels::ref::lp_pool_f32(p, in[0]->data<float>(), out[0]->data<float>());
  });
}

// Global pools reduce every spatial dim of an [N, C, spatial...] input to 1 (an
// [N, spatial..., C] one with the layout pass's channels_last = 1; the [N, C, 1...] output is
// the same either way).
struct GlobalGeometry {
  int64_t planes = 0, spatial = 0;
  bool channels_last = false;
  int64_t batch = 0, channels = 0;
};
Expected<GlobalGeometry> global_geometry(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  QS_ASSIGN_OR_RETURN(int64_t cl, ctx.node.attr_int("channels_last", 0));
  const Shape& in_shape = ctx.in(0).shape;
  if (in_shape.size() < 3) return ctx.error("input has shape {}, expected rank >= 3 (N, C, spatial...)", shape_str(in_shape));
  const Shape xs = cl ? channels_first_shape(in_shape) : in_shape;
  GlobalGeometry g{xs[0] * xs[1], 1, cl != 0, xs[0], xs[1]};
  Shape out{xs[0], xs[1]};
  for (size_t i = 2; i < xs.size(); ++i) {
    g.spatial *= xs[i];
    out.push_back(1);
  }
  if (g.spatial == 0) return ctx.error("input has shape {}: no spatial element to pool over", shape_str(xs));
  ctx.set_output(0, DType::kFloat32, out);
  return g;
}

Expected<std::unique_ptr<Kernel>> prepare_global_average_pool(PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(GlobalGeometry g, global_geometry(ctx));
  if (g.channels_last)
    return make_kernel([g](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
      kernels::fast::global_avg_pool_nhwc_f32(g.batch, g.spatial, g.channels, in[0]->data<float>(), out[0]->data<float>());
    }, "fast-nhwc", true);
  if (ctx.options.use_fast)
    return make_kernel([g](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
      kernels::fast::global_avg_pool_f32(g.planes, g.spatial, in[0]->data<float>(), out[0]->data<float>());
    }, "fast");
  return make_kernel([g](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    kernels::ref::global_avg_pool_f32(g.planes, g.spatial, in[0]->data<float>(), out[0]->data<float>());
  });
}

Expected<std::unique_ptr<Kernel>> prepare_global_max_pool(PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(GlobalGeometry g, global_geometry(ctx));
  if (g.channels_last)
    return make_kernel([g](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
      kernels::fast::global_max_pool_nhwc_f32(g.batch, g.spatial, g.channels, in[0]->data<float>(), out[0]->data<float>());
    }, "fast-nhwc", true);
  if (ctx.options.use_fast)
    return make_kernel([g](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
      kernels::fast::global_max_pool_f32(g.planes, g.spatial, in[0]->data<float>(), out[0]->data<float>());
    }, "fast");
  return make_kernel([g](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    kernels::ref::global_max_pool_f32(g.planes, g.spatial, in[0]->data<float>(), out[0]->data<float>());
  });
}

Expected<std::unique_ptr<Kernel>> prepare_global_lp_pool(PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(GlobalGeometry g, global_geometry(ctx));
  QS_ASSIGN_OR_RETURN(int64_t p, lp_exponent(ctx));
  return make_kernel([g, p](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    kernels::ref::global_lp_pool_f32(g.planes, g.spatial, p, in[0]->data<float>(), out[0]->data<float>());
  });
}

// MaxUnpool: Y zero, then X[k] where I[k] points (MaxPool's flat indices over the tensor that was
// pooled, whose shape follows from the window). A larger output_shape (a constant) keeps each
// value at its coordinates.
Expected<std::unique_ptr<Kernel>> prepare_max_unpool(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 3));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(1, {DType::kInt64}));
  const Shape& xs = ctx.in(0).shape;
  if (ctx.in(1).shape != xs) return ctx.error("indices have shape {}, X {}", shape_str(ctx.in(1).shape), shape_str(xs));
  QS_ASSIGN_OR_RETURN(auto kernel, ctx.node.attr_ints("kernel_shape"));
  const size_t nsp = kernel.size();
  if (nsp == 0 || xs.size() != nsp + 2)
    return ctx.error("X has shape {}, expected N, C and the {} spatial dims of 'kernel_shape'", shape_str(xs), nsp);
  QS_ASSIGN_OR_RETURN(auto strides, per_dim_attr(ctx, "strides", nsp, 1));
  QS_ASSIGN_OR_RETURN(auto pads, per_dim_attr(ctx, "pads", 2 * nsp, 0));
  Shape out = {xs[0], xs[1]};
  for (size_t i = 0; i < nsp; ++i) {
    if (kernel[i] < 1 || strides[i] < 1 || pads[i] < 0 || pads[nsp + i] < 0)
      return ctx.error("kernel_shape, strides and pads must be positive (pads not negative) in spatial dim {}", i);
    out.push_back((xs[2 + i] - 1) * strides[i] - pads[i] - pads[nsp + i] + kernel[i]);
  }
  const Shape pooled = out;  // the shape MaxPool's indices count in
  if (ctx.has_input(2)) {
    QS_ASSIGN_OR_RETURN(std::vector<int64_t> given, ctx.constant_ints(2, "output_shape"));
    if (given.size() != xs.size() || given[0] != xs[0] || given[1] != xs[1])
      return ctx.error("output_shape {} does not fit X {}", shape_str(given), shape_str(xs));
    out = Shape(given.begin(), given.end());
  }
  for (size_t d = 0; d < out.size(); ++d)
    if (out[d] < 0 || pooled[d] < 0) return ctx.error("the output shape {} has a negative dim", shape_str(out));
  ctx.set_output(0, DType::kFloat32, out);
  return make_kernel([pooled, out](std::span<const Tensor* const> in, std::span<Tensor* const> o) {
    kernels::ref::max_unpool_f32(in[0]->data<float>(), in[1]->data<int64_t>(), in[0]->numel(), pooled, out,
                                 o[0]->data<float>());
  }, "reference", true);
}

const OpSchema kOps[] = {
    {"AveragePool", prepare_average_pool},
    {"GlobalAveragePool", prepare_global_average_pool},
    {"GlobalLpPool", prepare_global_lp_pool},
    {"GlobalMaxPool", prepare_global_max_pool},
    {"LpPool", prepare_lp_pool},
    {"MaxPool", prepare_max_pool},
    {"MaxUnpool", prepare_max_unpool},
};

}  // namespace

std::span<const OpSchema> pool_ops() { return kOps; }

}  // namespace qs::ops
