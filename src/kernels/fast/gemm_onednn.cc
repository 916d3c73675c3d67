#include "kernels/fast/gemm_onednn.h"

#include "kernels/fast/onednn_common.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

namespace qs::kernels::fast {
namespace {

using dims = dnnl::memory::dims;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// A row-major [rows, cols] matrix, or its transpose stored row-major as [cols, rows].
dnnl::memory::desc matrix_md(int64_t rows, int64_t cols, bool transposed) {
  return dnnl::memory::desc({rows, cols}, dt::f32, transposed ? dims{1, rows} : dims{cols, 1});
}

// One matmul primitive with optional constant weights reordered into the chosen layout.
struct MatmulCore {
  dnnl::primitive prim;
  dnnl::memory::desc src_md, wei_md, dst_md, scratch_md;
  dnnl::memory wei_const;
  uint64_t exec_id = new_exec_id();

  void init(const dnnl::memory::desc& src, const dnnl::memory::desc& user_wei, const dnnl::memory::desc& dst,
            const dnnl::primitive_attr& attr, const float* const_w) {
    auto& eng = cpu_engine();
    src_md = src;
    dst_md = dst;
    const dnnl::memory::desc wei_any(user_wei.dims(), dt::f32, tag::any);
    dnnl::primitive_attr user_scratch = attr;
    user_scratch.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::matmul::desc d(src, const_w ? wei_any : user_wei, dst);
    dnnl::matmul::primitive_desc pd(d, user_scratch, eng);
    wei_md = pd.weights_desc();
    scratch_md = pd.scratchpad_desc();
    prim = dnnl::matmul(pd);
    if (const_w) {
      dnnl::memory user(user_wei, eng, const_cast<float*>(const_w));
      wei_const = dnnl::memory(wei_md, eng);
      dnnl::primitive_attr reorder_attr;
      reorder_attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      dnnl::reorder::primitive_desc rpd(eng, user_wei, eng, wei_md, reorder_attr);
      dnnl::reorder(rpd).execute(cpu_stream(), {{DNNL_ARG_FROM, user},
                                                {DNNL_ARG_TO, wei_const},
                                                {DNNL_ARG_SCRATCHPAD, scratchpad(rpd.scratchpad_desc())}});
      cpu_stream().wait();
    }
  }

