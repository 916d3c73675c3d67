// Reference GridSample (ONNX opset 16, 4-D): samples x [N, C, H, W] at the normalised (x, y)
// points of grid [N, Ho, Wo, 2] by nearest, bilinear or bicubic interpolation, with zeros,
// border or reflection padding, as PyTorch's grid_sample (which ONNX's definition follows).
#pragma once
#include <cstdint>

namespace qs::kernels::ref {

struct GridSampleParams {
  enum class Mode { kBilinear, kNearest, kBicubic };
  enum class Padding { kZeros, kBorder, kReflection };
  int64_t n = 1, c = 1, h = 1, w = 1, out_h = 1, out_w = 1;
  Mode mode = Mode::kBilinear;
  Padding padding = Padding::kZeros;
  bool align_corners = false;
};

void grid_sample_f32(const GridSampleParams& p, const float* x, const float* grid, float* y);

}  // namespace qs::kernels::ref
