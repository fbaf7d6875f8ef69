#!/bin/sh
# Builds chainmail and runs every test (unit tables and lab tests with real
# peers), then the unit tests of the lower stages again under AddressSanitizer
# and UndefinedBehaviorSanitizer (build-asan/), then each fuzz target for a
# short bounded time (tests/fuzz/run.sh). Installs what it needs first.
# Usage: .ci/test.sh [ctest args...]   (for the first, complete run)
# FUZZ_SECONDS (default 10) is the time per fuzz target; 0 skips fuzzing.
set -eu
cd "$(dirname "$0")/.."
start=$(date +%s)
# Each phase line gives the wall time and the CPU time (user + system) of
# everything run so far: on a shared machine the wall time says little, and
# CPU / 2 is what the run costs on the 2 cores of CI (docs/testing.md).
cpuf=$(mktemp)
trap 'rm -f "$cpuf"' EXIT
phase() {
  times >"$cpuf"
  cpu=$(tail -n 1 "$cpuf" | awk '{ s = 0; for (i = 1; i <= 2; i++) {
    split($i, a, "m"); sub("s", "", a[2]); s += a[1] * 60 + a[2] } printf "%d", s }')
  echo "== $1 ($(($(date +%s) - start)) s since start, $cpu s CPU)"
}
# The tests run in a network namespace of their own with loopback only, so
# that no test reaches another address, whatever a test configures (for
# example the machine's resolver in /etc/resolv.conf).
offline() {
  if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
    unshare -n sh -c 'ip link set lo up && exec "$@"' offline "$@"
  else
    echo "no network namespace here (not root?): the tests use the machine's network" >&2
    "$@"
  fi
}
.ci/deps.sh test
# Ninja for every tree configured here: it compiles a stage while the one
# before it is still linking (an existing tree keeps its generator).
export CMAKE_GENERATOR=Ninja

phase "build (Release)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2
phase "tests"
(cd build && offline ctest --output-on-failure -j2 "$@")

# The sanitizer build: -O0 -g1 compiles in about half the time of -O1 -g
# under -fsanitize=address,undefined and still gives file:line in every
# report (docs/testing.md). UBSan and ASan halt at the first finding
# (-fno-sanitize-recover=all), so no test passes over one.
# The unit tests of config, policy, spool, log, resolve and tls, the inbound
# session and the client connection on the in-memory stream (inbound,
# deliver), and the fuzz corpora. The binary and the lab tests under the
# sanitizers do not fit the CI time yet (docs/testing.md: run them by hand).
asan_units="config policy spool log resolve tls inbound deliver"
asan_targets=""
for u in $asan_units; do asan_targets="$asan_targets test_$u"; done
# Every fuzz target's corpus replay (one folder per target in tests/fuzz/corpus).
for f in tests/fuzz/corpus/*/; do
  asan_targets="$asan_targets replay_$(basename "$f")"
done
phase "build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g1" \
  -DCHAINMAIL_SANITIZE=ON >/dev/null
cmake --build build-asan -j2 --target $asan_targets
phase "tests under ASan + UBSan"
(cd build-asan &&
  export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 &&
  offline ctest --output-on-failure -j2 -R "^(unit\.($(echo $asan_units | tr ' ' '|')|spool_enospc)|fuzz\..*)$")

if [ "${FUZZ_SECONDS:-10}" != 0 ]; then
  phase "fuzzing, ${FUZZ_SECONDS:-10} s per target"
  tests/fuzz/run.sh "${FUZZ_SECONDS:-10}"
fi
phase "done"
