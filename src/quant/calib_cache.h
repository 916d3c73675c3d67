// TensorRT's calibration cache: a header line `TRT-<version>-<Algorithm>`, then one line per
// tensor, `name: xxxxxxxx`, the hex digits being the bits of the float32 scale (range / 127).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace qs::quant {

struct CalibCache {
  std::string version = "8601";                     // as TensorRT writes it (8.6.1 -> 8601)
  std::string algorithm = "EntropyCalibration2";    // EntropyCalibration2, MinMaxCalibration, ...
  std::map<std::string, float> scales;              // tensor name -> scale
  std::vector<std::string> warnings;                // filled by the reader (e.g. an unknown algorithm)
};

// Reads a cache written by TensorRT 7 to 10 or by qscope. Names may contain colons (split
// at the last one). Errors name the file and the line.
Expected<CalibCache> read_calib_cache(const std::string& path);
// Parses cache text; `name` is used in messages.
Expected<CalibCache> parse_calib_cache(const std::string& text, const std::string& name);
std::string format_calib_cache(const CalibCache& cache);
// Writes atomically (temporary file, then rename).
Status write_calib_cache(const std::string& path, const CalibCache& cache);

}  // namespace qs::quant
