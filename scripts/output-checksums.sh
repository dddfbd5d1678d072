#!/usr/bin/env bash
# Checksums of everything kvsim writes, for "behaviour unchanged" claims
# (refactors): results.csv, run.json and analyze.json without timings and
# paths, the analysis CSVs, the figures (SVG and PNG) and the notebooks'
# outputs, on the bundled dump and on two synthetic dumps (f32 with GQA;
# f16 without GQA, pre-RoPE queries, a hidden size unlike H*d).
# Run it before and after a change and diff the two listings.
# usage: scripts/output-checksums.sh BUILD_DIR WORK_DIR > checksums.txt
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR WORK_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$2
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
kvsim=$build/kvsim
quiet() { "$@" > /dev/null 2>> "$work/stderr.log"; }

quiet "$kvsim" synth --out "$work/synth_gqa.h5" --layers 3 --heads 8 --kv-heads 2 --head-dim 32 \
  --tokens 640 --seed 11
quiet "$kvsim" synth --out "$work/synth_f16.h5" --layers 2 --heads 4 --kv-heads 4 --head-dim 16 \
  --hidden 48 --tokens 400 --dtype f16 --q-pre-rope --seed 12
cp "$repo/data/tinystories656k-kite.h5" "$work/bundled.h5"

for name in bundled synth_gqa synth_f16; do
  dump=$work/$name.h5
  out=$work/$name
  quiet "$kvsim" sweep --dump "$dump" --policies all --budgets 0.05,0.2,0.5 --block 128 --out "$out/sweep"
  quiet "$kvsim" sweep --dump "$dump" --policies keydiff,snapkv,h2o,laprox --budgets 16,0.3 --block 0 \
    --sinks 2 --recent 8 --gqa max --out "$out/sweep_oneshot"
  quiet "$kvsim" replay --dump "$dump" --policy laprox --budget 0.25 --out "$out/replay_laprox"
  quiet "$kvsim" replay --dump "$dump" --policy keydiff --budget 0.1 --block 64 --out "$out/replay_keydiff"
  quiet "$kvsim" analyze --dump "$dump" --correlation --out "$out/analysis"
  quiet "$kvsim" analyze --dump "$dump" --pca --policy keydiff --budget 0.1 --out "$out/analysis"
  quiet "$kvsim" plot recall --in "$out/sweep" --out "$out/figures"
  quiet "$kvsim" plot layer-error --in "$out/sweep" --out "$out/figures"
  quiet "$kvsim" plot heatmap --in "$out/sweep" --policy keydiff --budget 0.2 --out "$out/figures"
  quiet "$kvsim" plot pca --in "$out/analysis" --layer 1 --head 0 --out "$out/figures"
  quiet "$kvsim" plot diversity --in "$out/analysis" --out "$out/figures"
  for nb in "$build"/nb_*; do
    [ -x "$nb" ] || continue
    quiet "$nb" --dump "$dump" --out "$out/notebooks/$(basename "$nb")"
  done
done

# Normalised copies: JSON without what legitimately changes between runs
# (timings, rates, the build's version, the host), and in every text file the
# work folder and gnuplot's private temporary folder replaced by fixed names.
python3 - "$work" <<'EOF'
import json, os, re, sys
work = sys.argv[1]
drop = re.compile(r'(seconds|_s$|time|timing|host|date|version|git|threads|flops|gflops|rate|throughput|started|finished)', re.I)
def text(s):
    return re.sub(r'kvsim-plot-[A-Za-z0-9]{6}', 'kvsim-plot-XXXXXX', s.replace(work, 'WORK'))
def clean(v):
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items() if not drop.search(k)}
    if isinstance(v, list):
        return [clean(x) for x in v]
    return text(v) if isinstance(v, str) else v
for root, _, files in os.walk(work):
    for f in files:
        p = os.path.join(root, f)
        if f.endswith('.json'):
            with open(p) as fh:
                out = json.dumps(clean(json.load(fh)), indent=1, sort_keys=True)
        elif f.endswith(('.svg', '.md')):
            with open(p, errors='surrogateescape') as fh:
                out = text(fh.read())
        else:
            continue
        with open(p + '.normalised', 'w', errors='surrogateescape') as fh:
            fh.write(out)
EOF

cd "$work"
find . -type f ! -name '*.h5' ! -name '*.json' ! -name '*.svg' ! -name '*.md' ! -name '.kvsim.lock' \
  ! -name stderr.log -print0 | sort -z | xargs -0 sha256sum
