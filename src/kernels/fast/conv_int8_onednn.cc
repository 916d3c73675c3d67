#include "kernels/fast/conv_int8_onednn.h"

#include "kernels/fast/onednn_common.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>
#include <cmath>
#include <unordered_map>
#include <vector>

#include "kernels/reference/conv_int8.h"
#include "kernels/reference/int8.h"

namespace qs::kernels::fast {
namespace {

using dims = dnnl::memory::dims;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;


// The ONNX weight buffer in oneDNN's logical weight order [(G,) OC/G, IC/G, k...]. ONNX
// ConvTranspose stores [IC, OC/G, k...] = [G, IC/G, OC/G, k...]: described with strides that
// swap OC/G and IC/G (as conv_onednn.cc does for f32).
dnnl::memory::desc onnx_weights_md(const ref::ConvParams& p, bool transposed) {
  const int64_t g = p.group, icg = p.in_channels / g, ocg = p.out_channels / g;
  dims logical;
  if (g > 1) logical.push_back(g);
  logical.push_back(ocg);
  logical.push_back(icg);
  for (int64_t k : p.kernel) logical.push_back(k);
  if (!transposed) return dnnl::memory::desc(logical, dt::s8, plain_tag(logical.size()));
  const size_t lead = g > 1 ? 1 : 0;  // position of OC/G in the logical dims
  dims physical = logical;
  std::swap(physical[lead], physical[lead + 1]);
  dims phys_stride(physical.size());
  int64_t s = 1;
  for (size_t i = physical.size(); i-- > 0;) {
    phys_stride[i] = s;
    s *= physical[i];
  }
  dims strides = phys_stride;
  std::swap(strides[lead], strides[lead + 1]);
  return dnnl::memory::desc(logical, dt::s8, strides);
}

dims act_dims(int64_t n, int64_t c, const std::vector<int64_t>& spatial) {
  dims d{n, c};
  d.insert(d.end(), spatial.begin(), spatial.end());
  return d;
}

dnnl::primitive_attr user_scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// A reorder between two layouts of the same tensor, run on the thread's stream.
struct Reorder {
  dnnl::reorder prim;
  dnnl::memory::desc scratch_md;

  void init(const dnnl::memory::desc& from, const dnnl::memory::desc& to) {
    dnnl::reorder::primitive_desc pd(cpu_engine(), from, cpu_engine(), to, user_scratchpad_attr());
    scratch_md = pd.scratchpad_desc();
    prim = dnnl::reorder(pd);
  }
  void run(const dnnl::memory& from, const dnnl::memory& to) const {
    prim.execute(cpu_stream(), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}, {DNNL_ARG_SCRATCHPAD, scratchpad(scratch_md)}});
  }
};

}  // namespace

bool onednn_int8_exact(std::string* why_not) {
  using isa = dnnl::cpu_isa;
  const isa have = dnnl::get_effective_cpu_isa();
  // avx2_vnni is left out: this oneDNN's avx2 int8 path is not verified to skip the halving.
  if (have == isa::avx512_core_vnni || have == isa::avx512_core_bf16 || have == isa::avx512_core_amx) return true;
  if (why_not)
    *why_not = "CPU without avx512_core_vnni: oneDNN's int8 kernels halve the weights there to avoid int16 "
               "saturation (vpmaddubsw), so their result would not be exact";
  return false;
}

struct ConvS8OneDnn::Impl {
  dnnl::primitive prim;
  dnnl::memory::desc src_md, dst_md;              // plain, as the op sees them
  dnnl::memory::desc inner_src_md, inner_dst_md;  // oneDNN's choice
  dnnl::memory::desc scratch_md;
  std::shared_ptr<const dnnl::memory> wei;  // the constant weights in oneDNN's layout (with its s8 compensation)
  Reorder src_in, dst_out;
  bool reorder_src = false, reorder_dst = false;
  // The float epilogue (ConvS8Epilogue): its constants and whether it reads a residual.
  bool float_out = false, residual = false;
  dnnl::memory bias, out_scale;  // post-op operands: per-channel bias, the int8 output's scale
  int residual_arg = 0, out_scale_arg = 0;
  dnnl::memory scales;  // per-channel scales as a post-op operand (null: output scales of the primitive)
  int scales_arg = 0, bias_arg = 0;
  dnnl::memory::desc residual_md;  // f32 in y's layout
  std::string impl_info;
  uint64_t exec_id = new_exec_id();  // execute_reusing_args
};

