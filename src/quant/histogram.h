// A streaming histogram of |x| for calibration: a fixed number of equal bins over
// [0, edge] (bin b holds (b * w, (b + 1) * w], bin 0 also 0), so its memory is `bins` counters whatever the amount of data.
//
// Range rule (as TensorRT's calibrators and NVIDIA's MLPerf calibration note describe it):
// the first non-zero data sets edge = its max |x|. When a later batch holds a larger |x|,
// the edge doubles, as many times as needed, and each doubling merges pairs of bins
// (new[i] = old[2i] + old[2i+1]; the upper half starts empty). Every old bin lies inside one
// new bin, so the counts stay exact; only the resolution halves. The exact running max is
// kept beside the bins (for MinMax, and to clamp ranges). NaN and Inf are skipped and counted.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace qs::quant {

class Histogram {
 public:
  explicit Histogram(int bins = 2048);

  // Adds |v| for every finite v of one batch.
  void Add(std::span<const float> values);

  int bins() const { return static_cast<int>(counts_.size()); }
  const std::vector<uint64_t>& counts() const { return counts_; }
  // Upper edge of the last bin; 0 until a non-zero value was seen.
  double edge() const { return edge_; }
  double bin_width() const { return edge_ / static_cast<double>(counts_.size()); }
  // Exact max |x| of everything added.
  float max_abs() const { return max_abs_; }
  uint64_t total() const { return total_; }
  uint64_t non_finite() const { return non_finite_; }

 private:
  void GrowTo(double max_abs);
  std::vector<uint64_t> counts_;
  double edge_ = 0.0;
  float max_abs_ = 0.0f;
  uint64_t total_ = 0;
  uint64_t non_finite_ = 0;
};

}  // namespace qs::quant
