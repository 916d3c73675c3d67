// qscope's fused blocks (domain "qscope"), created by the precision lowering
// (passes/lower.h) from Conv(+BatchNormalization)(+Add residual)(+activation) and
// Gemm/MatMul(+bias)(+activation) chains (INT8.md items 9-10). They run in FP32 or INT8;
// in INT8 the block quantizes its inputs with their scales, multiplies int8 by int8 into
// int32 and turns the accumulator into float with the per-channel weight scales, the float
// bias, the residual and the activation (INT8.md item 4). FP16 goes through the planner's
// rounding wrapper like every other op.
//
// FusedConv inputs: X, W, B (optional), R (residual, optional); attributes: the head Conv's
//   or ConvTranspose's, plus transpose (0/1), activation ("", Relu, Clip, LeakyRelu, Silu),
//   act_alpha, act_beta, and from the layout pass x_channels_last / y_channels_last (0/1):
//   X, or Y and R, laid out [N, spatial..., C]; from the INT8 hand-off (INT8 blocks only)
//   x_int8 (X is int8, quantized with X's scale), r_int8 (R is int8, quantized with R's scale:
//   the residual added is q * scale) and y_int8_scale (Y is written as int8, quantized with
//   this scale, for INT8 readers only).
// ToNCHW (from the layout pass): X [N, spatial..., C] -> the plain [N, C, spatial...].
// FusedGemm inputs: A, B, C (optional; Gemm's C or MatMul's bias [N]); attributes: head
//   ("Gemm" or "MatMul"), the Gemm attributes, activation, act_alpha, act_beta.
#include <cmath>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/fast/conv1d_s8.h"
#include "kernels/fast/conv1x1_f32.h"
#include "kernels/fast/conv1x1_s8.h"
#include "kernels/fast/conv_int8_onednn.h"
#include "kernels/fast/conv_onednn.h"
#include "kernels/fast/depthwise_s8.h"
#include "kernels/fast/eltwise_fast.h"
#include "kernels/fast/gemm_int8_onednn.h"
#include "kernels/fast/gemm_onednn.h"
#include "kernels/fast/layout.h"
#include "kernels/fast/quantize_fast.h"
#include "kernels/fast/stem_f32.h"
#include "kernels/fast/stem_s8.h"
#include "kernels/reference/conv_int8.h"
#include "kernels/reference/gemm_int8.h"
#include "kernels/reference/int8.h"
#include "ops/conv_params.h"
#include "ops/families.h"
#include "ops/gemm_params.h"

