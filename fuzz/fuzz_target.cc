// One libFuzzer target per reader; QS_FUZZ_ENTRY (set by fuzz/CMakeLists.txt) names the
// entry point of fuzz/entry_points.h that this binary feeds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "entry_points.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qs::fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qs::fuzz::QS_FUZZ_ENTRY(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
