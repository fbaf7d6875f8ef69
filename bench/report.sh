#!/bin/bash
# report.sh: `chainmail report` over a generated month of delivery log of
# LINES lines (default one million, in rotated files like logrotate leaves
# them: .1 plain, older ones gzipped). Writes bench/RESULTS-report.md.
# Not a test: it asserts nothing.
#
# Usage: bench/report.sh
# Environment (all optional):
#   CHAINMAIL      the binary (default: build/chainmail)
#   LINES=1000000  lines in the month
#   RUNS=3         the figure is the median
#   RESULTS        where to write the Markdown (default: bench/RESULTS-report.md)
set -eu -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHAINMAIL=${CHAINMAIL:-$ROOT/build/chainmail}
LINES=${LINES:-1000000}
RUNS=${RUNS:-3}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS-report.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/chainmail-reportbench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

log() { echo "report.sh: $*" >&2; }

# A generated month of a tenth of LINES, ten times over with fresh queue ids
# (the generator is Python and slow), cut into a week per file, rotated.
base_lines=$((LINES / 10 * 100 / 81)) # the generator writes ~0.81 line per --lines
log "generating $LINES lines in $WORK"
/usr/bin/python3 "$ROOT/tests/lab/lib/loggen.py" --out "$WORK/base" --lines "$base_lines" \
    --config "$WORK/chainmail.yaml" >/dev/null
letters=ABCDEFGHJK
all=$WORK/all.jsonl
: >"$all"
for ((k = 0; k < 10; k++)); do
    sed "s/\"queue_id\":\"0/\"queue_id\":\"${letters:$k:1}/g" "$WORK/base/delivery.jsonl" >>"$all"
done
sort -t'"' -k4,4 -S 25% "$all" -o "$all" # in time order, as one relay writes it
mkdir -p "$WORK/log"
split -n l/4 -d -a 1 "$all" "$WORK/log/part."
mv "$WORK/log/part.0" "$WORK/log/delivery.jsonl.3" && gzip "$WORK/log/delivery.jsonl.3"
mv "$WORK/log/part.1" "$WORK/log/delivery.jsonl.2" && gzip "$WORK/log/delivery.jsonl.2"
mv "$WORK/log/part.2" "$WORK/log/delivery.jsonl.1"
mv "$WORK/log/part.3" "$WORK/log/delivery.jsonl"
sed -i "s|delivery_log: .*|delivery_log: $WORK/log/delivery.jsonl|" "$WORK/chainmail.yaml"
lines=$(cat "$all" | wc -l)
rm -f "$all"
cat "$WORK"/log/* >/dev/null

# Wall seconds, CPU seconds (user + system) and peak memory of each run.
: >"$WORK/runs"
for ((i = 0; i < RUNS; i++)); do
    /usr/bin/time -f "%e %U %S %M" -a -o "$WORK/runs" "$CHAINMAIL" report \
        -c "$WORK/chainmail.yaml" --since 2026-10-31T00:00:00Z --until 2026-12-01T00:00:00Z \
        --html "$WORK/report.html" >"$WORK/report.txt"
done
median() { sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'; }
t=$(awk '{print $1}' "$WORK/runs" | median)
cpu=$(awk '{print $2 + $3}' "$WORK/runs" | median)
rss=$(awk '{print $4}' "$WORK/runs" | median)
load=$(cut -d' ' -f1-3 /proc/loadavg)
cat >"$RESULTS" <<EOF
# \`chainmail report\` over a month of log

Made by \`bench/report.sh\` on $(date -u +%Y-%m-%d): $lines lines of generated
delivery log for one month in four files (two gzipped, as logrotate leaves them),
from the page cache; \`chainmail report --since ... --until ... --html FILE\`
(the table and the HTML page). Median of $RUNS runs; $(nproc) cores; load
average at the end: $load.

| lines | files | wall seconds | CPU seconds | lines per CPU second | peak memory |
|---|---|---|---|---|---|
| $lines | $(ls "$WORK/log" | tr '\n' ' ') | $t | $cpu | $(awk -v n="$lines" -v c="$cpu" 'BEGIN { printf "%.0f", n / c }') | $(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }') MB |
EOF
cat "$RESULTS"
