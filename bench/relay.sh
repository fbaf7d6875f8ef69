#!/bin/bash
# relay.sh: the end-to-end relay benchmark. In one run, chainmail serve and a
# private Postfix relay 10 KB messages, one recipient each, spread over
# RCPTS recipients at DESTS destinations; each destination is a STARTTLS sink
# (bench/sink) on its own loopback address. Measures delivered msg/s at the
# sinks, 250 -> arrival latency at a fixed rate, and TLS handshakes per
# message; writes bench/RESULTS-relay.md. Not a test: it asserts nothing.
#
# Usage: bench/relay.sh
# Environment (all optional):
#   CHAINMAIL        the binary to measure (default: build/chainmail, built here)
#   RUNS=5           runs per figure; each figure is the median
#   MSGS=10000       messages per throughput run; SESSIONS=20 injecting sessions
#   RCPTS=50 DESTS=5 recipients and destinations (sinks)
#   LAT_RATE=20 LAT_COUNT=600   the fixed-rate load for the latency figure
#   TLS_MODES="encrypt dane"    partner TLS levels to measure (dane: signed lab zone)
#   LOADS="e2e prequeue"        e2e: inject and deliver at once; prequeue: sinks hold
#                               their greeting until every message is queued
#   SUBJECTS="postfix chainmail"  which relays to measure
#   PF_TLS_REUSE=0   1: Postfix reuses TLS connections (tlsproxy; off as shipped)
#   DELIVER_TIMEOUT=300  seconds a run may take to reach the sinks
#   RESULTS          where to write the Markdown (default: bench/RESULTS-relay.md)
# Needs root (Postfix; a mount namespace for Postfix's resolver under dane) and
# the Debian packages postfix, nsd, ldns-utils, unbound, g++, libboost-dev,
# libssl-dev. Everything listens on 127.0.0.0/8 only.
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/lab/lib/postfix.sh
source "$ROOT/tests/lab/lib/postfix.sh"
# shellcheck source=lib/bench.sh
source "$ROOT/bench/lib/bench.sh" # ratio, verdict, cm_stop, DEAD_PORT
# shellcheck disable=SC2034 # read by dnslab.sh: the trap here stops the lab
DNSLAB_NO_TRAP=1
# shellcheck source=../tests/lab/lib/dnslab.sh
source "$ROOT/tests/lab/lib/dnslab.sh"

RUNS=${RUNS:-5}
MSGS=${MSGS:-10000}
SESSIONS=${SESSIONS:-20}
SIZE=10240
RCPTS=${RCPTS:-50}
DESTS=${DESTS:-5}
LAT_RATE=${LAT_RATE:-20}
LAT_COUNT=${LAT_COUNT:-600}
TLS_MODES=${TLS_MODES:-encrypt dane}
LOADS=${LOADS:-e2e prequeue}
PF_TLS_REUSE=${PF_TLS_REUSE:-0}
SUBJECTS=${SUBJECTS:-postfix chainmail}
DELIVER_TIMEOUT=${DELIVER_TIMEOUT:-300}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS-relay.md}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/chainmail-relaybench.XXXXXX")
chmod 0755 "$WORK"
PF=$WORK/postfix
SINK_PID=""
UNBOUND_PID=""
CM_PID=""
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

