#!/usr/bin/env bash
# Sorts the fuzzers' findings (build-fuzz/findings/) by who owns the bug, and
# checks what a user would see: for each finding it
#   1. replays it through its instrumented harness and names the first stack
#      frame outside the sanitizer runtime: in a system library (libhdf5, …)
#      or in kvsim's own code;
#   2. for kvdump findings, runs the Release binary (`kvsim inspect --stats`)
#      on it and checks that it ends with exit 1 and one stderr line naming
#      the file (kvsim's watchdog and crash guard around libhdf5).
# usage: scripts/triage-fuzz-findings.sh [FINDINGS_DIR] [RELEASE_KVSIM]
# Exit 1 when a finding is in kvsim's code or a kvdump finding does not end
# in one clear error line.
set -uo pipefail
cd "$(dirname "$0")/.."
findings=${1:-build-fuzz/findings}
kvsim=${2:-build/kvsim}
fuzz_dir=$(dirname "$findings")
status=0
for f in "$findings"/*; do
  [ -f "$f" ] || continue
  name=$(basename "$f")
  harness=${name%%-crash-*}; harness=${harness%%-oom-*}; harness=${harness%%-timeout-*}; harness=${harness%%-leak-*}
  kind=$(echo "$name" | sed -E 's/^.*-(crash|oom|timeout|leak)-.*$/\1/')
  frame="(no stack: hang or allocation limit)"
  if [ "$kind" = crash ] && [ -x "$fuzz_dir/$harness" ]; then
    frame=$(ASAN_OPTIONS=detect_leaks=0 timeout 30 "$fuzz_dir/$harness" "$f" 2>&1 |
      grep -E '^ +#[0-9]+ 0x' | grep -vE 'libasan|libubsan|interceptor|fuzzer::|LLVMFuzzer|libc\.so|sysdeps/|in __mem|in malloc|in free|in operator' |
      head -1 | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ //; s/ \(BuildId.*//' | cut -c1-120)
    case "$frame" in
      '') frame="(does not reproduce alone)" ;;
      *libhdf5*|*libz*|*libsz*) ;;
      *) echo "KVSIM BUG? $name: $frame"; status=1 ;;
    esac
  fi
  verdict=""
  if [ "$harness" = fuzz_kvdump ] && [ -x "$kvsim" ]; then
    err=$(KVSIM_IO_TIMEOUT=2 timeout 60 "$kvsim" inspect --stats "$f" 2>&1 >/dev/null); rc=$?
    # glibc prints its own line first when it aborts on the heap libhdf5 corrupted
    lines=$(printf '%s\n' "$err" | grep -vE '^(free|malloc|realloc|munmap_chunk)\(\): |^double free|^corrupted ' | grep -c .)
    if [ "$rc" = 1 ] && [ "$lines" = 1 ] && printf '%s' "$err" | grep -qF "$name"; then verdict="kvsim: exit 1, one line"
    elif [ "$rc" = 0 ]; then verdict="kvsim: reads it (exit 0)"
    else verdict="kvsim: exit $rc, $lines lines: BAD"; status=1; fi
  fi
  printf '%-8s %-24s %s | %s\n' "$kind" "$harness" "$frame" "$verdict"
done
exit $status
