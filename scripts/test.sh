#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine, builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
bash scripts/setup.sh "$BUILD_DIR"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" --timeout 600
# The conformance summary (how many ONNX node tests ran and passed).
"$BUILD_DIR"/tests/conformance_onnx_node_test --gtest_brief=1 2>/dev/null | grep '^ONNX node conformance' || true
