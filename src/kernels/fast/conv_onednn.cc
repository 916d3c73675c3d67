#include "kernels/fast/conv_onednn.h"

#include "kernels/fast/eltwise_fast.h"  // parallel_chunks
#include "kernels/fast/onednn_common.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

namespace qs::kernels::fast {
namespace {

using dims = dnnl::memory::dims;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;


// Dense row-major strides of `physical` dims, permuted into the order of the logical dims:
// logical dim j is physical dim perm[j].
dims permuted_strides(const dims& physical, const std::vector<size_t>& perm) {
  dims phys_stride(physical.size());
  int64_t s = 1;
  for (size_t i = physical.size(); i-- > 0;) {
    phys_stride[i] = s;
    s *= physical[i];
  }
  dims out(perm.size());
  for (size_t j = 0; j < perm.size(); ++j) out[j] = phys_stride[perm[j]];
  return out;
}

// The ONNX weight buffer described in oneDNN's logical weight order. oneDNN orders conv
// weights [(G,) OC/G, IC/G, k...] and deconv weights the same way, while ONNX ConvTranspose
// stores [IC, OC/G, k...] = [G, IC/G, OC/G, k...], so the deconv case swaps two dims.
dnnl::memory::desc onnx_weights_md(const ref::ConvParams& p, bool transposed) {
  const int64_t g = p.group, icg = p.in_channels / g, ocg = p.out_channels / g;
  dims logical, physical;
  std::vector<size_t> perm;
  if (g > 1) logical.push_back(g);
  logical.push_back(ocg);
  logical.push_back(icg);
  for (int64_t k : p.kernel) logical.push_back(k);
  const size_t lead = g > 1 ? 1 : 0;  // position of OC/G in the logical dims
  if (!transposed) return dnnl::memory::desc(logical, dt::f32, plain_tag(logical.size()));
  physical = logical;
  std::swap(physical[lead], physical[lead + 1]);
  for (size_t j = 0; j < logical.size(); ++j) perm.push_back(j);
  std::swap(perm[lead], perm[lead + 1]);
  return dnnl::memory::desc(logical, dt::f32, permuted_strides(physical, perm));
}

// The channels-last format of a tensor of this rank (NWC, NHWC, NDHWC).
tag channels_last_tag(size_t rank) { return rank == 3 ? tag::acb : rank == 4 ? tag::acdb : tag::acdeb; }

// Whether oneDNN computes the activation exactly as the reference (kernels/reference/int8.cc)
// does: Relu as max(x, 0) (NaN and -x give +0), LeakyRelu by sign, NaN included. Clip only
// without NaN (NaN passes through the reference, oneDNN's min/max drop it: ConvFastOptions::
// nan_free); Silu (another exp) never.
bool activation_fusable(const ConvFastOptions& o) {
  using Act = ref::Epilogue::Act;
  const Act act = o.epilogue.act;
  return act == Act::kRelu || act == Act::kLeakyRelu || (act == Act::kClip && o.nan_free);
}

// The residual add and, when fusable, the activation as oneDNN post-ops. The residual comes in
// as a sum post-op (y = conv + b + y, y holding r beforehand: run() copies r there unless y is
// r): oneDNN's brgemm kernels take it where they take no binary add. Channels-last, batch 1, two
// threads (EPYC Zen 5), y the residual's own buffer: ResNet-50's 1x1 expansions ran up to 1.37x
// faster than on jit_1x1 with a binary add (128 -> 512 at 28x28: 0.34 against 0.46 ms; level at
// 14x14), 3x3 residual layers 1.2-1.33x faster than on oneDNN's older direct kernel.
dnnl::post_ops epilogue_post_ops(const ConvFastOptions& o) {
  using Act = ref::Epilogue::Act;
  dnnl::post_ops po;
  if (o.residual) po.append_sum(1.f);
  if (o.epilogue.act == Act::kRelu) po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, INFINITY);
  if (o.epilogue.act == Act::kLeakyRelu) po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, o.epilogue.alpha, 0.f);
  if (o.epilogue.act == Act::kClip && o.nan_free)
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, o.epilogue.alpha, o.epilogue.beta);
  return po;
}

