// Signal ops (opset 17): DFT, STFT, HannWindow, HammingWindow, BlackmanWindow, MelWeightMatrix;
// audio front ends exported with their spectrogram. Float32 signals; lengths, steps and window
// sizes must be constants (they decide the output shapes).
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "kernels/reference/signal.h"
#include "ops/families.h"

namespace qs::ops {
namespace {

namespace ref = kernels::ref;

// The reference transforms take length x bins products per signal: refuse what would not finish.
constexpr double kMaxProducts = 1e10;
Status check_work(const PrepareContext& ctx, double products) {
  if (products > kMaxProducts)
    return ctx.unsupported("the transform takes {:.3g} products; the reference kernel stops at {:.0e}", products,
                           kMaxProducts);
  return Status::Ok();
}

// A constant integer scalar (or one-element tensor) input.
Expected<int64_t> constant_scalar(const PrepareContext& ctx, size_t i, const char* what) {
  QS_ASSIGN_OR_RETURN(std::vector<int64_t> v, ctx.constant_ints(i, what));
  if (v.size() != 1) return ctx.error("input {} ({}) has {} values, expected 1", i, what, v.size());
  return v[0];
}

Expected<double> constant_float(const PrepareContext& ctx, size_t i, const char* what) {
  QS_ASSIGN_OR_RETURN(const Tensor* t, ctx.constant_input(i, what));
  if (!is_float(t->dtype()) || t->numel() != 1)
    return ctx.error("input {} ({}) must be one float value, got {} {}", i, what, dtype_name(t->dtype()), shape_str(t->shape()));
  return t->GetAsDouble(0);
}

// The output_datatype attribute: float (1, the default) or double (11).
Expected<DType> output_datatype(const PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(int64_t dt, ctx.node.attr_int("output_datatype", 1));
  if (dt == 1) return DType::kFloat32;
  if (dt == 11) return DType::kFloat64;
  return ctx.unsupported("output_datatype {} (float 1 and double 11 are supported)", dt);
}

// A kernel writing constant values computed in double into a float or double output.
std::unique_ptr<Kernel> constant_kernel(std::vector<double> values, DType t) {
  return make_kernel([values = std::move(values), t](std::span<const Tensor* const>, std::span<Tensor* const> out) {
    for (size_t i = 0; i < values.size(); ++i) {
      if (t == DType::kFloat64) out[0]->data<double>()[i] = values[i];
      else out[0]->data<float>()[i] = static_cast<float>(values[i]);
    }
  }, "reference", true);
}

template <ref::WindowKind kKind>
Expected<std::unique_ptr<Kernel>> prepare_window(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  QS_ASSIGN_OR_RETURN(int64_t size, constant_scalar(ctx, 0, "size"));
  if (size < 0 || size > (int64_t{1} << 30)) return ctx.error("window size {} is out of range", size);
  QS_ASSIGN_OR_RETURN(int64_t periodic, ctx.node.attr_int("periodic", 1));
  QS_ASSIGN_OR_RETURN(DType t, output_datatype(ctx));
  ctx.set_output(0, t, Shape{size});
  return constant_kernel(ref::window(kKind, size, periodic != 0), t);
}

Expected<std::unique_ptr<Kernel>> prepare_mel_weight_matrix(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(5, 5));
  QS_ASSIGN_OR_RETURN(int64_t mel_bins, constant_scalar(ctx, 0, "num_mel_bins"));
  QS_ASSIGN_OR_RETURN(int64_t dft_length, constant_scalar(ctx, 1, "dft_length"));
  QS_ASSIGN_OR_RETURN(int64_t sample_rate, constant_scalar(ctx, 2, "sample_rate"));
  QS_ASSIGN_OR_RETURN(double lower, constant_float(ctx, 3, "lower_edge_hertz"));
  QS_ASSIGN_OR_RETURN(double upper, constant_float(ctx, 4, "upper_edge_hertz"));
  if (mel_bins < 1 || dft_length < 1 || sample_rate < 1 || mel_bins > (1 << 20) || dft_length > (1 << 24))
    return ctx.error("num_mel_bins {}, dft_length {} and sample_rate {} must be positive (and of sensible size)",
                     mel_bins, dft_length, sample_rate);
  if (!std::isfinite(lower) || !std::isfinite(upper) || lower < 0 || upper < 0)
    return ctx.error("lower_edge_hertz {} and upper_edge_hertz {} must be finite and not negative", lower, upper);
  QS_ASSIGN_OR_RETURN(DType t, output_datatype(ctx));
  ctx.set_output(0, t, Shape{dft_length / 2 + 1, mel_bins});
  return constant_kernel(ref::mel_weight_matrix(mel_bins, dft_length, sample_rate, lower, upper), t);
}

Expected<std::unique_ptr<Kernel>> prepare_dft(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 2));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  const Shape& xs = ctx.in(0).shape;
  const int64_t rank = static_cast<int64_t>(xs.size());
  if (rank < 3 || (xs.back() != 1 && xs.back() != 2))
    return ctx.error("input has shape {}, expected [batch, signal dims..., 1 or 2]", shape_str(xs));
  QS_ASSIGN_OR_RETURN(int64_t axis, ctx.node.attr_int("axis", 1));
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank - 2) return ctx.error("'axis' is out of range for input shape {}", shape_str(xs));
  QS_ASSIGN_OR_RETURN(int64_t inverse, ctx.node.attr_int("inverse", 0));
  QS_ASSIGN_OR_RETURN(int64_t onesided, ctx.node.attr_int("onesided", 0));
  if (inverse && onesided) return ctx.error("'onesided' is not defined for the inverse transform");
  ref::DftParams p;
  p.length_in = xs[static_cast<size_t>(axis)];
  p.length = p.length_in;
  if (ctx.has_input(1)) {
    QS_ASSIGN_OR_RETURN(p.length, constant_scalar(ctx, 1, "dft_length"));
    if (p.length < 1) return ctx.error("dft_length is {}, expected a positive length", p.length);
  }
  if (p.length < 1) return ctx.error("the signal along axis {} is empty (input shape {})", axis, shape_str(xs));
  p.outer = numel(Shape(xs.begin(), xs.begin() + axis));
  p.inner = numel(Shape(xs.begin() + axis + 1, xs.end() - 1));
  p.components = xs.back();
  p.inverse = inverse != 0;
  p.bins = onesided ? p.length / 2 + 1 : p.length;
  QS_RETURN_IF_ERROR(check_work(ctx, double(p.outer) * double(p.inner) * double(std::min(p.length, p.length_in)) *
                                         double(p.bins)));
  Shape out = xs;
  out[static_cast<size_t>(axis)] = p.bins;
  out.back() = 2;
  ctx.set_output(0, DType::kFloat32, out);
  return make_kernel([p](std::span<const Tensor* const> in, std::span<Tensor* const> o) {
    ref::dft_f32(p, in[0]->data<float>(), o[0]->data<float>());
  }, "reference", true);
}

