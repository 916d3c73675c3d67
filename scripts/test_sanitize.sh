#!/usr/bin/env bash
# The second build type of CI: qscope built with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DQSCOPE_SANITIZE=ON, -O1) in build-asan/, running every test except the ~900-case ONNX
# conformance suite (which the plain build runs); neither that suite nor the benchmarks are built
# here. Any sanitizer report fails its test.
# Usage: scripts/test_sanitize.sh   (SANITIZE_BUILD_DIR overrides build-asan)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${SANITIZE_BUILD_DIR:-build-asan}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" \
  -DQSCOPE_SANITIZE=ON -DQSCOPE_BENCH=OFF -DQSCOPE_CONFORMANCE=OFF ${QSCOPE_CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$(nproc)"
# halt_on_error: the first finding fails the test. UBSan is built with -fno-sanitize-recover.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" --timeout 1800 -LE conformance