dims act_dims(int64_t n, int64_t c, const std::vector<int64_t>& spatial) {
  dims d{n, c};
  d.insert(d.end(), spatial.begin(), spatial.end());
  return d;
}

}  // namespace

struct ConvOneDnn::Impl {
  dnnl::primitive prim;
  dnnl::memory::desc src_md, wei_md, bias_md, dst_md;  // src/dst: plain, as the op sees them
  std::shared_ptr<const dnnl::memory> wei_const;     // constant weights in oneDNN's layout (shared_reordered_constant)
  dnnl::memory bias_const;                            // owned copy of a constant bias
  uint64_t exec_id = new_exec_id();                   // execute_reusing_args
  bool has_bias = false;
  // Where oneDNN runs faster on its blocked activation layout (nChw16c...), x is reordered
  // into it before and y back out after, so that the op boundary stays plain.
  dnnl::memory::desc inner_src_md, inner_dst_md;
  dnnl::reorder src_in, dst_out;
  dnnl::memory::desc scratch_md, src_in_scratch_md, dst_out_scratch_md;
  bool reorder_src = false, reorder_dst = false;
  bool residual = false, activation = false;  // fused as post-ops
  bool winograd = false;
  std::string impl_info;
  // Set where run() first gathers the pixels a strided 1x1 convolution reads
  // (gathers_strided_input); the primitive is then the unit-stride convolution of them.
  struct Gather {
    int64_t batch = 0, channels = 0;
    std::vector<int64_t> in_size, out_size, stride;
  };
  std::optional<Gather> gather;
};

