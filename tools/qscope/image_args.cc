#include "image_args.h"

#include <CLI/CLI.hpp>

#include "io/options_parse.h"

namespace qs::cli {

void ImageArgs::add_to(CLI::App* cmd) {
  auto* g = "Image preprocessing (x = (pixel * scale - mean) / std)";
  cmd->add_option("--size", size, "Resize images to HxW (default: the model input's H and W)")->group(g);
  cmd->add_option("--mean", mean, "Mean, one value or one per channel (default 0)")->group(g);
  cmd->add_option("--std", std, "Standard deviation, one value or one per channel (default 1)")->group(g);
  cmd->add_option("--scale", scale, "Pixel scale applied first (default 1/255)")->group(g);
  cmd->add_option("--channels", channels, "gray, rgb or bgr (default: from the model input's channel count)")->group(g);
}

Expected<app::InputOptions> ImageArgs::to_options() const {
  app::InputOptions o;
  if (!size.empty()) {
    QS_ASSIGN_OR_RETURN(io::ImageSize s, io::parse_size(size, "--size"));
    o.image.height = s.height;
    o.image.width = s.width;
    o.size_given = true;
  }
  if (!mean.empty()) { QS_ASSIGN_OR_RETURN(o.image.mean, io::parse_float_list(mean, "--mean")); }
  if (!std.empty()) { QS_ASSIGN_OR_RETURN(o.image.std, io::parse_float_list(std, "--std")); }
  if (!scale.empty()) { QS_ASSIGN_OR_RETURN(o.image.scale, io::parse_float(scale, "--scale")); }
  if (!channels.empty()) {
    QS_ASSIGN_OR_RETURN(o.image.channels, io::parse_channels(channels, "--channels"));
    o.channels_given = true;
  }
  return o;
}

}  // namespace qs::cli
