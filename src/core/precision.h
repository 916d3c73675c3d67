// The precision a layer runs in.
#pragma once
#include <optional>
#include <string_view>

namespace qs {

enum class Precision { kFp32, kFp16, kInt8 };

inline std::string_view precision_name(Precision p) {
  switch (p) {
    case Precision::kFp32: return "fp32";
    case Precision::kFp16: return "fp16";
    case Precision::kInt8: return "int8";
  }
  return "fp32";
}

inline std::optional<Precision> parse_precision(std::string_view s) {
  if (s == "fp32") return Precision::kFp32;
  if (s == "fp16") return Precision::kFp16;
  if (s == "int8") return Precision::kInt8;
  return std::nullopt;
}

}  // namespace qs
