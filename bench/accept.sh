#!/bin/bash
# accept.sh: the acceptance benchmark. Measures on this machine, in one run,
# chainmail serve against a private Postfix (smtpd + cleanup, fsync'ed queue,
# nothing delivered) and the loopback ceiling (smtp-source -> smtp-sink);
# prints a table and writes bench/RESULTS.md. Not a test: it asserts nothing.
#
# Usage: bench/accept.sh
# Environment (all optional):
#   CHAINMAIL   the binary to measure (default: build/chainmail, built here)
#   RUNS=5      runs per figure; each figure is the median
#   MSGS=10000  messages per throughput run (10 KB each, 20 sessions)
#   IDLE=1000   idle sessions for the memory figure
#   LAT_RATE=200 LAT_COUNT=1000   fixed-rate load for the latency figure
#   RESULTS     where to write the Markdown (default: bench/RESULTS.md)
# Needs root (Postfix's master runs as root) and the Debian packages postfix
# (smtp-source, smtp-sink), g++, cmake. Everything listens on 127.0.0.1 only.
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source-path=SCRIPTDIR/..
source "$ROOT/tests/lab/lib/postfix.sh"
source "$ROOT/bench/lib/bench.sh"

RUNS=${RUNS:-5}
MSGS=${MSGS:-10000}
SIZE=10240
SESSIONS=20
IDLE=${IDLE:-1000}
LAT_RATE=${LAT_RATE:-200}
LAT_COUNT=${LAT_COUNT:-1000}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
FROM=bench@bench.test
RCPT=rcpt@bench.test

WORK=$(mktemp -d "${TMPDIR:-/tmp}/chainmail-bench.XXXXXX")
chmod 0755 "$WORK"
PF=$WORK/postfix
SINK_PID=""
CM_PID=""
IDLE_PID=""

cleanup() {
    [ -n "$IDLE_PID" ] && kill "$IDLE_PID" 2>/dev/null
    cm_stop
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
    [ -d "$PF/etc" ] && pf_stop "$PF"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

# --- build -------------------------------------------------------------------
if [ -z "${CHAINMAIL:-}" ]; then
    log "building chainmail in $ROOT/build"
    cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
        cmake --build "$ROOT/build" -j2 --target chainmail >/dev/null ||
        log "chainmail did not build; its figures will be missing"
    CHAINMAIL=$ROOT/build/chainmail
fi
TOOL=$WORK/smtpbench
g++ -std=c++20 -O2 -pthread -o "$TOOL" "$ROOT/bench/smtpbench.cpp" || exit 1

# --- servers -----------------------------------------------------------------
PF_PORT=$(pf_free_port)
pf_create "$PF" "$PF_PORT"
# Acceptance only: every message goes to the hold queue (cleanup still
# writes and fsyncs it as shipped); enough processes for the idle test.
pf_conf "$PF" "smtpd_client_restrictions = check_client_access static:HOLD" \
    "default_process_limit = $((IDLE + 100))"
pf_start "$PF" || exit 1

SINK_PORT=$(pf_free_port)
smtp-sink -u postfix "127.0.0.1:$SINK_PORT" 256 &
SINK_PID=$!

CM_OK=0
if cm_start; then
    CM_OK=1
    cm_stop
else
    log "chainmail serve did not start (see above); measuring Postfix and the ceiling only"
fi

# --- a, b: throughput, interleaved so drift hits every subject alike ----------
declare -a R_PF R_SINK R_CM W_PF W_SINK W_CM CPU_CM
for ((run = 1; run <= RUNS; run++)); do
    postsuper -c "$PF/etc" -d ALL hold >/dev/null 2>&1
    read -r w s < <(steady_rate "$PF_PORT" "$MSGS") && R_PF+=("$s") && W_PF+=("$w")
    held=$(find "$PF/queue/hold" -type f | wc -l)
    [ "$held" = "$MSGS" ] || log "postfix run $run: $held of $MSGS messages held"
    log "postfix run $run: steady ${s:-?}/s wall ${w:-?}/s"

    read -r w s < <(steady_rate "$SINK_PORT" "$MSGS") && R_SINK+=("$s") && W_SINK+=("$w")
    log "sink run $run: steady ${s:-?}/s wall ${w:-?}/s"

    if [ "$CM_OK" = 1 ] && cm_start; then
        cpu0=$(cpu_ticks "$CM_PID") t0=$(date +%s.%N)
        read -r w s < <(steady_rate "$CM_PORT" "$MSGS") && R_CM+=("$s") && W_CM+=("$w")
        CPU_CM+=("$(awk -v a="$cpu0" -v b="$(cpu_ticks "$CM_PID")" -v t0="$t0" -v t1="$(date +%s.%N)" \
            -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.0f", (b - a) / hz / (t1 - t0) * 100}')")
        queued=$(cm_queued)
        [ "$queued" = "$MSGS" ] || log "chainmail run $run: $queued of $MSGS messages queued"
        log "chainmail run $run: steady ${s:-?}/s wall ${w:-?}/s queued $queued cpu ${CPU_CM[-1]}%"
        cm_stop
    fi
done
postsuper -c "$PF/etc" -d ALL hold >/dev/null 2>&1

# --- c: durable batches per second of this disk ---------------------------------
declare -a R_SYNC
for ((run = 1; run <= RUNS; run++)); do
    r=$("$TOOL" fsync "$WORK" 2 1000000 | awk '{print $6}') && R_SYNC+=("$r")
done
log "fdatasync/s: ${R_SYNC[*]}"

# --- d: memory per idle session ------------------------------------------------
CM_IDLE_KB=""
if [ "$CM_OK" = 1 ] && cm_start; then
    "$TOOL" idle 127.0.0.1 "$CM_PORT" 20 10 </dev/null >/dev/null # warm up
    sleep 0.5
    rss0=$(rss_kb "$CM_PID")
    hold_idle "$CM_PORT" && {
        rss1=$(rss_kb "$CM_PID")
        CM_IDLE_KB=$(awk -v a="$rss0" -v b="$rss1" -v n="$IDLE" 'BEGIN{printf "%.1f", (b-a)/n}')
        log "chainmail RSS ${rss0} KB -> ${rss1} KB with $IDLE idle sessions"
    }
    release_idle
    cm_stop
fi
PF_IDLE_RSS="" PF_IDLE_PSS=""
master=$(pf_master_pid "$PF")
if hold_idle "$PF_PORT"; then
    n=$(pgrep -P "$master" -x smtpd | wc -l)
    read -r rss pss < <(smtpd_mem "$master")
    PF_IDLE_RSS=$(awk -v a="$rss" -v n="$IDLE" 'BEGIN{printf "%.1f", a/n}')
    PF_IDLE_PSS=$(awk -v a="$pss" -v n="$IDLE" 'BEGIN{printf "%.1f", a/n}')
    log "postfix: $n smtpd processes, RSS $rss KB, PSS $pss KB for $IDLE idle sessions"
fi
release_idle

# --- e: end-of-DATA -> 250 latency at a fixed rate --------------------------------
declare -a L50_PF L99_PF L50_CM L99_CM
for ((run = 1; run <= RUNS; run++)); do
    read -r p50 p99 < <(latency "$PF_PORT") && L50_PF+=("$p50") && L99_PF+=("$p99")
    postsuper -c "$PF/etc" -d ALL hold >/dev/null 2>&1
    if [ "$CM_OK" = 1 ] && cm_start; then
        read -r p50 p99 < <(latency "$CM_PORT") && L50_CM+=("$p50") && L99_CM+=("$p99")
        cm_stop
    fi
done

# --- report ----------------------------------------------------------------------
report
