#!/usr/bin/env bash
# Regenerates data/corpus/: 16 real dumps, the 8 prompts of data/corpus/prompts
# captured by kvsim from both shared models (../shared/data/models): the
# TinyStories-656K safetensors checkpoint (HF layout, rotate-half RoPE) and the
# llama2.c stories260K checkpoint (interleaved RoPE). Each prompt is cut to its
# shortest leading run of words (line breaks kept) that makes a dump of at
# least 300 tokens: the context, the question, and 24 greedily generated
# tokens (stories260K's 512-token vocabulary spends about twice as many tokens
# on the same words). Storage is f16 without pre-RoPE queries, in the compact
# layout (HDF5 1.10, shuffle + deflate), so that the corpus stays under 6 MiB.
# The same machine (OpenBLAS build and CPU) reproduces the bytes; another may
# round a few f16 elements the other way (data/README.md, question_len).
# Usage: scripts/make-corpus.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
kvsim="$build/kvsim"
models="${KVSIM_SHARED_MODELS:-$root/../shared/data/models}"
prompts="$root/data/corpus/prompts"
out="$root/data/corpus"
min_tokens=300
[[ -x "$kvsim" ]] || { echo "make-corpus: $kvsim not built (scripts/build.sh)" >&2; exit 1; }
for f in "$models/tinystories-656k/model.safetensors" "$models/stories260K/stories260K.bin"; do
  [[ -f "$f" ]] || { echo "make-corpus: $f not found" >&2; exit 1; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

tokens_of() { "$kvsim" inspect "$1" | awk '$1 == "n_tokens:" { print $2 }'; }

# The first $1 words of file $2, line breaks kept.
first_words() {
  awk -v n="$1" '{ line = ""; for (i = 1; i <= NF && n > 0; ++i) { line = line (line == "" ? "" : " ") $i; --n }
                   print line; if (n <= 0) exit }' "$2"
}

capture() {  # model-args... -- prompt question out
  local args=() ; while [[ "$1" != "--" ]]; do args+=("$1"); shift; done; shift
  "$kvsim" capture "${args[@]}" --prompt-file "$1" --question-file "$2" --generate 24 --ignore-eos \
    --dtype f16 --no-q-pre-rope --compact --out "$3" >/dev/null 2>"$work/capture.log" ||
    { cat "$work/capture.log" >&2; exit 1; }
}

# The shortest prefix of the prompt (in words) whose dump reaches $min_tokens.
capture_shortest() {  # name model-args...
  local name="$1"; shift
  local prompt="$prompts/$name.txt" question="$prompts/$name.question.txt" dump="$out/$label-$name.h5"
  local lo=1 hi; hi="$(wc -w < "$prompt")"
  capture "$@" -- "$prompt" "$question" "$dump"
  (( $(tokens_of "$dump") >= min_tokens )) ||
    { echo "make-corpus: $name gives $(tokens_of "$dump") tokens on $label (< $min_tokens)" >&2; exit 1; }
  while (( lo < hi )); do
    local mid=$(( (lo + hi) / 2 ))
    first_words "$mid" "$prompt" > "$work/prompt.txt"
    capture "$@" -- "$work/prompt.txt" "$question" "$dump"
    if (( $(tokens_of "$dump") >= min_tokens )); then hi=$mid; else lo=$(( mid + 1 )); fi
  done
  first_words "$lo" "$prompt" > "$work/prompt.txt"
  capture "$@" -- "$work/prompt.txt" "$question" "$dump"
  echo "$label-$name.h5" >> "$work/list.txt"
}

: > "$work/list.txt"
for prompt in "$prompts"/*.txt; do
  case "$prompt" in *.question.txt) continue ;; esac
  name="$(basename "$prompt" .txt)"
  label=tinystories656k capture_shortest "$name" --model "$models/tinystories-656k" --model-name TinyStories-656K
  label=stories260k capture_shortest "$name" --model "$models/stories260K/stories260K.bin" \
    --tokenizer "$models/stories260K/tok512.bin" --model-name stories260K
done
{
  echo "# The bundled real corpus (scripts/make-corpus.sh): 8 prompts x 2 models."
  cat "$work/list.txt"
} > "$out/corpus.txt"
du -ch "$out"/*.h5 | tail -1
