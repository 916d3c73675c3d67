#include "kernels/fast/gemm_int8_onednn.h"

#include "kernels/fast/onednn_common.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "kernels/fast/conv_int8_onednn.h"
#include "kernels/reference/int8.h"

namespace qs::kernels::fast {
namespace {

using dims = dnnl::memory::dims;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// A row-major [rows, cols] matrix, or its transpose stored row-major as [cols, rows].
dnnl::memory::desc matrix_md(int64_t rows, int64_t cols, dt type, bool transposed) {
  return dnnl::memory::desc({rows, cols}, type, transposed ? dims{1, rows} : dims{cols, 1});
}

// One s8 x s8 -> s32 matmul primitive whose weights are chosen by oneDNN ("any": a blocked
// layout that also carries the compensation for the s8 source) and filled once per distinct
// constant B (several when MatMul loops over broadcast batches).
struct MatmulCore {
  dnnl::primitive prim;
  dnnl::memory::desc src_md, user_wei_md, wei_md, dst_md, scratch_md;
  std::string impl_info;

  void init(const dnnl::memory::desc& src, const dnnl::memory::desc& user_wei, const dnnl::memory::desc& dst) {
    src_md = src;
    dst_md = dst;
    user_wei_md = user_wei;
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::matmul::desc d(src, dnnl::memory::desc(user_wei.dims(), dt::s8, tag::any), dst);
    dnnl::matmul::primitive_desc pd(d, attr, cpu_engine());
    wei_md = pd.weights_desc();
    scratch_md = pd.scratchpad_desc();
    impl_info = pd.impl_info_str();
    prim = dnnl::matmul(pd);
  }

  // A copy of the constant B at b in oneDNN's layout.
  dnnl::memory reorder_weights(const int8_t* b) const {
    auto& eng = cpu_engine();
    dnnl::memory user(user_wei_md, eng, const_cast<int8_t*>(b));
    dnnl::memory out(wei_md, eng);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::reorder::primitive_desc rpd(eng, user_wei_md, eng, wei_md, attr);
    dnnl::reorder(rpd).execute(cpu_stream(), {{DNNL_ARG_FROM, user},
                                              {DNNL_ARG_TO, out},
                                              {DNNL_ARG_SCRATCHPAD, scratchpad(rpd.scratchpad_desc())}});
    cpu_stream().wait();
    return out;
  }