cleanup() {
    cm_stop
    sink_stop
    [ -d "$PF/etc" ] && pf_stop "$PF"
    [ -n "$UNBOUND_PID" ] && kill "$UNBOUND_PID" 2>/dev/null && wait "$UNBOUND_PID" 2>/dev/null
    dnslab_stop
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

# --- build -----------------------------------------------------------------------
if [ -z "${CHAINMAIL:-}" ]; then
    log "building chainmail in $ROOT/build"
    cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
        cmake --build "$ROOT/build" -j2 --target chainmail >/dev/null ||
        log "chainmail did not build; its figures will be missing"
    CHAINMAIL=$ROOT/build/chainmail
fi
CXX="g++ -std=c++20 -O2 -Wall -Wextra -pthread"
$CXX -o "$WORK/sink" "$ROOT/bench/sink/sink.cpp" -lssl -lcrypto &
b1=$!
$CXX -o "$WORK/inject" "$ROOT/bench/sink/inject.cpp" -lssl -lcrypto &
b2=$!
wait $b1 && wait $b2 || { log "bench tools did not build"; exit 1; }

# --- the destinations -------------------------------------------------------------
# A random 127.R.S.0/24 per run: sinks at .2 .. .DESTS+1, Postfix's resolver at .53.
SUBNET=127.$((RANDOM % 250 + 2)).$((RANDOM % 250 + 1))
SINK_PORT=$(pf_free_port)
declare -a DOM IP HOST
for ((d = 1; d <= DESTS; d++)); do
    DOM[d]=d$d.relay.test
    IP[d]=$SUBNET.$((d + 1))
    HOST[d]=mx$d.relay.secure.lab
done
DOMAINS=$(IFS=,; echo "${DOM[*]:1}")
bash "$ROOT/tests/lab/lib/certs.sh" selfsigned "$WORK/pki" sink "${HOST[@]:1}" >/dev/null || exit 1
CERT=$WORK/pki/sink.chain.pem
KEY=$WORK/pki/sink.key
TLSA=$(bash "$ROOT/tests/lab/lib/certs.sh" tlsa311 "$WORK/pki/sink.crt")

# sink_start DIR [--gate]: one sink process listening on every destination.
sink_start() {
    local dir=$1 i args=()
    shift
    for ((d = 1; d <= DESTS; d++)); do args+=(--listen "${IP[d]}:$SINK_PORT"); done
    "$WORK/sink" "${args[@]}" --cert "$CERT" --key "$KEY" --report "$dir/sink.rep" \
        --status "$dir/sink.st" --max-seconds $((DELIVER_TIMEOUT + 600)) "$@" \
        >"$dir/sink.out" 2>&1 &
    SINK_PID=$!
    for ((i = 0; i < 100; i++)); do
        grep -q '^ready' "$dir/sink.out" 2>/dev/null && return 0
        kill -0 "$SINK_PID" 2>/dev/null || break
        sleep 0.1
    done
    log "sink did not start: $(cat "$dir/sink.out")"
    return 1
}

# Stops the sink; its report is complete when this returns 0.
sink_stop() {
    [ -n "${SINK_PID:-}" ] || return 0
    kill -TERM "$SINK_PID" 2>/dev/null
    wait "$SINK_PID" 2>/dev/null
    SINK_PID=""
}

sink_count() {
    awk '{print $3}' "$1/sink.st" 2>/dev/null || echo 0
}

# --- DNS for dane: the lab's signed zone, and a validating resolver for Postfix ---
DANE_OK=0
UB_IP=$SUBNET.53
if [[ " $TLS_MODES " == *" dane "* ]]; then
    dnslab_init "$WORK/dns" >/dev/null
    for ((d = 1; d <= DESTS; d++)); do
        dnslab_add_record secure.lab "mx$d.relay IN A ${IP[d]}"
        dnslab_add_record secure.lab "_$SINK_PORT._tcp.mx$d.relay IN TLSA 3 1 1 $TLSA"
    done
    if dnslab_start; then
        DANE_OK=1
        # Postfix asks the resolver in /etc/resolv.conf (port 53) and trusts
        # its AD bit: an unbound that validates up to the lab's anchor.
        mkdir -p "$WORK/unbound"
        cat >"$WORK/unbound/unbound.conf" <<EOF
server:
  interface: $UB_IP@53
  access-control: 127.0.0.0/8 allow
  do-ip6: no
  username: ""
  chroot: ""
  directory: "$WORK/unbound"
  pidfile: "$WORK/unbound/unbound.pid"
  use-syslog: no
  logfile: "$WORK/unbound/unbound.log"
  do-not-query-localhost: no
  trust-anchor-file: "$DNSLAB_TA"
  module-config: "validator iterator"
  num-threads: 1
remote-control:
  control-enable: no
stub-zone:
  name: "lab."
  stub-addr: 127.0.0.1@$DNSLAB_PORT
EOF
        printf 'nameserver %s\noptions trust-ad\n' "$UB_IP" >"$WORK/unbound/resolv.conf"
        unbound -d -c "$WORK/unbound/unbound.conf" >"$WORK/unbound/stderr" 2>&1 &
        UNBOUND_PID=$!
        for ((i = 0; i < 50; i++)); do
            drill -D @"$UB_IP" "${HOST[1]}" A 2>/dev/null | grep -q 'flags:.* ad' && break
            sleep 0.2
        done
        if [ "$i" = 50 ]; then
            log "unbound on $UB_IP does not validate the lab zone; Postfix skips dane"
            kill "$UNBOUND_PID" 2>/dev/null && wait "$UNBOUND_PID" 2>/dev/null
            UNBOUND_PID=""
        fi
    else
        log "DNS lab did not start: dane figures are skipped"
    fi
fi

# --- Postfix ------------------------------------------------------------------------
PF_PORT=$(pf_free_port)
pf_create "$PF" "$PF_PORT"
pf_conf "$PF" "default_destination_concurrency_limit = 20" \
    "smtp_tls_session_cache_database = btree:$PF/data/smtp_scache" \
    "transport_maps = texthash:$PF/etc/transport" "smtp_tls_loglevel = 1" \
    "maximal_queue_lifetime = 1h"
if [ "$PF_TLS_REUSE" = 1 ]; then
    postconf -c "$PF/etc" -M "tlsproxy/unix=tlsproxy unix - - n - 0 tlsproxy"
    pf_conf "$PF" "smtp_tls_connection_reuse = yes"
fi

# pf_mode encrypt|dane: the transport table and TLS level for that run.
pf_mode() {
    local d
    : >"$PF/etc/transport"
    for ((d = 1; d <= DESTS; d++)); do
        if [ "$1" = dane ]; then
            echo "${DOM[d]} smtp:[${HOST[d]}]:$SINK_PORT" >>"$PF/etc/transport"
        else
            echo "${DOM[d]} smtp:[${IP[d]}]:$SINK_PORT" >>"$PF/etc/transport"
        fi
    done
    if [ "$1" = dane ]; then
        pf_conf "$PF" "smtp_tls_security_level = dane" "smtp_dns_support_level = dnssec"
    else
        pf_conf "$PF" "smtp_tls_security_level = encrypt" "smtp_dns_support_level ="
    fi
}

# Postfix under dane runs in a mount namespace whose /etc/resolv.conf names
# the validating resolver; otherwise as pf_start does.
pf_start_mode() {
    local i
    if [ "$1" != dane ]; then
        pf_start "$PF"
        return
    fi
    unshare --mount --propagation private /bin/sh -c \
        'mount --bind "$1" /etc/resolv.conf && exec postfix -c "$2" start' sh \
        "$WORK/unbound/resolv.conf" "$PF/etc" >>"$PF/start.log" 2>&1 || return 1
    for ((i = 0; i < 200; i++)); do
        [ -n "$(pf_master_pid "$PF")" ] && pf_port_open "$PF_PORT" && return 0
        sleep 0.1
    done
    log "postfix did not come up: $(tail -3 "$PF/start.log")"
    return 1
}

# --- chainmail ----------------------------------------------------------------------
# cm_start_mode encrypt|dane: serve on a free port with a fresh spool.
cm_start_mode() {
    local i d hop dns
    [ -x "$CHAINMAIL" ] || return 1
    CM_PORT=$(pf_free_port)
    CM_DIR=$(mktemp -d "$WORK/cm.XXXXXX")
    CM_CFG=$CM_DIR/chainmail.yaml
    dns="nameservers: [\"127.0.0.1@$DEAD_PORT\"]"
    [ "$1" = dane ] && dns="nameservers: [\"$DNSLAB_NS\"]
  trust_anchor_file: $DNSLAB_TA"
    {
        cat <<EOF
hostname: relay-bench.localdomain
listen:
  - address: "127.0.0.1:$CM_PORT"
relay_from:
  networks: ["127.0.0.0/8"]
spool: $CM_DIR/spool
control_socket: $CM_DIR/spool/control
log:
  level: warning
  delivery_log: $CM_DIR/delivery.jsonl
dns:
  $dns
delivery:
  concurrency_per_destination: 20
partners:
EOF
        for ((d = 1; d <= DESTS; d++)); do
            hop="[${IP[d]}]:$SINK_PORT"
            [ "$1" = dane ] && hop="[${HOST[d]}]:$SINK_PORT"
            printf '  - name: dest%s\n    domains: [%s]\n    tls: %s\n    next_hop: "%s"\n    on_tls_failure: defer\n' \
                "$d" "${DOM[d]}" "$1" "$hop"
        done
    } >"$CM_CFG"
    "$CHAINMAIL" serve -c "$CM_CFG" >"$CM_DIR/serve.log" 2>&1 &
    CM_PID=$!
    for ((i = 0; i < 200; i++)); do
        if ! kill -0 "$CM_PID" 2>/dev/null; then
            log "chainmail serve exited: $(tail -5 "$CM_DIR/serve.log")"
            wait "$CM_PID" 2>/dev/null
            CM_PID=""
            return 1
        fi
        pf_port_open "$CM_PORT" && return 0
        sleep 0.1
    done
    log "chainmail serve did not listen within 20 s"
    cm_stop
    return 1
}

# Stops serve like cm_stop but keeps CM_DIR (its delivery log) for counting.
cm_halt() {
    local i
    [ -n "${CM_PID:-}" ] || return 0
    kill -TERM "$CM_PID" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        kill -0 "$CM_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$CM_PID" 2>/dev/null
    wait "$CM_PID" 2>/dev/null
    CM_PID=""
}

# --- one measured run -----------------------------------------------------------------
# run_one SUBJECT TLS LOAD COUNT RATE: prints relay_stats' line, or fails.
run_one() {
    local subj=$1 tls=$2 load=$3 count=$4 rate=$5 dir port out t0 acked i n gate=() sessions
    local auth line
    dir=$(mktemp -d "$WORK/run.XXXXXX")
    [ "$load" = prequeue ] && gate=(--gate)
    sink_start "$dir" "${gate[@]}" || return 1
    local to=127.0.0.1 tlsarg=0
    if [ "$subj" = postfix ]; then
        pf_mode "$tls"
        pf_start_mode "$tls" || { sink_stop; return 1; }
        port=$PF_PORT
    elif [ "$subj" = chainmail ]; then
        cm_start_mode "$tls" || { sink_stop; return 1; }
        port=$CM_PORT
    else # the ceiling: the injector straight to one sink, over STARTTLS
        to=${IP[1]} port=$SINK_PORT tlsarg=1
    fi
    sessions=$SESSIONS
    [ "$rate" = 0 ] || sessions=2 # fixed rate: few sessions, each mostly idle
    out=$("$WORK/inject" --to "$to:$port" --count "$count" --sessions "$sessions" \
        --size "$SIZE" --domains "$DOMAINS" --rcpts "$RCPTS" --rate "$rate" \
        --out "$dir/acks" --max-seconds "$DELIVER_TIMEOUT" --starttls "$tlsarg")
    t0=$(awk '{for (i = 1; i < NF; i++) if ($i == "t0_ns") print $(i+1)}' <<<"$out")
    acked=$(awk '{print $2}' <<<"$out")
    [ "$load" = prequeue ] && kill -USR1 "$SINK_PID"
    # Bounded wait until every acknowledged message reached a sink.
    for ((i = 0; i < DELIVER_TIMEOUT * 10; i++)); do
        n=$(sink_count "$dir")
        [ "${n:-0}" -ge "${acked:-0}" ] && break
        sleep 0.1
    done
    # How many deliveries the relay says were authenticated (DANE), from its log.
    if [ "$subj" = postfix ]; then
        pf_stop "$PF"
        postsuper -c "$PF/etc" -d ALL >/dev/null 2>&1
        auth=$(grep -c 'Verified TLS connection established' "$PF/maillog")
        : >"$PF/maillog"
    elif [ "$subj" = chainmail ]; then
        cm_halt
        auth=$(grep -c '"event":"delivered".*"auth":"dane' "$CM_DIR/delivery.jsonl" 2>/dev/null)
        rm -rf "$CM_DIR"
    fi
    sink_stop
    [ -s "$dir/sink.rep" ] || { log "$subj: no sink report"; return 1; }
    [ "$load" = prequeue ] && t0=$(awk '/^total/ {for (i = 1; i < NF; i++) if ($i == "release_ns") print $(i+1)}' "$dir/sink.rep")
    line=$(/usr/bin/python3 "$ROOT/bench/relay_stats.py" run "$dir/sink.rep" "$dir/acks" "${t0:-0}") ||
        return 1
    echo "$line dane_auth ${auth:-0}"
    log "$subj $tls $load: inject: $out"
    rm -rf "$dir"
}

# field NAME LINE: the value after NAME in a relay_stats line.
field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i+1)}' <<<"$2"; }

