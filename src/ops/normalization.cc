// Normalization ops: BatchNormalization (inference), GroupNormalization, InstanceNormalization, LayerNormalization,
// LpNormalization, LRN, MeanVarianceNormalization, Softmax, LogSoftmax, Hardmax, ImageScaler.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "kernels/fast/normalization_fast.h"
#include "kernels/reference/data.h"
#include "kernels/reference/normalization.h"
#include "ops/families.h"

namespace qs::ops {
namespace {

namespace ref = kernels::ref;

Status expect_channel_vector(const PrepareContext& ctx, size_t i, const char* what, int64_t channels) {
  const Shape& s = ctx.in(i).shape;
  if (s.size() != 1 || s[0] != channels)
    return ctx.error("input {} ({}) has shape {}, expected [{}] (one value per channel)", i, what, shape_str(s),
                     channels);
  return Status::Ok();
}

Expected<float> read_epsilon(const PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(float eps, ctx.node.attr_float("epsilon", 1e-5f));
  if (!(eps >= 0.f)) return ctx.error("'epsilon' is {}, expected >= 0", eps);
  return eps;
}

// ImageScaler (opsets 1-9, an experimental op that old exporters wrote at the input of a
// network, as Tiny YOLOv2 does): y = scale * x + bias[c] on NCHW. It runs as a
// BatchNormalization with mean 0, var 1 and epsilon 0, which computes exactly that.
Expected<std::unique_ptr<Kernel>> prepare_image_scaler(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  const Shape& xs = ctx.in(0).shape;
  if (xs.size() != 4) return ctx.error("input has shape {}, expected NCHW (rank 4)", shape_str(xs));
  QS_ASSIGN_OR_RETURN(float scale, ctx.node.attr_float("scale", 1.f));
  QS_ASSIGN_OR_RETURN(std::vector<float> bias, ctx.node.attr_floats("bias", std::vector<float>{}));
  if (!std::isfinite(scale)) return ctx.error("scale {} is not finite", scale);
  if (bias.empty()) bias.assign(static_cast<size_t>(xs[1]), 0.f);
  if (static_cast<int64_t>(bias.size()) != xs[1])
    return ctx.error("bias has {} values, expected one per channel ({})", bias.size(), xs[1]);
  for (float b : bias)
    if (!std::isfinite(b)) return ctx.error("bias value {} is not finite", b);
  ref::BatchNormParams p;
  p.batch = xs[0];
  p.channels = xs[1];
  p.spatial = xs[2] * xs[3];
  p.epsilon = 0.f;
  ctx.set_output(0, DType::kFloat32, xs);
  // scale, bias, mean 0, var 1: the parameters of ref::batch_norm_f32.
  auto params = std::make_shared<std::vector<float>>(4 * static_cast<size_t>(p.channels));
  float* sc = params->data();
  std::fill(sc, sc + p.channels, scale);
  std::copy(bias.begin(), bias.end(), sc + p.channels);
  std::fill(sc + 2 * p.channels, sc + 3 * p.channels, 0.f);
  std::fill(sc + 3 * p.channels, sc + 4 * p.channels, 1.f);
  if (ctx.options.use_fast) {
    auto ab = std::make_shared<std::vector<float>>(2 * static_cast<size_t>(p.channels));
    float* a = ab->data();
    float* b = a + p.channels;
    kernels::fast::batch_norm_coeffs(p, sc, sc + p.channels, sc + 2 * p.channels, sc + 3 * p.channels, a, b);
    return make_kernel([p, ab, a, b](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
      kernels::fast::batch_norm_apply_f32(p, in[0]->data<float>(), a, b, out[0]->data<float>());
    }, "fast", true);
  }
  return make_kernel([p, params, sc](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    ref::batch_norm_f32(p, in[0]->data<float>(), sc, sc + p.channels, sc + 2 * p.channels, sc + 3 * p.channels,
                        out[0]->data<float>());
  }, "reference", true);
}

Expected<std::unique_ptr<Kernel>> prepare_batch_norm(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(5, 5));
  for (size_t i = 0; i < 5; ++i) QS_RETURN_IF_ERROR(ctx.expect_dtype(i, {DType::kFloat32}));
  QS_ASSIGN_OR_RETURN(int64_t training, ctx.node.attr_int("training_mode", 0));
  if (training != 0)
    return ctx.unsupported("training_mode={} is not supported: qscope runs inference only (batch statistics and "
                           "running-stat updates are training features)",
                           training);
  // Before opset 7, is_test=0 asked for training behaviour.
  QS_ASSIGN_OR_RETURN(int64_t is_test, ctx.node.attr_int("is_test", 1));
  if (is_test == 0) return ctx.unsupported("is_test=0 (training) is not supported: qscope runs inference only");
  QS_ASSIGN_OR_RETURN(int64_t spatial, ctx.node.attr_int("spatial", 1));
  if (spatial != 1)
    return ctx.unsupported("spatial={} (statistics per activation, not per channel) is not supported", spatial);
  for (size_t i = 1; i < ctx.outputs.size(); ++i)
    if (i < ctx.node.outputs.size() && !ctx.node.outputs[i].empty())
      return ctx.unsupported("output {} ('{}') is a training output (running or saved statistics); only Y is supported",
                             i, ctx.node.outputs[i]);
  QS_ASSIGN_OR_RETURN(float eps, read_epsilon(ctx));
  const Shape& xs = ctx.in(0).shape;
  if (xs.size() < 2) return ctx.error("input X has shape {}, expected rank >= 2 (N, C, ...)", shape_str(xs));
  const char* names[] = {"", "scale", "B", "mean", "var"};
  for (size_t i = 1; i < 5; ++i) QS_RETURN_IF_ERROR(expect_channel_vector(ctx, i, names[i], xs[1]));
  ref::BatchNormParams p;
  p.batch = xs[0];
  p.channels = xs[1];
  p.spatial = numel(Shape(xs.begin() + 2, xs.end()));
  p.epsilon = eps;
  ctx.set_output(0, DType::kFloat32, xs);
  if (ctx.options.use_fast) {
    namespace fast = kernels::fast;
    if (ctx.in(1).value && ctx.in(2).value && ctx.in(3).value && ctx.in(4).value) {
      // Constant statistics (as in real models): y = x * a[c] + b[c], a and b computed now.
      auto ab = std::make_shared<std::vector<float>>(2 * static_cast<size_t>(p.channels));
      float* a = ab->data();
      float* b = a + p.channels;
      fast::batch_norm_coeffs(p, ctx.in(1).value->data<float>(), ctx.in(2).value->data<float>(),
                              ctx.in(3).value->data<float>(), ctx.in(4).value->data<float>(), a, b);
      return make_kernel([p, ab, a, b](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
        fast::batch_norm_apply_f32(p, in[0]->data<float>(), a, b, out[0]->data<float>());
      }, "fast", true);
    }
    return make_kernel([p](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
      fast::batch_norm_f32(p, in[0]->data<float>(), in[1]->data<float>(), in[2]->data<float>(), in[3]->data<float>(),
                           in[4]->data<float>(), out[0]->data<float>());
    }, "fast", true);
  }
  return make_kernel([p](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    ref::batch_norm_f32(p, in[0]->data<float>(), in[1]->data<float>(), in[2]->data<float>(), in[3]->data<float>(),
                        in[4]->data<float>(), out[0]->data<float>());
  }, "reference", true);
}

Expected<std::unique_ptr<Kernel>> prepare_instance_norm(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(3, 3));
  for (size_t i = 0; i < 3; ++i) QS_RETURN_IF_ERROR(ctx.expect_dtype(i, {DType::kFloat32}));
  QS_ASSIGN_OR_RETURN(float eps, read_epsilon(ctx));
  const Shape& xs = ctx.in(0).shape;
  if (xs.size() < 3) return ctx.error("input has shape {}, expected rank >= 3 (N, C, spatial...)", shape_str(xs));
  QS_RETURN_IF_ERROR(expect_channel_vector(ctx, 1, "scale", xs[1]));
  QS_RETURN_IF_ERROR(expect_channel_vector(ctx, 2, "B", xs[1]));
  ref::InstanceNormParams p;
  p.batch = xs[0];
  p.channels = xs[1];
  p.spatial = numel(Shape(xs.begin() + 2, xs.end()));
  p.epsilon = eps;
  ctx.set_output(0, DType::kFloat32, xs);
  if (ctx.options.use_fast)
    return make_kernel([p](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
      kernels::fast::instance_norm_f32(p, in[0]->data<float>(), in[1]->data<float>(), in[2]->data<float>(),
                                       out[0]->data<float>());
    }, "fast", true);
  return make_kernel([p](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    ref::instance_norm_f32(p, in[0]->data<float>(), in[1]->data<float>(), in[2]->data<float>(),
                           out[0]->data<float>());
  }, "reference", true);
}

