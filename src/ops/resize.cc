// Resize (opsets 10-19), Upsample (7, 9) and GridSample (16), listed in data_ops(). Output sizes come
// from constant scales or sizes; interpolation is the reference kernel in
// kernels/reference/resize. Nearest moves bytes, so it serves every dtype; linear and
// cubic compute on float32.
#include <cmath>
#include <cstring>
#include <string>

#include "core/half.h"
#include "kernels/reference/grid_sample.h"
#include "kernels/reference/resize.h"
#include "kernels/reference/shape.h"
#include "ops/op.h"

namespace qs::ops {

namespace {

namespace kr = kernels::ref;
using TensorIn = std::span<const Tensor* const>;
using TensorOut = std::span<Tensor* const>;

// One element of dtype t holding v (the extrapolation value), as bytes.
std::vector<std::byte> scalar_bytes(DType t, double v) {
  Tensor s(t, {});
  switch (t) {
    case DType::kFloat32: *s.data<float>() = static_cast<float>(v); break;
    case DType::kFloat64: *s.data<double>() = v; break;
    case DType::kFloat16: *s.data<uint16_t>() = float_to_half(static_cast<float>(v)); break;
    case DType::kInt8: *s.data<int8_t>() = static_cast<int8_t>(v); break;
    case DType::kUInt8: *s.data<uint8_t>() = static_cast<uint8_t>(v); break;
    case DType::kInt16: *s.data<int16_t>() = static_cast<int16_t>(v); break;
    case DType::kUInt16: *s.data<uint16_t>() = static_cast<uint16_t>(v); break;
    case DType::kInt32: *s.data<int32_t>() = static_cast<int32_t>(v); break;
    case DType::kUInt32: *s.data<uint32_t>() = static_cast<uint32_t>(v); break;
    case DType::kInt64: *s.data<int64_t>() = static_cast<int64_t>(v); break;
    case DType::kUInt64: *s.data<uint64_t>() = static_cast<uint64_t>(v); break;
    case DType::kBool: *s.data<bool>() = v != 0; break;
    case DType::kUndefined: break;
  }
  std::vector<std::byte> b(dtype_size(t));
  std::memcpy(b.data(), s.raw(), b.size());
  return b;
}

// What prepare_resize and prepare_upsample agree on before building the kernel.
struct ResizeSetup {
  kr::ResizeOptions opt;
  std::vector<kr::ResizeAxis> axes;  // one per input axis
  float extrapolation_value = 0.f;
};

Expected<std::unique_ptr<Kernel>> finish(PrepareContext& ctx, const ResizeSetup& s) {
  const TensorInfo& x = ctx.in(0);
  Shape out;
  for (size_t i = 0; i < s.axes.size(); ++i) {
    const kr::ResizeAxis& a = s.axes[i];
    if (!(a.scale > 0) || !std::isfinite(a.scale)) return ctx.error("scale {} of axis {} is not positive", a.scale, i);
    if (a.in == 0 && a.out > 0) return ctx.error("cannot resize empty axis {} to size {}", i, a.out);
    out.push_back(a.out);
  }
  auto n = checked_numel(out, dtype_size(x.dtype));
  if (!n.ok()) return ctx.error("output {}", n.status().message());
  if (s.opt.mode != kr::ResizeMode::kNearest && x.dtype != DType::kFloat32)
    return ctx.unsupported("{} interpolation supports float32 only, the input is {}",
                           s.opt.mode == kr::ResizeMode::kLinear ? "linear" : "cubic", dtype_name(x.dtype));
  std::vector<kr::ResizeAxisPlan> plans;
  for (const kr::ResizeAxis& a : s.axes) {
    if (a.in == 0 || a.out == 0) {  // nothing to interpolate; the output is empty
      ctx.set_output(0, x.dtype, out);
      return make_kernel([](TensorIn, TensorOut) {});
    }
    plans.push_back(kr::plan_resize_axis(a, s.opt));
  }
  ctx.set_output(0, x.dtype, out);
  if (s.opt.mode == kr::ResizeMode::kNearest) {
    kr::IndexMap map{x.shape, {}};
    for (const auto& p : plans) map.src.push_back(kr::nearest_source_map(p));
    const size_t es = dtype_size(x.dtype);
    auto fill = scalar_bytes(x.dtype, s.extrapolation_value);
    return make_kernel([map = std::move(map), es, fill = std::move(fill)](TensorIn in, TensorOut o) {
      kr::index_map_copy(in[0]->raw(), o[0]->raw(), map, fill.data(), es);
    });
  }
  const float ev = s.extrapolation_value;
  return make_kernel([plans = std::move(plans), ev](TensorIn in, TensorOut o) {
    kr::resize_f32(in[0]->data<float>(), in[0]->shape(), plans, ev, o[0]->data<float>());
  });
}

Expected<kr::ResizeMode> parse_mode(const PrepareContext& ctx, bool allow_cubic) {
  QS_ASSIGN_OR_RETURN(std::string m, ctx.node.attr_string("mode", "nearest"));
  if (m == "nearest") return kr::ResizeMode::kNearest;
  if (m == "linear" || m == "bilinear") return kr::ResizeMode::kLinear;
  if (m == "cubic" && allow_cubic) return kr::ResizeMode::kCubic;
  return ctx.error("unknown mode '{}'", m);
}

// Opset 10 Resize and Upsample: output = floor(in * scale), asymmetric coordinates and
// floor rounding for nearest, which is what their specs and ONNX Runtime do.
Expected<std::unique_ptr<Kernel>> prepare_legacy(PrepareContext& ctx, const std::vector<float>& scales,
                                                 bool upsample) {
  const TensorInfo& x = ctx.in(0);
  if (static_cast<int64_t>(scales.size()) != x.rank())
    return ctx.error("scales has {} entries, the input {} has rank {}", scales.size(), shape_str(x.shape), x.rank());
  ResizeSetup s;
  QS_ASSIGN_OR_RETURN(s.opt.mode, parse_mode(ctx, false));
  s.opt.coord = kr::CoordMode::kAsymmetric;
  s.opt.nearest = kr::NearestMode::kFloor;
  for (size_t i = 0; i < scales.size(); ++i) {
    if (upsample && !(scales[i] >= 1.f)) return ctx.error("scale {} of axis {} is below 1", scales[i], i);
    if (!(scales[i] > 0.f) || !std::isfinite(scales[i]) || scales[i] > 1e6f)
      return ctx.error("scale {} of axis {} is not a positive finite value", scales[i], i);
    const double sc = scales[i];
    s.axes.push_back({x.shape[i], static_cast<int64_t>(std::floor(static_cast<double>(x.shape[i]) * sc)), sc});
  }
  return finish(ctx, s);
}

Expected<std::vector<float>> constant_floats(const PrepareContext& ctx, size_t i, std::string_view what) {
  QS_ASSIGN_OR_RETURN(const Tensor* t, ctx.constant_input(i, what));
  if (!is_float(t->dtype())) return ctx.error("input {} ({}) must be a float tensor", i, what);
  std::vector<float> v;
  for (int64_t k = 0; k < t->numel(); ++k) v.push_back(static_cast<float>(t->GetAsDouble(k)));
  return v;
}

}  // namespace

Expected<std::unique_ptr<Kernel>> prepare_upsample(PrepareContext& ctx) {
  if (ctx.opset >= 10) return ctx.error("Upsample is deprecated from opset 10; use Resize");
  std::vector<float> scales;
  if (ctx.opset < 9) {
    QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
    QS_ASSIGN_OR_RETURN(scales, ctx.node.attr_floats("scales"));
  } else {
    QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
    QS_ASSIGN_OR_RETURN(scales, constant_floats(ctx, 1, "scales"));
  }
  return prepare_legacy(ctx, scales, true);
}

Expected<std::unique_ptr<Kernel>> prepare_resize(PrepareContext& ctx) {
  const TensorInfo& x = ctx.in(0);
  const int64_t rank = x.rank();
  if (ctx.opset < 11) {
    QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
    QS_ASSIGN_OR_RETURN(auto scales, constant_floats(ctx, 1, "scales"));
    return prepare_legacy(ctx, scales, false);
  }
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 4));
  const ir::Node& n = ctx.node;
  ResizeSetup s;
  QS_ASSIGN_OR_RETURN(s.opt.mode, parse_mode(ctx, true));
  QS_ASSIGN_OR_RETURN(std::string coord, n.attr_string("coordinate_transformation_mode", "half_pixel"));
  if (coord == "half_pixel") s.opt.coord = kr::CoordMode::kHalfPixel;
  else if (coord == "pytorch_half_pixel") s.opt.coord = kr::CoordMode::kPytorchHalfPixel;
  else if (coord == "align_corners") s.opt.coord = kr::CoordMode::kAlignCorners;
  else if (coord == "asymmetric") s.opt.coord = kr::CoordMode::kAsymmetric;
  else if (coord == "tf_crop_and_resize") s.opt.coord = kr::CoordMode::kTfCropAndResize;
  else if (coord == "tf_half_pixel_for_nn" && ctx.opset < 13) s.opt.coord = kr::CoordMode::kTfHalfPixelForNn;
  else if (coord == "half_pixel_symmetric" && ctx.opset >= 18) s.opt.coord = kr::CoordMode::kHalfPixelSymmetric;
  else return ctx.error("unknown coordinate_transformation_mode '{}'", coord);
  QS_ASSIGN_OR_RETURN(std::string nm, n.attr_string("nearest_mode", "round_prefer_floor"));
  if (nm == "round_prefer_floor") s.opt.nearest = kr::NearestMode::kRoundPreferFloor;
  else if (nm == "round_prefer_ceil") s.opt.nearest = kr::NearestMode::kRoundPreferCeil;
  else if (nm == "floor") s.opt.nearest = kr::NearestMode::kFloor;
  else if (nm == "ceil") s.opt.nearest = kr::NearestMode::kCeil;
  else return ctx.error("unknown nearest_mode '{}'", nm);
  QS_ASSIGN_OR_RETURN(float a, n.attr_float("cubic_coeff_a", -0.75f));
  s.opt.cubic_a = a;
  QS_ASSIGN_OR_RETURN(int64_t excl, n.attr_int("exclude_outside", 0));
  s.opt.exclude_outside = excl != 0;
  QS_ASSIGN_OR_RETURN(s.extrapolation_value, n.attr_float("extrapolation_value", 0.f));
  QS_ASSIGN_OR_RETURN(int64_t antialias, n.attr_int("antialias", 0));
  if (antialias != 0) return ctx.unsupported("antialias is not supported");
  QS_ASSIGN_OR_RETURN(std::string policy, n.attr_string("keep_aspect_ratio_policy", "stretch"));
  if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
    return ctx.error("unknown keep_aspect_ratio_policy '{}'", policy);

  // The axes that scales, sizes and roi describe (opset 18); all axes by default.
  std::vector<int64_t> axes;
  QS_ASSIGN_OR_RETURN(axes, n.attr_ints("axes", std::vector<int64_t>{}));
  if (axes.empty())
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t& ax : axes) {
    if (ax < -rank || ax >= rank) return ctx.error("axis {} is out of range for rank {}", ax, rank);
    if (ax < 0) ax += rank;
    if (seen[static_cast<size_t>(ax)]) return ctx.error("axis {} is repeated", ax);
    seen[static_cast<size_t>(ax)] = true;
  }
  const size_t k = axes.size();

  // Empty roi / scales tensors count as absent (opset 11 requires the inputs to exist).
  std::vector<float> roi, scales;
  std::vector<int64_t> sizes;
  if (ctx.has_input(1) && numel(ctx.in(1).shape) > 0 && s.opt.coord == kr::CoordMode::kTfCropAndResize) {
    QS_ASSIGN_OR_RETURN(roi, constant_floats(ctx, 1, "roi"));
  }
  if (ctx.has_input(2) && numel(ctx.in(2).shape) > 0) {
    QS_ASSIGN_OR_RETURN(scales, constant_floats(ctx, 2, "scales"));
  }
  if (ctx.has_input(3) && numel(ctx.in(3).shape) > 0) {
    QS_ASSIGN_OR_RETURN(sizes, ctx.constant_ints(3, "sizes"));
  }
  if (scales.empty() == sizes.empty()) return ctx.error("needs exactly one of scales and sizes");
  if (!scales.empty() && scales.size() != k)
    return ctx.error("scales has {} entries, expected {}", scales.size(), k);
  if (!sizes.empty() && sizes.size() != k) return ctx.error("sizes has {} entries, expected {}", sizes.size(), k);
  if (!roi.empty() && roi.size() != 2 * k) return ctx.error("roi has {} entries, expected {}", roi.size(), 2 * k);
  if (s.opt.coord == kr::CoordMode::kTfCropAndResize && roi.empty())
    return ctx.error("tf_crop_and_resize needs a roi input");

  for (int64_t i = 0; i < rank; ++i) s.axes.push_back({x.shape[static_cast<size_t>(i)], x.shape[static_cast<size_t>(i)], 1.0});
  if (!sizes.empty()) {
    for (int64_t v : sizes)
      if (v < 0) return ctx.error("sizes has a negative entry {}", v);
    if (policy != "stretch") {
      // One scale for all listed axes, the largest that fits (or smallest that covers).
      double sc = policy == "not_larger" ? INFINITY : 0.0;
      for (size_t j = 0; j < k; ++j) {
        const double r = static_cast<double>(sizes[j]) / static_cast<double>(x.shape[static_cast<size_t>(axes[j])]);
        sc = policy == "not_larger" ? std::min(sc, r) : std::max(sc, r);
      }
      if (!std::isfinite(sc) || sc > 1e6) return ctx.error("sizes {} give an invalid scale", shape_str(sizes));
      for (size_t j = 0; j < k; ++j) {
        kr::ResizeAxis& ra = s.axes[static_cast<size_t>(axes[j])];
        ra.scale = sc;
        ra.out = static_cast<int64_t>(std::nearbyint(sc * static_cast<double>(ra.in)));
      }
    } else {
      for (size_t j = 0; j < k; ++j) {
        kr::ResizeAxis& ra = s.axes[static_cast<size_t>(axes[j])];
        if (ra.in == 0 && sizes[j] > 0) return ctx.error("cannot resize empty axis {} to size {}", axes[j], sizes[j]);
        ra.out = sizes[j];
        ra.scale = ra.in == 0 ? 1.0 : static_cast<double>(sizes[j]) / static_cast<double>(ra.in);
      }
    }
  } else {
    for (size_t j = 0; j < k; ++j) {
      kr::ResizeAxis& ra = s.axes[static_cast<size_t>(axes[j])];
      if (!(scales[j] > 0.f) || !std::isfinite(scales[j]) || scales[j] > 1e6f)
        return ctx.error("scale {} of axis {} is not a positive finite value", scales[j], axes[j]);
      ra.scale = scales[j];
      double len = static_cast<double>(ra.in) * ra.scale;
      if (!roi.empty()) len *= static_cast<double>(roi[j + k]) - static_cast<double>(roi[j]);
      ra.out = static_cast<int64_t>(std::floor(std::max(len, 0.0)));
    }
  }
  for (size_t j = 0; j < k && !roi.empty(); ++j) {
    kr::ResizeAxis& ra = s.axes[static_cast<size_t>(axes[j])];
    ra.roi_start = roi[j];
    ra.roi_end = roi[j + k];
    if (!std::isfinite(ra.roi_start) || !std::isfinite(ra.roi_end)) return ctx.error("roi has a non-finite entry");
  }
  return finish(ctx, s);
}

