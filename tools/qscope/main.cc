// qscope: find the layers that break INT8 accuracy. Argument parsing and wiring only.
#include <CLI/CLI.hpp>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdio>
#include <cstdlib>

#include "cli_common.h"
#include "commands.h"
#include "core/shape.h"

int main(int argc, char** argv) {
  // OpenMP threads that spin long while waiting (libgomp's default: 300,000 spins) make every
  // parallel region cost milliseconds when another process holds a core, which a long sweep
  // on a shared machine cannot afford; threads that sleep at once (OMP_WAIT_POLICY=PASSIVE)
  // pay a wake-up per region, 15-20 % of MobileNetV2 at batch 1 on two idle cores. A brief
  // spin, then sleep (as ONNX Runtime's pool does), keeps both: GOMP_SPINCOUNT=1000 (tens of
  // microseconds, by the CPU's pause). A sweep touches a new activation cache and a new plan's
  // buffers at every step: with glibc's heap on transparent huge pages (glibc.malloc.hugetlb=1,
  // where the kernel allows them on request) a ResNet-50 sweep takes 5k page faults instead
  // of 250k, and 15-25 % less time. libgomp and glibc read these settings when they load,
  // before main, so qscope restarts itself once with them set; a user's own OMP_WAIT_POLICY,
  // GOMP_SPINCOUNT or GLIBC_TUNABLES is kept.
  bool restart = false;
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT")) {
    ::setenv("GOMP_SPINCOUNT", "1000", 1);
    restart = true;
  }
#if defined(__GLIBC__)
  if (!std::getenv("GLIBC_TUNABLES")) {
    ::setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 1);
    restart = true;
  }
#endif
  if (restart) {
    // The binary's own path, so that the process keeps its name ("exe" otherwise, in ps and top).
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) self[n] = '\0';
    ::execv(n > 0 ? self : "/proc/self/exe", argv);  // returns only on failure: then run as we are
  }
#if defined(__GLIBC__)
  // Buffers of a few MiB (activations, a plan's arena, packed weights) come and go with every
  // step of a sweep. By default glibc gives freed blocks above its mmap threshold back to the
  // kernel and trims the heap's top, so the next step faults every page in again, zeroed by the
  // kernel: a quarter to a third of a ResNet-50 sweep's time on a 2-core virtual machine. Blocks
  // of up to 32 MiB stay on the heap, which is trimmed only above 1 GiB of free space and grows
  // 256 MiB at a time (address space, not resident memory); a user's MALLOC_* settings win.
  if (!std::getenv("MALLOC_MMAP_THRESHOLD_") && !std::getenv("MALLOC_TRIM_THRESHOLD_") &&
      !std::getenv("MALLOC_TOP_PAD_")) {
    ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
    ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
    ::mallopt(M_TOP_PAD, 256 << 20);
  }
#endif
  CLI::App app{"qscope: finds the layers of a neural network that ruin its INT8 accuracy"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "qscope 0.1.0");
  std::function<int()> action;
  qs::cli::add_inspect_command(app, action);
  qs::cli::add_run_command(app, action);
  qs::cli::add_calibrate_command(app, action);
  qs::cli::add_rank_command(app, action);
  qs::cli::add_sweep_command(app, action);
  qs::cli::add_analyze_command(app, action);
  qs::cli::add_export_command(app, action);
  qs::cli::add_report_command(app, action);
  // Every command takes --max-tensor-mb: the largest tensor (model weights, inputs, activations)
  // it will allocate; larger ones are refused with an error before allocation.
  int64_t max_tensor_mb = 0;
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    sub->add_option("--max-tensor-mb", max_tensor_mb,
                    "Refuse tensors larger than this many MiB (default: 16384)")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    for (char& c : msg)
      if (c == '\n') c = ' ';
    std::fprintf(stderr, "qscope: usage error: %s (see qscope --help)\n", msg.c_str());
    return qs::cli::kBadUsage;
  }
  if (max_tensor_mb > 0) qs::set_max_tensor_bytes(max_tensor_mb << 20);
  try {
    return action ? action() : qs::cli::kBadUsage;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "qscope: error: out of memory\n");
    return qs::cli::kBadInput;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qscope: internal error: %s\n", e.what());
    return qs::cli::kFailure;
  }
}
