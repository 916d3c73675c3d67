// What the passes know about a model bound to input shapes: its layers in order, the
// constant values (initializers and folded nodes) and every value's type and shape. The
// runtime's FP32 plan provides it.
#pragma once
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "ops/op.h"

namespace qs::passes {

struct GraphView {
  const ir::Graph* graph = nullptr;
  std::vector<const ir::Node*> layers;  // nodes that run (not folded), in order
  const std::unordered_map<std::string, Tensor>* constants = nullptr;
  const std::unordered_map<std::string, ops::TensorInfo>* infos = nullptr;

  bool is_constant(const std::string& value) const { return !value.empty() && constants->count(value) != 0; }
  const Tensor* constant(const std::string& value) const {
    auto it = constants->find(value);
    return it == constants->end() ? nullptr : &it->second;
  }
  const Shape* shape(const std::string& value) const {
    auto it = infos->find(value);
    return it == infos->end() ? nullptr : &it->second.shape;
  }
  DType dtype(const std::string& value) const {
    auto it = infos->find(value);
    return it == infos->end() ? DType::kUndefined : it->second.dtype;
  }
};

}  // namespace qs::passes
