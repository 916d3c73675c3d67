// Why a flagged layer's step lost accuracy: each thing that step quantized (the layer's INT8
// inputs, its weights) put in INT8 alone, the layer run on the sweep's inputs and its output
// compared with FP32; with the numbers a user acts on (the range against where the values lie).
#pragma once
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "runtime/plan.h"

namespace qs::analysis {

struct QuantizedInput {
  std::string tensor;
  std::string producer;     // the layer that writes it; "" for a graph input
  double range = 0;         // its INT8 range (scale * 127)
  double max_abs = 0;       // the largest |x| on the sweep's inputs (FP32)
  double p999 = 0;          // the 99.9th percentile of |x| on the sweep's inputs
  double clipped = 0;       // fraction of values beyond the range
  // Per channel (axis 1 of a convolution's input, the last axis of a Gemm's or MatMul's): the
  // channel with the largest |x| and the median of the channels' largest |x|.
  int64_t top_channel = -1;
  double top_channel_max = 0, median_channel_max = 0;
  // The layer's first output with only this input in INT8, against FP32 (cosine %, worst input).
  double similarity = 0;
};

struct LayerDiagnosis {
  std::string layer;
  std::vector<QuantizedInput> inputs;  // the float activations it reads that have a range
  // The layer's first output with only its weights in INT8 (per output channel, unfolded), against
  // FP32 (cosine %, worst input); NaN: no constant weights.
  double weight_similarity = NAN;
  // The output channel whose largest |w| is the most times its median |w|, and that ratio (the
  // channel's INT8 scale follows its largest weight); -1 / 0 without weights.
  int64_t weight_spread_channel = -1;
  double weight_spread = 0;
  // The part that loses most, in words, with what sets the range when that is the story.
  std::string verdict;
};

// Diagnoses `layers` (names of the graph's layers) on `inputs` with INT8 ranges `scales`
// (tensor -> range / 127). Runs FP32 once per input set, keeping only the tensors it needs.
Expected<std::vector<LayerDiagnosis>> diagnose_layers(std::shared_ptr<const ir::Graph> graph,
                                                      const std::vector<std::map<std::string, Tensor>>& inputs,
                                                      const std::map<std::string, float>& scales,
                                                      const std::vector<std::string>& layers,
                                                      const runtime::PlanOptions& options = {});

}  // namespace qs::analysis
