// Image files (PNG, JPEG, binary and ASCII PGM/PPM) decoded into a float32 NCHW tensor
// [1, C, H, W] with the usual preprocessing: channel conversion, optional bilinear resize,
// then x * scale, then (x - mean[c]) / std[c].
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace qs::io {

// Largest width or height accepted, for both the file and the requested size.
inline constexpr int64_t kMaxImageSide = 32768;

struct ImageOptions {
  enum class Channels { kGray, kRgb, kBgr };

  int64_t height = 0;  // 0 with width 0 keeps the image's size; both > 0 resize (bilinear)
  int64_t width = 0;
  Channels channels = Channels::kGray;
  // Pixels are on the 0..255 scale whatever the file's bit depth (16-bit PNM is rescaled),
  // multiplied by scale first.
  float scale = 1.0f / 255.0f;
  // Then (x - mean[c]) / std[c]; each holds one value for all channels or one per channel.
  std::vector<float> mean{0.0f};
  std::vector<float> std{1.0f};
};

// 1 for kGray, 3 for kRgb and kBgr.
int64_t channel_count(ImageOptions::Channels c);

// Decodes and preprocesses one image. Colour to gray uses the ITU-R BT.601 luma weights
// (0.299 R + 0.587 G + 0.114 B); gray to colour replicates; an alpha channel is dropped.
Expected<Tensor> read_image(const std::string& path, const ImageOptions& opt);

// True when the extension (case-insensitive) is one read_image decodes: .png .jpg .jpeg .pgm .ppm.
bool is_image_path(const std::string& path);

}  // namespace qs::io