namespace {

// Output scales and post-ops for a float epilogue; false when part of it has no exact
// oneDNN counterpart. float_md: y's dims and layout in f32 (the residual's).
// shared_scales: the per-channel scales are the first post-op (a multiply by a [1, C, 1...]
// operand given at run time) rather than output scales, which are constants of the primitive;
// layers of the same shape and epilogue then share one primitive (oneDNN's primitive cache keys
// on the attributes; creating an int8 convolution JITs its kernels, 1-3 ms, and every sweep step
// puts another layer in INT8). Either way each channel's float(acc) is multiplied by its scale
// once, before the other post-ops: the same product (the exactness test checks both forms).
// This oneDNN takes no run-time output scales in its int8 convolutions.
bool epilogue_attr(const ConvS8Epilogue& e, const dnnl::memory::desc& float_md, int64_t channels, bool shared_scales,
                   dnnl::primitive_attr* attr, dnnl::memory::desc* scales_md, dnnl::memory::desc* bias_md,
                   ConvS8OneDnn::Impl* impl, dnnl::memory::desc* out_scale_md) {
  const dnnl::memory::desc& dst_md = float_md;
  using Act = ref::Epilogue::Act;
  dnnl::post_ops po;
  dims per_channel(dst_md.dims().size(), 1);
  per_channel[1] = channels;
  auto next_arg = [&po] { return DNNL_ARG_ATTR_MULTIPLE_POST_OP(po.len()) | DNNL_ARG_SRC_1; };
  if (shared_scales) {
    *scales_md = dnnl::memory::desc(per_channel, dt::f32, plain_tag(per_channel.size()));
    impl->scales_arg = next_arg();
    po.append_binary(dnnl::algorithm::binary_mul, *scales_md);
  } else {
    attr->set_output_scales(1 << 1, e.scales);  // per output channel (dim 1)
  }
  if (!e.bias.empty()) {
    *bias_md = dnnl::memory::desc(per_channel, dt::f32, plain_tag(per_channel.size()));
    impl->bias_arg = next_arg();
    po.append_binary(dnnl::algorithm::binary_add, *bias_md);
  }
  if (e.residual) {
    impl->residual_arg = next_arg();
    po.append_binary(dnnl::algorithm::binary_add, dst_md);
  }
  switch (e.act.act) {
    case Act::kNone: break;
    // clip(x, 0, inf) = max(x, 0) gives +0 for negative x, as the reference does.
    case Act::kRelu: po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, INFINITY); break;
    case Act::kClip: po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, e.act.alpha, e.act.beta); break;
    case Act::kLeakyRelu: po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, e.act.alpha, 0.f); break;
    case Act::kSilu: return false;
  }
  if (e.out_scale > 0.f) {
    *out_scale_md = dnnl::memory::desc(dims(dst_md.dims().size(), 1), dt::f32, plain_tag(dst_md.dims().size()));
    impl->out_scale_arg = next_arg();
    po.append_binary(dnnl::algorithm::binary_div, *out_scale_md);
  }
  attr->set_post_ops(po);
  return true;
}

