#!/usr/bin/env bash
# Installs qscope's build and test dependencies from Debian's packages and builds it.
# Usage: scripts/setup.sh [build-dir]   (default: build; CMAKE_BUILD_TYPE honoured, default Release)
#        scripts/setup.sh --deps-only   (installs the packages, builds nothing; bench/run uses it)
set -euo pipefail
cd "$(dirname "$0")/.."
DEPS_ONLY=0
if [ "${1:-}" = "--deps-only" ]; then
  DEPS_ONLY=1
  shift
fi
BUILD_DIR="${1:-build}"

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libonnx-dev libprotobuf-dev protobuf-compiler   # ONNX model reading, checker, shape inference
  libdnnl-dev                                     # oneDNN: fast Conv/ConvTranspose/Gemm/MatMul
  ocl-icd-opencl-dev                              # Debian's oneDNN CMake config requires OpenCL (only recommended by libdnnl-dev)
  libcli11-dev nlohmann-json3-dev libfmt-dev      # command line, JSON, formatting
  libxxhash-dev                                   # hashing: activation signatures, file digests
  libstb-dev                                      # PNG/JPEG/PGM decoding and resizing
  libgtest-dev libgmock-dev libbenchmark-dev      # tests and benchmarks
  libonnx-testdata                                # ONNX's backend node tests: the conformance suite
  dataset-fashion-mnist                           # real calibration and test images
  python3-onnx python3-numpy                      # scripts that generate test and benchmark models
  chromium                                        # headless browser for the HTML report's test
  clang libclang-rt-14-dev                        # fuzz/run.sh: libFuzzer, ASan and UBSan runtimes for clang
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ "$DEPS_ONLY" -eq 1 ] && exit 0

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}" ${QSCOPE_CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$(nproc)"
