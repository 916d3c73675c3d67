#include "kernels/reference/resize.h"

#include <algorithm>
#include <cmath>

namespace qs::kernels::ref {

namespace {

// Position in the input that output position x maps to (ONNX's x_original). Like ONNX's
// reference, the "output length" here is scale * in, not the rounded output size.
double original_coordinate(double x, const ResizeAxis& a, CoordMode mode) {
  const double in = static_cast<double>(a.in);
  const double out_f = a.scale * in;
  switch (mode) {
    case CoordMode::kAlignCorners: return out_f == 1.0 ? 0.0 : x * (in - 1) / (out_f - 1);
    case CoordMode::kAsymmetric: return x / a.scale;
    case CoordMode::kTfHalfPixelForNn: return (x + 0.5) / a.scale;
    case CoordMode::kTfCropAndResize: {
      const double span = (a.roi_end - a.roi_start) * (in - 1);
      return (out_f == 1.0 ? span / 2 : x * span / (out_f - 1)) + a.roi_start * (in - 1);
    }
    case CoordMode::kPytorchHalfPixel: return out_f == 1.0 ? -0.5 : (x + 0.5) / a.scale - 0.5;
    case CoordMode::kHalfPixelSymmetric: {
      const double adjustment = static_cast<double>(a.out) / out_f;
      const double offset = in / 2 * (1 - adjustment);
      return offset + (x + 0.5) / a.scale - 0.5;
    }
    case CoordMode::kHalfPixel: break;
  }
  return (x + 0.5) / a.scale - 0.5;
}

void cubic_coeffs(double r, double A, double* c) {
  const double s = 1 - r;
  c[0] = ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A;
  c[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
  c[2] = ((A + 2) * s - (A + 3)) * s * s + 1;
  c[3] = ((A * (s + 1) - 5 * A) * (s + 1) + 8 * A) * (s + 1) - 4 * A;
}

}  // namespace

ResizeAxisPlan plan_resize_axis(const ResizeAxis& a, const ResizeOptions& o) {
  ResizeAxisPlan p;
  p.in = a.in;
  p.out = a.out;
  p.taps = o.mode == ResizeMode::kCubic ? 4 : o.mode == ResizeMode::kLinear ? 2 : 1;
  p.idx.assign(static_cast<size_t>(a.out * p.taps), 0);
  p.w.assign(static_cast<size_t>(a.out * p.taps), 0.0);
  p.extrapolate.assign(static_cast<size_t>(a.out), 0);
  for (int64_t x = 0; x < a.out; ++x) {
    const double xo = original_coordinate(static_cast<double>(x), a, o.coord);
    if (o.coord == CoordMode::kTfCropAndResize && (xo < 0 || xo > static_cast<double>(a.in - 1))) {
      p.extrapolate[static_cast<size_t>(x)] = 1;
      continue;
    }
    // Neighbours as ONNX picks them: f and f+1 around xo, with an integral xo treated as
    // ratio 1 from the left (so it lands on xo itself).
    double f = std::floor(xo);
    double r = xo - f;
    if (r == 0.0) {
      r = 1.0;
      f -= 1.0;
    }
    const auto fi = static_cast<int64_t>(f);
    int64_t* idx = &p.idx[static_cast<size_t>(x * p.taps)];
    double* w = &p.w[static_cast<size_t>(x * p.taps)];
    auto clamp = [&](int64_t i) { return std::clamp<int64_t>(i, 0, a.in - 1); };
    if (o.mode == ResizeMode::kNearest) {
      bool up = true;
      if (r < 1.0) {
        switch (o.nearest) {
          case NearestMode::kRoundPreferFloor: up = r > 0.5; break;
          case NearestMode::kRoundPreferCeil: up = r >= 0.5; break;
          case NearestMode::kFloor: up = false; break;
          case NearestMode::kCeil: up = true; break;
        }
      }
      idx[0] = clamp(up ? fi + 1 : fi);
      w[0] = 1.0;
    } else if (o.mode == ResizeMode::kLinear) {
      idx[0] = clamp(fi);
      idx[1] = clamp(fi + 1);
      w[0] = 1 - r;
      w[1] = r;
    } else {
      cubic_coeffs(r, o.cubic_a, w);
      double sum = 0;
      for (int k = 0; k < 4; ++k) {
        const int64_t i = fi - 1 + k;
        if (o.exclude_outside && (i < 0 || i >= a.in)) w[k] = 0;
        sum += w[k];
        idx[k] = clamp(i);
      }
      if (o.exclude_outside && sum != 0)
        for (int k = 0; k < 4; ++k) w[k] /= sum;
    }
  }
  p.identity = a.in == a.out;
  for (int64_t x = 0; p.identity && x < a.out; ++x) {
    bool hit = false;
    for (int k = 0; k < p.taps; ++k) {
      const size_t t = static_cast<size_t>(x * p.taps + k);
      if (p.w[t] == 0.0) continue;
      if (p.w[t] == 1.0 && p.idx[t] == x) hit = true;
      else hit = false, k = p.taps;  // another nonzero weight: not an identity
    }
    if (!hit || p.extrapolate[static_cast<size_t>(x)]) p.identity = false;
  }
  return p;
}

std::vector<int64_t> nearest_source_map(const ResizeAxisPlan& p) {
  std::vector<int64_t> m(static_cast<size_t>(p.out));
  for (int64_t x = 0; x < p.out; ++x)
    m[static_cast<size_t>(x)] = p.extrapolate[static_cast<size_t>(x)] ? -1 : p.idx[static_cast<size_t>(x * p.taps)];
  return m;
}

void resize_f32(const float* x, const Shape& in_shape, const std::vector<ResizeAxisPlan>& plans,
                float extrapolation_value, float* y) {
  Shape shape = in_shape;
  std::vector<double> cur(x, x + numel(in_shape));
  std::vector<double> next;
  for (size_t axis = 0; axis < plans.size(); ++axis) {
    const ResizeAxisPlan& p = plans[axis];
    if (p.identity) continue;
    int64_t outer = 1, inner = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
      if (i < axis) outer *= shape[i];
      if (i > axis) inner *= shape[i];
    }
    next.assign(static_cast<size_t>(outer * p.out * inner), 0.0);
    for (int64_t o = 0; o < outer; ++o) {
      const double* src = cur.data() + o * p.in * inner;
      double* dst = next.data() + o * p.out * inner;
      for (int64_t j = 0; j < p.out; ++j) {
        double* d = dst + j * inner;
        if (p.extrapolate[static_cast<size_t>(j)]) {
          std::fill(d, d + inner, static_cast<double>(extrapolation_value));
          continue;
        }
        for (int k = 0; k < p.taps; ++k) {
          const double wk = p.w[static_cast<size_t>(j * p.taps + k)];
          if (wk == 0.0) continue;
          const double* s = src + p.idx[static_cast<size_t>(j * p.taps + k)] * inner;
          for (int64_t i = 0; i < inner; ++i) d[i] += wk * s[i];
        }
      }
    }
    shape[axis] = p.out;
    cur.swap(next);
  }
  for (size_t i = 0; i < cur.size(); ++i) y[i] = static_cast<float>(cur[i]);
}

}  // namespace qs::kernels::ref
