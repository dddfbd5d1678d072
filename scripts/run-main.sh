#!/usr/bin/env bash
# README command 1: install dependencies, build, and run the main job on the
# bundled default data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
KVSIM=build/kvsim
DUMP=data/synthetic-default.h5
if [ ! -f "$DUMP" ]; then
  "$KVSIM" synth --out "$DUMP" --layers 4 --heads 8 --kv-heads 2 --head-dim 32 --tokens 1024 --seed 0
fi
"$KVSIM" inspect "$DUMP" --stats
