// Conv and ConvTranspose (ONNX opsets 1..21), 1-D to 3-D, float32.
#include <limits>
#include <memory>
#include <string>

#include "kernels/fast/conv_onednn.h"
#include "kernels/reference/conv.h"
#include "ops/conv_params.h"
#include "ops/families.h"

namespace qs::ops {
namespace {

// Python-style floor division; ConvTranspose's automatic pads follow the ONNX reference,
// which splits a possibly negative total padding with //.
int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

// Attribute values far beyond any real model are rejected outright; sizes derived from them
// are computed in 128 bits and checked, since tensor dims may be large too.
constexpr int64_t kMaxAttr = int64_t{1} << 31;
using i128 = __int128;

// (kernel-1)*dilation+1, or an error when it cannot be a real size.
Expected<int64_t> kernel_extent(const PrepareContext& ctx, int64_t k, int64_t d) {
  const i128 e = static_cast<i128>(k - 1) * d + 1;
  if (e > max_tensor_bytes()) return ctx.error("kernel extent of kernel {} with dilation {} is too large", k, d);
  return static_cast<int64_t>(e);
}

struct ConvAttrs {
  std::string auto_pad;
  int64_t group = 1;
  std::vector<int64_t> stride, dilation, pads;  // pads: begins then ends, as in ONNX
};

// Reads and checks the attributes Conv and ConvTranspose share. kernel: W's spatial dims.
Expected<ConvAttrs> read_conv_attrs(const PrepareContext& ctx, const std::vector<int64_t>& kernel) {
  const size_t nd = kernel.size();
  ConvAttrs a;
  QS_ASSIGN_OR_RETURN(a.auto_pad, ctx.node.attr_string("auto_pad", "NOTSET"));
  if (a.auto_pad != "NOTSET" && a.auto_pad != "SAME_UPPER" && a.auto_pad != "SAME_LOWER" && a.auto_pad != "VALID")
    return ctx.error("auto_pad '{}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", a.auto_pad);
  QS_ASSIGN_OR_RETURN(a.group, ctx.node.attr_int("group", 1));
  if (a.group < 1) return ctx.error("group is {}, must be at least 1", a.group);
  if (ctx.node.has_attr("kernel_shape")) {
    QS_ASSIGN_OR_RETURN(auto ks, ctx.node.attr_ints("kernel_shape"));
    if (ks != kernel)
      return ctx.error("kernel_shape {} does not match the spatial dims {} of the weights", shape_str(ks),
                       shape_str(kernel));
  }
  for (size_t i = 0; i < nd; ++i)
    if (kernel[i] < 1) return ctx.error("weights have an empty spatial dim: {}", shape_str(kernel));
  QS_ASSIGN_OR_RETURN(a.stride, ctx.node.attr_ints("strides", std::vector<int64_t>(nd, 1)));
  QS_ASSIGN_OR_RETURN(a.dilation, ctx.node.attr_ints("dilations", std::vector<int64_t>(nd, 1)));
  QS_ASSIGN_OR_RETURN(a.pads, ctx.node.attr_ints("pads", std::vector<int64_t>(2 * nd, 0)));
  if (a.stride.size() != nd) return ctx.error("strides has {} values, expected {}", a.stride.size(), nd);
  if (a.dilation.size() != nd) return ctx.error("dilations has {} values, expected {}", a.dilation.size(), nd);
  if (a.pads.size() != 2 * nd) return ctx.error("pads has {} values, expected {}", a.pads.size(), 2 * nd);
  for (int64_t s : a.stride)
    if (s < 1 || s > kMaxAttr) return ctx.error("strides {} must be positive", shape_str(a.stride));
  for (int64_t d : a.dilation)
    if (d < 1 || d > kMaxAttr) return ctx.error("dilations {} must be positive", shape_str(a.dilation));
  for (int64_t p : a.pads)
    if (p < 0 || p > kMaxAttr) return ctx.error("pads {} must not be negative", shape_str(a.pads));
  // With automatic padding ONNX says pads must not be given; models that give both get the
  // automatic ones, as other runtimes do.
  if (a.auto_pad != "NOTSET") a.pads.assign(2 * nd, 0);
  return a;
}

// Checks X (and W's rank against it) and returns the number of spatial dims.
Expected<size_t> check_ranks(const PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 3));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(1, {DType::kFloat32}));
  if (ctx.has_input(2)) QS_RETURN_IF_ERROR(ctx.expect_dtype(2, {DType::kFloat32}));
  const Shape& x = ctx.in(0).shape;
  const Shape& w = ctx.in(1).shape;
  if (x.size() < 3) return ctx.error("input X has shape {}, expected [N, C, spatial...] with 1 to 3 spatial dims",
                                     shape_str(x));
  if (x.size() > 5) return ctx.unsupported("input X has shape {}: only 1-D to 3-D convolutions are supported",
                                           shape_str(x));
  if (w.size() != x.size())
    return ctx.error("weights W have shape {} (rank {}), expected rank {} to match X {}", shape_str(w), w.size(),
                     x.size(), shape_str(x));
  return x.size() - 2;
}

