// The image preprocessing options shared by run, calibrate, rank and sweep.
#pragma once
#include <string>

#include "app/inputs.h"

namespace CLI {
class App;
}

namespace qs::cli {

struct ImageArgs {
  std::string size, mean, std, scale, channels;
  void add_to(CLI::App* cmd);
  Expected<app::InputOptions> to_options() const;
};

}  // namespace qs::cli
