#!/usr/bin/env bash
# Regenerates the bundled real dump data/tinystories656k-kite.h5 (see data/README.md)
# from the shared TinyStories-656K checkpoint with `kvsim capture`.
# usage: scripts/make-default-dump.sh [MODELS_DIR]   (default: ../shared/data/models)
# env:   KVSIM=path/to/kvsim (default: build/kvsim, built here if missing)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
models="${1:-$root/../shared/data/models}"
kvsim="${KVSIM:-$root/build/kvsim}"
if [[ ! -x "$kvsim" ]]; then
  cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build" -j2 --target kvsim
fi
if [[ ! -f "$models/tinystories-656k/model.safetensors" ]]; then
  echo "make-default-dump: $models/tinystories-656k/model.safetensors not found" >&2
  exit 1
fi
"$kvsim" capture \
  --model "$models/tinystories-656k" \
  --prompt-file "$root/data/prompts/tinystories_context.txt" \
  --question-file "$root/data/prompts/tinystories_question.txt" \
  --generate 64 \
  --model-name TinyStories-656K \
  --out "$root/data/tinystories656k-kite.h5"
