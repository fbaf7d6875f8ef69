#!/bin/sh
# Builds chainmail and runs it in the foreground on the embedded default
# configuration: SMTP on 127.0.0.1:2525, spool in ./spool.
set -eu
cd "$(dirname "$0")/.."
.ci/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 --target chainmail
exec build/chainmail serve --default-config "$@"
