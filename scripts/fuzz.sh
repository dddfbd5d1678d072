#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang (ASan + UBSan) and runs each on its
# seed corpus in tests/fuzz/corpus_<name>, for FUZZ_SECONDS (default 60) or,
# with FUZZ_RUNS=N, until N executions (whichever comes first).
# FUZZ_FORK=1 (the default) runs in fork mode, which keeps fuzzing past
# crashes and hangs (libhdf5 has both on corrupt files); FUZZ_FORK=0 runs in
# process, faster for harnesses that do not crash.
# usage: scripts/fuzz.sh [harness ...]     (default: every tests/fuzz/fuzz_*.cpp)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BUILD_DIR=${KVSIM_FUZZ_BUILD_DIR:-build-fuzz}
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKVSIM_FUZZ=ON \
  -DKVSIM_BUILD_TESTS=OFF -DKVSIM_BUILD_BENCH=OFF >/dev/null
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.cpp; do harnesses+=("$(basename "$f" .cpp)"); done
fi
cmake --build "$BUILD_DIR" -j "$(nproc)" --target "${harnesses[@]}"
mkdir -p "$BUILD_DIR/findings"
limits=(-max_total_time="${FUZZ_SECONDS:-60}")
[ -n "${FUZZ_RUNS:-}" ] && limits+=(-runs="$FUZZ_RUNS")
mode=(-fork=1 -ignore_timeouts=1 -ignore_ooms=1 -ignore_crashes=1)
[ "${FUZZ_FORK:-1}" = 0 ] && mode=()
for h in "${harnesses[@]}"; do
  corpus="tests/fuzz/corpus_${h#fuzz_}"
  work="$BUILD_DIR/corpus_${h#fuzz_}"
  mkdir -p "$work"
  echo "== $h: ${limits[*]} ${mode[*]} (seed corpus $corpus)" >&2
  start=$(date +%s)
  ASAN_OPTIONS=detect_leaks=0 "$BUILD_DIR/$h" "${mode[@]}" "${limits[@]}" -timeout="${FUZZ_TIMEOUT:-10}" \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$BUILD_DIR/findings/$h-" \
    "$work" "$corpus" >"$BUILD_DIR/$h.log" 2>&1 || true
  echo "$h: $(( $(date +%s) - start )) s; $(grep -E 'stat::number_of_executed_units|INFO: fuzzed for|DONE' "$BUILD_DIR/$h.log" | tail -2 | tr '\n' ' ')" >&2
done
ls -la "$BUILD_DIR/findings"