namespace {

// 1x1 convolutions with between one and two blocks of 16 output channels: oneDNN 2.6 lists its
// brgemm kernel (brgconv_1x1) first, and its jit_1x1 runs them faster. Channels-last, one thread,
// buffers out of cache (AMD EPYC Zen 5), brgconv_1x1 against jit_1x1: 96 -> 24 at 56x56 and batch 8
// 1.21 against 0.83 ms, 144 -> 24 2.26 against 1.33 (two threads 1.19 against 0.67), 96 -> 20
// 1.17 against 0.87, 96 -> 28 1.25 against 0.81; level at batch 1 and at 28x28. Outside that range
// brgconv_1x1 wins or ties: 96 -> 12 0.78 against 3.58 ms, 32 -> 16 at 112x112 1.29 against 1.77,
// 240 -> 40 0.82 against 0.99, 96 -> 56 0.39 against 0.40.
bool prefers_jit_1x1(const ref::ConvParams& p) {
  return p.kernel == std::vector<int64_t>(p.kernel.size(), 1) && p.group == 1 && p.out_channels > 16 &&
         p.out_channels < 32;
}

// Few input channels (an image's or a waveform's; one group) under long filters at a small stride:
// oneDNN lists its brgemm kernel first, and its im2col + GEMM runs them 3-11x faster, as every
// input value is reused by many output positions. (Grouped and depthwise convolutions, whose
// GEMMs would be one small product a group, keep oneDNN's choice.) One thread, batch 1 (EPYC Zen 5), brgconv
// against gemm: 1 -> 128, 1-D, filter 80, stride 4, over 16000 samples 2.3-2.9 against 0.66-0.87
// ms (two threads 6.8 against 0.60), 1 -> 40, filter 251, stride 1 12.5 against 4.2. Where each
// input value meets fewer positions (taps / stride product below kGemmMinReuse) brgconv wins: 1 ->
// 64, filter 64, stride 8 0.14 against 0.32 ms; 3 -> 64, 11x11, stride 4 at 224x224 0.67 against 1.38.
// (oneDNN's GEMM writes only a plain y. An FP32 block that writes a channels-last one runs 1-D
// layers on StemConvF32, faster still, where the CPU has AVX-512: kernels/fast/stem_f32.h.)
inline constexpr int64_t kGemmMinReuse = 16;
bool prefers_gemm(const ref::ConvParams& p) {
  int64_t taps = 1, stride = 1;
  for (size_t i = 0; i < p.kernel.size(); ++i) {
    taps *= p.kernel[i];
    stride *= p.stride[i];
  }
  return p.group == 1 && p.in_channels <= 4 && taps >= kGemmMinReuse * stride;
}

// pd moved to the first implementation whose name contains `name` (or left at oneDNN's first).
template <typename Pd, typename Desc>
void prefer_impl(Pd& pd, const Desc& d, const dnnl::primitive_attr& attr, const char* name) {
  bool found = false;
  do found = std::string(pd.impl_info_str()).find(name) != std::string::npos;
  while (!found && pd.next_impl());
  if (!found) pd = Pd(d, attr, cpu_engine());  // back to the first
}

std::unique_ptr<ConvOneDnn::Impl> build(const ref::ConvParams& p, const float* const_w, const float* const_b,
                                        bool has_bias, bool transposed, const ConvFastOptions& options,
                                        bool with_post_ops, bool any_layout = false, bool winograd = false) {
  auto impl = std::make_unique<ConvOneDnn::Impl>();
  auto& eng = cpu_engine();
  const size_t rank = p.in_size.size() + 2;
  impl->src_md = dnnl::memory::desc(act_dims(p.batch, p.in_channels, p.in_size), dt::f32,
                                    options.src_channels_last ? channels_last_tag(rank) : plain_tag(rank));
  impl->dst_md = dnnl::memory::desc(act_dims(p.batch, p.out_channels, p.out_size), dt::f32,
                                    options.dst_channels_last ? channels_last_tag(rank) : plain_tag(rank));
  const dnnl::memory::desc user_wei_md = onnx_weights_md(p, transposed);
  // Constant weights let oneDNN choose its blocked layout (reordered once below); weights
  // that change per run stay in the ONNX layout so that run() needs no reorder buffer.
  const dnnl::memory::desc wei_any(user_wei_md.dims(), dt::f32, tag::any);
  const dnnl::memory::desc& wei_req = const_w ? wei_any : user_wei_md;
  impl->has_bias = has_bias;
  impl->bias_md = has_bias ? dnnl::memory::desc({p.out_channels}, dt::f32, tag::a) : dnnl::memory::desc();

  dims strides(p.stride.begin(), p.stride.end());
  dims dilates, pad_l(p.pad_begin.begin(), p.pad_begin.end()), pad_r;
  for (int64_t d : p.dilation) dilates.push_back(d - 1);  // oneDNN counts the gaps
  for (size_t i = 0; i < p.pad_end.size(); ++i) {
    int64_t r = p.pad_end[i];
    // ConvTranspose's pad_end already has output_padding taken off and may be negative;
    // oneDNN checks the sizes with floor division, so any pad in [r, r + stride) describes
    // the same output size.
    if (transposed && r < 0) r = 0;  // try_build checked r + stride - 1 >= 0
    pad_r.push_back(r);
  }

  // With constant weights oneDNN also picks the activation layouts (its blocked direct
  // convolutions beat the im2col+GEMM it uses on plain NCHW by about 1.6x on a ResNet 3x3,
  // reorders included). Run-time weights keep everything plain: no per-run weight reorder.
  // A channels-last side is taken as it is (oneDNN's direct convolutions read and write it).
  // any_layout: let oneDNN choose there too (and reorder), when nothing but its reference
  // implementation takes the channels-last layout as it is. Winograd takes only its blocked layout.
  if (winograd) any_layout = true;
  const dnnl::memory::desc src_req = const_w && (any_layout || !options.src_channels_last)
                                         ? dnnl::memory::desc(impl->src_md.dims(), dt::f32, tag::any)
                                         : impl->src_md;
  const dnnl::memory::desc dst_req = const_w && (any_layout || !options.dst_channels_last)
                                         ? dnnl::memory::desc(impl->dst_md.dims(), dt::f32, tag::any)
                                         : impl->dst_md;
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  // Post-ops need the primitive to write y itself: a channels-last y is never reordered.
  dnnl::primitive_attr conv_attr;  // not a copy of attr: copies share one attribute object
  conv_attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (with_post_ops && winograd) {
    // Winograd's only activation post-op: oneDNN's relu with alpha 0 is max(x, 0), +0 for
    // negative x, the reference's value (no NaN reaches it: ConvFastOptions::nan_free).
    dnnl::post_ops po;
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    conv_attr.set_post_ops(po);
    impl->activation = true;
  } else if (with_post_ops) {
    conv_attr.set_post_ops(epilogue_post_ops(options));
    impl->residual = options.residual;
    impl->activation = activation_fusable(options);
  }
  impl->winograd = winograd;
  auto finish = [&](const auto& pd) {
    impl->scratch_md = pd.scratchpad_desc();
    impl->wei_md = pd.weights_desc();
    impl->inner_src_md = pd.src_desc();
    impl->inner_dst_md = pd.dst_desc();
    impl->impl_info = pd.impl_info_str();
    // oneDNN's reference convolution is far slower than any other way: with post-ops it can
    // be the only implementation that takes them (seen for 1x1 convolutions with a residual),
    // so the caller then builds the convolution without them.
    if (with_post_ops && impl->impl_info.rfind("ref", 0) == 0)
      throw dnnl::error(dnnl_unimplemented, "only the reference implementation takes the post-ops");
    // oneDNN's im2col + GEMM applies post-ops element by element: 1 -> 128 under a filter of 80 took
    // 3-4.7 ms with Relu inside against 0.65 without. The caller's pass applies the epilogue instead.
    if (with_post_ops && impl->impl_info.find("gemm") != std::string::npos)
      throw dnnl::error(dnnl_unimplemented, "im2col + GEMM runs post-ops slowly");
  };
  if (!transposed) {
    const dnnl::algorithm alg =
        winograd ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct;
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, alg, src_req, wei_req, impl->bias_md,
                                      dst_req, strides, dilates, pad_l, pad_r);
    dnnl::convolution_forward::primitive_desc pd(d, conv_attr, eng);
    if (!winograd && prefers_jit_1x1(p)) prefer_impl(pd, d, conv_attr, "jit_1x1");
    else if (!winograd && prefers_gemm(p)) prefer_impl(pd, d, conv_attr, "gemm");
    finish(pd);
    impl->prim = dnnl::convolution_forward(pd);
  } else {
    dnnl::deconvolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                                        src_req, wei_req, impl->bias_md, dst_req, strides, dilates, pad_l, pad_r);
    dnnl::deconvolution_forward::primitive_desc pd(d, attr, eng);
    finish(pd);
    impl->prim = dnnl::deconvolution_forward(pd);
  }
  const dnnl::memory::desc chosen_wei = impl->wei_md;
  impl->reorder_src = impl->inner_src_md != impl->src_md;
  impl->reorder_dst = impl->inner_dst_md != impl->dst_md;
  if (impl->reorder_src) {
    dnnl::reorder::primitive_desc pd(eng, impl->src_md, eng, impl->inner_src_md, attr);
    impl->src_in_scratch_md = pd.scratchpad_desc();
    impl->src_in = dnnl::reorder(pd);
  }
  if (impl->reorder_dst) {
    dnnl::reorder::primitive_desc pd(eng, impl->inner_dst_md, eng, impl->dst_md, attr);
    impl->dst_out_scratch_md = pd.scratchpad_desc();
    impl->dst_out = dnnl::reorder(pd);
  }

  if (const_w) impl->wei_const = shared_reordered_constant(const_w, user_wei_md, chosen_wei);
  if (has_bias && const_b) {
    impl->bias_const = dnnl::memory(impl->bias_md, eng);
    std::memcpy(impl->bias_const.get_data_handle(), const_b, static_cast<size_t>(p.out_channels) * sizeof(float));
  }
  return impl;
}

