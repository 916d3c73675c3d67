// Gemm (ONNX opsets 7..21), MatMul (opsets 1..21) and Einsum (12..21).
#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/fast/gemm_onednn.h"
#include "kernels/reference/einsum.h"
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
          "onednn", true);
  }
  return make_kernel([p](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    kernels::ref::gemm_f32(p, in[0]->data<float>(), in[1]->data<float>(),
                           in.size() > 2 && in[2] ? in[2]->data<float>() : nullptr, out[0]->data<float>());
  }, "reference", true);
}

template <typename T, void (*Fn)(const MatMulParams&, const T*, const T*, T*)>
std::unique_ptr<Kernel> matmul_ref_kernel(const MatMulParams& p) {
  return make_kernel([p](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    Fn(p, in[0]->data<T>(), in[1]->data<T>(), out[0]->data<T>());
  }, "reference", true);
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
          "onednn", true);
  }
  return matmul_ref_kernel<float, kernels::ref::matmul_f32>(p);
}

// ---- Einsum ----

constexpr int kEllipsis = -1;  // a term's "..." before it is expanded

// One side of an equation: its labels as letters, with kEllipsis for "...".
Expected<std::vector<int>> parse_term(const PrepareContext& ctx, const std::string& term) {
  std::vector<int> out;
  for (size_t i = 0; i < term.size(); ++i) {
    const char c = term[i];
    if (c == '.') {
      if (term.compare(i, 3, "...") != 0 || std::count(out.begin(), out.end(), kEllipsis))
        return ctx.error("equation term '{}': '.' must come as one '...'", term);
      out.push_back(kEllipsis);
      i += 2;
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      out.push_back(c);
    } else {
      return ctx.error("equation term '{}': '{}' is not a letter", term, c);
    }
  }
  return out;
}

