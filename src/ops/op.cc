#include "ops/op.h"

#include <algorithm>

namespace qs::ops {

const TensorInfo& PrepareContext::in(size_t i) const {
  static const TensorInfo kAbsent;
  return i < inputs.size() ? inputs[i] : kAbsent;
}

Status PrepareContext::expect_inputs(size_t min, size_t max) const {
  size_t n = inputs.size();
  while (n > 0 && !inputs[n - 1].present()) --n;
  if (n < min || n > max) {
    if (min == max) return error("has {} inputs, expected {}", n, min);
    return error("has {} inputs, expected {} to {}", n, min, max);
  }
  for (size_t i = 0; i < min; ++i)
    if (!inputs[i].present()) return error("required input {} is missing", i);
  return Status::Ok();
}

Status PrepareContext::expect_dtype(size_t i, std::initializer_list<DType> allowed) const {
  if (!has_input(i)) return error("required input {} is missing", i);
  const DType t = inputs[i].dtype;
  if (std::find(allowed.begin(), allowed.end(), t) != allowed.end()) return Status::Ok();
  return unsupported("input {} ('{}') has element type {}, which this op does not support", i, node.input(i),
                     dtype_name(t));
}

Expected<const Tensor*> PrepareContext::constant_input(size_t i, std::string_view what) const {
  if (!has_input(i)) return error("required input {} ({}) is missing", i, what);
  if (!inputs[i].value)
    return unsupported("input {} ({}, '{}') must be a constant known before running; a computed {} is not supported", i,
                       what, node.input(i), what);
  return inputs[i].value;
}

Expected<std::vector<int64_t>> PrepareContext::constant_ints(size_t i, std::string_view what) const {
  QS_ASSIGN_OR_RETURN(const Tensor* t, constant_input(i, what));
  if (t->dtype() != DType::kInt64 && t->dtype() != DType::kInt32)
    return error("input {} ({}) has element type {}, expected int64", i, what, dtype_name(t->dtype()));
  std::vector<int64_t> v(static_cast<size_t>(t->numel()));
  for (int64_t k = 0; k < t->numel(); ++k) v[static_cast<size_t>(k)] = t->GetAsInt64(k);
  return v;
}

Expected<Shape> broadcast_shapes(const PrepareContext& ctx, const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      return ctx.error("shapes {} and {} cannot be broadcast together", shape_str(a), shape_str(b));
    }
  }
  return out;
}

}  // namespace qs::ops