// GridSample (opset 16): 4-D X [N, C, H, W] and grid [N, Ho, Wo, 2].
Expected<std::unique_ptr<Kernel>> prepare_grid_sample(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(1, {DType::kFloat32}));
  const Shape& xs = ctx.in(0).shape;
  const Shape& gs = ctx.in(1).shape;
  if (xs.size() != 4) return ctx.error("X has shape {}, expected rank 4 (N, C, H, W)", shape_str(xs));
  if (gs.size() != 4 || gs[0] != xs[0] || gs[3] != 2)
    return ctx.error("grid has shape {}, expected [{}, H_out, W_out, 2]", shape_str(gs), xs[0]);
  using P = kr::GridSampleParams;
  P p;
  QS_ASSIGN_OR_RETURN(std::string mode, ctx.node.attr_string("mode", "bilinear"));
  if (mode == "bilinear") p.mode = P::Mode::kBilinear;
  else if (mode == "nearest") p.mode = P::Mode::kNearest;
  else if (mode == "bicubic") p.mode = P::Mode::kBicubic;
  else return ctx.error("'mode' is '{}', expected bilinear, nearest or bicubic", mode);
  QS_ASSIGN_OR_RETURN(std::string padding, ctx.node.attr_string("padding_mode", "zeros"));
  if (padding == "zeros") p.padding = P::Padding::kZeros;
  else if (padding == "border") p.padding = P::Padding::kBorder;
  else if (padding == "reflection") p.padding = P::Padding::kReflection;
  else return ctx.error("'padding_mode' is '{}', expected zeros, border or reflection", padding);
  QS_ASSIGN_OR_RETURN(int64_t align, ctx.node.attr_int("align_corners", 0));
  p.align_corners = align != 0;
  p.n = xs[0], p.c = xs[1], p.h = xs[2], p.w = xs[3], p.out_h = gs[1], p.out_w = gs[2];
  ctx.set_output(0, DType::kFloat32, Shape{p.n, p.c, p.out_h, p.out_w});
  return make_kernel([p](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    if (p.h == 0 || p.w == 0) {
      std::memset(out[0]->raw(), 0, out[0]->nbytes());
      return;
    }
    kr::grid_sample_f32(p, in[0]->data<float>(), in[1]->data<float>(), out[0]->data<float>());
  }, "reference", true);
}

}  // namespace qs::ops
