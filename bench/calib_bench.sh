#!/usr/bin/env bash
# Calibration throughput (images per second) and peak memory for the bundled models, with
# entropy calibration on Fashion-MNIST training images: 500 and 5000 images, to show that
# memory does not grow with the amount of data (histograms are streamed).
#   bash bench/calib_bench.sh [BUILD_DIR]     (default build/; needs /usr/bin/python3 with numpy)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
QSCOPE=$BUILD/qscope
[ -x "$QSCOPE" ] || { echo "calib_bench: $QSCOPE not built (ninja -C $BUILD qscope)" >&2; exit 1; }
DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT
/usr/bin/python3 scripts/fmnist_npy.py "$DATA/500" --calib 500 --test 1 >/dev/null
/usr/bin/python3 scripts/fmnist_npy.py "$DATA/5000" --calib 5000 --test 1 >/dev/null
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
printf '%-28s %7s %6s %9s %12s %12s %10s\n' model images batch method "img/s total" "img/s FP32" "peak MiB"
for model in lenet_fmnist mobilenet_tiny_fmnist; do
  for n in 500 5000; do
    for method in entropy minmax; do
      line=$("$QSCOPE" calibrate "tests/data/fmnist/$model.onnx" --data "$DATA/$n/calib.npy" --batch 32 \
             --method "$method" --progress off -o "$DATA/$model.cache" | grep '^calibrate:')
      fp32=$(sed -E 's/.*FP32 runs [0-9.]+ s \(([0-9.]+) samples\/s\).*/\1/' <<<"$line")
      total=$(sed -E 's/.*total [0-9.]+ s \(([0-9.]+) samples\/s\).*/\1/' <<<"$line")
      peak=$(sed -E 's/.*peak memory ([0-9.]+) MiB.*/\1/' <<<"$line")
      printf '%-28s %7s %6s %9s %12s %12s %10s\n' "$model" "$n" 32 "$method" "$total" "$fp32" "$peak"
    done
  done
done
echo "calib_bench: $(nproc) cores; img/s total includes computing the ranges (2048-bin histograms, entropy scan)"