Status check_bias(const PrepareContext& ctx, int64_t out_channels) {
  if (!ctx.has_input(2)) return Status::Ok();
  const Shape& b = ctx.in(2).shape;
  if (b.size() != 1 || b[0] != out_channels)
    return ctx.error("bias B has shape {}, expected [{}] (one value per output channel)", shape_str(b), out_channels);
  return Status::Ok();
}

const float* constant_f32(const PrepareContext& ctx, size_t i) {
  return ctx.has_input(i) && ctx.in(i).value ? ctx.in(i).value->data<float>() : nullptr;
}

// The kernel for a validated ConvParams: oneDNN when allowed and able, else the reference.
template <typename MakeFast, typename RefFn>
Expected<std::unique_ptr<Kernel>> make_conv_kernel(PrepareContext& ctx, const ConvParams& p, MakeFast make_fast,
                                                   RefFn ref_fn) {
  ctx.set_output(0, DType::kFloat32, conv_output_shape(p));
  const bool has_bias = ctx.has_input(2);
  if (ctx.options.use_fast) {
    std::string why_not;
    std::shared_ptr<kernels::fast::ConvOneDnn> fast = make_fast(p, constant_f32(ctx, 1), constant_f32(ctx, 2),
                                                                 has_bias, &why_not);
    if (fast)
      return make_kernel(
          [fast](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
            fast->run(in[0]->data<float>(), in[1]->data<float>(), in.size() > 2 && in[2] ? in[2]->data<float>() : nullptr,
                      out[0]->data<float>());
          },
          "onednn", true);
  }
  return make_kernel([p, ref_fn](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    ref_fn(p, in[0]->data<float>(), in[1]->data<float>(), in.size() > 2 && in[2] ? in[2]->data<float>() : nullptr,
           out[0]->data<float>());
  });
}

}  // namespace

Expected<ConvParams> conv_params(const PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(const size_t nd, check_ranks(ctx));
  const Shape& x = ctx.in(0).shape;
  const Shape& w = ctx.in(1).shape;
  const std::vector<int64_t> kernel(w.begin() + 2, w.end());
  QS_ASSIGN_OR_RETURN(ConvAttrs a, read_conv_attrs(ctx, kernel));

  ConvParams p;
  p.batch = x[0];
  p.in_channels = x[1];
  p.out_channels = w[0];
  p.group = a.group;
  if (p.in_channels % a.group != 0)
    return ctx.error("input channels {} are not divisible by group {}", p.in_channels, a.group);
  if (w[1] * a.group != p.in_channels)
    return ctx.error("weights W {} expect {} input channels (W[1] * group = {} * {}), but X {} has {}", shape_str(w),
                     w[1] * a.group, w[1], a.group, shape_str(x), p.in_channels);
  if (p.out_channels % a.group != 0)
    return ctx.error("output channels {} (W[0]) are not divisible by group {}", p.out_channels, a.group);
  QS_RETURN_IF_ERROR(check_bias(ctx, p.out_channels));

  p.kernel = kernel;
  p.stride = a.stride;
  p.dilation = a.dilation;
  for (size_t i = 0; i < nd; ++i) {
    const int64_t in = x[2 + i], s = a.stride[i];
    QS_ASSIGN_OR_RETURN(const int64_t extent, kernel_extent(ctx, kernel[i], a.dilation[i]));
    int64_t pb = a.pads[i], pe = a.pads[nd + i];
    if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
      // Output keeps ceil(in / stride) positions; the odd pad goes to the end for SAME_UPPER.
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + extent - in);
      pb = a.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pe = total - pb;
    }
    if (in + pb + pe < extent)
      return ctx.error("kernel extent {} (kernel {}, dilation {}) is larger than the padded input {} along spatial axis {}",
                       extent, kernel[i], a.dilation[i], in + pb + pe, i);
    p.in_size.push_back(in);
    p.out_size.push_back((in + pb + pe - extent) / s + 1);
    p.pad_begin.push_back(pb);
    p.pad_end.push_back(pe);
  }
  QS_RETURN_IF_ERROR(checked_numel(conv_output_shape(p), sizeof(float)).status());
  return p;
}

