#!/usr/bin/env bash
# Which folder may include which: each checked folder has a DEPS file (in the
# spirit of Chromium's checkdeps) with lines
#   allow FOLDER                       its code may #include "FOLDER/..."
#   exception FILE -> INCLUDED_PATH    one include that breaks the order for now
#                                      (a debt with a reason after '#'; it must
#                                      still occur, so a fixed one is removed)
# A folder may always include itself. This script checks every
# #include "x/..." in every .cpp/.hpp under a folder with a DEPS file and
# fails on an include the folder's DEPS does not allow, and on an exception
# that no longer occurs. The order itself is in docs/ARCHITECTURE.md.
# usage: scripts/check-deps.sh [ROOT]   (default: the repository)
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
status=0
checked=0
shopt -s nullglob
for deps in */DEPS; do
  folder=${deps%/DEPS}
  allowed=" $folder "
  declare -A exceptions=()
  while read -r word a arrow b _; do
    case "$word" in
      allow) allowed+="$a " ;;
      exception)
        [ "$arrow" = "->" ] && [ -n "$b" ] || { echo "$deps: malformed line: exception $a $arrow $b"; status=1; continue; }
        exceptions["$a|$b"]=unused ;;
      ''|'#'*) ;;
      *) echo "$deps: unknown directive '$word' (allow, exception)"; status=1 ;;
    esac
  done < <(sed 's/#.*//' "$deps")
  while IFS= read -r -d '' file; do
    while IFS= read -r included; do
      target=${included%%/*}
      [ "$target" = "$included" ] && continue  # not a project path
      [ -d "$target" ] || continue             # a system or generated header
      checked=$((checked + 1))
      case "$allowed" in *" $target "*) continue ;; esac
      key="$file|$included"
      if [ -n "${exceptions[$key]+set}" ]; then exceptions[$key]=used; continue; fi
      echo "$file includes \"$included\": $folder/ may not depend on $target/ (see $deps and docs/ARCHITECTURE.md)"
      status=1
    done < <(grep -oE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[^"]+"' "$file" | sed -E 's/.*"([^"]+)"/\1/')
  done < <(find "$folder" \( -name '*.cpp' -o -name '*.hpp' \) -print0 | sort -z)
  for key in "${!exceptions[@]}"; do
    if [ "${exceptions[$key]}" = unused ]; then
      echo "$deps: exception ${key%%|*} -> ${key#*|} no longer occurs; remove it"
      status=1
    fi
  done
  unset exceptions
done
[ "$checked" -gt 0 ] || { echo "check-deps: no DEPS file or no project include under $root"; exit 2; }
[ "$status" -eq 0 ] && echo "check-deps: $checked project includes follow the DEPS files"
exit $status
