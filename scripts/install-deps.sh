#!/usr/bin/env bash
# Installs kvsim's build, test and plot dependencies from Debian packages.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail
PACKAGES=(
  cmake g++ make pkg-config git
  libxtensor-dev libxtensor-blas-dev libopenblas-dev libopenblas-openmp-dev liblapack-dev
  libhdf5-dev libboost-program-options-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  gnuplot-nox libgnuplot-iostream-dev fonts-dejavu-core
  python3-h5py python3-numpy
  libopenmpi-dev openmpi-bin
  libpcre2-dev libutf8proc-dev
  clang libclang-rt-14-dev
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The tokenizer reference tests run tokenizers.js (npm) under Node.js:
# Debian's nodejs and npm, unless a Node.js with npm is already installed
# (NodeSource's nodejs bundles npm and conflicts with Debian's npm package).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} Debian packages present" >&2
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done" >&2