// GroupNormalization (opset 18): scale and bias are one value per group before opset 21 and one
// per channel from it.
Expected<std::unique_ptr<Kernel>> prepare_group_norm(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(3, 3));
  for (size_t i = 0; i < 3; ++i) QS_RETURN_IF_ERROR(ctx.expect_dtype(i, {DType::kFloat32}));
  QS_ASSIGN_OR_RETURN(float eps, read_epsilon(ctx));
  QS_ASSIGN_OR_RETURN(int64_t stash, ctx.node.attr_int("stash_type", 1));
  if (stash != 1) return ctx.unsupported("stash_type={} is not supported (only 1, float32 statistics)", stash);
  QS_ASSIGN_OR_RETURN(int64_t groups, ctx.node.attr_int("num_groups", 0));
  const Shape& xs = ctx.in(0).shape;
  if (xs.size() < 2) return ctx.error("input X has shape {}, expected rank >= 2 (N, C, ...)", shape_str(xs));
  if (groups <= 0) return ctx.error("'num_groups' is {}, expected a positive count", groups);
  if (groups > std::max<int64_t>(xs[1], 1))  // also keeps the group loop of an empty X short
    return ctx.error("'num_groups' {} is more than the {} channels of X {}", groups, xs[1], shape_str(xs));
  if (xs[1] % groups != 0)
    return ctx.error("'num_groups' {} does not divide the {} channels of X {}", groups, xs[1], shape_str(xs));
  ref::GroupNormParams p;
  p.batch = xs[0];
  p.channels = xs[1];
  p.groups = groups;
  p.spatial = numel(Shape(xs.begin() + 2, xs.end()));
  p.epsilon = eps;
  p.per_group_affine = ctx.opset < 21;
  const int64_t affine = p.per_group_affine ? groups : xs[1];
  for (size_t i = 1; i < 3; ++i) {
    const Shape& s = ctx.in(i).shape;
    if (s.size() != 1 || s[0] != affine)
      return ctx.error("input {} ({}) has shape {}, expected [{}] (one value per {} at opset {})", i,
                       i == 1 ? "scale" : "bias", shape_str(s), affine, p.per_group_affine ? "group" : "channel",
                       ctx.opset);
  }
  ctx.set_output(0, DType::kFloat32, xs);
  return make_kernel([p](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    ref::group_norm_f32(p, in[0]->data<float>(), in[1]->data<float>(), in[2]->data<float>(), out[0]->data<float>());
  });
}