std::unique_ptr<ConvOneDnn::Impl> try_build(const ref::ConvParams& p, const float* const_w, const float* const_b,
                                            bool has_bias, bool transposed, std::string* why_not,
                                            const ConvFastOptions& options = {}) {
  if (p.batch == 0) {
    if (why_not) *why_not = "empty batch";
    return nullptr;
  }
  if (transposed)
    for (size_t i = 0; i < p.pad_begin.size(); ++i)
      if (p.pad_begin[i] < 0 || p.pad_end[i] + p.stride[i] - 1 < 0) {
        if (why_not) *why_not = "negative padding";
        return nullptr;
      }
  if (!transposed && const_w && options.nan_free && options.winograd && winograd_candidate(p)) {
    // Relu inside the primitive when it is the whole epilogue, else the caller applies it.
    const bool relu_only = !options.residual && options.epilogue.act == ref::Epilogue::Act::kRelu;
    for (bool post_ops : {relu_only, false}) {
      try {
        return build(p, const_w, const_b, has_bias, transposed, options, post_ops, true, true);
      } catch (const dnnl::error&) {
        // oneDNN has no Winograd kernel for it here: the direct convolution below.
      }
      if (!relu_only) break;
    }
  }
  // The residual only into a channels-last y the primitive writes itself (the sum post-op adds what
  // y holds); the activation alone into any y (an element-wise post-op gives the same values
  // whether oneDNN then reorders y or not): a plain y without a residual (3-D activations,
  // which stay plain) is then not passed over again.
  // (Not into oneDNN's im2col + GEMM: build() declines that.)
  const bool want_post_ops =
      !transposed && (options.dst_channels_last ? options.residual || activation_fusable(options)
                                                : !options.residual && activation_fusable(options));
  if (want_post_ops) {
    try {
      return build(p, const_w, const_b, has_bias, transposed, options, true);
    } catch (const dnnl::error&) {
      // Without post-ops the caller applies the epilogue.
    }
  }
  try {
    auto impl = build(p, const_w, const_b, has_bias, transposed, options, false);
    if (impl->impl_info.rfind("ref", 0) == 0 && const_w && (options.src_channels_last || options.dst_channels_last)) {
      try {
        auto reordered = build(p, const_w, const_b, has_bias, transposed, options, false, true);
        if (reordered->impl_info.rfind("ref", 0) != 0) return reordered;
      } catch (const dnnl::error&) {
        // Keep the reference implementation.
      }
    }
    return impl;
  } catch (const dnnl::error& e) {
    if (why_not) *why_not = e.what();
    return nullptr;
  }
}

