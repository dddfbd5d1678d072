#!/usr/bin/env bash
# README command 1: install dependencies, build, and run the main job on the
# bundled real corpus (data/corpus/: 16 dumps, 8 prompts x 2 models): replay
# sweep of every policy with aggregates and 95% intervals over dumps, the
# KeyDiff correlation per dump and over the corpus, corpus figures; then the
# per-dump figures (heatmap, PCA, diversity) and every notebook on the
# bundled dump data/tinystories656k-kite.h5 and on the corpus. Everything lands in out/main/
# (figures in out/main/figures/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
KVSIM=build/kvsim
DUMP=${KVSIM_MAIN_DUMP:-data/tinystories656k-kite.h5}
CORPUS=${KVSIM_MAIN_CORPUS:-data/corpus/corpus.txt}
OUT=out/main
FIG=$OUT/figures
mkdir -p "$OUT" "$FIG"

echo "== corpus sweep: every policy x budgets 2%..50%, block 128, on $CORPUS"
"$KVSIM" sweep --dump-list "$CORPUS" --policies all --budgets 0.02,0.05,0.1,0.2,0.3,0.5 --block 128 \
  --out "$OUT/corpus_sweep"

echo "== corpus analysis: KeyDiff distinctiveness vs attention, per dump and over the corpus"
"$KVSIM" analyze --dump-list "$CORPUS" --correlation --out "$OUT/corpus_analysis"

echo "== corpus figures (mean over dumps, 95% bootstrap interval)"
"$KVSIM" plot recall --in "$OUT/corpus_sweep" --out "$FIG" --name corpus_recall
"$KVSIM" plot layer-error --in "$OUT/corpus_sweep" --out "$FIG" --name corpus_layer_error
"$KVSIM" plot diversity --in "$OUT/corpus_analysis" --out "$FIG" --name corpus_diversity

echo "== dump"
"$KVSIM" inspect "$DUMP" --stats

echo "== replay sweep of the bundled dump: every policy x budgets 2%..50%, block 128"
"$KVSIM" sweep --dump "$DUMP" --policies all --budgets 0.02,0.05,0.1,0.2,0.3,0.5 --block 128 --out "$OUT/sweep"

echo "== analysis: KeyDiff distinctiveness vs attention; PCA key diversity with keydiff's kept set at 10%"
"$KVSIM" analyze --dump "$DUMP" --correlation --out "$OUT/analysis"
"$KVSIM" analyze --dump "$DUMP" --pca --policy keydiff --budget 0.1 --out "$OUT/analysis"

echo "== figures"
"$KVSIM" plot recall --in "$OUT/sweep" --out "$FIG"
"$KVSIM" plot layer-error --in "$OUT/sweep" --out "$FIG"
"$KVSIM" plot heatmap --in "$OUT/sweep" --policy keydiff --budget 0.1 --out "$FIG" --name heatmap_keydiff_10pct
"$KVSIM" plot pca --in "$OUT/analysis" --layer 1 --head 0 --out "$FIG"
"$KVSIM" plot diversity --in "$OUT/analysis" --out "$FIG"

# nb_offline_validity runs the checkpoints themselves: the shared models
# (never in this repository), found beside it or through KVSIM_SHARED_MODELS.
MODELS=${KVSIM_SHARED_MODELS:-../shared/data/models}
for nb in build/nb_*; do
  [ -x "$nb" ] || continue
  name=$(basename "$nb"); name=${name#nb_}
  extra=()
  if [ "$name" = offline_validity ]; then
    if [ ! -d "$MODELS/tinystories-656k" ] || [ ! -d "$MODELS/stories260K" ]; then
      echo "== notebook $name skipped: the shared models are not in $MODELS (set KVSIM_SHARED_MODELS)"
      continue
    fi
    extra=(--models "$MODELS")
  fi
  echo "== notebook $name"
  "$nb" --dump "$DUMP" --out "$OUT/notebooks/$name" "${extra[@]}"
  echo "== notebook $name on the corpus"
  "$nb" --dump-list "$CORPUS" --out "$OUT/notebooks/${name}_corpus" "${extra[@]}" > /dev/null
done

echo
echo "Done. Corpus: $OUT/corpus_sweep/{results,aggregate}.csv, $OUT/corpus_analysis/correlation_corpus.csv;"
echo "bundled dump: $OUT/sweep/results.csv; analysis CSVs: $OUT/analysis/;"
echo "figures (PNG + SVG): $FIG/ and $OUT/notebooks/*/; notebook reports: $OUT/notebooks/*/report.md"
echo "(*_corpus/report.md: each number's mean over the corpus with its 95% interval)"