# --- measure -----------------------------------------------------------------------------
declare -A V # V[subject.tls.load.key] = space-separated values per run
keep() {
    local key=$1 line=$2 k
    for k in steady wall conns_per_msg full_per_msg resumed_per_msg p50_ms p99_ms delivered missing plain \
        sink_cpu_s dane_auth; do
        V[$key.$k]="${V[$key.$k]:-} $(field "$k" "$line")"
    done
}

CM_VERSION=$("$CHAINMAIL" --version 2>/dev/null | head -1)
for ((run = 1; run <= RUNS; run++)); do
    if line=$(run_one sink encrypt e2e "$MSGS" 0); then
        keep sink.ceiling "$line"
        log "run $run ceiling: $line"
    fi
    for tls in $TLS_MODES; do
        [ "$tls" = dane ] && [ "$DANE_OK" = 0 ] && continue
        for load in $LOADS; do
            for subj in $SUBJECTS; do
                [ "$subj.$tls" = postfix.dane ] && [ -z "$UNBOUND_PID" ] && continue
                if line=$(run_one "$subj" "$tls" "$load" "$MSGS" 0); then
                    keep "$subj.$tls.$load" "$line"
                    log "run $run $subj $tls $load: $line"
                else
                    log "run $run $subj $tls $load: failed"
                fi
            done
        done
        for subj in $SUBJECTS; do
            [ "$subj.$tls" = postfix.dane ] && [ -z "$UNBOUND_PID" ] && continue
            if line=$(run_one "$subj" "$tls" e2e "$LAT_COUNT" "$LAT_RATE"); then
                keep "$subj.$tls.lat" "$line"
                log "run $run $subj $tls latency: $line"
            else
                log "run $run $subj $tls latency: failed"
            fi
        done
    done
