#!/usr/bin/env bash
# INT8 against FP32 latency of the same models on this CPU, in one run: the bundled models and
# the generated ResNet-50- and MobileNetV2-shaped ones. INT8 uses MinMax ranges from the
# models' own inputs; every layer that can runs INT8.
# Usage: bench/int8_vs_fp32.sh [build-dir] [threads]   (default build-bench, 1 thread)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build-bench}"
export OMP_NUM_THREADS="${2:-1}" OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target qscope infer_bench >/dev/null
[ -f bench/models/resnet50.onnx ] || /usr/bin/python3 bench/gen_models.py bench/models
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
printf "%-26s %5s | %9s %9s | %6s\n" model batch fp32_ms int8_ms speedup
run() {  # model data batch iters
  "$BUILD/qscope" calibrate "$1" --data "$2" --method minmax -o "$TMP/c.cache" --progress off >/dev/null 2>&1
  f=$("$BUILD/bench/infer_bench" "$1" "$3" "$4" "$2" | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')
  i=$("$BUILD/bench/infer_bench" "$1" "$3" "$4" "$2" --int8 "$TMP/c.cache" | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')
  printf "%-26s %5s | %9s %9s | %6.2f\n" "$(basename "$1")" "$3" "$f" "$i" "$(echo "$f / $i" | bc -l)"
}
run tests/data/fmnist/lenet_fmnist.onnx tests/data/fmnist/ref/fmnist_test_0-7.input.npy 8 200
run tests/data/fmnist/mobilenet_tiny_fmnist.onnx tests/data/fmnist/ref/fmnist_test_0-7.input.npy 8 100
run bench/models/mobilenetv2.onnx bench/models/mobilenetv2.input.npy 1 20
run bench/models/resnet50.onnx bench/models/resnet50.input.npy 1 10
echo "(threads=$OMP_NUM_THREADS, $(getconf _NPROCESSORS_ONLN) cores, load $(cut -d' ' -f1 /proc/loadavg))"
