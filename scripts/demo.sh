#!/usr/bin/env bash
# Sets everything up and runs qscope's main job on the bundled default: the sweep over a
# trained MobileNetV2-style Fashion-MNIST model into which one INT8 fault was planted
# (tests/data/fmnist/plant_outlier.py: FP32 unchanged, one tensor's INT8 range stretched
# 1000-fold). It calibrates on 8 bundled images (entropy, as TensorRT), runs the layer-by-layer
# sweep on two bundled test images and prints the table, the layer it sends back to FP32 and
# the plan. Outputs land in out/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
bash scripts/setup.sh "$BUILD_DIR" >/dev/null
DATA=tests/data/fmnist
OUT="${OUT_DIR:-out/demo}"
mkdir -p "$OUT"
"$BUILD_DIR"/qscope sweep "$DATA/mobilenet_tiny_fmnist_planted.onnx" \
  --input "$DATA/images/test0_boot.png" "$DATA/images/test6_coat.png" --mean 0.2860 --std 0.3530 \
  --calib-data "$DATA/ref/fmnist_test_0-7.input.npy" \
  --out "$OUT" --csv "$OUT/table.csv" --dump-dir "$OUT/dump"
echo
echo "plan ($OUT/plan.json):"
cat "$OUT/plan.json"
