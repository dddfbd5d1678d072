#!/usr/bin/env bash
# README command 2: install what is missing, build, check that the install
# list brings everything the build used, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${KVSIM_BUILD_DIR:-build}
bash scripts/install-deps.sh
bash scripts/build.sh
bash scripts/check-install-list.sh "$BUILD_DIR" scripts/install-deps.sh
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)"
