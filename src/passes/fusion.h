// Fusion groups (INT8.md items 9-10): Conv/ConvTranspose (+BatchNormalization) (+Add of a
// residual) (+Relu/Clip/LeakyRelu, or Sigmoid*x = SiLU), and Gemm/MatMul (+bias Add)
// (+activation). Only the group's boundary tensors exist at run time: its input, the
// residual and its output.
#pragma once
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/precision.h"
#include "passes/graph_view.h"

namespace qs::passes {

struct FusionGroup {
  std::vector<const ir::Node*> members;  // head first, in order
  const ir::Node* batch_norm = nullptr;  // folded into the head's weights
  const ir::Node* residual_add = nullptr;
  std::string residual;                  // the Add's other input
  const ir::Node* bias_add = nullptr;    // MatMul + Add of a constant [N]
  std::string bias;
  std::string activation;                // "", Relu, Clip, LeakyRelu, Silu
  float act_alpha = 0.f, act_beta = 0.f;
  const ir::Node* head() const { return members.front(); }
  const std::string& output() const;     // the last member's output
  std::string describe() const;          // "Conv+BatchNormalization+Relu"
};

// Forms a group for every Conv/ConvTranspose/Gemm/MatMul layer with constant weights (a
// group may hold the head alone); a group takes members only while they have the head's
// precision (item 10). precision_of gives each layer's precision.
// Conv/ConvTranspose with constant W (and B), Gemm with constant B, MatMul with a constant
// 2-D B and an A of rank 2 or more: the heads that have INT8 blocks.
bool has_constant_weights(const GraphView& view, const ir::Node& n);

// Each layer's precision, by layer name.
using LayerPrecisions = std::unordered_map<std::string, Precision>;

std::vector<FusionGroup> form_fusion_groups(const GraphView& view, const LayerPrecisions& precision_of);

}  // namespace qs::passes