Expected<std::unique_ptr<Kernel>> prepare_einsum(PrepareContext& ctx) {
  if (ctx.inputs.empty()) return ctx.error("Einsum needs at least one input");
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32, DType::kFloat64, DType::kInt32, DType::kInt64}));
  const DType t = ctx.in(0).dtype;
  for (size_t i = 1; i < ctx.inputs.size(); ++i) QS_RETURN_IF_ERROR(ctx.expect_dtype(i, {t}));
  QS_ASSIGN_OR_RETURN(std::string eq, ctx.node.attr_string("equation"));
  eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::vector<int>> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    QS_ASSIGN_OR_RETURN(auto term, parse_term(ctx, lhs.substr(start, comma == std::string::npos ? comma : comma - start)));
    terms.push_back(std::move(term));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != ctx.inputs.size())
    return ctx.error("equation '{}' has {} input terms for {} inputs", eq, terms.size(), ctx.inputs.size());

  // Letter sizes; the ellipsis covers the same trailing batch axes in every input, broadcast.
  std::map<int, int64_t> letter_size;
  int64_t ell_rank = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    const Shape& s = ctx.in(i).shape;
    const int64_t explicit_labels = static_cast<int64_t>(terms[i].size()) -
                                    (std::count(terms[i].begin(), terms[i].end(), kEllipsis) ? 1 : 0);
    const bool has_ell = explicit_labels != static_cast<int64_t>(terms[i].size());
    const int64_t rank = static_cast<int64_t>(s.size());
    if (has_ell ? rank < explicit_labels : rank != explicit_labels)
      return ctx.error("equation term {} has {} labels for input {} of shape {}", i, explicit_labels, i, shape_str(s));
    if (has_ell) ell_rank = std::max(ell_rank, rank - explicit_labels);
  }
  std::vector<int64_t> ell_size(static_cast<size_t>(ell_rank), 1);
  // Each input's axes as label ids: letters as themselves, ellipsis axes as 1000 + position.
  std::vector<std::vector<int>> axes(terms.size());
  for (size_t i = 0; i < terms.size(); ++i) {
    const Shape& s = ctx.in(i).shape;
    const int64_t n_ell = static_cast<int64_t>(s.size()) - static_cast<int64_t>(terms[i].size()) + 1;
    for (int label : terms[i]) {
      if (label != kEllipsis) {
        axes[i].push_back(label);
        continue;
      }
      for (int64_t e = 0; e < n_ell; ++e) axes[i].push_back(1000 + static_cast<int>(ell_rank - n_ell + e));
    }
    for (size_t a = 0; a < axes[i].size(); ++a) {
      const int label = axes[i][a];
      const int64_t d = s[a];
      if (label >= 1000) {
        int64_t& e = ell_size[static_cast<size_t>(label - 1000)];
        if (d != e && d != 1 && e != 1)
          return ctx.error("equation '{}': the '...' axes of input {} {} do not broadcast", eq, i, shape_str(s));
        if (d != 1) e = d;
        continue;
      }
      auto [it, fresh] = letter_size.emplace(label, d);
      if (!fresh && it->second != d)
        return ctx.error("equation '{}': label '{}' has sizes {} and {}", eq, static_cast<char>(label), it->second, d);
    }
  }
  // The output's labels: given after "->", or "..." then the letters used once, in order.
  std::vector<int> out_labels;
  if (arrow != std::string::npos) {
    QS_ASSIGN_OR_RETURN(auto rhs, parse_term(ctx, eq.substr(arrow + 2)));
    for (int label : rhs) {
      if (label == kEllipsis) {
        for (int64_t e = 0; e < ell_rank; ++e) out_labels.push_back(1000 + static_cast<int>(e));
        continue;
      }
      if (!letter_size.count(label))
        return ctx.error("equation '{}': output label '{}' is in no input", eq, static_cast<char>(label));
      if (std::count(out_labels.begin(), out_labels.end(), label))
        return ctx.error("equation '{}': output label '{}' repeats", eq, static_cast<char>(label));
      out_labels.push_back(label);
    }
  } else {
    for (int64_t e = 0; e < ell_rank; ++e) out_labels.push_back(1000 + static_cast<int>(e));
    std::map<int, int> uses;
    for (const auto& term : terms)
      for (int label : term)
        if (label != kEllipsis) ++uses[label];
    for (const auto& [label, n] : uses)
      if (n == 1) out_labels.push_back(label);
  }
  // Number the labels: the output's first, then the summed ones.
  std::vector<int> order = out_labels;
  for (const auto& [label, size] : letter_size)
    if (!std::count(order.begin(), order.end(), label)) order.push_back(label);
  for (int64_t e = 0; e < ell_rank; ++e)
    if (!std::count(order.begin(), order.end(), 1000 + static_cast<int>(e))) order.push_back(1000 + static_cast<int>(e));
  auto size_of = [&](int label) { return label >= 1000 ? ell_size[static_cast<size_t>(label - 1000)] : letter_size[label]; };
  kernels::ref::EinsumParams p;
  p.output_labels = static_cast<int64_t>(out_labels.size());
  // The reference kernel visits every combination of label values: refuse what would not finish.
  constexpr double kMaxCombinations = 1e10;
  double combinations = 1;
  for (int label : order) {
    p.label_size.push_back(size_of(label));
    combinations *= static_cast<double>(p.label_size.back());
  }
  if (combinations > kMaxCombinations)
    return ctx.unsupported("equation '{}' on these shapes takes {:.3g} products; the reference Einsum stops at {:.0e}",
                           eq, combinations, kMaxCombinations);
  for (size_t i = 0; i < terms.size(); ++i) {
    const Shape& s = ctx.in(i).shape;
    std::vector<int64_t> stride(order.size(), 0);
    int64_t step = 1;
    for (size_t a = s.size(); a-- > 0;) {
      const size_t l = static_cast<size_t>(std::find(order.begin(), order.end(), axes[i][a]) - order.begin());
      if (!(s[a] == 1 && p.label_size[l] != 1)) stride[l] += step;  // a broadcast axis stays at 0
      step *= s[a];
    }
    p.input_stride.push_back(std::move(stride));
  }
  Shape out_shape;
  for (int label : out_labels) out_shape.push_back(size_of(label));
  ctx.set_output(0, t, out_shape);
  return make_kernel([p, t](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    auto run = [&](auto tag) {
      using T = decltype(tag);
      std::vector<const T*> xs;
      for (const Tensor* x : in) xs.push_back(x->data<T>());
      kernels::ref::einsum<T>(p, xs, out[0]->data<T>());
    };
    switch (t) {
      case DType::kFloat64: return run(double{});
      case DType::kInt32: return run(int32_t{});
      case DType::kInt64: return run(int64_t{});
      default: return run(float{});
    }
  }, "reference", true);
}

const OpSchema kOps[] = {
    {"Einsum", prepare_einsum},
    {"Gemm", prepare_gemm},
    {"MatMul", prepare_matmul},
};

}  // namespace

std::span<const OpSchema> gemm_ops() { return kOps; }

}  // namespace qs::ops
