#!/usr/bin/env bash
# Sets everything up and runs qscope on the bundled default: the MobileNetV2-style
# Fashion-MNIST model on its 8 bundled test images.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
bash scripts/setup.sh "$BUILD_DIR" >/dev/null
MODEL=tests/data/fmnist/mobilenet_tiny_fmnist.onnx
"$BUILD_DIR"/qscope inspect "$MODEL"
echo
"$BUILD_DIR"/qscope run "$MODEL" --input tests/data/fmnist/images \
  --mean 0.2860 --std 0.3530 --top 3 --save-outputs "${OUT_DIR:-out/demo}"
