// MinMax ranges (INT8.md item 13): range = max |x| over all calibration data, for every
// float tensor of the unfused graph (item 16), streamed: memory does not grow with the data.
#pragma once
#include <map>
#include <string>

#include "core/tensor.h"
#include "quant/calib_cache.h"
#include "runtime/plan.h"

namespace qs::quant {

class MinMaxObserver {
 public:
  // Records one FP32 run: the graph inputs and every step's float outputs.
  Status Observe(runtime::Engine& fp32_engine, const std::map<std::string, Tensor>& inputs);
  const std::map<std::string, float>& ranges() const { return ranges_; }
  // scale = range / 127 for every observed tensor.
  CalibCache ToCache() const;

 private:
  void Record(const std::string& name, const Tensor& t);
  std::map<std::string, float> ranges_;
};

}  // namespace qs::quant
