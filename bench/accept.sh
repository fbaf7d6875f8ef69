#!/bin/bash
# accept.sh: the acceptance benchmark. Measures on this machine, in one run,
# chainmail serve against a private Postfix (smtpd + cleanup, fsync'ed queue,
# every message held) and the loopback ceiling (smtp-source -> smtp-sink);
# chainmail three ways: with `--no-delivery`, delivering to a destination that
# refuses connections (every message deferred once), and delivering to a live
# STARTTLS sink. Prints a table and writes bench/RESULTS.md. Not a test: it
# asserts nothing.
#
# Usage: bench/accept.sh [-n RUNS] [-m MSGS] [--modes "nodelivery refuse tls"]
#                        [--throughput-only] [--perf DIR] [--no-chunking]
#   -n RUNS       runs per figure, each figure is their median (default 3)
#   -m MSGS       messages per throughput run (default 20000; 10 KB, 20
#                 sessions). Fewer make a delivering run too short: 5000
#                 last about half a second, less than the delivery side
#                 takes to reach its steady state (slow start opens more
#                 connections only after one second), so such a run
#                 measures acceptance with delivery lagging behind
#   --modes LIST  which chainmail modes to measure (default all three)
#   --throughput-only   skip the fsync, memory and latency figures
#   --perf DIR    record `perf record -g` of serve during each delivering run
#                 into DIR/MODE.RUN.data (needs linux-perf); with PERF_STAT=1
#                 in the environment, `perf stat --per-thread` counts instead;
#                 with PERF_STAT=trace, system calls by name (`perf trace -s`)
#   --no-chunking the TLS sink does not offer CHUNKING (RFC 3030), so chainmail
#                 sends DATA; by default it offers it, as Postfix >= 3.4
#                 does, and chainmail sends BDAT
# Environment (all optional; the flags win):
#   CHAINMAIL   the binary to measure (default: build/chainmail, built here)
#   RUNS MSGS MODES   as the flags
#   IDLE=1000   idle sessions for the memory figure
#   LAT_RATE=200 LAT_COUNT=1000   fixed-rate load for the latency figure
#   DRAIN_TIMEOUT=120  seconds a delivering run may take to defer or deliver
#                      everything after the load ends
#   RESULTS     where to write the Markdown (default: bench/RESULTS.md)
#   CM_EXTRA_YAML  top-level YAML appended to chainmail's config (it has no
#               delivery: block), to compare settings with one binary, e.g.
#               'delivery: {initial_concurrency_per_destination: 20}'
# With the defaults the whole run takes 4-8 minutes on 2 cores.
# Needs root (Postfix's master runs as root) and the Debian packages postfix
# (smtp-source, smtp-sink), g++, cmake, libboost-dev, libssl-dev. Everything
# listens on 127.0.0.1 only.
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source-path=SCRIPTDIR/..
source "$ROOT/tests/lab/lib/postfix.sh"
source "$ROOT/bench/lib/bench.sh"

RUNS=${RUNS:-3}
MSGS=${MSGS:-20000}
MODES=${MODES:-nodelivery refuse tls}
THROUGHPUT_ONLY=0
PERF_DIR=""
SINK_CHUNKING=--chunking
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-120}
COMMAND="bench/accept.sh $*"
while [ $# -gt 0 ]; do
    case $1 in
        -n | --runs) RUNS=$2; shift 2 ;;
        -m | --messages) MSGS=$2; shift 2 ;;
        --modes) MODES=$2; shift 2 ;;
        --throughput-only) THROUGHPUT_ONLY=1; shift ;;
        --perf) PERF_DIR=$(realpath -m "$2"); shift 2 ;;
        --no-chunking) SINK_CHUNKING=""; shift ;;
        -h | --help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
        *) echo "accept.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
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
TLS_SINK_PID=""
CM_PID=""
IDLE_PID=""
PERF_PID=""
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

