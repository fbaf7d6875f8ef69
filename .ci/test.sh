#!/bin/sh
# Builds chainmail and runs every test (unit tables and lab tests with real
# peers), then each fuzz target for a short bounded time (tests/fuzz/run.sh).
# Installs what it needs first.
# Usage: .ci/test.sh [ctest args...]
# FUZZ_SECONDS (default 20) is the time per fuzz target; 0 skips fuzzing.
set -eu
cd "$(dirname "$0")/.."
start=$(date +%s)
phase() { echo "== $1 ($(($(date +%s) - start)) s since start)"; }
.ci/deps.sh test

phase "build (Release)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2
phase "tests"
(cd build && ctest --output-on-failure -j2 "$@")

if [ "${FUZZ_SECONDS:-20}" != 0 ]; then
  phase "fuzzing, ${FUZZ_SECONDS:-20} s per target"
  tests/fuzz/run.sh "${FUZZ_SECONDS:-20}"
fi
phase "done"