namespace qs::ops {
namespace {

using kernels::ref::Epilogue;

// A per-thread buffer of n elements of T, reused across runs (kernels may run on several
// threads at once, and must not allocate on every run).
template <typename T, int Slot>
T* thread_scratch(size_t n) {
  thread_local std::vector<T> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

Expected<Epilogue> read_epilogue(const PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(std::string act, ctx.node.attr_string("activation", ""));
  Epilogue e;
  QS_ASSIGN_OR_RETURN(e.alpha, ctx.node.attr_float("act_alpha", 0.f));
  QS_ASSIGN_OR_RETURN(e.beta, ctx.node.attr_float("act_beta", 0.f));
  if (act.empty()) e.act = Epilogue::Act::kNone;
  else if (act == "Relu") e.act = Epilogue::Act::kRelu;
  else if (act == "Clip") e.act = Epilogue::Act::kClip;
  else if (act == "LeakyRelu") e.act = Epilogue::Act::kLeakyRelu;
  else if (act == "Silu") e.act = Epilogue::Act::kSilu;
  else return ctx.error("activation '{}' is not one of Relu, Clip, LeakyRelu, Silu", act);
  return e;
}

// The context of the block's head op: its own inputs only.
PrepareContext head_context(const PrepareContext& ctx, size_t head_inputs) {
  PrepareContext sub = ctx;
  sub.inputs.resize(std::min(sub.inputs.size(), head_inputs));
  return sub;
}

const float* constant_f32(const PrepareContext& ctx, size_t i) {
  return ctx.has_input(i) && ctx.in(i).value ? ctx.in(i).value->data<float>() : nullptr;
}

const float* opt_f32(std::span<const Tensor* const> in, size_t i) {
  return i < in.size() && in[i] ? in[i]->data<float>() : nullptr;
}

// Activation quantizers: the reference's or the fast one (the same bits, kernels/fast/quantize_fast.h).
using QuantizeFn = void (*)(const float*, int8_t*, int64_t, float);
using FakeQuantizeFn = void (*)(const float*, float*, int64_t, float);

Status check_int8_scales(const PrepareContext& ctx, std::initializer_list<size_t> read_in_int8) {
  for (size_t i : read_in_int8)
    if (ctx.has_input(i) && !(ctx.input_scale(i) > 0.f))
      return ctx.error("INT8 block has no scale for input {} ('{}')", i, ctx.node.input(i));
  return Status::Ok();
}

// ---- FusedConv ----

// Where a FusedConv's tensors are channels-last ([N, spatial..., C]; set by the layout pass,
// passes/layout.h): X, and Y with the residual R. ConvParams always describe the logical
// NCHW problem.
struct ConvLayout {
  bool x = false, y = false;
};

// The epilogue's [outer, channels, inner] view of y in its layout.
struct EpilogueDims {
  int64_t outer, channels, inner;
};
EpilogueDims epilogue_dims(const ConvParams& p, bool channels_last) {
  const int64_t spatial = numel(p.out_size);
  if (channels_last) return {p.batch * spatial, p.out_channels, 1};
  return {p.batch, p.out_channels, spatial};
}

// The reference kernels compute NCHW: a channels-last X goes through a plain copy, and the
// plain result (epilogue included) is transposed into a channels-last Y.
template <typename PlainFn>
void run_plain(const ConvParams& p, const ConvLayout& layout, const float* x, const float* r, float* y, PlainFn fn) {
  const int64_t in_sp = numel(p.in_size), out_sp = numel(p.out_size);
  const size_t nx = static_cast<size_t>(p.batch * p.in_channels * in_sp);
  const size_t ny = static_cast<size_t>(p.batch * p.out_channels * out_sp);
  if (layout.x) {
    float* xp = thread_scratch<float, 2>(nx);
    kernels::fast::nhwc_to_nchw_f32(p.batch, p.in_channels, in_sp, x, xp);
    x = xp;
  }
  if (!layout.y) return fn(x, r, y);
  float* yp = thread_scratch<float, 3>(ny);
  if (r) {
    float* rp = thread_scratch<float, 4>(ny);
    kernels::fast::nhwc_to_nchw_f32(p.batch, p.out_channels, out_sp, r, rp);
    r = rp;
  }
  fn(x, r, yp);
  kernels::fast::nchw_to_nhwc_f32(p.batch, p.out_channels, out_sp, yp, y);
}

// Whether input i is absent or a constant with no NaN or infinity.
bool absent_or_finite_constant(const PrepareContext& ctx, size_t i) {
  if (!ctx.has_input(i)) return true;
  const Tensor* t = ctx.in(i).value;
  return t && kernels::fast::all_finite_f32(t->data<float>(), t->numel());
}

// Whether a float input holds no NaN or infinity: the tensor says so (Tensor::known_finite), or
// a look at every element does.
bool input_finite(const Tensor* t) {
  return !t || t->known_finite() || kernels::fast::all_finite_f32(t->data<float>(), t->numel());
}

// An FP32 block with finite weights and bias has a faster kernel for inputs without NaN or
// infinity (`finite`, ConvFastOptions::nan_free), which it runs whenever X and R hold none:
// - a Clip with finite bounds runs inside oneDNN's convolution: with no NaN in the
//   pre-activation, oneDNN's clip gives the reference's values. Y then lies within the bounds
//   (Tensor::known_finite, so that a Clip block reading it skips the check);
// - a 3x3 convolution may run as Winograd (ConvFastOptions::winograd).
// Other inputs take the exact path: the direct convolution with the clip as a pass after it
// (`exact`, built the first time it is needed; the reference kernels when oneDNN declines).
struct FiniteFastPath {
  std::shared_ptr<kernels::fast::ConvOneDnn> finite;
  bool bounded = false;  // a fused clip with finite bounds: Y is finite (Tensor::known_finite)
  kernels::fast::ConvFastOptions exact_options;
  Tensor w, b;  // the constants exact is built from
  std::once_flag once;
  std::shared_ptr<kernels::fast::ConvOneDnn> exact;
};

Expected<std::unique_ptr<Kernel>> fused_conv_fp32(const PrepareContext& ctx, const ConvParams& p, bool transpose,
                                                  const Epilogue& e, const ConvLayout& layout) {
  using kernels::fast::ConvOneDnn;
  std::shared_ptr<ConvOneDnn> fast;
  std::shared_ptr<FiniteFastPath> finite;
  // With constant weights and bias, in registers, the epilogue included, on any input:
  // pointwise expansions from few channels, channels-last in and out (kernels/fast/conv1x1_f32.h),
  // and first layers, plain in and channels-last out (kernels/fast/stem_f32.h).
  std::shared_ptr<kernels::fast::Conv1x1F32> pointwise;
  std::shared_ptr<kernels::fast::StemConvF32> stem;
  const bool has_residual = ctx.has_input(3);
  if (ctx.options.use_fast && !transpose && layout.y && constant_f32(ctx, 1) &&
      (!ctx.has_input(2) || constant_f32(ctx, 2))) {
    // A kernel that declines leaves the block to oneDNN below.
    if (layout.x && kernels::fast::Conv1x1F32::outruns_onednn(p))
      pointwise = kernels::fast::Conv1x1F32::Create(p, constant_f32(ctx, 1), constant_f32(ctx, 2), e, nullptr);
    if (!layout.x && kernels::fast::StemConvF32::outruns_onednn(p))
      stem = kernels::fast::StemConvF32::Create(p, constant_f32(ctx, 1), constant_f32(ctx, 2), e, nullptr);
  }
  if (ctx.options.use_fast && !pointwise && !stem) {
    std::string why_not;
    if (transpose) {
      if (!layout.x && !layout.y)
        fast = ConvOneDnn::ConvTranspose(p, constant_f32(ctx, 1), constant_f32(ctx, 2), ctx.has_input(2), &why_not);
    } else {
      kernels::fast::ConvFastOptions o;
      o.src_channels_last = layout.x;
      o.dst_channels_last = layout.y;
      o.residual = has_residual;
      o.epilogue = e;
      const bool clip_bounds = e.act == Epilogue::Act::kClip && std::isfinite(e.alpha) && std::isfinite(e.beta);
      const bool winograd = ctx.options.winograd && kernels::fast::winograd_candidate(p);
      if ((clip_bounds || winograd) && constant_f32(ctx, 1) &&
          absent_or_finite_constant(ctx, 1) && absent_or_finite_constant(ctx, 2)) {
        kernels::fast::ConvFastOptions nan_free = o;
        nan_free.nan_free = true;
        nan_free.winograd = winograd;
        std::shared_ptr<ConvOneDnn> f =
            ConvOneDnn::Conv(p, constant_f32(ctx, 1), constant_f32(ctx, 2), ctx.has_input(2), &why_not, nan_free);
        if (f && (f->winograd() || (clip_bounds && f->activation_fused()))) {
          finite = std::make_shared<FiniteFastPath>();
          finite->finite = std::move(f);
          // oneDNN's clip leaves no NaN; the exact pass after Winograd would pass one on (from an
          // overflow), so only the fused clip vouches for Y.
          finite->bounded = clip_bounds && finite->finite->activation_fused();
          finite->exact_options = o;
          finite->w = *ctx.in(1).value;
          if (ctx.has_input(2)) finite->b = *ctx.in(2).value;
        } else {
          fast = std::move(f);  // neither: nan_free changed nothing, it is the direct convolution
        }
      }
      if (!finite && !fast) fast = ConvOneDnn::Conv(p, constant_f32(ctx, 1), constant_f32(ctx, 2), ctx.has_input(2), &why_not, o);
    }
  }
  const bool has_epilogue = e.act != Epilogue::Act::kNone || has_residual;
  // oneDNN adds the residual to what y holds (ConvOneDnn::run): y may be R's buffer. (fast is set
  // only where no other path is.)
  const bool residual_in_place = fast && fast->residual_fused();
  return make_kernel(
      [p, transpose, e, fast, finite, pointwise, stem, has_epilogue, has_residual, layout](
          std::span<const Tensor* const> in, std::span<Tensor* const> out) {
        float* y = out[0]->data<float>();
        const float* w = in[1]->data<float>();
        const float* b = opt_f32(in, 2);
        const float* r = opt_f32(in, 3);
        if (pointwise) return out[0]->set_known_finite(pointwise->run(in[0]->data<float>(), r, y));
        if (stem) return out[0]->set_known_finite(stem->run(in[0]->data<float>(), r, y));
        ConvOneDnn* f = fast.get();
        bool bounded = false;
        if (finite) {
          if (input_finite(in[0]) && input_finite(has_residual ? in[3] : nullptr)) {
            f = finite->finite.get();
            bounded = finite->bounded;
          } else {
            std::call_once(finite->once, [&] {
              std::string why_not;
              const Tensor& cb = finite->b;
              finite->exact = ConvOneDnn::Conv(p, finite->w.data<float>(), cb.defined() ? cb.data<float>() : nullptr,
                                               cb.defined(), &why_not, finite->exact_options);
            });
            f = finite->exact.get();
          }
        }
        if (f) {
          const bool residual_fused = f->residual_fused();
          f->run(in[0]->data<float>(), w, b, y, residual_fused ? r : nullptr);
          Epilogue rest = e;  // what is left after oneDNN's post-ops
          if (f->activation_fused()) rest.act = Epilogue::Act::kNone;
          if (rest.act != Epilogue::Act::kNone || (has_residual && !residual_fused)) {
            const EpilogueDims d = epilogue_dims(p, layout.y);
            kernels::fast::float_epilogue(y, d.outer, d.channels, d.inner, nullptr, residual_fused ? nullptr : r, rest, y);
          }
          if (bounded) out[0]->set_known_finite(true);
          return;
        }
        run_plain(p, layout, in[0]->data<float>(), r, y, [&](const float* x, const float* rp, float* yp) {
          if (transpose) kernels::ref::conv_transpose_f32(p, x, w, b, yp);
          else kernels::ref::conv_f32(p, x, w, b, yp);
          if (has_epilogue) {
            const EpilogueDims d = epilogue_dims(p, false);
            kernels::ref::float_epilogue(yp, d.outer, d.channels, d.inner, nullptr, rp, e, yp);
          }
        });
      },
      pointwise ? "pointwise" : stem ? "stem" : fast || finite ? "onednn" : "reference", true,
      /*picks_threads=*/pointwise || stem, /*in_place_input=*/residual_in_place ? 3 : -1);
}

// INT8 tensors handed from one INT8 block to the next (passes/int8_handoff.h): X already
// quantized with its scale, and/or Y written quantized with y_scale (> 0).
struct Int8Handoff {
  bool x = false;
  bool r = false;  // R int8, quantized with R's scale
  float y_scale = 0.f;
};

Expected<std::unique_ptr<Kernel>> fused_conv_int8(const PrepareContext& ctx, const ConvParams& p, bool transpose,
                                                  const Epilogue& e, const ConvLayout& layout,
                                                  const Int8Handoff& handoff) {
  QS_RETURN_IF_ERROR(check_int8_scales(ctx, {0, 3}));
  if (!ctx.in(1).value) return ctx.unsupported("INT8 needs constant weights W");
  const int64_t reduction = p.in_channels / p.group * numel(p.kernel);
  if (!kernels::ref::int8_reduction_fits(reduction))
    return ctx.unsupported("INT8 reduction length {} exceeds the int32 accumulator bound {}", reduction,
                           kernels::ref::kMaxInt8Reduction);
  struct State {
    ConvParams p;
    bool transpose = false;
    ConvLayout layout;
    Epilogue e;
    float x_scale = 0, r_scale = 0;
    std::vector<int8_t> wq;
    std::vector<float> w_scales, bias;
    std::unique_ptr<kernels::fast::ConvS8OneDnn> fast;
    // layers that the in-register kernels run faster than oneDNN (pointwise: int8 or float Y)
    std::unique_ptr<kernels::fast::Conv1x1S8> pointwise;
    std::unique_ptr<kernels::fast::DepthwiseConvS8> depthwise;
    std::unique_ptr<kernels::fast::StemConvS8> stem;  // a first layer: float X quantized inside
    std::unique_ptr<kernels::fast::Conv1dS8> conv1d;  // 1-D on few channels: the sums, in place of fast's
    bool fast_epilogue = false;  // fast writes y with the epilogue itself (run_f32 / run_s8)
    bool finite_y = false;       // a float Y is finite whatever X and R hold (Tensor::known_finite)
    Int8Handoff handoff;
    QuantizeFn quantize = kernels::ref::quantize_f32_s8;
    FakeQuantizeFn fake_quantize = kernels::ref::fake_quantize_f32;

    // X quantized with its scale, R (may be null) fake-quantized with its own, each into this
    // thread's scratch.
    const int8_t* quantized_x(const float* x, int64_t n) const {
      int8_t* q = thread_scratch<int8_t, 0>(static_cast<size_t>(n));
      quantize(x, q, n, x_scale);
      return q;
    }
    // (An int8 R arrives as q * r_scale, from residual(): already what this gives.)
    const float* quantized_residual(const float* r, int64_t n) const {
      if (!r || handoff.r) return r;
      float* q = thread_scratch<float, 1>(static_cast<size_t>(n));
      fake_quantize(r, q, n, r_scale);
      return q;
    }
    // R as the kernels read it: float as given, or an int8 R as q * r_scale (one rounding,
    // the value its fake quantization gives) in this thread's scratch; nullptr without R.
    const float* residual(std::span<const Tensor* const> in, int64_t n) const {
      if (!handoff.r) return opt_f32(in, 3);
      if (in.size() <= 3 || !in[3]) return nullptr;
      const int8_t* q = in[3]->data<int8_t>();
      float* r = thread_scratch<float, 7>(static_cast<size_t>(n));
      const float scale = r_scale;
      kernels::fast::parallel_chunks(n, 64 * 1024, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) r[i] = static_cast<float>(q[i]) * scale;
      });
      return r;
    }
  };
  auto s = std::make_shared<State>();
  s->p = p;
  s->handoff = handoff;
  s->transpose = transpose;
  s->layout = layout;
  s->e = e;
  s->x_scale = ctx.input_scale(0);
  s->r_scale = ctx.input_scale(3);
  if (ctx.options.use_fast) {
    s->quantize = kernels::fast::quantize_f32_s8;
    s->fake_quantize = kernels::fast::fake_quantize_f32;
  }
  const Tensor& w = *ctx.in(1).value;
  s->wq.resize(static_cast<size_t>(w.numel()));
  s->w_scales.resize(static_cast<size_t>(p.out_channels));
  if (transpose)
    kernels::ref::quantize_conv_transpose_weights_s8(p, w.data<float>(), s->wq.data(), s->w_scales.data());
  else
    kernels::ref::quantize_weights_s8(w.data<float>(), w.shape(), 0, s->wq.data(), s->w_scales.data());
  if (const float* b = constant_f32(ctx, 2)) s->bias.assign(b, b + p.out_channels);
  if (ctx.has_input(2) && s->bias.empty()) return ctx.unsupported("INT8 needs a constant bias B");
  // X and R are quantized first (NaN to 0, infinities saturated), so
  // |y| <= products * 128 * 128 * x_scale * w_scale + |bias| + 128 * r_scale, times LeakyRelu's
  // slope (Relu, Clip and Silu shrink it): finite unless the scales are absurd.
  {
    const double products = static_cast<double>(p.in_channels / std::max<int64_t>(p.group, 1)) * numel(p.kernel);
    double bound = 0;
    for (size_t c = 0; c < s->w_scales.size(); ++c)
      bound = std::max(bound, products * 128 * 128 * s->x_scale * s->w_scales[c] +
                                  (s->bias.empty() ? 0.0 : std::fabs(s->bias[c])));
    bound += ctx.has_input(3) ? 128.0 * s->r_scale : 0.0;
    if (e.act == Epilogue::Act::kLeakyRelu) bound *= std::max(1.0, std::fabs(static_cast<double>(e.alpha)));
    s->finite_y = std::isfinite(bound) && bound < 1e37;
  }
  if (ctx.options.use_fast) {
    std::string why_not;
    if (transpose) {
      if (!layout.x && !layout.y) s->fast = kernels::fast::ConvS8OneDnn::ConvTranspose(p, s->wq.data(), &why_not);
    } else {
      kernels::fast::ConvS8Epilogue epi;
      epi.scales.resize(s->w_scales.size());
      for (size_t c = 0; c < epi.scales.size(); ++c) epi.scales[c] = s->x_scale * s->w_scales[c];
      epi.bias = s->bias;
      epi.residual = ctx.has_input(3);
      epi.act = e;
      epi.out_scale = handoff.y_scale;
      epi.scales_as_operand = ctx.options.few_runs;
      // A pointwise layer, channels-last, may take an in-register kernel, which also
      // fake-quantizes its residual as it reads it (float y: a residual block's last layer,
      // whose output float readers share); a depthwise layer between INT8 layers likewise.
      if (layout.x && layout.y && kernels::fast::Conv1x1S8::outruns_onednn(p)) {
        kernels::fast::ConvS8Epilogue own = epi;
        own.residual_scale = ctx.has_input(3) ? s->r_scale : 0.f;
        own.residual_int8 = handoff.r;
        s->pointwise = kernels::fast::Conv1x1S8::Create(p, s->wq.data(), own, &why_not);
      }
      if (layout.x && layout.y && handoff.y_scale > 0.f && !s->pointwise &&
          kernels::fast::DepthwiseConvS8::outruns_onednn(p))
        s->depthwise = kernels::fast::DepthwiseConvS8::Create(p, s->wq.data(), epi, &why_not);
      // A first layer (float X of a few channels, plain) whose int8 output goes channels-last
      // to INT8 readers may take the kernel that quantizes X itself.
      if (!layout.x && !handoff.x && layout.y && handoff.y_scale > 0.f && kernels::fast::StemConvS8::outruns_onednn(p))
        s->stem = kernels::fast::StemConvS8::Create(p, s->wq.data(), s->x_scale, epi, &why_not);
      // A 1-D layer on few channels (raw audio's first): the sums on Conv1dS8, plain X to
      // channels-last Y, the epilogue a pass after them.
      if (!layout.x && layout.y && kernels::fast::Conv1dS8::outruns_onednn(p))
        s->conv1d = kernels::fast::Conv1dS8::Create(p, s->wq.data(), &why_not);
      if (s->pointwise || s->depthwise || s->stem) {
        s->fast_epilogue = true;
      } else if (!s->conv1d) {
        s->fast = kernels::fast::ConvS8OneDnn::Conv(p, s->wq.data(), &why_not, {layout.x, layout.y}, &epi);
        s->fast_epilogue = s->fast != nullptr;
        if (!s->fast) s->fast = kernels::fast::ConvS8OneDnn::Conv(p, s->wq.data(), &why_not, {layout.x, layout.y});
      }
    }
  }
  // Every fast kernel keeps its own copy of the weights (packed, or in oneDNN's layout): the
  // quantized weights serve only the reference path.
  if (s->fast || s->pointwise || s->depthwise || s->stem || s->conv1d) std::vector<int8_t>().swap(s->wq);
  const std::string_view impl = s->pointwise   ? "pointwise-s8"
                                : s->depthwise ? "depthwise-s8"
                                : s->stem      ? "stem-s8"
                                : s->conv1d    ? "conv1d-s8"
                                : s->fast      ? "onednn-s8"
                                               : "reference-s8";
  // Quantize X, int8 x int8 -> int32, the float epilogue. x in the layout the fast kernel was
  // built for (plain for the reference), r and y channels-last when y_channels_last.
  auto compute = [s](const float* x, const float* r, float* y, bool y_channels_last) {
    const ConvParams& p = s->p;
    const int64_t nx = p.batch * p.in_channels * numel(p.in_size), ny = p.batch * p.out_channels * numel(p.out_size);
    const int8_t* xq = s->quantized_x(x, nx);
    const float* residual = s->quantized_residual(r, ny);
    int32_t* acc = thread_scratch<int32_t, 0>(static_cast<size_t>(ny));
    if (s->conv1d) s->conv1d->run(xq, acc);
    else if (s->fast) s->fast->run(xq, acc);
    else if (s->transpose) kernels::ref::conv_transpose_s8s8s32(p, xq, s->wq.data(), acc);
    else kernels::ref::conv_s8s8s32(p, xq, s->wq.data(), acc);
    const EpilogueDims d = epilogue_dims(p, y_channels_last);
    (s->fast || s->conv1d ? kernels::fast::dequantize_epilogue : kernels::ref::dequantize_epilogue)(
        acc, d.outer, d.channels, d.inner, s->x_scale, s->w_scales.data(), s->bias.empty() ? nullptr : s->bias.data(),
        residual, s->e, y);
  };
  return make_kernel(
      [s, compute](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
        const ConvParams& p = s->p;
        const int64_t nx = p.batch * p.in_channels * numel(p.in_size), ny = p.batch * p.out_channels * numel(p.out_size);
        if (s->handoff.y_scale <= 0.f) out[0]->set_known_finite(s->finite_y);
        if (s->pointwise) {
          // R as it is: the kernel fake-quantizes a float one and reads an int8 one as q * scale
          // (ConvS8Epilogue::residual_scale, residual_int8).
          const int8_t* xq = s->handoff.x ? in[0]->data<int8_t>() : s->quantized_x(in[0]->data<float>(), nx);
          const Tensor* rt = in.size() > 3 ? in[3] : nullptr;
          const void* r = !rt ? nullptr
                          : s->handoff.r ? static_cast<const void*>(rt->data<int8_t>())
                                         : static_cast<const void*>(rt->data<float>());
          if (s->pointwise->float_output()) return s->pointwise->run_f32(xq, r, out[0]->data<float>());
          return s->pointwise->run(xq, r, out[0]->data<int8_t>());
        }
        const float* r = s->residual(in, ny);
        if (s->stem) return s->stem->run(in[0]->data<float>(), s->quantized_residual(r, ny), out[0]->data<int8_t>());
        if (s->fast_epilogue) {
          // X quantized here or by its producer; y float, or int8 for the next INT8 block.
          const int8_t* xq = s->handoff.x ? in[0]->data<int8_t>() : s->quantized_x(in[0]->data<float>(), nx);
          const float* residual = s->quantized_residual(r, ny);
          if (s->depthwise) return s->depthwise->run(xq, residual, out[0]->data<int8_t>());
          if (s->handoff.y_scale > 0.f) return s->fast->run_s8(xq, residual, out[0]->data<int8_t>());
          return s->fast->run_f32(xq, residual, out[0]->data<float>());
        }
        // The other paths take and give float: an int8 X becomes q * scale (quantizing that
        // again gives q back exactly), and a float y is then quantized for an int8 Y.
        const float* x = nullptr;
        if (s->handoff.x) {
          float* xf = thread_scratch<float, 5>(static_cast<size_t>(nx));
          const int8_t* q = in[0]->data<int8_t>();
          for (int64_t i = 0; i < nx; ++i) xf[i] = static_cast<float>(q[i]) * s->x_scale;
          x = xf;
        } else {
          x = in[0]->data<float>();
        }
        float* y = s->handoff.y_scale > 0.f ? thread_scratch<float, 6>(static_cast<size_t>(ny)) : out[0]->data<float>();
        if (s->fast || s->conv1d) compute(x, r, y, s->layout.y);
        else run_plain(p, s->layout, x, r, y, [&](const float* xp, const float* rp, float* yp) { compute(xp, rp, yp, false); });
        if (s->handoff.y_scale > 0.f) s->quantize(y, out[0]->data<int8_t>(), ny, s->handoff.y_scale);
      },
      impl, true, /*picks_threads=*/s->pointwise || s->depthwise || s->stem || s->conv1d);
}

Expected<std::unique_ptr<Kernel>> prepare_fused_conv(PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(const int64_t transpose, ctx.node.attr_int("transpose", 0));
  QS_ASSIGN_OR_RETURN(const int64_t x_cl, ctx.node.attr_int("x_channels_last", 0));
  QS_ASSIGN_OR_RETURN(const int64_t y_cl, ctx.node.attr_int("y_channels_last", 0));
  const ConvLayout layout{x_cl != 0, y_cl != 0};
  QS_ASSIGN_OR_RETURN(const int64_t x_int8, ctx.node.attr_int("x_int8", 0));
  QS_ASSIGN_OR_RETURN(const int64_t r_int8, ctx.node.attr_int("r_int8", 0));
  QS_ASSIGN_OR_RETURN(const float y_int8_scale, ctx.node.attr_float("y_int8_scale", 0.f));
  const Int8Handoff handoff{x_int8 != 0, r_int8 != 0, y_int8_scale};
  if ((handoff.x || handoff.r || handoff.y_scale > 0.f) && (ctx.precision != Precision::kInt8 || transpose))
    return ctx.error("int8 inputs and outputs need an INT8 convolution");
  if (handoff.r && !ctx.has_input(3)) return ctx.error("r_int8 without a residual R");
  if (handoff.x) QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kInt8}));
  PrepareContext head = head_context(ctx, 3);
  if (handoff.x) head.inputs[0].dtype = DType::kFloat32;  // the geometry is the same
  if (layout.x) {
    if (ctx.in(0).shape.size() < 3) return ctx.error("channels-last X needs rank 3 or more, got {}", shape_str(ctx.in(0).shape));
    head.inputs[0].shape = channels_first_shape(ctx.in(0).shape);
  }
  QS_ASSIGN_OR_RETURN(ConvParams p, transpose ? conv_transpose_params(head) : conv_params(head));
  QS_ASSIGN_OR_RETURN(Epilogue e, read_epilogue(ctx));
  const Shape out_shape = layout.y ? channels_last_shape(conv_output_shape(p)) : conv_output_shape(p);
  if (ctx.has_input(3)) {
    QS_RETURN_IF_ERROR(ctx.expect_dtype(3, {handoff.r ? DType::kInt8 : DType::kFloat32}));
    if (ctx.in(3).shape != out_shape)
      return ctx.error("residual {} does not have the output's shape {}", shape_str(ctx.in(3).shape), shape_str(out_shape));
  }
  ctx.set_output(0, handoff.y_scale > 0.f ? DType::kInt8 : DType::kFloat32, out_shape);
  if (ctx.precision == Precision::kInt8) return fused_conv_int8(ctx, p, transpose != 0, e, layout, handoff);
  return fused_conv_fp32(ctx, p, transpose != 0, e, layout);
}

