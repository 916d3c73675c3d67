// Gemm (ONNX opsets 7..21) and MatMul (opsets 1..21).
#include <memory>
#include <string>

#include "kernels/fast/gemm_onednn.h"
#include "kernels/reference/gemm.h"
#include "ops/families.h"
#include "ops/gemm_params.h"

namespace qs::ops {
namespace {

const float* constant_f32(const PrepareContext& ctx, size_t i) {
  return ctx.has_input(i) && ctx.in(i).value ? ctx.in(i).value->data<float>() : nullptr;
}

Expected<bool> read_flag(const PrepareContext& ctx, const char* name) {
  QS_ASSIGN_OR_RETURN(const int64_t v, ctx.node.attr_int(name, 0));
  if (v != 0 && v != 1) return ctx.error("{} is {}, expected 0 or 1", name, v);
  return v == 1;
}

}  // namespace

Expected<GemmParams> gemm_params(const PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 3));
  for (size_t i = 0; i < 3; ++i)
    if (i < 2 || ctx.has_input(i)) QS_RETURN_IF_ERROR(ctx.expect_dtype(i, {DType::kFloat32}));
  const Shape& a = ctx.in(0).shape;
  const Shape& b = ctx.in(1).shape;
  if (a.size() != 2) return ctx.error("input A has shape {}, expected a matrix", shape_str(a));
  if (b.size() != 2) return ctx.error("input B has shape {}, expected a matrix", shape_str(b));
  GemmParams p;
  QS_ASSIGN_OR_RETURN(p.trans_a, read_flag(ctx, "transA"));
  QS_ASSIGN_OR_RETURN(p.trans_b, read_flag(ctx, "transB"));
  QS_ASSIGN_OR_RETURN(p.alpha, ctx.node.attr_float("alpha", 1.f));
  QS_ASSIGN_OR_RETURN(p.beta, ctx.node.attr_float("beta", 1.f));
  p.M = p.trans_a ? a[1] : a[0];
  p.K = p.trans_a ? a[0] : a[1];
  const int64_t kb = p.trans_b ? b[1] : b[0];
  p.N = p.trans_b ? b[0] : b[1];
  if (kb != p.K)
    return ctx.error("A {} (transA={}) and B {} (transB={}) have different inner dimensions {} and {}", shape_str(a),
                     int(p.trans_a), shape_str(b), int(p.trans_b), p.K, kb);
  if (ctx.has_input(2)) {
    // C broadcasts unidirectionally to [M, N]: right-aligned, each dim 1 or equal.
    const Shape& c = ctx.in(2).shape;
    if (c.size() > 2) return ctx.error("input C has shape {}, expected at most 2 dims", shape_str(c));
    p.c_rows = c.size() == 2 ? c[0] : 1;
    p.c_cols = c.empty() ? 1 : c.back();
    if ((p.c_rows != 1 && p.c_rows != p.M) || (p.c_cols != 1 && p.c_cols != p.N))
      return ctx.error("input C of shape {} cannot be broadcast to the output [{},{}]", shape_str(c), p.M, p.N);
    if (p.c_rows == 0 || p.c_cols == 0) p.c_rows = p.c_cols = 0;  // an empty C is an empty output's C
  }
  QS_RETURN_IF_ERROR(checked_numel({p.M, p.N}, sizeof(float)).status());
  return p;
}

namespace {

Expected<std::unique_ptr<Kernel>> prepare_gemm(PrepareContext& ctx) {
  QS_ASSIGN_OR_RETURN(GemmParams p, gemm_params(ctx));
  ctx.set_output(0, DType::kFloat32, {p.M, p.N});

  if (ctx.options.use_fast) {
    std::shared_ptr<kernels::fast::GemmOneDnn> fast = kernels::fast::GemmOneDnn::Create(p, constant_f32(ctx, 1), nullptr);
    if (fast)
      return make_kernel(
          [fast](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
            fast->run(in[0]->data<float>(), in[1]->data<float>(),
                      in.size() > 2 && in[2] ? in[2]->data<float>() : nullptr, out[0]->data<float>());
          },
          "onednn");
  }
  return make_kernel([p](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    kernels::ref::gemm_f32(p, in[0]->data<float>(), in[1]->data<float>(),
                           in.size() > 2 && in[2] ? in[2]->data<float>() : nullptr, out[0]->data<float>());
  });
}

template <typename T, void (*Fn)(const MatMulParams&, const T*, const T*, T*)>
std::unique_ptr<Kernel> matmul_ref_kernel(const MatMulParams& p) {
  return make_kernel([p](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    Fn(p, in[0]->data<T>(), in[1]->data<T>(), out[0]->data<T>());
  });
}

Expected<std::unique_ptr<Kernel>> prepare_matmul(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 2));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32, DType::kFloat64, DType::kInt32, DType::kInt64}));
  const DType t = ctx.in(0).dtype;
  if (ctx.in(1).dtype != t)
    return ctx.error("inputs have different element types {} and {}", dtype_name(t), dtype_name(ctx.in(1).dtype));
  const Shape& a = ctx.in(0).shape;
  const Shape& b = ctx.in(1).shape;
  if (a.empty() || b.empty())
    return ctx.error("inputs {} and {} must have at least one dimension", shape_str(a), shape_str(b));
  const int64_t ka = a.back(), kb = b.size() == 1 ? b[0] : b[b.size() - 2];
  if (ka != kb)
    return ctx.error("inner dimensions of {} and {} differ ({} vs {})", shape_str(a), shape_str(b), ka, kb);
  const Shape a_batch(a.begin(), a.end() - (a.size() == 1 ? 1 : 2));
  const Shape b_batch(b.begin(), b.end() - (b.size() == 1 ? 1 : 2));
  QS_RETURN_IF_ERROR(broadcast_shapes(ctx, a_batch, b_batch).status());
  Shape out_shape;
  // The output size is checked before matmul_params builds its per-batch offset tables.
  {
    QS_ASSIGN_OR_RETURN(Shape batch, broadcast_shapes(ctx, a_batch, b_batch));
    if (a.size() > 1) batch.push_back(a[a.size() - 2]);
    if (b.size() > 1) batch.push_back(b.back());
    QS_RETURN_IF_ERROR(checked_numel(batch, dtype_size(t)).status());
  }
  const MatMulParams p = kernels::ref::matmul_params(a, b, &out_shape);
  ctx.set_output(0, t, out_shape);

  switch (t) {
    case DType::kFloat64: return matmul_ref_kernel<double, kernels::ref::matmul_f64>(p);
    case DType::kInt32: return matmul_ref_kernel<int32_t, kernels::ref::matmul_i32>(p);
    case DType::kInt64: return matmul_ref_kernel<int64_t, kernels::ref::matmul_i64>(p);
    default: break;
  }
  if (ctx.options.use_fast) {
    std::shared_ptr<kernels::fast::MatMulOneDnn> fast =
        kernels::fast::MatMulOneDnn::Create(p, constant_f32(ctx, 1), nullptr);
    if (fast)
      return make_kernel(
          [fast](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
            fast->run(in[0]->data<float>(), in[1]->data<float>(), out[0]->data<float>());
          },
          "onednn");
  }
  return matmul_ref_kernel<float, kernels::ref::matmul_f32>(p);
}

const OpSchema kOps[] = {
    {"Gemm", prepare_gemm},
    {"MatMul", prepare_matmul},
};

}  // namespace

std::span<const OpSchema> gemm_ops() { return kOps; }

}  // namespace qs::ops