// A 1x1 convolution with a stride above 1 and no padding on a channels-last x reads whole pixels
// of C floats: run() may gather them (a copy of C / OC of the output's size) and oneDNN run the
// unit-stride convolution of them. oneDNN's brgemm 1x1 kernel takes a strided convolution one
// output row at a time, so its weights stream once per row; at unit stride it blocks over many
// rows' pixels. Where the weights fill much of L2 (kMinGatherWeights) and the output has enough
// rows to share them (kMinGatherPixels), gathering wins, most where other work competes for the
// caches. bench/conv_bench's BM_Strided1x1 (EPYC Zen 5, two threads, batch 1, copy included,
// gathered against strided): 512 -> 1024 from 28x28 0.52-0.58 against 0.54-0.94 ms, 512 -> 256
// 0.14-0.17 against 0.14-0.25; batch 8 4.5-4.7 against 4.8-7.6 ms (in busy stretches the strided
// kernel takes the higher times, on a quiet machine the lower). Elsewhere the copy costs about
// what it saves or more: 256 -> 512 from 56x56 0.97-1.02x, 14x14 to 7x7 0.86-1.04x.
inline constexpr int64_t kMinGatherWeights = int64_t{1} << 17;  // input x output channels: 512 KB
inline constexpr int64_t kMinGatherPixels = 196;                // output pixels of one item
bool gathers_strided_input(const ref::ConvParams& p, const ConvFastOptions& o) {
  if (!o.src_channels_last || !o.gather_strided || p.in_channels / p.group * p.out_channels < kMinGatherWeights)
    return false;
  int64_t pixels = 1;
  for (int64_t s : p.out_size) pixels *= s;
  if (pixels < kMinGatherPixels) return false;
  bool strided = false;
  for (size_t i = 0; i < p.kernel.size(); ++i) {
    if (p.kernel[i] != 1 || p.pad_begin[i] != 0 || p.pad_end[i] != 0 ||
        p.out_size[i] != (p.in_size[i] - 1) / p.stride[i] + 1)
      return false;
    strided = strided || p.stride[i] > 1;
  }
  return strided;
}