// ---- FusedGemm ----

// The block as one matrix product [rows, K] x [K, N] with a constant B, plus a per-column
// scale and an optional float addend (Gemm's beta*C broadcast to [rows, N], or MatMul's bias).
struct GemmBlock {
  bool is_gemm = true;
  GemmParams gemm;      // is_gemm
  MatMulParams matmul;  // !is_gemm
  Shape out_shape;
  int64_t rows = 0, N = 0, K = 0;
};

Expected<GemmBlock> gemm_block(const PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(std::string head, ctx.node.attr_string("head", "Gemm"));
  GemmBlock b;
  if (head == "Gemm") {
    QS_ASSIGN_OR_RETURN(b.gemm, gemm_params(ctx));
    b.rows = b.gemm.M;
    b.N = b.gemm.N;
    b.K = b.gemm.K;
    b.out_shape = {b.gemm.M, b.gemm.N};
    return b;
  }
  if (head != "MatMul") return ctx.error("head '{}' is not Gemm or MatMul", head);
  b.is_gemm = false;
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 3));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(1, {DType::kFloat32}));
  const Shape& a = ctx.in(0).shape;
  const Shape& w = ctx.in(1).shape;
  if (a.size() < 2 || w.size() != 2 || a.back() != w[0])
    return ctx.error("fused MatMul needs A [..., M, K] and B [K, N], got {} and {}", shape_str(a), shape_str(w));
  b.matmul = kernels::ref::matmul_params(a, w, &b.out_shape);
  b.K = w[0];
  b.N = w[1];
  b.rows = numel(a) / b.K;
  if (ctx.has_input(2)) {
    QS_RETURN_IF_ERROR(ctx.expect_dtype(2, {DType::kFloat32}));
    if (ctx.in(2).shape != Shape{b.N} || !ctx.in(2).value)
      return ctx.error("fused MatMul bias must be a constant [{}], got {}", b.N, shape_str(ctx.in(2).shape));
  }
  return b;
}

