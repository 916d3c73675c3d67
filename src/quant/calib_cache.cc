#include "quant/calib_cache.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "io/atomic_file.h"

namespace qs::quant {

namespace {
const std::set<std::string> kKnownAlgorithms = {"EntropyCalibration2", "EntropyCalibration", "MinMaxCalibration",
                                                "LegacyCalibration", "Percentile", "MSE"};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}
}  // namespace

Expected<CalibCache> parse_calib_cache(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  CalibCache c;
  int line_no = 0;
  if (!std::getline(in, line)) return InvalidInput("cannot read calibration cache '{}': file is empty", name);
  ++line_no;
  line = trim(line);
  // TRT-<version>-<Algorithm>
  if (line.rfind("TRT-", 0) != 0)
    return InvalidInput("cannot read calibration cache '{}': line 1 is '{}', expected a header like TRT-8601-EntropyCalibration2",
                        name, line.substr(0, 60));
  const auto dash = line.find('-', 4);
  if (dash == std::string::npos || dash == 4 || dash + 1 >= line.size())
    return InvalidInput("cannot read calibration cache '{}': header '{}' lacks the version or algorithm", name, line);
  c.version = line.substr(4, dash - 4);
  c.algorithm = line.substr(dash + 1);
  if (!kKnownAlgorithms.count(c.algorithm))
    c.warnings.push_back("calibration cache '" + name + "' names an unknown algorithm '" + c.algorithm + "'");
  while (std::getline(in, line)) {
    ++line_no;
    line = trim(line);
    if (line.empty()) continue;
    const auto colon = line.rfind(':');
    if (colon == std::string::npos || colon == 0)
      return InvalidInput("cannot read calibration cache '{}': line {} has no 'tensor: scale' pair", name, line_no);
    const std::string tensor = trim(line.substr(0, colon));
    const std::string hex = trim(line.substr(colon + 1));
    if (hex.empty() || hex.size() > 8 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      return InvalidInput("cannot read calibration cache '{}': line {} (tensor '{}'): '{}' is not 8 hex digits", name,
                          line_no, tensor, hex);
    const uint32_t bits = static_cast<uint32_t>(std::stoul(hex, nullptr, 16));
    float scale;
    std::memcpy(&scale, &bits, 4);
    if (!std::isfinite(scale) || scale < 0.0f)
      return InvalidInput("cannot read calibration cache '{}': line {} (tensor '{}'): scale {} is not a finite non-negative number",
                          name, line_no, tensor, scale);
    if (!c.scales.emplace(tensor, scale).second)
      return InvalidInput("cannot read calibration cache '{}': line {}: tensor '{}' appears twice", name, line_no, tensor);
  }
  return c;
}

Expected<CalibCache> read_calib_cache(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return IoError("cannot open calibration cache '{}'", path);
  std::string text((std::istreambuf_iterator<char>(f)), {});
  if (text.size() > (size_t{256} << 20)) return InvalidInput("calibration cache '{}' is larger than 256 MiB", path);
  if (text.find('\0') != std::string::npos)
    return InvalidInput("cannot read calibration cache '{}': it is binary, not a text cache", path);
  return parse_calib_cache(text, path);
}

std::string format_calib_cache(const CalibCache& cache) {
  std::string s = "TRT-" + cache.version + "-" + cache.algorithm + "\n";
  char hex[16];
  for (const auto& [name, scale] : cache.scales) {
    uint32_t bits;
    std::memcpy(&bits, &scale, 4);
    std::snprintf(hex, sizeof hex, "%08x", bits);
    s += name + ": " + hex + "\n";
  }
  return s;
}

Status write_calib_cache(const std::string& path, const CalibCache& cache) {
  return io::write_file_atomic(path, format_calib_cache(cache));
}

}  // namespace qs::quant
