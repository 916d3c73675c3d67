// Parsers for the command-line values that describe image preprocessing:
// "--size 28x28", "--mean 0.485,0.456,0.406", "--channels rgb". Errors are UsageError
// statuses whose message names the option and the text given.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "io/image.h"

namespace qs::io {

struct ImageSize {
  int64_t height = 0;
  int64_t width = 0;
};

// "HxW" (or "HXW"), both sides in 1..kMaxImageSide; option names the flag in messages.
Expected<ImageSize> parse_size(std::string_view text, std::string_view option = "--size");

// Comma-separated finite floats, e.g. "0.485, 0.456,0.406"; at least one, no empty items.
Expected<std::vector<float>> parse_float_list(std::string_view text, std::string_view option);

// One finite float, e.g. "0.00392" or "1/255" (a fraction is allowed, as scales often are one).
Expected<float> parse_float(std::string_view text, std::string_view option);

// "gray" (or "grey"), "rgb" or "bgr", case-insensitive.
Expected<ImageOptions::Channels> parse_channels(std::string_view text, std::string_view option = "--channels");

}  // namespace qs::io