Expected<ConvParams> conv_transpose_params(const PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(const size_t nd, check_ranks(ctx));
  const Shape& x = ctx.in(0).shape;
  const Shape& w = ctx.in(1).shape;
  const std::vector<int64_t> kernel(w.begin() + 2, w.end());
  QS_ASSIGN_OR_RETURN(ConvAttrs a, read_conv_attrs(ctx, kernel));

  ConvParams p;
  p.batch = x[0];
  p.in_channels = x[1];
  p.group = a.group;
  if (w[0] != p.in_channels)
    return ctx.error("weights W {} expect {} input channels (W[0]), but X {} has {}", shape_str(w), w[0], shape_str(x),
                     p.in_channels);
  if (p.in_channels % a.group != 0)
    return ctx.error("input channels {} are not divisible by group {}", p.in_channels, a.group);
  p.out_channels = w[1] * a.group;
  QS_RETURN_IF_ERROR(check_bias(ctx, p.out_channels));

  QS_ASSIGN_OR_RETURN(auto out_pad, ctx.node.attr_ints("output_padding", std::vector<int64_t>(nd, 0)));
  if (out_pad.size() != nd) return ctx.error("output_padding has {} values, expected {}", out_pad.size(), nd);
  for (int64_t v : out_pad)
    if (v < 0 || v > kMaxAttr) return ctx.error("output_padding {} must not be negative", shape_str(out_pad));
  std::vector<int64_t> out_shape;
  if (ctx.node.has_attr("output_shape")) {
    QS_ASSIGN_OR_RETURN(out_shape, ctx.node.attr_ints("output_shape"));
    // Some exporters give the full [N, C, spatial...] shape; the spatial part is what counts.
    if (out_shape.size() == nd + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
    if (out_shape.size() != nd)
      return ctx.error("output_shape has {} values, expected {} spatial dims", out_shape.size(), nd);
    for (int64_t v : out_shape)
      if (v < 1 || v > max_tensor_bytes()) return ctx.error("output_shape {} must be positive", shape_str(out_shape));
  }

  p.kernel = kernel;
  p.stride = a.stride;
  p.dilation = a.dilation;
  const bool same = a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER";
  for (size_t i = 0; i < nd; ++i) {
    const int64_t in = x[2 + i], s = a.stride[i];
    QS_ASSIGN_OR_RETURN(const int64_t extent, kernel_extent(ctx, kernel[i], a.dilation[i]));
    const i128 full128 = static_cast<i128>(s) * (in - 1) + out_pad[i] + extent;
    if (full128 > max_tensor_bytes())
      return ctx.error("output size along spatial axis {} is too large (input {}, stride {})", i, in, s);
    const int64_t full = static_cast<int64_t>(full128);  // output size without any padding
    int64_t pb = a.pads[i], pe = a.pads[nd + i], out = 0;
    if (!out_shape.empty() || same) {
      // ONNX: the pads follow from the requested output size; SAME keeps in * stride.
      out = !out_shape.empty() ? out_shape[i] : in * s;
      const int64_t total = full - out;
      const int64_t half = floor_div(total, 2);
      pb = a.auto_pad == "SAME_UPPER" ? half : total - half;
      pe = total - pb;
    } else {
      out = full - pb - pe;
      if (out < 1)
        return ctx.error("output size along spatial axis {} would be {}: pads {} exceed the output extent {}", i, out,
                         shape_str(a.pads), full);
    }
    p.in_size.push_back(in);
    p.out_size.push_back(out);
    p.pad_begin.push_back(pb);
    p.pad_end.push_back(full - out_pad[i] - pb - out);  // ONNX end pad minus output_padding
  }
  QS_RETURN_IF_ERROR(checked_numel(conv_output_shape(p), sizeof(float)).status());
  return p;
}

Shape conv_output_shape(const ConvParams& p) {
  Shape s{p.batch, p.out_channels};
  s.insert(s.end(), p.out_size.begin(), p.out_size.end());
  return s;
}

namespace {

Expected<std::unique_ptr<Kernel>> prepare_conv(PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(ConvParams p, conv_params(ctx));
  auto make_fast = [](const ConvParams& q, const float* w, const float* b, bool has_bias, std::string* why_not) {
    return kernels::fast::ConvOneDnn::Conv(q, w, b, has_bias, why_not);
  };
  return make_conv_kernel(ctx, p, make_fast, kernels::ref::conv_f32);
}

Expected<std::unique_ptr<Kernel>> prepare_conv_transpose(PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(ConvParams p, conv_transpose_params(ctx));
  return make_conv_kernel(ctx, p, kernels::fast::ConvOneDnn::ConvTranspose, kernels::ref::conv_transpose_f32);
}

const OpSchema kOps[] = {
    {"Conv", prepare_conv},
    {"ConvTranspose", prepare_conv_transpose},
};

}  // namespace

std::span<const OpSchema> conv_ops() { return kOps; }

}  // namespace qs::ops
