// A precision plan: a default precision plus per-layer overrides (SPEC.md "plan JSON"):
//   { "default": "int8", "layers": { "conv2": "fp32" } }
#pragma once
#include <map>
#include <string>

#include "core/precision.h"
#include "core/status.h"

namespace qs::passes {

struct PrecisionPlan {
  Precision default_precision = Precision::kFp32;
  std::map<std::string, Precision> layers;

  Precision of(const std::string& layer) const {
    auto it = layers.find(layer);
    return it == layers.end() ? default_precision : it->second;
  }
};

// Errors name the file and the offending key.
Expected<PrecisionPlan> parse_plan_json(const std::string& text, const std::string& name);
Expected<PrecisionPlan> read_plan_json(const std::string& path);
std::string format_plan_json(const PrecisionPlan& plan);
Status write_plan_json(const std::string& path, const PrecisionPlan& plan);

}  // namespace qs::passes