  void run(const int8_t* a, const dnnl::memory& wei, int32_t* y) const {
    auto& eng = cpu_engine();
    dnnl::memory src(src_md, eng, const_cast<int8_t*>(a));
    dnnl::memory dst(dst_md, eng, y);
    prim.execute(cpu_stream(), {{DNNL_ARG_SRC, src},
                                {DNNL_ARG_WEIGHTS, wei},
                                {DNNL_ARG_DST, dst},
                                {DNNL_ARG_SCRATCHPAD, scratchpad(scratch_md)}});
  }
};

// The checks both kernels share; false with *why_not set when oneDNN must not be used.
bool usable(int64_t batch, int64_t M, int64_t N, int64_t K, std::string* why_not) {
  if (!onednn_int8_exact(why_not)) return false;
  if (batch == 0 || M == 0 || N == 0 || K == 0) {
    if (why_not) *why_not = "empty operand";
    return false;
  }
  if (!ref::int8_reduction_fits(K)) {
    if (why_not) *why_not = "K = " + std::to_string(K) + " could overflow the int32 accumulator";
    return false;
  }
  return true;
}

}  // namespace

// ---- Gemm ----

struct GemmS8OneDnn::Impl {
  MatmulCore core;
  dnnl::memory wei;
};

GemmS8OneDnn::GemmS8OneDnn(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GemmS8OneDnn::~GemmS8OneDnn() = default;

std::unique_ptr<GemmS8OneDnn> GemmS8OneDnn::Create(const ref::GemmParams& p, const int8_t* b, std::string* why_not) {
  if (!usable(1, p.M, p.N, p.K, why_not)) return nullptr;
  auto impl = std::make_unique<Impl>();
  try {
    impl->core.init(matrix_md(p.M, p.K, dt::s8, p.trans_a), matrix_md(p.K, p.N, dt::s8, p.trans_b),
                    dnnl::memory::desc({p.M, p.N}, dt::s32, tag::ab));
    impl->wei = impl->core.reorder_weights(b);
  } catch (const dnnl::error& e) {
    if (why_not) *why_not = e.what();
    return nullptr;
  }
  return std::unique_ptr<GemmS8OneDnn>(new GemmS8OneDnn(std::move(impl)));
}

void GemmS8OneDnn::run(const int8_t* a, int32_t* acc) const {
  impl_->core.run(a, impl_->wei, acc);
  cpu_stream().wait();
}

const std::string& GemmS8OneDnn::impl_info() const { return impl_->core.impl_info; }

// ---- MatMul ----

struct MatMulS8OneDnn::Impl {
  ref::MatMulParams p;
  MatmulCore core;
  // How the batch maps onto oneDNN: one tall product when B is shared by every batch and A is
  // contiguous, one batched primitive when neither operand broadcasts, else a loop of 2-D
  // products over the broadcast offsets (B reordered once per distinct offset).
  MatMulLayout mode = MatMulLayout::kLoop;
  dnnl::memory wei;                          // kFlatten, kBatched
  std::map<int64_t, dnnl::memory> wei_at;    // kLoop: by b_offset
};

MatMulS8OneDnn::MatMulS8OneDnn(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MatMulS8OneDnn::~MatMulS8OneDnn() = default;

std::unique_ptr<MatMulS8OneDnn> MatMulS8OneDnn::Create(const ref::MatMulParams& p, const int8_t* b,
                                                       std::string* why_not) {
  if (!usable(p.batch, p.M, p.N, p.K, why_not)) return nullptr;
  auto impl = std::make_unique<Impl>();
  impl->p = p;
  using Mode = MatMulLayout;
  impl->mode = matmul_layout(p);
  try {
    switch (impl->mode) {
      case Mode::kFlatten:
        impl->core.init(matrix_md(p.batch * p.M, p.K, dt::s8, false), matrix_md(p.K, p.N, dt::s8, false),
                        matrix_md(p.batch * p.M, p.N, dt::s32, false));
        impl->wei = impl->core.reorder_weights(b + p.b_offset[0]);
        break;
      case Mode::kBatched:
        impl->core.init(dnnl::memory::desc({p.batch, p.M, p.K}, dt::s8, tag::abc),
                        dnnl::memory::desc({p.batch, p.K, p.N}, dt::s8, tag::abc),
                        dnnl::memory::desc({p.batch, p.M, p.N}, dt::s32, tag::abc));
        impl->wei = impl->core.reorder_weights(b);
        break;
      case Mode::kLoop:
        impl->core.init(matrix_md(p.M, p.K, dt::s8, false), matrix_md(p.K, p.N, dt::s8, false),
                        matrix_md(p.M, p.N, dt::s32, false));
        for (int64_t off : p.b_offset)
          if (!impl->wei_at.count(off)) impl->wei_at.emplace(off, impl->core.reorder_weights(b + off));
        break;
    }
  } catch (const dnnl::error& e) {
    if (why_not) *why_not = e.what();
    return nullptr;
  }
  return std::unique_ptr<MatMulS8OneDnn>(new MatMulS8OneDnn(std::move(impl)));
}

void MatMulS8OneDnn::run(const int8_t* a, int32_t* acc) const {
  const ref::MatMulParams& p = impl_->p;
  if (impl_->mode == MatMulLayout::kLoop) {
    for (int64_t i = 0; i < p.batch; ++i) {
      const size_t u = static_cast<size_t>(i);
      impl_->core.run(a + p.a_offset[u], impl_->wei_at.at(p.b_offset[u]), acc + i * p.M * p.N);
    }
  } else {
    impl_->core.run(a, impl_->wei, acc);
  }
  cpu_stream().wait();
}

const std::string& MatMulS8OneDnn::impl_info() const { return impl_->core.impl_info; }

}  // namespace qs::kernels::fast