Expected<std::unique_ptr<Kernel>> fused_gemm_fp32(const PrepareContext& ctx, const GemmBlock& b, const Epilogue& e) {
  const bool has_epilogue = e.act != Epilogue::Act::kNone || (!b.is_gemm && ctx.has_input(2));
  std::shared_ptr<kernels::fast::GemmOneDnn> fast_gemm;
  std::shared_ptr<kernels::fast::MatMulOneDnn> fast_matmul;
  if (ctx.options.use_fast) {
    if (b.is_gemm) fast_gemm = kernels::fast::GemmOneDnn::Create(b.gemm, constant_f32(ctx, 1), nullptr);
    else fast_matmul = kernels::fast::MatMulOneDnn::Create(b.matmul, constant_f32(ctx, 1), nullptr);
  }
  const bool fast = fast_gemm || fast_matmul;
  return make_kernel(
      [b, e, has_epilogue, fast_gemm, fast_matmul](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
        float* y = out[0]->data<float>();
        const float* A = in[0]->data<float>();
        const float* B = in[1]->data<float>();
        if (b.is_gemm) {
          if (fast_gemm) fast_gemm->run(A, B, opt_f32(in, 2), y);
          else kernels::ref::gemm_f32(b.gemm, A, B, opt_f32(in, 2), y);
        } else {
          if (fast_matmul) fast_matmul->run(A, B, y);
          else kernels::ref::matmul_f32(b.matmul, A, B, y);
        }
        if (has_epilogue)
          kernels::ref::float_epilogue(y, b.rows, b.N, 1, b.is_gemm ? nullptr : opt_f32(in, 2), nullptr, e, y);
      },
      fast ? "onednn" : "reference", true);
}

