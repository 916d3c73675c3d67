#include "io/options_parse.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

namespace qs::io {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A whole decimal number in 1..kMaxImageSide; false when the text is anything else.
bool parse_side(std::string_view s, int64_t& out) {
  s = trim(s);
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s.front()))) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && out >= 1 && out <= kMaxImageSide;
}

// A whole finite float; false when the text is anything else.
bool parse_one_float(std::string_view s, float& out) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(out);
}

}  // namespace

Expected<ImageSize> parse_size(std::string_view text, std::string_view option) {
  const size_t x = text.find_first_of("xX");
  ImageSize size;
  if (x == std::string_view::npos || !parse_side(text.substr(0, x), size.height) ||
      !parse_side(text.substr(x + 1), size.width))
    return UsageError("{} '{}' is not a size: expected HEIGHTxWIDTH with whole numbers in 1..{}, e.g. 28x28", option,
                      text, kMaxImageSide);
  return size;
}

Expected<std::vector<float>> parse_float_list(std::string_view text, std::string_view option) {
  std::vector<float> values;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string_view item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    float v = 0;
    if (trim(item).empty())
      return UsageError("{} '{}' has an empty item {}; expected comma-separated numbers, e.g. 0.485,0.456,0.406", option,
                        text, values.size() + 1);
    if (!parse_one_float(item, v))
      return UsageError("{} '{}': item {} '{}' is not a finite number", option, text, values.size() + 1, trim(item));
    values.push_back(v);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return values;
}

Expected<float> parse_float(std::string_view text, std::string_view option) {
  const size_t slash = text.find('/');
  float num = 0, den = 1;
  const bool ok = slash == std::string_view::npos
                      ? parse_one_float(text, num)
                      : parse_one_float(text.substr(0, slash), num) && parse_one_float(text.substr(slash + 1), den);
  if (!ok) return UsageError("{} '{}' is not a finite number (e.g. 0.0039 or 1/255)", option, text);
  if (den == 0.0f) return UsageError("{} '{}' divides by zero", option, text);
  const float v = num / den;
  if (!std::isfinite(v)) return UsageError("{} '{}' is not a finite number", option, text);
  return v;
}

Expected<ImageOptions::Channels> parse_channels(std::string_view text, std::string_view option) {
  std::string lower;
  for (char c : trim(text)) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "gray" || lower == "grey") return ImageOptions::Channels::kGray;
  if (lower == "rgb") return ImageOptions::Channels::kRgb;
  if (lower == "bgr") return ImageOptions::Channels::kBgr;
  return UsageError("{} '{}' is not a channel layout: expected gray, rgb or bgr", option, text);
}

}  // namespace qs::io