// LayerNormalization's Scale and B broadcast (numpy-style, right-aligned) to the normalized
// shape. Returns whether `from` needs expanding, or an error if it cannot broadcast.
Expected<bool> needs_expand(const PrepareContext& ctx, size_t i, const char* what, const Shape& to) {
  const Shape& from = ctx.in(i).shape;
  const size_t lead = from.size() > to.size() ? from.size() - to.size() : 0;
  bool expand = from.size() - lead < to.size();
  for (size_t d = 0; d < from.size(); ++d) {
    const int64_t want = d < lead ? 1 : to[to.size() - (from.size() - d)];
    if (from[d] == want) continue;
    if (from[d] != 1)
      return ctx.error("input {} ({}) has shape {}, which does not broadcast to the normalized shape {}", i, what,
                       shape_str(from), shape_str(to));
    expand = true;
  }
  return expand;
}

// Writes `src` (shape `from`) broadcast to the dense shape `to`.
void expand_to(const float* src, const Shape& from, const Shape& to, float* dst) {
  const size_t r = to.size();
  std::vector<int64_t> src_stride(r, 0);
  int64_t s = 1;
  for (size_t k = 0; k < r && k < from.size(); ++k) {
    const size_t fd = from.size() - 1 - k, td = r - 1 - k;
    src_stride[td] = from[fd] == 1 ? 0 : s;
    s *= from[fd];
  }
  std::vector<int64_t> idx(r, 0);
  const int64_t n = numel(to);
  for (int64_t i = 0; i < n; ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < r; ++d) off += idx[d] * src_stride[d];
    dst[i] = src[off];
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < to[d]) break;
      idx[d] = 0;
    }
  }
}

