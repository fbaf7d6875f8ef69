#!/bin/bash
# log.sh: `chainmail log` against grep and jq on one generated delivery log.
# Makes a log of SIZE_MB (a generated month, repeated with fresh queue ids),
# then times, on the same file in the same run, a filter matching about 1%:
#   grep -c -F '"partner":"tandarts-zuid"'
#   chainmail log --partner tandarts-zuid --json   (the matching lines)
#   chainmail log --partner tandarts-zuid          (the table)
#   jq -c 'select(.partner == "tandarts-zuid")'
# and writes the medians to bench/RESULTS-log.md. Not a test: it asserts nothing.
#
# Usage: bench/log.sh
# Environment (all optional):
#   CHAINMAIL      the binary (default: build/chainmail)
#   SIZE_MB=1024   size of the log
#   RUNS=3         runs per tool; the figure is the median
#   JQ_RUNS=$RUNS  jq is slow: fewer runs are fine
#   RESULTS        where to write the Markdown (default: bench/RESULTS-log.md)
set -eu -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHAINMAIL=${CHAINMAIL:-$ROOT/build/chainmail}
SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-3}
JQ_RUNS=${JQ_RUNS:-$RUNS}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS-log.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/chainmail-logbench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
NEEDLE='"partner":"tandarts-zuid"'

log() { echo "log.sh: $*" >&2; }

# The base month, then copies with fresh queue ids until SIZE_MB is reached.
log "generating a ${SIZE_MB} MB log in $WORK"
/usr/bin/python3 "$ROOT/tests/lab/lib/loggen.py" --out "$WORK/base" --lines 100000 >/dev/null
LOG=$WORK/delivery.jsonl
: >"$LOG"
copy=0
letters=ABCDEFGHJKMNPQRSTVWXYZ
while [ "$(stat -c %s "$LOG")" -lt $((SIZE_MB * 1024 * 1024)) ]; do
    c=${letters:$((copy % ${#letters})):1}
    sed "s/\"queue_id\":\"0/\"queue_id\":\"$c/g" "$WORK/base/delivery.jsonl" >>"$LOG"
    copy=$((copy + 1))
done
truncate -s $((SIZE_MB * 1024 * 1024)) "$LOG"
# The last line is now cut short, as after a crash: every tool meets it.
lines=$(wc -l <"$LOG")
bytes=$(stat -c %s "$LOG")
cat "$LOG" >/dev/null # into the page cache: every tool reads from memory

# time_median RUNS CMD...: prints the median wall time in seconds.
time_median() {
    local runs=$1 i t
    shift
    local times=()
    for ((i = 0; i < runs; i++)); do
        local start end
        start=$(date +%s.%N)
        "$@" >"$WORK/out" 2>"$WORK/err" || true
        end=$(date +%s.%N)
        times+=("$(echo "$end - $start" | bc)")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

log "grep"
t_grep=$(time_median "$RUNS" grep -c -F "$NEEDLE" "$LOG")
n_grep=$(cat "$WORK/out")
log "chainmail log --json"
t_json=$(time_median "$RUNS" "$CHAINMAIL" log --partner tandarts-zuid --json "$LOG")
n_json=$(wc -l <"$WORK/out")
log "chainmail log (table)"
t_table=$(time_median "$RUNS" "$CHAINMAIL" log --partner tandarts-zuid "$LOG")
log "jq"
t_jq=$(time_median "$JQ_RUNS" sh -c "jq -c 'select(.partner == \"tandarts-zuid\")' '$LOG'")
n_jq=$(wc -l <"$WORK/out")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mbs() { awk -v t="$1" -v n="$bytes" 'BEGIN { printf "%.0f", n / 1048576 / t }'; }
secs() { awk -v t="$1" 'BEGIN { printf "%.2f", t }'; }
load=$(cut -d' ' -f1-3 /proc/loadavg)
cat >"$RESULTS" <<EOF
# \`chainmail log\` against grep and jq

Made by \`bench/log.sh\` on $(date -u +%Y-%m-%d): one generated delivery log of
$bytes bytes ($lines lines; a generated month repeated with fresh queue ids, the
last line cut short), read from the page cache. Filter: partner
\`tandarts-zuid\`, $n_grep lines ($(awk -v a="$n_grep" -v b="$lines" 'BEGIN { printf "%.2f", 100 * a / b }')%).
Medians of $RUNS runs (jq: $JQ_RUNS); $(nproc) cores; load average at the end: $load.

| tool | command | lines out | seconds | MB/s | vs grep |
|---|---|---|---|---|---|
| grep | \`grep -c -F '$NEEDLE'\` | $n_grep (count) | $(secs "$t_grep") | $(mbs "$t_grep") | 1.00× |
| chainmail | \`chainmail log --partner tandarts-zuid --json\` | $n_json | $(secs "$t_json") | $(mbs "$t_json") | $(ratio "$t_json" "$t_grep")× |
| chainmail | \`chainmail log --partner tandarts-zuid\` (table) | $n_json | $(secs "$t_table") | $(mbs "$t_table") | $(ratio "$t_table" "$t_grep")× |
| jq | \`jq -c 'select(.partner == "tandarts-zuid")'\` | $n_jq | $(secs "$t_jq") | $(mbs "$t_jq") | $(ratio "$t_jq" "$t_grep")× |

chainmail searches each 1 MB block for the fixed text of the filter first
(glibc \`memmem\`, as grep searches for its fixed string) and parses only the
lines that contain it; every line it prints was parsed and checked field by field.
EOF
cat "$RESULTS"