Expected<std::unique_ptr<Kernel>> fused_gemm_int8(const PrepareContext& ctx, const GemmBlock& b, const Epilogue& e) {
  QS_RETURN_IF_ERROR(check_int8_scales(ctx, {0}));
  if (!ctx.in(1).value) return ctx.unsupported("INT8 needs constant weights B");
  if (!kernels::ref::int8_reduction_fits(b.K))
    return ctx.unsupported("INT8 reduction length {} exceeds the int32 accumulator bound {}", b.K,
                           kernels::ref::kMaxInt8Reduction);
  struct State {
    GemmBlock b;
    Epilogue e;
    float x_scale = 0;
    std::vector<int8_t> wq;
    std::vector<float> w_scales, bias, addend;  // addend: beta*C broadcast to [rows, N] when C is not per column
    bool addend_from_input = false;              // C given at run time
    float beta = 1.f;
    std::unique_ptr<kernels::fast::GemmS8OneDnn> fast_gemm;
    std::unique_ptr<kernels::fast::MatMulS8OneDnn> fast_matmul;
    QuantizeFn quantize = kernels::ref::quantize_f32_s8;
  };
  auto s = std::make_shared<State>();
  s->b = b;
  s->e = e;
  s->x_scale = ctx.input_scale(0);
  if (ctx.options.use_fast) s->quantize = kernels::fast::quantize_f32_s8;
  const Tensor& w = *ctx.in(1).value;
  s->wq.resize(static_cast<size_t>(w.numel()));
  s->w_scales.resize(static_cast<size_t>(b.N));
  // One scale per output column n: B is [K, N], or [N, K] with transB.
  const int64_t axis = b.is_gemm && b.gemm.trans_b ? 0 : 1;
  kernels::ref::quantize_weights_s8(w.data<float>(), w.shape(), axis, s->wq.data(), s->w_scales.data());
  if (b.is_gemm) {
    for (float& ws : s->w_scales) ws *= b.gemm.alpha;  // alpha * (A . B) folds into the column scales
    s->beta = b.gemm.beta;
    if (ctx.has_input(2)) {
      const Tensor* c = ctx.in(2).value;
      if (c && b.gemm.c_rows <= 1) {  // a per-column (or scalar) C is a bias
        s->bias.resize(static_cast<size_t>(b.N));
        for (int64_t n = 0; n < b.N; ++n) s->bias[n] = b.gemm.beta * c->data<float>()[b.gemm.c_cols == 1 ? 0 : n];
      } else {
        s->addend_from_input = true;
      }
    }
  } else if (const float* bias = constant_f32(ctx, 2)) {
    s->bias.assign(bias, bias + b.N);
  }
  if (ctx.options.use_fast) {
    if (b.is_gemm) {
      kernels::ref::GemmParams gp = b.gemm;
      s->fast_gemm = kernels::fast::GemmS8OneDnn::Create(gp, s->wq.data(), nullptr);
    } else {
      s->fast_matmul = kernels::fast::MatMulS8OneDnn::Create(b.matmul, s->wq.data(), nullptr);
    }
  }
  if (s->fast_gemm || s->fast_matmul) std::vector<int8_t>().swap(s->wq);  // the fast kernel keeps its own copy
  const std::string_view impl = s->fast_gemm || s->fast_matmul ? "onednn-s8" : "reference-s8";
  return make_kernel(
      [s](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
        const GemmBlock& b = s->b;
        const int64_t na = in[0]->numel(), ny = out[0]->numel();
        int8_t* aq = thread_scratch<int8_t, 0>(static_cast<size_t>(na));
        int32_t* acc = thread_scratch<int32_t, 0>(static_cast<size_t>(ny));
        s->quantize(in[0]->data<float>(), aq, na, s->x_scale);
        if (s->fast_gemm) s->fast_gemm->run(aq, acc);
        else if (s->fast_matmul) s->fast_matmul->run(aq, acc);
        else if (b.is_gemm) kernels::ref::gemm_s8s8s32(b.gemm, aq, s->wq.data(), acc);
        else kernels::ref::matmul_s8s8s32(b.matmul, aq, s->wq.data(), acc);
        const float* addend = nullptr;
        if (s->addend_from_input) {
          // beta * C broadcast to [rows, N]; C is [c_rows, c_cols] with each dim 1 or full.
          float* buf = thread_scratch<float, 1>(static_cast<size_t>(ny));
          const float* c = in[2]->data<float>();
          for (int64_t m = 0; m < b.rows; ++m)
            for (int64_t n = 0; n < b.N; ++n)
              buf[m * b.N + n] = s->beta * c[(b.gemm.c_rows == 1 ? 0 : m) * b.gemm.c_cols + (b.gemm.c_cols == 1 ? 0 : n)];
          addend = buf;
        }
        kernels::ref::dequantize_epilogue(acc, b.rows, b.N, 1, s->x_scale, s->w_scales.data(),
                                          s->bias.empty() ? nullptr : s->bias.data(), addend, s->e,
                                          out[0]->data<float>());
      },
      impl, true);
}