Expected<std::unique_ptr<Kernel>> prepare_layer_norm(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 3));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(1, {DType::kFloat32}));
  const bool has_bias = ctx.has_input(2);
  if (has_bias) QS_RETURN_IF_ERROR(ctx.expect_dtype(2, {DType::kFloat32}));
  QS_ASSIGN_OR_RETURN(float eps, read_epsilon(ctx));
  QS_ASSIGN_OR_RETURN(int64_t stash, ctx.node.attr_int("stash_type", 1));
  if (stash != 1) return ctx.unsupported("stash_type={} is not supported (only 1, float32 statistics)", stash);
  const Shape& xs = ctx.in(0).shape;
  QS_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node.attr_int("axis", -1));
  auto axis_or = normalize_axis(axis_attr, static_cast<int64_t>(xs.size()));
  if (!axis_or.ok()) return ctx.error("{} (input shape {})", axis_or.status().message(), shape_str(xs));
  const size_t axis = static_cast<size_t>(*axis_or);
  const Shape norm_shape(xs.begin() + static_cast<std::ptrdiff_t>(axis), xs.end());
  QS_ASSIGN_OR_RETURN(bool expand_scale, needs_expand(ctx, 1, "Scale", norm_shape));
  bool expand_bias = false;
  if (has_bias) {
    QS_ASSIGN_OR_RETURN(expand_bias, needs_expand(ctx, 2, "B", norm_shape));
  }
  ref::LayerNormParams p;
  p.rows = numel(Shape(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(axis)));
  p.cols = numel(norm_shape);
  p.epsilon = eps;
  Shape stat_shape = xs;
  for (size_t d = axis; d < stat_shape.size(); ++d) stat_shape[d] = 1;
  ctx.set_output(0, DType::kFloat32, xs);
  if (ctx.outputs.size() > 1) ctx.set_output(1, DType::kFloat32, stat_shape);
  if (ctx.outputs.size() > 2) ctx.set_output(2, DType::kFloat32, stat_shape);
  const Shape scale_shape = ctx.in(1).shape;
  const Shape bias_shape = has_bias ? ctx.in(2).shape : Shape{};
  const auto norm_fn = ctx.options.use_fast ? kernels::fast::layer_norm_f32 : ref::layer_norm_f32;
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    std::vector<float> scale_buf, bias_buf;
    const float* scale = in[1]->data<float>();
    const float* bias = has_bias ? in[2]->data<float>() : nullptr;
    if (expand_scale) {
      scale_buf.resize(static_cast<size_t>(p.cols));
      expand_to(scale, scale_shape, norm_shape, scale_buf.data());
      scale = scale_buf.data();
    }
    if (expand_bias) {
      bias_buf.resize(static_cast<size_t>(p.cols));
      expand_to(bias, bias_shape, norm_shape, bias_buf.data());
      bias = bias_buf.data();
    }
    float* mean = out.size() > 1 && out[1] ? out[1]->data<float>() : nullptr;
    float* inv_std = out.size() > 2 && out[2] ? out[2]->data<float>() : nullptr;
    norm_fn(p, in[0]->data<float>(), scale, bias, out[0]->data<float>(), mean, inv_std);
  }, ctx.options.use_fast ? "fast" : "reference", true);
}

using SoftmaxFn = void (*)(const ref::SoftmaxParams&, const float*, float*);

// Before opset 13 Softmax, LogSoftmax and Hardmax flatten the input to 2-D at `axis`
// (default 1) and work along the whole second dim; from 13 they work along one axis (default -1).
Expected<std::unique_ptr<Kernel>> prepare_softmax_like(PrepareContext& ctx, SoftmaxFn fn) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  const Shape& xs = ctx.in(0).shape;
  const bool coerce_2d = ctx.opset < 13;
  QS_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node.attr_int("axis", coerce_2d ? 1 : -1));
  auto axis_or = normalize_axis(axis_attr, static_cast<int64_t>(xs.size()));
  if (!axis_or.ok()) return ctx.error("{} (input shape {})", axis_or.status().message(), shape_str(xs));
  const auto axis = static_cast<std::ptrdiff_t>(*axis_or);
  ref::SoftmaxParams p;
  p.outer = numel(Shape(xs.begin(), xs.begin() + axis));
  if (coerce_2d) {
    p.n = numel(Shape(xs.begin() + axis, xs.end()));
  } else {
    p.n = xs[static_cast<size_t>(axis)];
    p.inner = numel(Shape(xs.begin() + axis + 1, xs.end()));
  }
  ctx.set_output(0, DType::kFloat32, xs);
  const bool empty = numel(xs) == 0;  // nothing to compute, and no first element to start a max from
  return make_kernel([p, fn, empty](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    if (!empty) fn(p, in[0]->data<float>(), out[0]->data<float>());
  }, "reference", true);
}

