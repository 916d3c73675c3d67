#include "passes/precision_plan.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"

namespace qs::passes {

Expected<PrecisionPlan> parse_plan_json(const std::string& text, const std::string& name) {
  const std::string prefix = "cannot read plan '" + name + "': ";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return InvalidInput("{}not valid JSON (byte {})", prefix, e.byte);
  } catch (const nlohmann::json::exception& e) {  // e.g. a number too large for a double
    return InvalidInput("{}not valid JSON ({})", prefix, e.what());
  }
  if (!j.is_object()) return InvalidInput("{}expected a JSON object with \"default\" and \"layers\"", prefix);
  PrecisionPlan plan;
  for (const auto& [key, value] : j.items()) {
    if (key == "default") {
      if (!value.is_string()) return InvalidInput("{}\"default\" must be a string (fp32, fp16 or int8)", prefix);
      auto p = parse_precision(value.get<std::string>());
      if (!p) return InvalidInput("{}\"default\" is '{}', expected fp32, fp16 or int8", prefix, value.get<std::string>());
      plan.default_precision = *p;
    } else if (key == "layers") {
      if (!value.is_object()) return InvalidInput("{}\"layers\" must be an object of layer name -> precision", prefix);
      for (const auto& [layer, prec] : value.items()) {
        if (!prec.is_string()) return InvalidInput("{}layer '{}': precision must be a string", prefix, layer);
        auto p = parse_precision(prec.get<std::string>());
        if (!p)
          return InvalidInput("{}layer '{}': precision '{}' is not fp32, fp16 or int8", prefix, layer,
                              prec.get<std::string>());
        plan.layers[layer] = *p;
      }
    }
    // Other keys (notes, provenance) are allowed and ignored.
  }
  return plan;
}

Expected<PrecisionPlan> read_plan_json(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return IoError("cannot open plan '{}'", path);
  std::string text((std::istreambuf_iterator<char>(f)), {});
  if (text.size() > (size_t{64} << 20)) return InvalidInput("plan '{}' is larger than 64 MiB", path);
  return parse_plan_json(text, path);
}

std::string format_plan_json(const PrecisionPlan& plan) {
  nlohmann::ordered_json j;
  j["default"] = std::string(precision_name(plan.default_precision));
  j["layers"] = nlohmann::ordered_json::object();
  for (const auto& [layer, p] : plan.layers) j["layers"][layer] = std::string(precision_name(p));
  return j.dump(2) + "\n";
}

Status write_plan_json(const std::string& path, const PrecisionPlan& plan) {
  return io::write_file_atomic(path, format_plan_json(plan));
}

}  // namespace qs::passes
