#include "quant/minmax.h"

#include <cmath>

#include "quant/int8_math.h"

namespace qs::quant {

void MinMaxObserver::Record(const std::string& name, const Tensor& t) {
  if (t.dtype() != DType::kFloat32) return;
  float m = 0.f;
  for (float v : t.values<float>())
    if (std::isfinite(v)) m = std::max(m, std::fabs(v));
  float& r = ranges_[name];
  r = std::max(r, m);
}

Status MinMaxObserver::Observe(runtime::Engine& engine, const std::map<std::string, Tensor>& inputs) {
  for (const auto& [name, t] : inputs) Record(name, t);
  auto out = engine.Run(inputs, [this](size_t, const ir::Node& node, std::span<const Tensor* const> outs) {
    for (size_t i = 0; i < outs.size() && i < node.outputs.size(); ++i)
      if (outs[i]) Record(node.outputs[i], *outs[i]);
  });
  return out.status();
}

CalibCache MinMaxObserver::ToCache() const {
  CalibCache c;
  c.algorithm = "MinMaxCalibration";
  for (const auto& [name, r] : ranges_) c.scales[name] = scale_from_range(r);
  return c;
}

}  // namespace qs::quant