Expected<std::unique_ptr<Kernel>> prepare_softmax(PrepareContext& ctx) {
  return prepare_softmax_like(ctx, ctx.options.use_fast ? kernels::fast::softmax_f32 : ref::softmax_f32);
}
Expected<std::unique_ptr<Kernel>> prepare_log_softmax(PrepareContext& ctx) {
  return prepare_softmax_like(ctx, ref::log_softmax_f32);
}
Expected<std::unique_ptr<Kernel>> prepare_hardmax(PrepareContext& ctx) {
  return prepare_softmax_like(ctx, ref::hardmax_f32);
}

// LpNormalization: x / ||x||_p along one axis, p 1 or 2 (a zero vector gives NaN, as x / 0 does).
Expected<std::unique_ptr<Kernel>> prepare_lp_norm(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  const Shape& xs = ctx.in(0).shape;
  QS_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node.attr_int("axis", -1));
  auto axis_or = normalize_axis(axis_attr, static_cast<int64_t>(xs.size()));
  if (!axis_or.ok()) return ctx.error("{} (input shape {})", axis_or.status().message(), shape_str(xs));
  QS_ASSIGN_OR_RETURN(int64_t p, ctx.node.attr_int("p", 2));
  if (p != 1 && p != 2) return ctx.error("'p' is {}, expected 1 or 2", p);
  const ref::AxisView v = ref::axis_view(xs, *axis_or);
  ctx.set_output(0, DType::kFloat32, xs);
  return make_kernel([v, p](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    ref::lp_norm_f32(v.outer, v.axis, v.inner, static_cast<int>(p), in[0]->data<float>(), out[0]->data<float>());
  });
}

Expected<std::unique_ptr<Kernel>> prepare_lrn(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  const Shape& xs = ctx.in(0).shape;
  if (xs.size() < 3) return ctx.error("input has shape {}, expected rank >= 3 (N, C, spatial...)", shape_str(xs));
  ref::LrnParams p;
  QS_ASSIGN_OR_RETURN(p.size, ctx.node.attr_int("size", 0));
  if (!ctx.node.has_attr("size") || p.size < 1) return ctx.error("'size' is {}, expected a positive integer", p.size);
  QS_ASSIGN_OR_RETURN(p.alpha, ctx.node.attr_float("alpha", 1e-4f));
  QS_ASSIGN_OR_RETURN(p.beta, ctx.node.attr_float("beta", 0.75f));
  QS_ASSIGN_OR_RETURN(p.bias, ctx.node.attr_float("bias", 1.f));
  p.batch = xs[0];
  p.channels = xs[1];
  p.spatial = numel(Shape(xs.begin() + 2, xs.end()));
  ctx.set_output(0, DType::kFloat32, xs);
  return make_kernel([p](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    ref::lrn_f32(p, in[0]->data<float>(), out[0]->data<float>());
  });
}

Expected<std::unique_ptr<Kernel>> prepare_mean_variance_norm(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  const Shape xs = ctx.in(0).shape;
  QS_ASSIGN_OR_RETURN(std::vector<int64_t> axes, ctx.node.attr_ints("axes", std::vector<int64_t>{0, 2, 3}));
  std::vector<bool> reduced(xs.size(), false);
  for (int64_t a : axes) {
    auto ax = normalize_axis(a, static_cast<int64_t>(xs.size()));
    if (!ax.ok()) return ctx.error("axes {}: {} (input shape {})", shape_str(axes), ax.status().message(), shape_str(xs));
    if (reduced[static_cast<size_t>(*ax)]) return ctx.error("axes {} name axis {} twice", shape_str(axes), *ax);
    reduced[static_cast<size_t>(*ax)] = true;
  }
  ctx.set_output(0, DType::kFloat32, xs);
  return make_kernel([xs, reduced](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    ref::mean_variance_norm_f32(xs, reduced, in[0]->data<float>(), out[0]->data<float>());
  });
}

const OpSchema kOps[] = {
    {"BatchNormalization", prepare_batch_norm},
    {"GroupNormalization", prepare_group_norm},
    {"Hardmax", prepare_hardmax},
    {"ImageScaler", prepare_image_scaler},
    {"InstanceNormalization", prepare_instance_norm},
    {"LRN", prepare_lrn},
    {"LpNormalization", prepare_lp_norm},
    {"LayerNormalization", prepare_layer_norm},
    {"LogSoftmax", prepare_log_softmax},
    {"MeanVarianceNormalization", prepare_mean_variance_norm},
    {"Softmax", prepare_softmax},
};

}  // namespace

std::span<const OpSchema> normalization_ops() { return kOps; }

}  // namespace qs::ops
