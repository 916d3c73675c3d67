// Applies a precision plan to a model (INT8.md items 5-10): decides each layer's actual
// precision (a layer asked for INT8 runs INT8 only if it has an INT8 implementation and a
// range for every tensor it reads in INT8; otherwise it stays FP32 and says why), forms the
// fusion groups of INT8 and FP16 layers (and FP32 ones when asked), folds BatchNormalization into fused convolutions,
// and writes the graph the runtime executes, with each node's precision and input scales.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/precision.h"
#include "core/status.h"
#include "ir/graph.h"
#include "passes/fusion.h"
#include "passes/graph_view.h"
#include "passes/precision_plan.h"

namespace qs::passes {

struct LayerPrecision {
  std::string name, op;
  Precision requested = Precision::kFp32;
  Precision actual = Precision::kFp32;
  std::string reason;  // why actual differs from requested
  int group = -1;      // index into Lowered::groups, or -1
};

// How one node of the lowered graph runs.
struct NodeExec {
  Precision precision = Precision::kFp32;
  std::vector<float> input_scales;  // per input: the scale it is read with in INT8, 0 for float reads
};

struct Lowered {
  std::shared_ptr<ir::Graph> graph;
  std::map<std::string, NodeExec> exec;  // by node name in `graph`
  std::vector<LayerPrecision> layers;    // the original layers, in order
  std::vector<FusionGroup> groups;       // the groups that run as one block
};

// BatchNormalization folded into a convolution's weights, kept between lowerings of the
// same model (a sweep lowers once per step; the folded weights of a group do not change).
// Thread-safe.
class FoldCache {
 public:
  bool Find(const std::string& head, Tensor* w, Tensor* b) const;
  void Put(const std::string& head, const Tensor& w, const Tensor& b);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::pair<Tensor, Tensor>> folded_;
};

struct LowerOptions {
  // When false, missing ranges do not demote layers (for `inspect`, which shows what would fuse).
  bool require_ranges = true;
  FoldCache* folds = nullptr;
  // Also run FP32 groups as fused blocks (every FP32 convolution, Gemm/MatMul chains of more
  // than one layer), for speed. Their inner values (a convolution's output before its
  // BatchNormalization, ...) are then not computed; Lowered::groups and LayerPrecision::group
  // still list only INT8 and FP16 blocks.
  bool fuse_fp32 = false;
};

// scales: tensor name -> INT8 scale (range / 127), e.g. from a calibration cache. A layer the
// plan names that is not a layer of the model is an error.
Expected<Lowered> lower_precision(const GraphView& view, const PrecisionPlan& plan,
                                  const std::map<std::string, float>& scales, const LowerOptions& options = {});

}  // namespace qs::passes
