#!/usr/bin/env bash
# Sweep speed: the prefix sweep with activation reuse against --no-reuse (every step from the
# inputs), and --jobs 2 against --jobs 1, on the bundled models and the generated
# ResNet-50-shaped model; prints times, the ratios and peak memory (max RSS).
# Usage: bench/sweep_bench.sh [build-dir]   (default build-bench, built in Release)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build-bench}"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target qscope >/dev/null
[ -f bench/models/resnet50.onnx ] || /usr/bin/python3 bench/gen_models.py bench/models
# One 224x224 image for the sweep (the generated input holds a batch of 8).
[ -f bench/models/resnet50.one.npy ] || /usr/bin/python3 -c "
import numpy as np; np.save('bench/models/resnet50.one.npy', np.load('bench/models/resnet50.input.npy')[:1])"
Q="$BUILD/qscope"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

# model | inputs | calibration data
CASES=(
  "tests/data/fmnist/lenet_fmnist.onnx|tests/data/fmnist/images/test0_boot.png tests/data/fmnist/images/test6_coat.png|tests/data/fmnist/ref/fmnist_test_0-7.input.npy"
  "tests/data/fmnist/mobilenet_tiny_fmnist.onnx|tests/data/fmnist/images/test0_boot.png tests/data/fmnist/images/test6_coat.png|tests/data/fmnist/ref/fmnist_test_0-7.input.npy"
  "bench/models/resnet50.onnx|bench/models/resnet50.one.npy|bench/models/resnet50.input.npy"
)

timed() {  # prints "seconds peak_MiB" of a command
  /usr/bin/time -f "%e %M" -o "$TMP/time" "$@" >/dev/null 2>&1
  awk '{printf "%.2f %.0f\n", $1, $2/1024}' "$TMP/time"
}

printf "%-28s %6s | %9s %9s %6s | %9s %6s | %8s %8s\n" model layers reuse_s noreuse_s ratio jobs2_s ratio reuseMiB noreuseMiB
for c in "${CASES[@]}"; do
  IFS='|' read -r model inputs data <<<"$c"
  "$Q" calibrate "$model" --data $data --method minmax -o "$TMP/c.cache" --progress off >/dev/null 2>&1
  common=("$Q" sweep "$model" --input $inputs --mean 0.2860 --std 0.3530 --calib "$TMP/c.cache" --progress off)
  read -r t_reuse m_reuse < <(timed "${common[@]}" --out "$TMP/a")
  read -r t_noreuse m_noreuse < <(timed "${common[@]}" --out "$TMP/b" --no-reuse)
  read -r t_jobs2 m_jobs2 < <(timed "${common[@]}" --out "$TMP/c" --jobs 2)
  layers=$(python3 -c "import json;print(len(json.load(open('$TMP/a/report.json'))['steps']))")
  printf "%-28s %6s | %9s %9s %6.2f | %9s %6.2f | %8s %8s\n" "$(basename "$model")" "$layers" "$t_reuse" "$t_noreuse" \
    "$(echo "$t_noreuse / $t_reuse" | bc -l)" "$t_jobs2" "$(echo "$t_reuse / $t_jobs2" | bc -l)" "$m_reuse" "$m_noreuse"
done
echo "($(getconf _NPROCESSORS_ONLN) cores, OMP_WAIT_POLICY=$OMP_WAIT_POLICY, load $(cut -d' ' -f1 /proc/loadavg))"
