#!/usr/bin/env bash
# Proves the README's two commands on a fresh Debian 12: debootstraps a
# minimal bookworm into ROOTFS (default /var/tmp/kvsim-fresh), copies a clean
# clone of HEAD (and ../shared when present) into it, and runs, inside the
# chroot, as root:
#   bash scripts/run-main.sh     (README command 1)
#   bash scripts/test.sh         (README command 2, what .ci/run runs)
# Nothing the host installed by hand is visible there, so a missing install
# step fails here instead of on a user's machine. Needs root, debootstrap and
# access to a Debian mirror; about 15 minutes on 2 cores. Not part of CI.
# usage: scripts/verify-fresh-debian.sh [ROOTFS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
rootfs=${1:-/var/tmp/kvsim-fresh}
mirror=${KVSIM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" -eq 0 ] || { echo "verify-fresh-debian: must run as root (chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null

if [ ! -x "$rootfs/usr/bin/apt-get" ]; then
  echo "== debootstrap bookworm (minbase) into $rootfs" >&2
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
fi
cp /etc/resolv.conf "$rootfs/etc/resolv.conf" 2>/dev/null || true
rm -rf "$rootfs/work" && mkdir -p "$rootfs/work"
git clone -q "$repo" "$rootfs/work/kvsim"
[ -d "$repo/../shared" ] && cp -a "$repo/../shared" "$rootfs/work/shared"

mounted=()
cleanup() { for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done; }
trap cleanup EXIT
for m in proc sys dev dev/pts; do
  mount --bind "/$m" "$rootfs/$m" && mounted+=("$rootfs/$m")
done

# A network that intercepts TLS (its CA named by NODE_EXTRA_CA_CERTS on the
# host) must be trusted inside too, or npm cannot reach the registry and the
# tokenizer reference tests skip: the CA file is copied in and named again.
ca_env=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  cp "$NODE_EXTRA_CA_CERTS" "$rootfs/work/extra-ca.crt"
  ca_env=(NODE_EXTRA_CA_CERTS=/work/extra-ca.crt)
fi
run() { chroot "$rootfs" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "${ca_env[@]}" \
          bash -c "cd /work/kvsim && $1"; }
echo "== README command 1: bash scripts/run-main.sh" >&2
run "bash scripts/run-main.sh" >"$rootfs/work/command1.log" 2>&1 || { tail -30 "$rootfs/work/command1.log"; exit 1; }
tail -3 "$rootfs/work/command1.log"
echo "== README command 2: bash scripts/test.sh" >&2
run "bash scripts/test.sh" >"$rootfs/work/command2.log" 2>&1 || { tail -30 "$rootfs/work/command2.log"; exit 1; }
grep -E "tests passed|tests failed|install list|check-install-list" "$rootfs/work/command2.log"
echo "verify-fresh-debian: both README commands passed on a fresh Debian 12 (logs in $rootfs/work/)"
