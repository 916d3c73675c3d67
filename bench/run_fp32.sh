#!/usr/bin/env bash
# FP32 latency of qscope against ONNX Runtime (onnxruntime-node) at the same thread count.
#
#   bench/run_fp32.sh            # builds, generates models, installs onnxruntime-node when missing
#
# Environment: BUILD (build folder, default build-bench), THREADS (default "1 2"),
# ITERS_FACTOR (scales every iteration count, default 1), MODELS_DIR (default bench/models),
# OPS=1 (also print qscope's time per op type for every case), OMP_WAIT_POLICY / GOMP_SPINCOUNT
# (neither set: GOMP_SPINCOUNT=1000, a brief spin then sleep, as the command line; with libgomp's
# long default spin, any other load on a 2-core machine makes every OpenMP region of a 2-thread run
# wait for a descheduled thread, ~12 ms each).
# Prints (markdown): model | batch | threads | qscope ms | ORT ms | ratio (ORT/qscope, >1: qscope faster) |
# max abs diff (of the first output, qscope vs ORT, same input) | qscope min ms | ORT min ms.
# Times are medians of the timed runs; the minimums are there because the machine is shared.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
BUILD="${BUILD:-$ROOT/build-bench}"
MODELS_DIR="${MODELS_DIR:-$BENCH/models}"
THREADS="${THREADS:-1 2}"
ITERS_FACTOR="${ITERS_FACTOR:-1}"
PY=/usr/bin/python3
# libgomp's waits as the command line sets them (tools/qscope/main.cc): a brief spin, then sleep,
# unless the caller chose OMP_WAIT_POLICY or GOMP_SPINCOUNT.
[[ -z "${OMP_WAIT_POLICY+x}${GOMP_SPINCOUNT+x}" ]] && export GOMP_SPINCOUNT=1000
[[ -z "${OMP_WAIT_POLICY-}" ]] && unset OMP_WAIT_POLICY
FMNIST="$ROOT/tests/data/fmnist"
FMNIST_IN="$FMNIST/ref/fmnist_test_0-7.input.npy"

log() { echo "[run_fp32] $*" >&2; }

# 1. qscope, Release.
if [[ ! -f "$BUILD/build.ninja" ]]; then
  log "configuring $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
fi
log "building infer_bench"
ninja -C "$BUILD" -j2 infer_bench >&2
BIN="$BUILD/bench/infer_bench"

# 2. Generated models.
if [[ ! -f "$MODELS_DIR/resnet50.onnx" || ! -f "$MODELS_DIR/mobilenetv2.onnx" ||
      ! -f "$MODELS_DIR/resnet50.input.npy" || ! -f "$MODELS_DIR/mobilenetv2.input.npy" ]]; then
  log "generating models into $MODELS_DIR"
  "$PY" "$BENCH/gen_models.py" "$MODELS_DIR" >&2
fi

# 3. onnxruntime-node (its post-install download is skipped: the CPU library ships in the package).
if [[ ! -d "$BENCH/node_modules/onnxruntime-node" ]]; then
  log "installing onnxruntime-node"
  (cd "$BENCH" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund >&2)
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

median_of() { sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p' "$1"; }
min_of() { sed -n 's/.*min_ms=\([0-9.]*\).*/\1/p' "$1"; }

# model path | batch | iterations | input file
CASES=(
  "$FMNIST/lenet_fmnist.onnx|1|1000|$FMNIST_IN"
  "$FMNIST/lenet_fmnist.onnx|8|500|$FMNIST_IN"
  "$FMNIST/mobilenet_tiny_fmnist.onnx|1|500|$FMNIST_IN"
  "$FMNIST/mobilenet_tiny_fmnist.onnx|8|300|$FMNIST_IN"
  "$MODELS_DIR/mobilenetv2.onnx|1|100|$MODELS_DIR/mobilenetv2.input.npy"
  "$MODELS_DIR/resnet50.onnx|1|30|$MODELS_DIR/resnet50.input.npy"
)

ROWS=()
printf '%s\n' "| model | batch | threads | qscope ms | ORT ms | ratio (ORT/qscope) | max abs diff | qscope min ms | ORT min ms |"
printf '%s\n' "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
n=0
for c in "${CASES[@]}"; do
  IFS='|' read -r model batch iters input <<<"$c"
  iters=$(awk -v i="$iters" -v f="$ITERS_FACTOR" 'BEGIN { printf "%d", i * f }')
  (( iters < 3 )) && iters=3
  name="$(basename "$model" .onnx)"
  for t in $THREADS; do
    n=$((n + 1))
    qo="$TMP/q$n.npy"; oo="$TMP/o$n.npy"
    ops=(); [[ "${OPS:-0}" == 1 ]] && ops=(--ops)
    if OMP_NUM_THREADS=$t "$BIN" "$model" "$batch" "$iters" "$input" "$qo" "${ops[@]}" >"$TMP/q$n.log" 2>&1; then
      qms="$(median_of "$TMP/q$n.log")"; qmin="$(min_of "$TMP/q$n.log")"
      [[ "${OPS:-0}" == 1 ]] && { echo "$name batch=$batch threads=$t:" >&2; tail -n +2 "$TMP/q$n.log" >&2; }
    else
      qms="error"; qmin="-"
      log "qscope failed on $name batch=$batch threads=$t: $(tail -n 3 "$TMP/q$n.log" | tr '\n' ' ')"
    fi
    if OMP_NUM_THREADS=$t node "$BENCH/ort_bench.js" "$model" "$batch" "$iters" "$t" "$input" "$oo" >"$TMP/o$n.log" 2>&1; then
      oms="$(median_of "$TMP/o$n.log")"; omin="$(min_of "$TMP/o$n.log")"
    else
      oms="error"; omin="-"
      log "ORT failed on $name batch=$batch threads=$t: $(tail -n 3 "$TMP/o$n.log" | tr '\n' ' ')"
    fi
    ratio="-"; diff="-"
    if [[ "$qms" != error && "$oms" != error ]]; then
      ratio="$(awk -v a="$oms" -v b="$qms" 'BEGIN { printf "%.2f", a / b }')"
      diff="$("$PY" -c 'import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
print("shape %s vs %s" % (a.shape, b.shape) if a.shape != b.shape else "%.2e" % float(np.max(np.abs(a.astype(np.float64) - b))))' "$qo" "$oo")"
    fi
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$batch" "$t" "$qms" "$oms" "$ratio" "$diff" "$qmin" "$omin"
  done
done
echo
echo "qscope: OMP_NUM_THREADS=threads, OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-<unset>}, GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-<unset>}; ORT: intraOpNumThreads=threads," \
     "interOpNumThreads=1, graphOptimizationLevel=all, sequential. Medians of the timed runs; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
