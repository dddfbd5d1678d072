#!/usr/bin/env bash
# Does scripts/install-deps.sh bring everything the build used?
# Usage: check-install-list.sh BUILD_DIR [INSTALL_SCRIPT]
#
# A package installed by hand hides a missing install step: the build passes
# here and fails on a fresh machine (it happened with libxsimd-dev, which
# libxtensor-dev only Recommends). This maps
#   - every /usr header named in the compiler's dependency files (*.o.d), and
#   - every shared library the built programs load (ldd)
# to the Debian package that owns it, and fails when that package is not in
# the Depends/PreDepends closure (no Recommends: the install script passes
# --no-install-recommends) of the packages the install script names.
set -uo pipefail
build=${1:?usage: check-install-list.sh BUILD_DIR [INSTALL_SCRIPT]}
script=${2:-$(dirname "$0")/install-deps.sh}
[ -d "$build" ] && [ -f "$script" ] || { echo "check-install-list: usage: check-install-list.sh BUILD_DIR [INSTALL_SCRIPT]" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

find "$build" -name '*.o.d' -print0 | xargs -0 -r cat | tr ' \\' '\n\n' | grep -E '^/usr/' | sort -u >"$tmp/headers"
[ -s "$tmp/headers" ] || { echo "check-install-list: no dependency files under $build (build it first)" >&2; exit 2; }
# shared libraries of the built executables (kvsim, tests, notebooks, bench)
find "$build" -maxdepth 2 -type f -perm -u+x \( -name kvsim -o -name 'kvsim_*' -o -name 'nb_*' \) -print0 |
  xargs -0 -r -n1 ldd 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u >"$tmp/libs"
cat "$tmp/headers" "$tmp/libs" >"$tmp/files"

# owner of each file, from dpkg's file lists (dpkg -S per file is slow);
# the resolved path too, for files reached through /usr/lib symlinks (usrmerge)
for f in /var/lib/dpkg/info/*.list; do
  pkg=$(basename "$f" .list); awk -v p="${pkg%%:*}" '{print $0" "p}' "$f"
done >"$tmp/index"
xargs -r realpath -m <"$tmp/files" >"$tmp/real"
paste -d' ' "$tmp/files" "$tmp/real" |
  awk 'NR==FNR {owner[$1]=$2; next}
       { p=owner[$1]; if (p == "") p=owner[$2]; if (p == "") { sub("^/usr", "", $2); p=owner[$2] }
         if (p != "") print p, $1; else print "?", $1 }' "$tmp/index" - | sort -u -k1,1 >"$tmp/owners"

# words of the install script that name Debian packages, and their closure
apt-cache pkgnames | sort -u >"$tmp/names"
grep -v '^\s*#' "$script" | grep -oE '\b[a-z0-9][a-z0-9+.-]+\b' | sort -u | comm -12 - "$tmp/names" >"$tmp/listed"
[ -s "$tmp/listed" ] || { echo "check-install-list: $script names no Debian package (run apt-get update first?)" >&2; exit 2; }
{ cat "$tmp/listed"; echo build-essential; echo libc6-dev; } |
  xargs apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances 2>/dev/null |
  grep -E '^[a-z0-9]|Depends:' | sed -E 's/.*Depends: //; s/[<>]//g; s/:.*//' | sort -u >"$tmp/closure"

missing=$(while read -r p f; do
  if [ "$p" = "?" ]; then echo "no Debian package owns $f"; continue; fi
  grep -qx "$p" "$tmp/closure" || echo "$p (e.g. $f)"
done <"$tmp/owners")
n=$(wc -l <"$tmp/owners")
if [ -n "$missing" ]; then
  echo "check-install-list: the build uses files from packages that $script does not bring:"
  echo "$missing" | sed 's/^/  /'
  exit 1
fi
echo "check-install-list: $script brings all $n packages whose headers or libraries the build uses"