cleanup() {
    [ -n "$IDLE_PID" ] && kill "$IDLE_PID" 2>/dev/null
    cm_stop
    [ -n "$PERF_PID" ] && kill -INT "$PERF_PID" 2>/dev/null && wait "$PERF_PID" 2>/dev/null
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
    [ -n "$TLS_SINK_PID" ] && kill "$TLS_SINK_PID" 2>/dev/null && wait "$TLS_SINK_PID" 2>/dev/null
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
if [[ " $MODES " == *" tls "* ]]; then
    g++ -std=c++20 -O2 -pthread -o "$WORK/sink" "$ROOT/bench/sink/sink.cpp" -lssl -lcrypto ||
        exit 1
fi

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

# The live destination of mode tls: bench/sink with STARTTLS, for the whole run.
TLS_SINK_PORT=$(pf_free_port)
if [[ " $MODES " == *" tls "* ]]; then
    bash "$ROOT/tests/lab/lib/certs.sh" selfsigned "$WORK/pki" sink sink.bench.test >/dev/null ||
        exit 1
    "$WORK/sink" --listen "127.0.0.1:$TLS_SINK_PORT" --cert "$WORK/pki/sink.chain.pem" \
        --key "$WORK/pki/sink.key" ${SINK_CHUNKING:+"$SINK_CHUNKING"} --report "$WORK/tls-sink.rep" --status "$WORK/tls-sink.st" \
        --max-seconds 3600 >"$WORK/tls-sink.out" 2>&1 &
    TLS_SINK_PID=$!
    for ((i = 0; i < 100; i++)); do
        grep -q '^ready' "$WORK/tls-sink.out" 2>/dev/null && break
        sleep 0.1
    done
    grep -q '^ready' "$WORK/tls-sink.out" || { log "TLS sink did not start"; exit 1; }
fi

CM_OK=0
if cm_start nodelivery; then
    CM_OK=1
    cm_stop
else
    log "chainmail serve did not start (see above); measuring Postfix and the ceiling only"
fi

# --- a, b: throughput, interleaved so drift hits every subject alike ----------
# Per chainmail mode: R_CM[mode] "rate rate ...", W_CM wall rates, CPU_CM,
# DRAIN_CM (seconds after the load until every message was deferred or delivered).
declare -a R_PF R_SINK W_PF W_SINK
declare -A R_CM W_CM CPU_CM DRAIN_CM
CPU_SINK=""
for ((run = 1; run <= RUNS; run++)); do
    postsuper -c "$PF/etc" -d ALL hold >/dev/null 2>&1
    read -r w s < <(steady_rate "$PF_PORT" "$MSGS") && R_PF+=("$s") && W_PF+=("$w")
    held=$(find "$PF/queue/hold" -type f | wc -l)
    [ "$held" = "$MSGS" ] || log "postfix run $run: $held of $MSGS messages held"
    log "postfix run $run: steady ${s:-?}/s wall ${w:-?}/s"

    read -r w s < <(steady_rate "$SINK_PORT" "$MSGS") && R_SINK+=("$s") && W_SINK+=("$w")
    log "sink run $run: steady ${s:-?}/s wall ${w:-?}/s"

    [ "$CM_OK" = 1 ] || continue
    for mode in $MODES; do
        cm_start "$mode" || continue
        sink0=$(tls_sink_count)
        [ -n "$PERF_DIR" ] && [ "$mode" != nodelivery ] && perf_start "$PERF_DIR/$mode.$run.data"
        cpu0=$(cpu_ticks "$CM_PID") t0=$(date +%s.%N)
        [ -n "$TLS_SINK_PID" ] && scpu0=$(cpu_ticks "$TLS_SINK_PID")
        if read -r w s < <(steady_rate "$CM_PORT" "$MSGS"); then
            R_CM[$mode]+="$s " W_CM[$mode]+="$w "
        fi
        cpu=$(awk -v a="$cpu0" -v b="$(cpu_ticks "$CM_PID")" -v t0="$t0" -v t1="$(date +%s.%N)" \
            -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.0f", (b - a) / hz / (t1 - t0) * 100}')
        CPU_CM[$mode]+="$cpu "
        if [ "$mode" = tls ] && [ -n "$TLS_SINK_PID" ]; then
            # The receiver shares the two cores: its share is part of the picture.
            scpu=$(awk -v a="$scpu0" -v b="$(cpu_ticks "$TLS_SINK_PID")" -v t0="$t0" \
                -v t1="$(date +%s.%N)" -v hz="$(getconf CLK_TCK)" \
                'BEGIN{printf "%.0f", (b - a) / hz / (t1 - t0) * 100}')
            CPU_SINK+="$scpu "
            cpu="$cpu% sink $scpu"
        fi
        perf_stop
        note=""
        case $mode in
            nodelivery)
                queued=$(cm_queued)
                [ "$queued" = "$MSGS" ] || log "chainmail run $run: $queued of $MSGS messages queued"
                note="queued $queued"
                ;;
            refuse)
                # Every accepted message is deferred once and stays queued.
                d=$(drain_wait cm_deferred)
                DRAIN_CM[$mode]+="$d "
                queued=$(cm_queued)
                note="deferred $(cm_deferred) in +${d}s, queued $queued"
                [ "$queued" = "$MSGS" ] || log "chainmail $mode run $run: $queued of $MSGS queued"
                ;;
            tls)
                d=$(drain_wait tls_sink_delta "$sink0")
                DRAIN_CM[$mode]+="$d "
                note="delivered $(tls_sink_delta "$sink0") in +${d}s"
                ;;
        esac
        log "chainmail $mode run $run: steady ${s:-?}/s wall ${w:-?}/s cpu ${cpu}% $note"
        cm_stop
    done
done
postsuper -c "$PF/etc" -d ALL hold >/dev/null 2>&1

if [ "$THROUGHPUT_ONLY" = 1 ]; then
    report
    exit 0
fi

# --- c: durable batches per second of this disk ---------------------------------
declare -a R_SYNC
for ((run = 1; run <= RUNS; run++)); do
    r=$("$TOOL" fsync "$WORK" 2 1000000 | awk '{print $6}') && R_SYNC+=("$r")
done
log "fdatasync/s: ${R_SYNC[*]}"

# --- d: memory per idle session ------------------------------------------------
CM_IDLE_KB=""
if [ "$CM_OK" = 1 ] && cm_start nodelivery; then
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
    if [ "$CM_OK" = 1 ] && cm_start nodelivery; then
        read -r p50 p99 < <(latency "$CM_PORT") && L50_CM+=("$p50") && L99_CM+=("$p99")
        cm_stop
    fi
done

# --- report ----------------------------------------------------------------------
report