// x's pixels at the stride (channels-last, g.in_size) into out (channels-last, g.out_size).
void gather_strided(const ConvOneDnn::Impl::Gather& g, const float* x, float* out) {
  const size_t d = g.in_size.size();
  const int64_t c = g.channels, out_w = g.out_size[d - 1];
  int64_t lines = g.batch;  // one line: the output pixels of one row of the last spatial axis
  for (size_t i = 0; i + 1 < d; ++i) lines *= g.out_size[i];
  const int64_t line_floats = out_w * c;
  parallel_chunks(lines, std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(line_floats, 1)),
                  [&](int64_t lo, int64_t hi) {
                    for (int64_t line = lo; line < hi; ++line) {
                      // The input pixel of this line's first output pixel, axis by axis from the last.
                      int64_t rest = line, in_offset = 0, in_stride = g.in_size[d - 1];
                      for (size_t i = d - 1; i-- > 0;) {
                        in_offset += rest % g.out_size[i] * g.stride[i] * in_stride;
                        rest /= g.out_size[i];
                        in_stride *= g.in_size[i];
                      }
                      in_offset += rest * in_stride;  // the batch item
                      const float* src = x + in_offset * c;
                      float* dst = out + line * line_floats;
                      const int64_t step = g.stride[d - 1] * c;
                      for (int64_t w = 0; w < out_w; ++w)
                        std::memcpy(dst + w * c, src + w * step, static_cast<size_t>(c) * sizeof(float));
                    }
                  });
}

}  // namespace

bool channels_last_preferred() {
  using isa = dnnl::cpu_isa;
  const isa have = dnnl::get_effective_cpu_isa();
  return have == isa::avx512_core || have == isa::avx512_core_vnni || have == isa::avx512_core_bf16 ||
         have == isa::avx512_core_amx;
}

