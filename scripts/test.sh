#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine, builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
bash scripts/setup.sh "$BUILD_DIR"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" --timeout 900 -LE conformance
# ONNX's backend node tests, with the summary of how many ran and passed.
ctest --test-dir "$BUILD_DIR" --output-on-failure --verbose -L conformance --timeout 900 | grep -E '^[0-9]+: (ONNX node conformance|\[  FAILED)|tests passed|tests failed'
# The same tests (but the conformance suite) built with ASan + UBSan in build-asan/.
[ "${QSCOPE_SKIP_SANITIZE:-0}" = 1 ] || bash scripts/test_sanitize.sh