std::unique_ptr<ConvS8OneDnn::Impl> build(const ref::ConvParams& p, const int8_t* w, bool transposed,
                                          const ConvS8Layout& layout, const ConvS8Epilogue* epi, bool shared_scales) {
  auto impl = std::make_unique<ConvS8OneDnn::Impl>();
  auto& eng = cpu_engine();
  const size_t rank = p.in_size.size() + 2;
  const tag channels_last = rank == 3 ? tag::acb : rank == 4 ? tag::acdb : tag::acdeb;
  impl->src_md = dnnl::memory::desc(act_dims(p.batch, p.in_channels, p.in_size), dt::s8,
                                    layout.src_channels_last ? channels_last : plain_tag(rank));
  const tag dst_tag = layout.dst_channels_last ? channels_last : plain_tag(rank);
  const dims dst_dims = act_dims(p.batch, p.out_channels, p.out_size);
  impl->dst_md = dnnl::memory::desc(dst_dims, !epi ? dt::s32 : epi->out_scale > 0.f ? dt::s8 : dt::f32, dst_tag);
  const dnnl::memory::desc float_md(dst_dims, dt::f32, dst_tag);
  const dnnl::memory::desc user_wei_md = onnx_weights_md(p, transposed);

  dims strides(p.stride.begin(), p.stride.end());
  dims dilates, pad_l(p.pad_begin.begin(), p.pad_begin.end()), pad_r;
  for (int64_t d : p.dilation) dilates.push_back(d - 1);  // oneDNN counts the gaps
  // ConvTranspose's pad_end has output_padding taken off and may be negative; oneDNN checks
  // the sizes with floor division, so any pad in [r, r + stride) gives the same output size
  // (try_build checked r + stride - 1 >= 0).
  for (int64_t r : p.pad_end) pad_r.push_back(transposed && r < 0 ? 0 : r);

  // Every layout "any": oneDNN's int8 convolutions run on channels-last or blocked
  // activations (on plain NCHW they fall back to a slow im2col GEMM), and want their own
  // weight layout, which also carries the compensation for s8 sources (VNNI multiplies u8 by
  // s8, so oneDNN shifts the source by +128 and subtracts 128 * sum(w) per output channel).
  const dnnl::memory::desc src_any(impl->src_md.dims(), dt::s8, tag::any);
  // A float epilogue writes y itself, in y's layout (post-ops cannot be reordered after).
  const dnnl::memory::desc dst_any = epi ? impl->dst_md : dnnl::memory::desc(impl->dst_md.dims(), dt::s32, tag::any);
  const dnnl::memory::desc wei_any(user_wei_md.dims(), dt::s8, tag::any);
  dnnl::primitive_attr attr = user_scratchpad_attr();
  dnnl::memory::desc scales_md, bias_md, out_scale_md;
  if (epi) {
    if (transposed ||
        !epilogue_attr(*epi, float_md, p.out_channels, shared_scales, &attr, &scales_md, &bias_md, impl.get(),
                       &out_scale_md))
      throw dnnl::error(dnnl_unimplemented, "epilogue not fusable");
    impl->float_out = true;
    impl->residual_md = float_md;
    impl->residual = epi->residual;
  }
  dnnl::memory::desc chosen_wei;
  auto finish = [&](const auto& pd) {
    impl->scratch_md = pd.scratchpad_desc();
    chosen_wei = pd.weights_desc();
    impl->inner_src_md = pd.src_desc();
    impl->inner_dst_md = pd.dst_desc();
    impl->impl_info = pd.impl_info_str();
    // The reference implementation is far slower than the plain s32 path: decline it.
    if (epi && impl->impl_info.rfind("ref", 0) == 0)
      throw dnnl::error(dnnl_unimplemented, "only the reference implementation takes the epilogue");
  };
  if (!transposed) {
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                      src_any, wei_any, dst_any, strides, dilates, pad_l, pad_r);
    dnnl::convolution_forward::primitive_desc pd(d, attr, eng);
    finish(pd);
    impl->prim = dnnl::convolution_forward(pd);
  } else {
    dnnl::deconvolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                                        src_any, wei_any, dst_any, strides, dilates, pad_l, pad_r);
    dnnl::deconvolution_forward::primitive_desc pd(d, attr, eng);
    finish(pd);
    impl->prim = dnnl::deconvolution_forward(pd);
  }
  impl->reorder_src = impl->inner_src_md != impl->src_md;
  impl->reorder_dst = impl->inner_dst_md != impl->dst_md;
  if (impl->reorder_src) impl->src_in.init(impl->src_md, impl->inner_src_md);
  if (impl->reorder_dst) impl->dst_out.init(impl->inner_dst_md, impl->dst_md);
  if (epi && !epi->bias.empty()) {
    impl->bias = dnnl::memory(bias_md, eng);
    std::copy(epi->bias.begin(), epi->bias.end(), static_cast<float*>(impl->bias.get_data_handle()));
  }
  if (epi && shared_scales) {
    impl->scales = dnnl::memory(scales_md, eng);
    std::copy(epi->scales.begin(), epi->scales.end(), static_cast<float*>(impl->scales.get_data_handle()));
  }
  if (epi && epi->out_scale > 0.f) {
    impl->out_scale = dnnl::memory(out_scale_md, eng);
    *static_cast<float*>(impl->out_scale.get_data_handle()) = epi->out_scale;
  }

  // The reorder copies the weights, so the caller's buffer need not outlive the kernel.
  impl->wei = shared_reordered_constant(w, user_wei_md, chosen_wei);
  return impl;
}