Expected<std::unique_ptr<Kernel>> prepare_stft(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 4));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  const Shape& xs = ctx.in(0).shape;
  if (xs.size() != 3 || (xs[2] != 1 && xs[2] != 2))
    return ctx.error("signal has shape {}, expected [batch, signal_length, 1 or 2]", shape_str(xs));
  ref::StftParams p;
  p.batch = xs[0];
  p.signal_length = xs[1];
  p.components = xs[2];
  QS_ASSIGN_OR_RETURN(p.step, constant_scalar(ctx, 1, "frame_step"));
  if (p.step < 1) return ctx.error("frame_step is {}, expected a positive step", p.step);
  int64_t window_length = -1;
  if (ctx.has_input(2)) {
    QS_RETURN_IF_ERROR(ctx.expect_dtype(2, {DType::kFloat32}));
    if (ctx.in(2).shape.size() != 1) return ctx.error("window has shape {}, expected one axis", shape_str(ctx.in(2).shape));
    window_length = ctx.in(2).shape[0];
  }
  if (ctx.has_input(3)) {
    QS_ASSIGN_OR_RETURN(p.frame_length, constant_scalar(ctx, 3, "frame_length"));
    if (window_length >= 0 && window_length != p.frame_length)
      return ctx.error("window has {} values, frame_length is {}", window_length, p.frame_length);
  } else if (window_length >= 0) {
    p.frame_length = window_length;
  } else {
    return ctx.error("STFT needs a window or a frame_length");
  }
  if (p.frame_length < 1 || p.frame_length > p.signal_length)
    return ctx.error("frame_length {} does not fit the signal of length {}", p.frame_length, p.signal_length);
  QS_ASSIGN_OR_RETURN(int64_t onesided, ctx.node.attr_int("onesided", 1));
  p.frames = (p.signal_length - p.frame_length) / p.step + 1;
  p.bins = onesided ? p.frame_length / 2 + 1 : p.frame_length;
  QS_RETURN_IF_ERROR(check_work(ctx, double(p.batch) * double(p.frames) * double(p.frame_length) * double(p.bins)));
  ctx.set_output(0, DType::kFloat32, Shape{p.batch, p.frames, p.bins, 2});
  const bool has_window = window_length >= 0;
  return make_kernel([p, has_window](std::span<const Tensor* const> in, std::span<Tensor* const> o) {
    ref::stft_f32(p, in[0]->data<float>(), has_window ? in[2]->data<float>() : nullptr, o[0]->data<float>());
  }, "reference", true);
}

const OpSchema kOps[] = {
    {"BlackmanWindow", prepare_window<ref::WindowKind::kBlackman>},
    {"DFT", prepare_dft},
    {"HammingWindow", prepare_window<ref::WindowKind::kHamming>},
    {"HannWindow", prepare_window<ref::WindowKind::kHann>},
    {"MelWeightMatrix", prepare_mel_weight_matrix},
    {"STFT", prepare_stft},
};

}  // namespace

std::span<const OpSchema> signal_ops() { return kOps; }

}  // namespace qs::ops