  void run(const float* a, const float* b, float* y) const {
    void* w = wei_const ? wei_const.get_data_handle() : const_cast<float*>(b);
    const ExecArg args[] = {{DNNL_ARG_SRC, &src_md, const_cast<float*>(a)},
                            {DNNL_ARG_WEIGHTS, &wei_md, w},
                            {DNNL_ARG_DST, &dst_md, y}};
    execute_reusing_args(exec_id, prim, args, scratch_md);
  }
};

}  // namespace

// ---- Gemm ----

struct GemmOneDnn::Impl {
  ref::GemmParams p;
  MatmulCore core;
  bool add_c = false;
};

GemmOneDnn::GemmOneDnn(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GemmOneDnn::~GemmOneDnn() = default;

std::unique_ptr<GemmOneDnn> GemmOneDnn::Create(const ref::GemmParams& p, const float* const_b, std::string* why_not) {
  if (p.M == 0 || p.N == 0 || p.K == 0) {
    if (why_not) *why_not = "empty operand";
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  impl->p = p;
  impl->add_c = p.c_rows > 0 && p.beta != 0.f;
  try {
    // alpha scales the product; beta*C is written into y first and added back by a sum
    // post-op, because oneDNN would scale a bias by alpha too.
    dnnl::primitive_attr attr;
    if (p.alpha != 1.f) attr.set_output_scales(0, {p.alpha});
    if (impl->add_c) {
      dnnl::post_ops ops;
      ops.append_sum(1.f);
      attr.set_post_ops(ops);
    }
    impl->core.init(matrix_md(p.M, p.K, p.trans_a), matrix_md(p.K, p.N, p.trans_b),
                    dnnl::memory::desc({p.M, p.N}, dt::f32, tag::ab), attr, const_b);
  } catch (const dnnl::error& e) {
    if (why_not) *why_not = e.what();
    return nullptr;
  }
  return std::unique_ptr<GemmOneDnn>(new GemmOneDnn(std::move(impl)));
}

void GemmOneDnn::run(const float* a, const float* b, const float* c, float* y) const {
  const ref::GemmParams& p = impl_->p;
  if (impl_->add_c) {
    for (int64_t m = 0; m < p.M; ++m) {
      const float* crow = c + (p.c_rows == 1 ? 0 : m) * p.c_cols;
      float* yrow = y + m * p.N;
      if (p.c_cols == 1)
        for (int64_t n = 0; n < p.N; ++n) yrow[n] = p.beta * crow[0];
      else
        for (int64_t n = 0; n < p.N; ++n) yrow[n] = p.beta * crow[n];
    }
  }
  impl_->core.run(a, b, y);
  cpu_stream().wait();
}

// ---- MatMul ----

struct MatMulOneDnn::Impl {
  ref::MatMulParams p;
  MatmulCore core;
  // How the batch maps onto oneDNN: one tall product when B is shared by every batch and A
  // is contiguous, one batched primitive when neither operand broadcasts, else a loop of
  // 2-D products over the broadcast offsets.
  MatMulLayout mode = MatMulLayout::kLoop;
};

MatMulOneDnn::MatMulOneDnn(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MatMulOneDnn::~MatMulOneDnn() = default;

std::unique_ptr<MatMulOneDnn> MatMulOneDnn::Create(const ref::MatMulParams& p, const float* const_b,
                                                   std::string* why_not) {
  if (p.batch == 0 || p.M == 0 || p.N == 0 || p.K == 0) {
    if (why_not) *why_not = "empty operand";
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  impl->p = p;
  using Mode = MatMulLayout;
  impl->mode = matmul_layout(p);
  try {
    const dnnl::primitive_attr attr;
    switch (impl->mode) {
      case Mode::kFlatten:
        impl->core.init(matrix_md(p.batch * p.M, p.K, false), matrix_md(p.K, p.N, false),
                        matrix_md(p.batch * p.M, p.N, false), attr, const_b ? const_b + p.b_offset[0] : nullptr);
        break;
      case Mode::kBatched:
        impl->core.init(dnnl::memory::desc({p.batch, p.M, p.K}, dt::f32, tag::abc),
                        dnnl::memory::desc({p.batch, p.K, p.N}, dt::f32, tag::abc),
                        dnnl::memory::desc({p.batch, p.M, p.N}, dt::f32, tag::abc), attr, const_b);
        break;
      case Mode::kLoop:
        // B's batches are read at run-time offsets, so it stays in its own layout.
        impl->core.init(matrix_md(p.M, p.K, false), matrix_md(p.K, p.N, false), matrix_md(p.M, p.N, false), attr,
                        nullptr);
        break;
    }
  } catch (const dnnl::error& e) {
    if (why_not) *why_not = e.what();
    return nullptr;
  }
  return std::unique_ptr<MatMulOneDnn>(new MatMulOneDnn(std::move(impl)));
}

void MatMulOneDnn::run(const float* a, const float* b, float* y) const {
  const ref::MatMulParams& p = impl_->p;
  switch (impl_->mode) {
    case MatMulLayout::kFlatten: impl_->core.run(a, b + p.b_offset[0], y); break;
    case MatMulLayout::kBatched: impl_->core.run(a, b, y); break;
    case MatMulLayout::kLoop:
      for (int64_t i = 0; i < p.batch; ++i) {
        const size_t u = static_cast<size_t>(i);
        impl_->core.run(a + p.a_offset[u], b + p.b_offset[u], y + i * p.M * p.N);
      }
      break;
  }
  cpu_stream().wait();
}

}  // namespace qs::kernels::fast
