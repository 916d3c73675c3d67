// INT8 tensors handed from one INT8 convolution to the next. By INT8.md item 5 a tensor is
// float between layers and each INT8 reader quantizes it with the tensor's scale; when every
// reader of a tensor is an INT8 convolution block that quantizes it as its input X or
// fake-quantizes it as its residual R, all with one scale, the producing INT8 block can write
// the quantized tensor itself (the same int8 values: the same float epilogue, then the same
// division and rounding) and the readers skip their quantize pass: X is the int8 tensor, and R
// is q * scale, which is what fake quantization gives. That halves the memory traffic of INT8
// chains such as MobileNet's expand -> depthwise -> project, and a residual network's block
// outputs go between blocks as int8 where the next block's first layer and its residual add
// read them.
//
// A handed-off value V becomes "V::s8" (int8, same shape and layout); the producer gets
// y_int8_scale, the readers x_int8 = 1 or r_int8 = 1 (ops/fused.cc). Values that are graph
// outputs or read by anything else stay float.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "core/status.h"
#include "ir/graph.h"
#include "passes/lower.h"

namespace qs::passes {

// g: a lowered graph (optionally after to_channels_last), rewritten in place; exec: how each
// of its nodes runs.
void hand_off_int8(ir::Graph& g, const std::map<std::string, NodeExec>& exec);

}  // namespace qs::passes
