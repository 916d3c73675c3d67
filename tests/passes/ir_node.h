// A bare IR node for tests that build graphs by hand.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"

namespace qs::testing {

inline ir::Node node(const std::string& op, const std::string& name, std::vector<std::string> in,
                     std::vector<std::string> out) {
  ir::Node n;
  n.op_type = op;
  n.name = name;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

}  // namespace qs::testing
