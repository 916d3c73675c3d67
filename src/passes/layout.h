// Channels-last activations between convolutions. oneDNN's fastest convolutions read and
// write [N, H, W, C]; at a plain NCHW boundary every convolution pays a reorder in and one out
// (a fifth of ResNet-50's time). This pass keeps 3-D and 4-D activations channels-last from one
// convolution to the next ([N, W, C] and [N, H, W, C]):
//   - a 1-D or 2-D FusedConv (FP32 or INT8) writes Y channels-last (and reads R that way) when its
//     residual, if any, is channels-last; it reads X in whatever layout X has;
//   - element-wise ops (and qscope.EltwiseChain nodes, passes/eltwise_chain.h) whose variable
//     inputs are all channels-last (and of one shape; other inputs scalar constants) stay
//     channels-last: the same numbers in another order;
//   - MaxPool / AveragePool (1-D and 2-D) and GlobalAveragePool / GlobalMaxPool read channels-last
//     (the global pools' [N, C, 1, 1] output is the same memory in either layout);
//   - any other reader, and a graph output, gets the plain tensor from a qscope.ToNCHW node
//     (one per value, shared by its readers).
// A channels-last value V is renamed "V::nhwc" (its shape is [N, spatial..., C]); V itself exists
// only where a ToNCHW node makes it. Numbers do not change: each kernel computes the same
// values, only their order in memory differs.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "core/status.h"
#include "ir/graph.h"
#include "passes/graph_view.h"
#include "passes/lower.h"

namespace qs::passes {

// g: a lowered graph (lower.h) of the model that `model` views (types, shapes and constants
// of its values, from its FP32 plan). exec: how each node of g runs; FP16 convolutions stay
// plain. Rewrites g in place (a sweep step lowers and plans a graph of every layer, so copies
// of it are a large part of a step on deep, cheap networks).
Status to_channels_last(ir::Graph& g, const GraphView& model, const std::map<std::string, NodeExec>* exec);

// The name of the channels-last copy of a value, and the op that makes the plain one.
std::string channels_last_name(const std::string& value);
inline constexpr const char* kToNchwOp = "ToNCHW";

}  // namespace qs::passes
