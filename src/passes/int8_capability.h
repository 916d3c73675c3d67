// Which layers have an INT8 implementation (../shared/INT8.md item 7), and why not.
#pragma once
#include <map>
#include <string>

#include "core/tensor.h"
#include "ir/graph.h"

namespace qs::passes {

struct Int8Capability {
  bool capable = false;
  std::string reason;  // why not, when not capable
};

// `constants` are the values known before running (initializers and folded nodes), used for
// the rule that Gemm/MatMul weights must be constant.
Int8Capability int8_capability(const ir::Node& node, const std::map<std::string, Tensor>& constants);

}  // namespace qs::passes