ConvOneDnn::ConvOneDnn(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ConvOneDnn::~ConvOneDnn() = default;

std::unique_ptr<ConvOneDnn> ConvOneDnn::Conv(const ref::ConvParams& conv, const float* const_w, const float* const_b,
                                             bool has_bias, std::string* why_not, const ConvFastOptions& options) {
  const ref::ConvParams p = conv_as_2d(conv);
  if (gathers_strided_input(p, options)) {
    ref::ConvParams unit = p;
    unit.in_size = p.out_size;
    unit.stride.assign(p.stride.size(), 1);
    if (auto impl = try_build(unit, const_w, const_b, has_bias, false, why_not, options)) {
      impl->gather = Impl::Gather{p.batch, p.in_channels, p.in_size, p.out_size, p.stride};
      return std::unique_ptr<ConvOneDnn>(new ConvOneDnn(std::move(impl)));
    }
  }
  auto impl = try_build(p, const_w, const_b, has_bias, false, why_not, options);
  return impl ? std::unique_ptr<ConvOneDnn>(new ConvOneDnn(std::move(impl))) : nullptr;
}

std::unique_ptr<ConvOneDnn> ConvOneDnn::ConvTranspose(const ref::ConvParams& p, const float* const_w,
                                                      const float* const_b, bool has_bias, std::string* why_not) {
  auto impl = try_build(p, const_w, const_b, has_bias, true, why_not);
  return impl ? std::unique_ptr<ConvOneDnn>(new ConvOneDnn(std::move(impl))) : nullptr;
}

const std::string& ConvOneDnn::impl_info() const { return impl_->impl_info; }

bool ConvOneDnn::residual_fused() const { return impl_->residual; }
bool ConvOneDnn::activation_fused() const { return impl_->activation; }
bool ConvOneDnn::winograd() const { return impl_->winograd; }
bool ConvOneDnn::gathers_input() const { return impl_->gather.has_value(); }

bool winograd_candidate(const ref::ConvParams& p) {
  return p.kernel.size() == 2 && p.group == 1 && p.kernel[0] == 3 && p.kernel[1] == 3 && p.stride[0] == 1 &&
         p.stride[1] == 1 && p.dilation[0] == 1 && p.dilation[1] == 1 &&
         p.batch * p.out_size[0] * p.out_size[1] >= kMinWinogradPixels && p.in_channels >= kMinWinogradChannels &&
         p.out_channels >= kMinWinogradChannels && p.in_channels * p.out_channels >= kMinWinogradChannelProduct;
}

void ConvOneDnn::run(const float* x, const float* w, const float* b, float* y, const float* residual) const {
  auto& eng = cpu_engine();
  if (impl_->gather) {
    float* gathered = static_cast<float*>(thread_buffer(ThreadBuffer::kGatheredInput, impl_->src_md.get_size()));
    gather_strided(*impl_->gather, x, gathered);
    x = gathered;
  }
  // The convolution's memory objects are kept per thread (execute_reusing_args), so the shared
  // primitive holds no per-call state; the reorders' are built per call.
  dnnl::memory src(impl_->src_md, eng, const_cast<float*>(x));
  dnnl::memory dst(impl_->dst_md, eng, y);
  dnnl::memory inner_src = src, inner_dst = dst;
  if (impl_->reorder_src) {
    inner_src = dnnl::memory(impl_->inner_src_md, eng, thread_buffer(ThreadBuffer::kBlockedInput, impl_->inner_src_md.get_size()));
    impl_->src_in.execute(cpu_stream(), {{DNNL_ARG_FROM, src},
                                         {DNNL_ARG_TO, inner_src},
                                         {DNNL_ARG_SCRATCHPAD, scratchpad(impl_->src_in_scratch_md)}});
  }
  if (impl_->reorder_dst) inner_dst = dnnl::memory(impl_->inner_dst_md, eng, thread_buffer(ThreadBuffer::kBlockedOutput, impl_->inner_dst_md.get_size()));
  ExecArg args[5];
  size_t n = 0;
  args[n++] = {DNNL_ARG_SRC, impl_->reorder_src ? &impl_->inner_src_md : &impl_->src_md, inner_src.get_data_handle()};
  args[n++] = {DNNL_ARG_WEIGHTS, &impl_->wei_md, const_cast<float*>(w), impl_->wei_const.get()};
  args[n++] = {DNNL_ARG_DST, impl_->reorder_dst ? &impl_->inner_dst_md : &impl_->dst_md, inner_dst.get_data_handle()};
  if (impl_->has_bias)
    args[n++] = {DNNL_ARG_BIAS, &impl_->bias_md, const_cast<float*>(b), impl_->bias_const ? &impl_->bias_const : nullptr};
  if (impl_->residual && residual != y) {  // the sum post-op adds what y holds
    const int64_t n = static_cast<int64_t>(impl_->dst_md.get_size() / sizeof(float));
    parallel_chunks(n, int64_t{1} << 15, [&](int64_t lo, int64_t hi) {
      std::memcpy(y + lo, residual + lo, static_cast<size_t>(hi - lo) * sizeof(float));
    });
  }
  execute_reusing_args(impl_->exec_id, impl_->prim, std::span<const ExecArg>(args, n), impl_->scratch_md);
  if (impl_->reorder_dst)
    impl_->dst_out.execute(cpu_stream(), {{DNNL_ARG_FROM, inner_dst},
                                          {DNNL_ARG_TO, dst},
                                          {DNNL_ARG_SCRATCHPAD, scratchpad(impl_->dst_out_scratch_md)}});
  cpu_stream().wait();
}

}  // namespace qs::kernels::fast
