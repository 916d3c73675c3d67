#!/usr/bin/env bash
# Builds the fuzz targets with clang (libFuzzer + ASan + UBSan) in build-fuzz/ and runs each for
# a set time on its corpus (fuzz/corpus/<target>/, seeded from the test data).
# Usage: fuzz/run.sh [seconds per target, default 60] [target...]
# New inputs the fuzzer finds go to build-fuzz/corpus/<target>/ (the repo's corpus is only read);
# crashes to build-fuzz/crashes/<target>/: turn each into a file under tests/fuzz_regressions/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
[ "$SECONDS_PER_TARGET" -ge 1 ] || { echo "fuzz/run.sh: seconds must be >= 1" >&2; exit 2; }
shift || true
BUILD=build-fuzz
ALL=(onnx_model qdq_model npy wav tensor_pb image calib_cache plan_json report_json)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")

cmake -S fuzz -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g" >/dev/null
cmake --build "$BUILD" -j "${FUZZ_BUILD_JOBS:-$(nproc)}" --target $(printf 'fuzz_%s ' "${TARGETS[@]}")

export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
summary=()
for t in "${TARGETS[@]}"; do
  mkdir -p "$BUILD/corpus/$t" "$BUILD/crashes/$t"
  log="$BUILD/fuzz_$t.log"
  set +e
  "$BUILD/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=20 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$BUILD/crashes/$t/" \
    "$BUILD/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s+=$2} END {print s+0}')
  crashes=$(find "$BUILD/crashes/$t" -type f | wc -l)
  summary+=("$(printf '%-12s rc=%-3s executions=%-9s crash files=%s' "$t" "$rc" "$execs" "$crashes")")
done
printf '%s\n' "${summary[@]}"
