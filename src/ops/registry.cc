// The one list of supported ops: registration, the conformance suite and `inspect` all read it.
#include <algorithm>
#include <vector>

#include "ops/families.h"
#include "ops/op.h"

namespace qs::ops {

std::span<const OpSchema> all_ops() {
  static const std::vector<OpSchema> kOps = [] {
    std::vector<OpSchema> v;
    for (auto family : {elementwise_ops, activation_ops, conv_ops, gemm_ops, pool_ops, normalization_ops,
                        reduce_ops, shape_ops, data_ops, rnn_ops, signal_ops, quantize_ops})
      for (const OpSchema& s : family()) v.push_back(s);
    std::sort(v.begin(), v.end(), [](const OpSchema& a, const OpSchema& b) { return a.op_type < b.op_type; });
    return v;
  }();
  return kOps;
}

const OpSchema* find_op(std::string_view op_type) {
  auto ops = all_ops();
  auto it = std::lower_bound(ops.begin(), ops.end(), op_type,
                             [](const OpSchema& s, std::string_view t) { return s.op_type < t; });
  return it != ops.end() && it->op_type == op_type ? &*it : nullptr;
}

const OpSchema* find_op(std::string_view domain, std::string_view op_type) {
  if (domain.empty()) return find_op(op_type);
  if (domain != kInternalDomain) return nullptr;
  for (const OpSchema& s : internal_ops())
    if (s.op_type == op_type) return &s;
  return nullptr;
}

}  // namespace qs::ops
