// Ranges from a streamed histogram of |x| (INT8.md items 12-15). Each returns the symmetric
// range (scale = range / 127); data that was all zero gives 0.
#pragma once
#include <string>

#include "quant/histogram.h"

namespace qs::quant {

// EntropyCalibrator2 (INT8.md item 12; Migacz, "8-bit Inference with TensorRT", GTC 2017):
// for each candidate cut (the first `kept` bins), P = bins[0..kept) with every count above
// the cut folded into the last kept bin; Q quantizes the kept bins as they were (without the
// folded counts) into `levels` levels (kept / levels bins each, the last level takes the
// remainder) and spreads each level's count evenly over the bins of that level that are
// non-empty in P. A bin with P > 0 and Q = 0 (clipped values folded into an empty bin) gets
// Q = `smoothing`, a small count (MXNet's and TVM's entropy calibration smooth the same way;
// without it every cut above a gap in the data would be infinitely bad, so outliers could
// never be clipped). P and Q are normalized separately. The cut with the smallest KL(P||Q) wins (the largest cut among equal
// minima, so data of a single value keeps its whole range), and range = the centre of the
// last kept bin, (kept - 0.5) * bin width, clamped to the exact running max.
struct EntropyOptions {
  // What happens to bin 0 (|x| near 0, mostly the exact zeros of ReLU/ReLU6) before the scan.
  // Left as it is, that spike dominates the divergence as soon as two bins merge into one
  // level, which pushes the cut down to `levels` bins and clips badly.
  enum class FirstBin {
    kKeep,        // count it as it is
    kDrop,        // set it to 0
    kLikeSecond,  // give it bin 1's count (NVIDIA pytorch-quantization's histogram calibrator)
  };
  int bins = 2048;      // histogram bins (the histogram doubles its range on overflow)
  int levels = 128;     // quantized levels the kept bins are merged into
  int start_bin = 128;  // smallest number of kept bins tried
  FirstBin first_bin = FirstBin::kLikeSecond;
  double smoothing = 1e-4;  // count given to bins where Q is empty but P is not; 0: such cuts are rejected

  // The default: 2048 bins, 128 levels, scan from bin 128 (the numbers of NVIDIA's published
  // pseudo-code and of its pytorch-quantization tool, so a qscope cache is comparable with
  // theirs), bin 0 taking bin 1's count as pytorch-quantization does.
  static EntropyOptions Tensorrt2048() { return {}; }
  // The other published reading: 1024 bins, 127 levels (the positive INT8 values), scan from
  // bin 127, bin 0 dropped.
  static EntropyOptions Legacy1024() { return {1024, 127, 127, FirstBin::kDrop, 1e-4}; }
};

// Percentile of |x| (item 14): the value below which `percentile` % of the data lies,
// interpolated linearly inside its bin and clamped to the exact max.
struct PercentileOptions {
  double percentile = 99.99;
};

// MSE (item 15): the candidate range r = (c + 1) * bin width, c from start_bin - 1 to the
// last bin, that minimises sum_b count_b * (x_b - fq(x_b, r))^2, x_b the bin centres and
// fq quantize-dequantize with scale r / 127 (round half to even, clamp to 127); the largest r
// among equal minima; clamped to the exact max.
struct MseOptions {
  int start_bin = 128;
};

float entropy_range(const Histogram& h, const EntropyOptions& o);
float minmax_range(const Histogram& h);
float percentile_range(const Histogram& h, const PercentileOptions& o);
float mse_range(const Histogram& h, const MseOptions& o);

}  // namespace qs::quant