std::unique_ptr<ConvS8OneDnn::Impl> try_build(const ref::ConvParams& p, const int8_t* w, bool transposed,
                                              std::string* why_not, const ConvS8Layout& layout = {},
                                              const ConvS8Epilogue* epi = nullptr) {
  auto decline = [&](const std::string& why) -> std::unique_ptr<ConvS8OneDnn::Impl> {
    if (why_not) *why_not = why;
    return nullptr;
  };
  if (!onednn_int8_exact(why_not)) return nullptr;
  if (p.batch == 0) return decline("empty batch");
  if (!ref::int8_reduction_fits(ref::conv_int8_reduction(p)))
    return decline("reduction of " + std::to_string(ref::conv_int8_reduction(p)) +
                   " products per output could overflow the int32 accumulator");
  if (transposed)
    for (size_t i = 0; i < p.pad_begin.size(); ++i)
      if (p.pad_begin[i] < 0 || p.pad_end[i] + p.stride[i] - 1 < 0) return decline("negative padding");
  // The scales as a post-op operand first (primitives shared between layers); as output
  // scales where no fast implementation takes that post-op.
  if (epi && epi->scales_as_operand) {
    try {
      return build(p, w, transposed, layout, epi, true);
    } catch (const dnnl::error&) {
    }
  }
  try {
    return build(p, w, transposed, layout, epi, false);
  } catch (const dnnl::error& e) {
    return decline(e.what());
  }
}

}  // namespace

ConvS8OneDnn::ConvS8OneDnn(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ConvS8OneDnn::~ConvS8OneDnn() = default;

std::unique_ptr<ConvS8OneDnn> ConvS8OneDnn::Conv(const ref::ConvParams& p, const int8_t* w, std::string* why_not,
                                                 const ConvS8Layout& layout, const ConvS8Epilogue* epilogue) {
  auto impl = try_build(p, w, false, why_not, layout, epilogue);
  return impl ? std::unique_ptr<ConvS8OneDnn>(new ConvS8OneDnn(std::move(impl))) : nullptr;
}

std::unique_ptr<ConvS8OneDnn> ConvS8OneDnn::ConvTranspose(const ref::ConvParams& p, const int8_t* w,
                                                          std::string* why_not) {
  auto impl = try_build(p, w, true, why_not);
  return impl ? std::unique_ptr<ConvS8OneDnn>(new ConvS8OneDnn(std::move(impl))) : nullptr;
}

const std::string& ConvS8OneDnn::impl_info() const { return impl_->impl_info; }

void ConvS8OneDnn::run(const int8_t* x, int32_t* acc) const { run_any(x, nullptr, acc); }

void ConvS8OneDnn::run_f32(const int8_t* x, const float* residual, float* y) const { run_any(x, residual, y); }

void ConvS8OneDnn::run_s8(const int8_t* x, const float* residual, int8_t* y) const { run_any(x, residual, y); }

void ConvS8OneDnn::run_any(const int8_t* x, const float* residual, void* acc) const {
  auto& eng = cpu_engine();
  // The convolution's memory objects are kept per thread (execute_reusing_args), so the shared
  // primitive holds no per-call state; the blocked buffers are the thread's own (onednn_common).
  dnnl::memory src(impl_->src_md, eng, const_cast<int8_t*>(x));
  dnnl::memory dst(impl_->dst_md, eng, acc);
  dnnl::memory inner_src = src, inner_dst = dst;
  if (impl_->reorder_src) {
    inner_src = dnnl::memory(impl_->inner_src_md, eng,
                             thread_buffer(ThreadBuffer::kBlockedInput, impl_->inner_src_md.get_size()));
    impl_->src_in.run(src, inner_src);
  }
  if (impl_->reorder_dst)
    inner_dst = dnnl::memory(impl_->inner_dst_md, eng,
                             thread_buffer(ThreadBuffer::kBlockedOutput, impl_->inner_dst_md.get_size()));
  ExecArg args[7];
  size_t n = 0;
  args[n++] = {DNNL_ARG_SRC, impl_->reorder_src ? &impl_->inner_src_md : &impl_->src_md, inner_src.get_data_handle()};
  args[n++] = {DNNL_ARG_WEIGHTS, nullptr, nullptr, impl_->wei.get()};
  args[n++] = {DNNL_ARG_DST, impl_->reorder_dst ? &impl_->inner_dst_md : &impl_->dst_md, inner_dst.get_data_handle()};
  if (impl_->scales) args[n++] = {impl_->scales_arg, nullptr, nullptr, &impl_->scales};
  if (impl_->bias) args[n++] = {impl_->bias_arg, nullptr, nullptr, &impl_->bias};
  if (impl_->residual) args[n++] = {impl_->residual_arg, &impl_->residual_md, const_cast<float*>(residual)};
  if (impl_->out_scale) args[n++] = {impl_->out_scale_arg, nullptr, nullptr, &impl_->out_scale};
  execute_reusing_args(impl_->exec_id, impl_->prim, std::span<const ExecArg>(args, n), impl_->scratch_md);
  if (impl_->reorder_dst) impl_->dst_out.run(inner_dst, dst);
  cpu_stream().wait();
}

}  // namespace qs::kernels::fast