Expected<std::unique_ptr<Kernel>> prepare_fused_gemm(PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(GemmBlock b, gemm_block(ctx));
  QS_ASSIGN_OR_RETURN(Epilogue e, read_epilogue(ctx));
  ctx.set_output(0, DType::kFloat32, b.out_shape);
  if (ctx.precision == Precision::kInt8) return fused_gemm_int8(ctx, b, e);
  return fused_gemm_fp32(ctx, b, e);
}

// ---- ToNCHW ----

// X [N, spatial..., C] (a channels-last value, passes/layout.h) -> Y [N, C, spatial...].
Expected<std::unique_ptr<Kernel>> prepare_to_nchw(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  const Shape& x = ctx.in(0).shape;
  if (x.size() < 3) return ctx.error("needs rank 3 or more, got {}", shape_str(x));
  const Shape y = channels_first_shape(x);
  ctx.set_output(0, DType::kFloat32, y);
  const int64_t n = y[0], c = y[1], spatial = numel(y) / std::max<int64_t>(n * c, 1);
  return make_kernel([n, c, spatial](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    kernels::fast::nhwc_to_nchw_f32(n, c, spatial, in[0]->data<float>(), out[0]->data<float>());
  }, "fast", true);
}

const OpSchema kOps[] = {
    {"FusedConv", prepare_fused_conv, false, true},
    {"FusedGemm", prepare_fused_gemm, false, true},
    {"ToNCHW", prepare_to_nchw, false, false},
    {"EltwiseChain", prepare_eltwise_chain, false, false},
};

}  // namespace

std::span<const OpSchema> internal_ops() { return kOps; }

}  // namespace qs::ops
