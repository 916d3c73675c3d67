// Q/DQ models (explicit quantization: TensorRT 10/11, ONNX Runtime's and ModelOpt's
// quantizers, qscope's own export) as qscope plans (INT8.md item 19). The model is turned into
// its float graph plus a precision plan and INT8 scales, so that it runs with qscope's INT8
// kernels and can be swept. Rules:
//  - Q/DQ nodes whose inputs are all constants are evaluated: DequantizeLinear of an int8
//    initializer (weights, int32 biases) becomes a float initializer.
//  - DQ -> Q with equal scale and zero point cancel.
//  - A Q -> DQ pair on an activation x (per tensor, scale > 0) with int8 zero point 0, or
//    uint8 zero point 128 (the same numbers), reads x in INT8 with that scale. uint8 with
//    another zero point (ONNX Runtime's default asymmetric activations) is mapped, when
//    map_asymmetric, to the symmetric scale that covers the same range,
//    scale * max(zp, 255 - zp) / 127 (an approximation, reported as a warning); otherwise,
//    and for int8 with a zero point other than 0 and per-axis activations, the pair stays in
//    the graph and runs as fake quantization in float, exactly as ONNX defines it.
//  - A layer runs INT8 when it reads all its activations through such pairs: Conv,
//    ConvTranspose, Gemm and MatMul also need dequantized constant weights; Add, Mul and
//    Concat read every non-constant input; other INT8-capable ops read input 0. The layers a
//    fusion joins to an INT8 Conv/Gemm/MatMul without Q/DQ between them (BatchNormalization,
//    the Add of a residual that is read through a pair, ReLU/Clip/LeakyReLU, SiLU, MatMul's
//    bias Add) run INT8 with it (item 20). A layer whose output has no Q hands on float.
//  - Each tensor has one scale (Concat inputs use the output's, readers of an INT8 pool's
//    output the pool input's, INT8.md item 8). A read whose scale disagrees makes its layer
//    run in float behind its pair (fake quantization), so the result stays ONNX's.
//  - Pairs absorbed into INT8 layers are removed; pairs that some float layer still reads stay.
// Weights are handed to the engine as float (q - zp) * scale; the engine derives per-channel
// scales again as max|W_k| / 127, which reproduces the model's int8 values and scales exactly
// when every output channel's max |q - zp| is 127 with one scale per channel (qscope's,
// TensorRT's tools', ModelOpt's and ONNX Runtime's symmetric per-channel weights). Otherwise
// the weights are requantized on a finer grid and a warning names the layer.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"
#include "passes/precision_plan.h"

namespace qs::passes {

struct QdqImportOptions {
  bool map_asymmetric = true;  // see above: uint8 activations with zero point != 128
};

struct QdqImport {
  ir::Graph graph;                      // the float graph (pairs not absorbed stay as fake quantization)
  PrecisionPlan plan;                   // default fp32; int8 for the layers the model quantizes
  std::map<std::string, float> scales;  // activation tensor -> INT8 scale
  std::vector<std::string> warnings;    // one line each
  int absorbed_pairs = 0, kept_nodes = 0, folded_constants = 0;
};

// True when the graph has QuantizeLinear or DequantizeLinear nodes.
bool has_qdq_nodes(const ir::Graph& g);

// Errors name the node.
Expected<QdqImport> import_qdq(const ir::Graph& g, const QdqImportOptions& options = {});

}  // namespace qs::passes
