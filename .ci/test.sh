#!/bin/sh
# Builds chainmail and runs every test (unit tables, lab tests with real peers,
# fuzz corpus replays), then the whole suite again under AddressSanitizer and
# UndefinedBehaviorSanitizer from build-asan/, then each fuzz target for a
# short bounded time (tests/fuzz/run.sh). Installs what it needs first.
# Usage: .ci/test.sh [ctest args...]   (for both ctest runs)
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
  echo "== $1 ($(($(date +%s) - start)) s since start, $cpu s CPU, load $(cut -d' ' -f1-3 /proc/loadavg))"
}
# Runs "$@" and prints what it alone took: wall, CPU (user + system of it and
# everything it started) and the load average at its end.
timed() {
  label=$1
  shift
  (
    t0=$(date +%s)
    r=0
    "$@" || r=$?
    f=$(mktemp)
    times >"$f"
    cpu=$(tail -n 1 "$f" | awk '{ s = 0; for (i = 1; i <= 2; i++) {
      split($i, a, "m"); sub("s", "", a[2]); s += a[1] * 60 + a[2] } printf "%d", s }')
    rm -f "$f"
    echo "== $label: $(($(date +%s) - t0)) s wall, $cpu s CPU, load $(cut -d' ' -f1-3 /proc/loadavg), exit $r"
    exit "$r"
  )
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
timed "build (Release)" cmake --build build -j2

# The sanitizer tree: -O0 -g1 compiles in half the time of -O1 -g under
# -fsanitize=address,undefined and still gives file:line in every report
# (docs/testing.md). UBSan and ASan halt at the first finding
# (-fno-sanitize-recover=all), so no test passes over one.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g1" \
  -DCHAINMAIL_SANITIZE=ON >/dev/null

# The Release tests mostly wait on sockets and child processes, so the
# sanitizer tree builds meanwhile, at a lower priority than the tests.
phase "tests (Release), building build-asan meanwhile"
release_tests() { cd build && offline ctest --output-on-failure -j2 "$@"; }
timed "tests (Release)" release_tests "$@" >build/ctest.log 2>&1 &
tests=$!
built=0
timed "build (ASan + UBSan)" nice -n 10 cmake --build build-asan -j2 || built=$?
phase "build-asan done, waiting for the Release tests"
released=0
wait $tests || released=$?
cat build/ctest.log
[ "$released" = 0 ] || { echo "tests (Release) failed" >&2; exit 1; }
[ "$built" = 0 ] || { echo "build-asan failed" >&2; exit 1; }

# Every sanitizer report of every process (also of a `serve` whose exit
# status a lab test does not look at, and LeakSanitizer's at exit) goes to a
# file under build-asan/sanitizer/; any such file fails the run.
# verify_asan_link_order=0: lab.test_crash_delivery preloads lab_slow_sync
# into serve (LD_PRELOAD), which puts it before the ASan runtime in the
# library list; the module is built with the sanitizers too.
# The style checks read the sources, which the first run checked already.
fuzz=${FUZZ_SECONDS:-10}
phase "tests under ASan + UBSan, building build-fuzz meanwhile"
reports="$PWD/build-asan/sanitizer"
# Writable for all: lab.test_deploy_walk runs the installed binary as chainmail.
rm -rf "$reports" && mkdir -p "$reports" && chmod 1777 "$reports"
# The fuzz targets build meanwhile (clang, build-fuzz/), again at a lower priority.
fuzzbuild=0
if [ "$fuzz" != 0 ]; then
  timed "build (fuzz targets)" nice -n 10 tests/fuzz/run.sh build >build/fuzz-build.log 2>&1 &
  fuzzbuild=$!
fi
asan_tests() {
  cd build-asan &&
    export ASAN_OPTIONS="detect_leaks=1:verify_asan_link_order=0:log_path=$reports/asan" \
      UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan" &&
    offline ctest --output-on-failure -j2 -LE style "$@"
}
rc=0
timed "tests (ASan + UBSan)" asan_tests "$@" || rc=$?
if [ -n "$(ls "$reports")" ]; then
  for f in "$reports"/*; do echo "--- $f"; cat "$f"; done
  echo "sanitizer reports above" >&2
  rc=1
fi
fuzzbuilt=0
if [ "$fuzz" != 0 ]; then
  wait $fuzzbuild || fuzzbuilt=$?
fi
[ "$rc" = 0 ] || exit "$rc"

if [ "$fuzz" != 0 ]; then
  [ "$fuzzbuilt" = 0 ] || { cat build/fuzz-build.log; echo "build-fuzz failed" >&2; exit 1; }
  grep '^== ' build/fuzz-build.log || true
  phase "fuzzing, $fuzz s per target"
  timed "fuzzing" tests/fuzz/run.sh "$fuzz"
fi
phase "done"