done

# --- report ---------------------------------------------------------------------------------
# Median of the runs' values for key $1 (bench.sh's median rounds to 0.1,
# too coarse for handshakes per message), or n/a.
med() {
    printf '%s\n' ${V[$1]:-} | grep -E '^-?[0-9.]+$' | sort -g | awk '{a[NR] = $1}
        END { if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR + 1) / 2];
              else printf "%.4g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
{
    echo "# chainmail relay benchmark"
    echo
    echo "Written by \`bench/relay.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); each figure is the"
    echo "median of $RUNS runs. Load average before the run: $LOAD_START; after:"
    echo "$(cut -d' ' -f1-3 /proc/loadavg) (the machine was not otherwise controlled)."
    echo
    echo "| TLS | load | figure | chainmail | Postfix | ratio | goal | verdict |"
    echo "|---|---|---|---|---|---|---|---|"
    c=$(med sink.ceiling.steady) cpu=$(med sink.ceiling.sink_cpu_s)
    cpu=$(awk -v c="$cpu" -v n="$MSGS" 'BEGIN { if (c == "n/a") print "n/a"; else printf "%.3f", 1000 * c / n }')
    echo "| STARTTLS | e2e | ceiling: injector → one sink (msg/s) | $c (sink CPU $cpu ms/msg) | — | — | ≫ both | — |"
    for tls in $TLS_MODES; do
        for load in $LOADS; do
            c=$(med "chainmail.$tls.$load.steady") p=$(med "postfix.$tls.$load.steady")
            r=$(ratio "$c" "$p")
            echo "| $tls | $load | delivered msg/s (10–90%) | $c | $p | ${r}× | ≥ 4× | $(verdict "$r" ">=" 4) |"
            c=$(med "chainmail.$tls.$load.wall") p=$(med "postfix.$tls.$load.wall")
            echo "| $tls | $load | delivered msg/s (wall) | $c | $p | $(ratio "$c" "$p")× | — | — |"
            c=$(med "chainmail.$tls.$load.conns_per_msg") p=$(med "postfix.$tls.$load.conns_per_msg")
            echo "| $tls | $load | connections per message | $c | $p | — | — | — |"
            c=$(med "chainmail.$tls.$load.full_per_msg") p=$(med "postfix.$tls.$load.full_per_msg")
            echo "| $tls | $load | full TLS handshakes per message | $c | $p | — | ≪ 1 | $(verdict "$c" "<" 0.1) |"
            c=$(med "chainmail.$tls.$load.resumed_per_msg") p=$(med "postfix.$tls.$load.resumed_per_msg")
            echo "| $tls | $load | resumed TLS handshakes per message | $c | $p | — | — | — |"
            if [ "$tls" = dane ]; then
                c=$(med "chainmail.$tls.$load.dane_auth") p=$(med "postfix.$tls.$load.dane_auth")
                echo "| $tls | $load | deliveries (chainmail) / connections (Postfix) logged DANE-verified | $c | $p | — | — | — |"
            fi
        done
        c=$(med "chainmail.$tls.lat.p50_ms") p=$(med "postfix.$tls.lat.p50_ms")
        echo "| $tls | $LAT_RATE msg/s | 250 → sink p50 (ms) | $c | $p | — | — | — |"
        c=$(med "chainmail.$tls.lat.p99_ms") p=$(med "postfix.$tls.lat.p99_ms")
        echo "| $tls | $LAT_RATE msg/s | 250 → sink p99 (ms) | $c | $p | — | < 20 ms | $(verdict "$c" "<" 20) |"
    done
    echo
    echo "Per run: steady msg/s; p99 ms; missing = acknowledged with 250 but never delivered;"
    echo "plain = delivered without TLS; dane_auth = DANE-verified per the relay's own log."
    echo
    for pre in $(printf '%s\n' "${!V[@]}" | sed 's/\.[^.]*$//' | sort -u); do
        [[ $pre == sink.* ]] && continue
        if [[ $pre == *.lat ]]; then keys="p99_ms missing"; else keys="steady missing plain"; fi
        [[ $pre == *.dane.* ]] && keys="$keys dane_auth"
        printf -- '- %s:' "$pre"
        for k in $keys; do printf ' %s [%s ]' "$k" "${V[$pre.$k]:-}"; done
        echo
    done
    echo
    echo "## Method"
    echo
    echo "- Destinations: $DESTS sinks (\`bench/sink\`, one thread, Boost.Asio + OpenSSL),"
    echo "  each on its own loopback address, all on one port; STARTTLS with a self-signed"
    echo "  certificate made for the run; TLS 1.3 tickets and a TLS 1.2 session cache."
    echo "  A sink discards the mail and records, per message, the CLOCK_MONOTONIC time"
    echo "  its end of data arrived and its X-Bench-Id; it counts full and resumed handshakes."
    echo "- Load: \`bench/sink/inject\`, $SESSIONS sessions to the relay's smtpd on 127.0.0.1,"
    echo "  $MSGS messages of 10 KB, one recipient each (u0..u$((RCPTS - 1)) spread over"
    echo "  $DESTS domains). It records when each message got its 250 after DATA."
    echo "- Ceiling: the injector speaks STARTTLS straight to one sink, no relay between;"
    echo "  with the sink's CPU time per message, it shows that the sinks are not the limit."
    echo "- e2e: delivery runs while the load is injected; prequeue: the sinks hold their"
    echo "  greeting until every message is acknowledged, then release; rate from the release."
    echo "  \"10–90%\": messages between the 10th and 90th percentile of arrivals, divided"
    echo "  by that time; \"wall\": all messages from the start of the load (or the release)"
    echo "  to the last arrival."
    echo "- Latency: $LAT_COUNT messages at $LAT_RATE msg/s (2 sessions), time from the"
    echo "  injector reading the 250 to the sink reading the final dot, matched by id."
    echo "- encrypt: chainmail partners with \`tls: encrypt\`, \`next_hop: \"[IP]:PORT\"\`;"
    echo "  Postfix \`smtp_tls_security_level = encrypt\`, \`transport_maps\` to \`smtp:[IP]:PORT\`."
    echo "- dane: a signed lab zone (tests/lab/lib/dnslab.sh) with A and TLSA 3 1 1 of the"
    echo "  sink's key for mxN.relay.secure.lab; chainmail \`tls: dane\`, next hop by name;"
    echo "  Postfix \`smtp_tls_security_level = dane\`, \`smtp_dns_support_level = dnssec\`,"
    echo "  resolving through a validating unbound named in a private /etc/resolv.conf"
    echo "  (mount namespace)."
    echo "- Postfix: a private instance, restarted for every run like chainmail (fresh"
    echo "  caches); queue fsync'ed as shipped; \`default_destination_concurrency_limit = 20\`"
    echo "  as chainmail's \`concurrency_per_destination\`; TLS session cache on (btree);"
    if [ "$PF_TLS_REUSE" = 1 ]; then
        echo "  TLS connection reuse on (\`smtp_tls_connection_reuse = yes\`, tlsproxy)."
    else
        echo "  TLS connection reuse off, as shipped (\`smtp_tls_connection_reuse = no\`;"
        echo "  PF_TLS_REUSE=1 measures it on)."
    fi
    echo "- chainmail: \`chainmail serve\`, fresh spool per run, \`concurrency_per_destination: 20\`."
    echo
    echo "## Machine"
    echo
    echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores;"
    echo "  RAM $(free -g | awk '/^Mem/ {print $2}') GB; kernel $(uname -r)"
    echo "- Postfix $(postconf -h mail_version); ${CM_VERSION:-chainmail (version unknown)};"
    echo "  $(openssl version)"
    echo "- Command: \`RUNS=$RUNS MSGS=$MSGS TLS_MODES=\"$TLS_MODES\" LOADS=\"$LOADS\" PF_TLS_REUSE=$PF_TLS_REUSE bench/relay.sh\`"
} >"$RESULTS"
cat "$RESULTS"
