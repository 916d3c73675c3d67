#include "kernels/reference/grid_sample.h"

#include <algorithm>
#include <cmath>

namespace qs::kernels::ref {
namespace {

using P = GridSampleParams;

// [-1, 1] to pixel coordinates: the corner pixels' centres (align_corners) or their outer edges.
double unnormalize(double g, int64_t size, bool align) {
  return align ? (g + 1) / 2 * static_cast<double>(size - 1) : ((g + 1) * static_cast<double>(size) - 1) / 2;
}

// Reflects v into [twice_low / 2, twice_high / 2] by repeated mirroring.
double reflect(double v, double twice_low, double twice_high) {
  if (twice_low == twice_high) return 0;
  const double lo = twice_low / 2, span = (twice_high - twice_low) / 2;
  v = std::fabs(v - lo);
  const double extra = std::fmod(v, span);
  const int64_t flips = static_cast<int64_t>(std::floor(v / span));
  return flips % 2 == 0 ? extra + lo : span - extra + lo;
}

// Border and reflection padding move a coordinate into the picture; zeros leaves it.
double pad_coordinate(double v, int64_t size, const P& p) {
  const double last = static_cast<double>(size - 1);
  if (p.padding == P::Padding::kBorder) return std::clamp(v, 0.0, last);
  if (p.padding == P::Padding::kReflection) {
    v = p.align_corners ? reflect(v, 0, 2 * last) : reflect(v, -1, 2 * static_cast<double>(size) - 1);
    return std::clamp(v, 0.0, last);
  }
  return v;
}

// The pixel at integral coordinates (yy, xx) of one plane, 0 outside it (NaN and huge
// coordinates from a wild grid included).
double pixel(const float* plane, const P& p, double yy, double xx) {
  if (!(yy >= 0 && yy < static_cast<double>(p.h) && xx >= 0 && xx < static_cast<double>(p.w))) return 0.0;
  return plane[static_cast<int64_t>(yy) * p.w + static_cast<int64_t>(xx)];
}

constexpr double kCubicA = -0.75;
double cubic1(double t) { return ((kCubicA + 2) * t - (kCubicA + 3)) * t * t + 1; }              // |t| <= 1
double cubic2(double t) { return ((kCubicA * t - 5 * kCubicA) * t + 8 * kCubicA) * t - 4 * kCubicA; }  // 1 < |t| < 2

}  // namespace

void grid_sample_f32(const P& p, const float* x, const float* grid, float* y) {
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t oy = 0; oy < p.out_h; ++oy)
      for (int64_t ox = 0; ox < p.out_w; ++ox) {
        const float* g = grid + ((n * p.out_h + oy) * p.out_w + ox) * 2;
        const double ix0 = unnormalize(g[0], p.w, p.align_corners), iy0 = unnormalize(g[1], p.h, p.align_corners);
        for (int64_t c = 0; c < p.c; ++c) {
          const float* plane = x + (n * p.c + c) * p.h * p.w;
          double v = 0;
          if (p.mode == P::Mode::kBicubic) {
            // 4x4 neighbours around the unpadded point; padding applies to each neighbour's index.
            const double fx = std::floor(ix0), fy = std::floor(iy0), tx = ix0 - fx, ty = iy0 - fy;
            const double wx[4] = {cubic2(tx + 1), cubic1(tx), cubic1(1 - tx), cubic2(2 - tx)};
            const double wy[4] = {cubic2(ty + 1), cubic1(ty), cubic1(1 - ty), cubic2(2 - ty)};
            for (int j = 0; j < 4; ++j)
              for (int i = 0; i < 4; ++i) {
                const double px = pad_coordinate(fx - 1 + i, p.w, p), py = pad_coordinate(fy - 1 + j, p.h, p);
                v += wx[i] * wy[j] * pixel(plane, p, py, px);
              }
          } else {
            const double ix = pad_coordinate(ix0, p.w, p), iy = pad_coordinate(iy0, p.h, p);
            if (p.mode == P::Mode::kNearest) {
              v = pixel(plane, p, std::nearbyint(iy), std::nearbyint(ix));
            } else {
              const double x0 = std::floor(ix), y0 = std::floor(iy), tx = ix - x0, ty = iy - y0;
              v = pixel(plane, p, y0, x0) * (1 - tx) * (1 - ty) + pixel(plane, p, y0, x0 + 1) * tx * (1 - ty) +
                  pixel(plane, p, y0 + 1, x0) * (1 - tx) * ty + pixel(plane, p, y0 + 1, x0 + 1) * tx * ty;
            }
          }
          y[((n * p.c + c) * p.out_h + oy) * p.out_w + ox] = static_cast<float>(v);
        }
      }
}

}  // namespace qs::kernels::ref
