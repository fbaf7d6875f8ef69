#!/bin/sh
# Builds chainmail and runs every test (unit tables and lab tests with real
# peers). Installs what it needs first. Usage: .ci/test.sh [ctest args...]
set -eu
cd "$(dirname "$0")/.."
.ci/deps.sh test
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2
cd build && ctest --output-on-failure -j2 "$@"
