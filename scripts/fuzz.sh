#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang (ASan + UBSan) and runs each for
# FUZZ_SECONDS (default 60) on its seed corpus in tests/fuzz/corpus_<name>.
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
for h in "${harnesses[@]}"; do
  corpus="tests/fuzz/corpus_${h#fuzz_}"
  work="$BUILD_DIR/corpus_${h#fuzz_}"
  mkdir -p "$work"
  echo "== $h for ${FUZZ_SECONDS:-60} s (seed corpus $corpus)" >&2
  # Fork mode keeps fuzzing past inputs on which libhdf5 itself hangs (reported, not fatal).
  ASAN_OPTIONS=detect_leaks=0 "$BUILD_DIR/$h" -fork=1 -ignore_timeouts=1 -ignore_ooms=1 -ignore_crashes=1 \
    -max_total_time="${FUZZ_SECONDS:-60}" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$BUILD_DIR/findings/$h-" \
    "$work" "$corpus" 2>&1 | tee "$BUILD_DIR/$h.log" | grep -E "DONE|INFO: fuzzed|crash|==ERROR|SUMMARY" | tail -5 || true
done
ls -la "$BUILD_DIR/findings"
