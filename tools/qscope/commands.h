// The subcommands; each registers its options and sets `action` when chosen.
#pragma once
#include <functional>

namespace CLI {
class App;
}

namespace qs::cli {

void add_inspect_command(CLI::App& app, std::function<int()>& action);
void add_run_command(CLI::App& app, std::function<int()>& action);

}  // namespace qs::cli
