#!/bin/sh
# Builds the libFuzzer targets with clang (build-fuzz/, only the sources they
# need) and runs each for SECONDS, starting from its seed corpus in
# tests/fuzz/corpus/<target>/ (read only: new inputs go to a scratch copy).
# Prints the executions per target; exits 1 when a target crashed, with the
# input saved under build-fuzz/artifacts/ (make it a unit test).
# Usage: tests/fuzz/run.sh SECONDS [TARGET...]
#        tests/fuzz/run.sh build      (only builds them)
set -eu
cd "$(dirname "$0")/../.."
[ $# -ge 1 ] || { echo "usage: tests/fuzz/run.sh SECONDS [TARGET...]" >&2; exit 2; }
seconds=$1
shift
targets=${*:-"smtp_parse data_reader smtp_reply dns_rdata spool_records config mta_sts"}

build=build-fuzz
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCHAINMAIL_FUZZ=ON -DCHAINMAIL_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target fuzzers
[ "$seconds" = build ] && exit 0

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$build/artifacts"
failed=""
for t in $targets; do
  max_len=4096
  [ "$t" = config ] && max_len=16384
  mkdir -p "$scratch/$t"
  log="$build/artifacts/$t.log"
  if "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
      "$scratch/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 executions in \2 s/p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "fuzz $t: ok, $runs, $cov, corpus $(ls "$scratch/$t" | wc -l) new inputs"
  else
    echo "fuzz $t: FAILED, see $log:" >&2
    grep -E 'ERROR|property failed|SUMMARY|Test unit written' "$log" >&2 || tail -20 "$log" >&2
    failed="$failed $t"
  fi
done
[ -z "$failed" ] || { echo "fuzz targets that failed:$failed" >&2; exit 1; }
