// Reference Resize / Upsample: separable interpolation, one axis at a time, following
// ONNX's reference implementation (coordinate transforms, neighbour choice with edge
// clamping, cubic coefficients, tf_crop_and_resize extrapolation).
#pragma once
#include <cstdint>
#include <vector>

#include "core/shape.h"

namespace qs::kernels::ref {

enum class ResizeMode { kNearest, kLinear, kCubic };
enum class CoordMode {
  kHalfPixel,
  kHalfPixelSymmetric,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfHalfPixelForNn,  // opset 11 only
  kTfCropAndResize,
};
enum class NearestMode { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil };

struct ResizeOptions {
  ResizeMode mode = ResizeMode::kNearest;
  CoordMode coord = CoordMode::kHalfPixel;
  NearestMode nearest = NearestMode::kRoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
};

// One axis: input and output length, the scale (output/input, as given or derived from
// sizes) and, for tf_crop_and_resize, the normalised region of interest.
struct ResizeAxis {
  int64_t in = 1, out = 1;
  double scale = 1.0;
  double roi_start = 0.0, roi_end = 1.0;
};

// The interpolation of one axis: for each output position `taps` input indices (already
// clamped into [0, in)) with weights, or a flag that the position lies outside the crop
// region and takes the extrapolation value.
struct ResizeAxisPlan {
  int64_t in = 1, out = 1;
  int taps = 1;
  std::vector<int64_t> idx;  // out * taps
  std::vector<double> w;     // out * taps
  std::vector<uint8_t> extrapolate;  // out
  bool identity = false;     // output equals input along this axis
};
// Requires in >= 1 (an empty input axis has nothing to interpolate from) and scale > 0.
ResizeAxisPlan plan_resize_axis(const ResizeAxis& a, const ResizeOptions& o);

// The input index each output position copies for nearest mode (taps == 1), -1 where it
// extrapolates; feeds index_map_copy so nearest works for every dtype.
std::vector<int64_t> nearest_source_map(const ResizeAxisPlan& p);

// Float interpolation over all axes (one plan per axis of in_shape).
void resize_f32(const float* x, const Shape& in_shape, const std::vector<ResizeAxisPlan>& plans,
                float extrapolation_value, float* y);

}  // namespace qs::kernels::ref
