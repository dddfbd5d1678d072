#!/usr/bin/env bash
# Which folder may include which: a folder with a DEPS file (in the spirit of
# Chromium's checkdeps) governs the .cpp/.hpp files below it, up to the next
# folder with its own DEPS file. Lines:
#   allow PATH                         its code may #include "PATH/..."
#                                      (a top-level folder or a subfolder)
#   exception FILE -> INCLUDED_PATH    one include that breaks the order for now
#                                      (a debt with a reason after '#'; it must
#                                      still occur, so a fixed one is removed)
# A folder may always include its own files and its subfolders'. This script
# checks every #include "x/..." in every .cpp/.hpp under a folder with a DEPS
# file and fails on an include the governing DEPS does not allow, and on an
# exception that no longer occurs. The order itself is in docs/ARCHITECTURE.md.
# usage: scripts/check-deps.sh [ROOT]   (default: the repository)
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
status=0
checked=0
declare -A allowed=()     # DEPS folder -> " allowed prefixes "
declare -A exceptions=()  # "FILE|INCLUDED" -> DEPS file, then "used"

mapfile -d '' deps_files < <(find . -name DEPS -type f ! -path './build*' ! -path './.git/*' -printf '%P\0' | sort -z)
[ "${#deps_files[@]}" -gt 0 ] || { echo "check-deps: no DEPS file under $root"; exit 2; }
for deps in "${deps_files[@]}"; do
  folder=${deps%/DEPS}
  list=" $folder "
  while read -r word a arrow b _; do
    case "$word" in
      allow) list+="$a " ;;
      exception)
        [ "$arrow" = "->" ] && [ -n "$b" ] || { echo "$deps: malformed line: exception $a $arrow $b"; status=1; continue; }
        exceptions["$a|$b"]=$deps ;;
      ''|'#'*) ;;
      *) echo "$deps: unknown directive '$word' (allow, exception)"; status=1 ;;
    esac
  done < <(sed 's/#.*//' "$deps")
  allowed[$folder]=$list
done

# The folder whose DEPS governs FILE: its nearest ancestor with a DEPS file.
governing() {
  local dir=${1%/*}
  while [ "$dir" != "$1" ] && [ -n "$dir" ]; do
    [ -n "${allowed[$dir]+set}" ] && { echo "$dir"; return; }
    [ "${dir%/*}" = "$dir" ] && break
    dir=${dir%/*}
  done
}

# Is INCLUDED inside one of the allowed prefixes?
permitted() {
  local included=$1 prefix
  for prefix in $2; do
    case "$included" in "$prefix"/*) return 0 ;; esac
  done
  return 1
}

top_folders=" "
for deps in "${deps_files[@]}"; do top_folders+="${deps%%/*} "; done
while IFS= read -r -d '' file; do
  folder=$(governing "$file")
  [ -n "$folder" ] || continue
  while IFS= read -r included; do
    target=${included%%/*}
    [ "$target" = "$included" ] && continue  # not a project path
    [ -d "$target" ] || continue             # a system or generated header
    checked=$((checked + 1))
    permitted "$included" "${allowed[$folder]}" && continue
    key="$file|$included"
    if [ -n "${exceptions[$key]+set}" ]; then exceptions[$key]=used; continue; fi
    echo "$file includes \"$included\": $folder/ may not depend on ${included%/*}/ (see $folder/DEPS and docs/ARCHITECTURE.md)"
    status=1
  done < <(grep -oE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[^"]+"' "$file" | sed -E 's/.*"([^"]+)"/\1/')
done < <(for top in $top_folders; do find "$top" \( -name '*.cpp' -o -name '*.hpp' \) -print0; done | sort -zu)

for key in "${!exceptions[@]}"; do
  if [ "${exceptions[$key]}" != used ]; then
    echo "${exceptions[$key]}: exception ${key%%|*} -> ${key#*|} no longer occurs; remove it"
    status=1
  fi
done
[ "$checked" -gt 0 ] || { echo "check-deps: no project include under $root"; exit 2; }
[ "$status" -eq 0 ] && echo "check-deps: $checked project includes follow the DEPS files"
exit $status
