# shellcheck shell=bash
# bench.sh: helpers for bench/accept.sh (sourced; uses its variables WORK,
# TOOL, CHAINMAIL, SIZE, SESSIONS, MSGS, IDLE, LAT_*, FROM, RCPT, RESULTS,
# TLS_SINK_PORT). Servers are started and stopped by PID; every wait is
# bounded in time.

DEAD_PORT=$(pf_free_port) # nothing listens here: delivery attempts fail at once

# cm_start [MODE]: starts `chainmail serve` on a free port with a fresh spool;
# sets CM_PID, CM_PORT, CM_CFG, CM_DIR. MODE:
#   nodelivery (default)  `--no-delivery`: the outbound side stays idle, like
#                         Postfix's hold queue, so only acceptance is measured;
#   refuse                delivery on; the only destination refuses connections,
#                         so every message is deferred (once, within a run);
#   tls                   delivery on to a live STARTTLS sink (tls: encrypt).
cm_start() {
    local i mode=${1:-nodelivery} hop tls=none args=(serve)
    hop="[127.0.0.1]:$DEAD_PORT"
    case $mode in
        nodelivery) args+=(--no-delivery) ;;
        refuse) ;;
        tls) hop="[127.0.0.1]:$TLS_SINK_PORT" tls=encrypt ;;
        *) log "cm_start: unknown mode $mode"; return 1 ;;
    esac
    CM_PORT=$(pf_free_port)
    CM_DIR=$(mktemp -d "$WORK/cm.XXXXXX")
    CM_CFG=$CM_DIR/chainmail.yaml
    cat >"$CM_CFG" <<EOF
hostname: bench.localdomain
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
  nameservers: ["127.0.0.1@$DEAD_PORT"]
partners:
  - name: bench
    domains: [bench.test]
    tls: $tls
    next_hop: "$hop"
    on_tls_failure: defer
${CM_EXTRA_YAML:-}
EOF
    [ -x "$CHAINMAIL" ] || return 1
    "$CHAINMAIL" "${args[@]}" -c "$CM_CFG" >"$CM_DIR/serve.log" 2>&1 &
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

cm_stop() {
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
    rm -rf "$CM_DIR"
}

# Messages the TLS sink has received since it started (0 before the first).
tls_sink_count() { awk '{print $3}' "$WORK/tls-sink.st" 2>/dev/null || echo 0; }
tls_sink_delta() { echo $(($(tls_sink_count) - $1)); }

# Deferrals in the current serve's delivery log.
cm_deferred() { grep -c '"event":"deferred"' "$CM_DIR/delivery.jsonl" 2>/dev/null || echo 0; }

# drain_wait FUNC ARGS...: waits (at most DRAIN_TIMEOUT s) until FUNC ARGS
# prints MSGS or more; prints the seconds it waited, or "timeout".
drain_wait() {
    local t0 n
    t0=$(date +%s.%N)
    while :; do
        n=$("$@")
        [ "$n" -ge "$MSGS" ] 2>/dev/null && break
        if awk -v t0="$t0" -v now="$(date +%s.%N)" -v max="$DRAIN_TIMEOUT" \
            'BEGIN{exit !(now - t0 > max)}'; then
            echo timeout
            return 1
        fi
        sleep 0.1
    done
    awk -v t0="$t0" -v now="$(date +%s.%N)" 'BEGIN{printf "%.1f\n", now - t0}'
}

# perf_start FILE: samples serve (CM_PID) with call graphs until perf_stop.
# PERF_CALLGRAPH (default dwarf: the Release build keeps no frame pointers);
# PERF_FREQ samples per second (default 499; dwarf call graphs are large).
# PERF_STAT=1 counts instead (`perf stat --per-thread`: CPU time, context
# switches and system calls of each of serve's threads) into FILE;
# PERF_STAT=trace lists each thread's system calls by name (`perf trace -s`;
# it slows serve several times over, so only its counts mean anything).
perf_start() {
    command -v perf >/dev/null || { log "perf not installed (apt-get install linux-perf)"; return 1; }
    mkdir -p "$(dirname "$1")"
    local cmd
    case "${PERF_STAT:-0}" in
        trace) cmd=(perf trace -s) ;;
        1) cmd=(perf stat --per-thread -e task-clock,context-switches,raw_syscalls:sys_enter) ;;
        *) cmd=(perf record -F "${PERF_FREQ:-499}" --call-graph "${PERF_CALLGRAPH:-dwarf,16384}") ;;
    esac
    "${cmd[@]}" -o "$1" -p "$CM_PID" >"$1.log" 2>&1 &
    PERF_PID=$!
    sleep 0.5 # perf attaches before the load starts
}

perf_stop() {
    [ -n "${PERF_PID:-}" ] || return 0
    kill -INT "$PERF_PID" 2>/dev/null
    wait "$PERF_PID" 2>/dev/null
    PERF_PID=""
}

# How many messages `chainmail queue list --json` shows ("?" if it cannot).
# Its output is JSON Lines: one object per message.
cm_queued() {
    timeout 60 "$CHAINMAIL" queue list --json -c "$CM_CFG" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
print(sum(1 for line in sys.stdin if line.strip() and json.loads(line)["id"]))' 2>/dev/null ||
        echo "?"
}

# smtp-source with 20 sessions of 10 KB messages; prints "WALL_RATE STEADY_RATE".
steady_rate() {
    local port=$1 n=$2 out
    out=$(timeout 300 "$TOOL" steady "$n" smtp-source -c -s "$SESSIONS" -m "$n" -l "$SIZE" -d \
        -f "$FROM" -t "$RCPT" "127.0.0.1:$port" 2>"$WORK/source.err") || {
        log "smtp-source to port $port: $out $(tail -2 "$WORK/source.err")"
        return 1
    }
    awk '{print $6, $8}' <<<"$out"
}

# Fixed-rate load; prints "P50_MS P99_MS".
latency() {
    local out
    out=$(timeout 120 "$TOOL" latency 127.0.0.1 "$1" "$SESSIONS" "$LAT_RATE" "$LAT_COUNT" \
        "$SIZE" 60) || {
        log "latency run on port $1 failed: $out"
        return 1
    }
    log "latency port $1: $out"
    awk '{for (i = 1; i < NF; i++) { if ($i == "p50_ms") a = $(i+1); if ($i == "p99_ms") b = $(i+1) }
          print a, b}' <<<"$out"
}

# user + system CPU time of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# Total VmRSS and PSS (KB) of the smtpd children of a Postfix master.
smtpd_mem() {
    local rss=0 pss=0 p v w
    for p in $(pgrep -P "$1" -x smtpd); do
        v=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null)
        w=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)
        rss=$((rss + ${v:-0}))
        pss=$((pss + ${w:-0}))
    done
    echo "$rss $pss"
}

# Opens IDLE sessions (greeting + EHLO) and keeps them until release_idle.
hold_idle() {
    local line=""
    coproc IDLER { timeout 300 "$TOOL" idle 127.0.0.1 "$1" "$IDLE" 240; }
    IDLE_PID=$IDLER_PID
    read -r -t 120 line <&"${IDLER[0]}"
    if [ "$line" != "ready $IDLE" ]; then
        log "could not hold $IDLE idle sessions on port $1"
        return 1
    fi
    sleep 1 # let the server settle
}

release_idle() {
    [ -n "${IDLE_PID:-}" ] || return 0
    eval "exec ${IDLER[1]}>&-" 2>/dev/null
    wait "$IDLE_PID" 2>/dev/null
    IDLE_PID=""
}

median() {
    printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk '{a[NR] = $1}
        END { if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR + 1) / 2];
              else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# A / B formatted with "%.2f", or n/a.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a";
                                      else printf "%.2f\n", a / b }'
}

# PASS/MISS for "value OP goal", n/a when not measured.
verdict() {
    awk -v v="$1" -v op="$2" -v g="$3" 'BEGIN { if (v == "n/a" || v == "") { print "n/a"; exit }
        ok = (op == ">=") ? (v + 0 >= g + 0) : (op == "<=") ? (v + 0 <= g + 0) : (v + 0 < g + 0)
        print ok ? "PASS" : "MISS" }'
}

# One row of the acceptance table for chainmail MODE.
accept_row() {
    local mode=$1 label=$2 cm pf sink rp rs
    # shellcheck disable=SC2086 # the runs are a space-separated list
    cm=$(median ${R_CM[$mode]:-})
    pf=$(median "${R_PF[@]}") sink=$(median "${R_SINK[@]}")
    rp=$(ratio "$cm" "$pf") rs=$(ratio "$cm" "$sink")
    local pct
    pct=$(awk -v r="$rs" 'BEGIN{print (r=="n/a")?"n/a":sprintf("%.0f%%", r*100)}')
    local v1 v2 v
    v1=$(verdict "$rp" ">=" 5) v2=$(verdict "$rs" ">=" 0.60)
    v=PASS
    [ "$v1" = PASS ] && [ "$v2" = PASS ] || v=MISS
    [ "$v1" = n/a ] && v=n/a
    echo "| $label | ${cm} | ${pf} | ${sink} | ${rp}× | ${pct} | $v |"
}

# Per run, chainmail MODE / Postfix and / ceiling of that same run, and
# their medians (printed only when every subject has every run).
run_ratios() {
    local -a cm
    read -r -a cm <<<"${R_CM[$1]:-}"
    [ "${#cm[@]}" = "${#R_PF[@]}" ] && [ "${#cm[@]}" = "${#R_SINK[@]}" ] && [ "${#cm[@]}" -gt 0 ] ||
        return 0
    local i rp=() rs=()
    for ((i = 0; i < ${#cm[@]}; i++)); do
        rp+=("$(ratio "${cm[i]}" "${R_PF[i]}")") rs+=("$(ratio "${cm[i]}" "${R_SINK[i]}")")
    done
    echo "  per run × Postfix: ${rp[*]} (median $(median "${rp[@]}")); of ceiling: ${rs[*]} (median $(median "${rs[@]}"))"
}

report() {
    local pfw sinkw sync l50p l99p l50c l99c cmv mode
    pfw=$(median "${W_PF[@]}") sinkw=$(median "${W_SINK[@]}")
    sync=$(median "${R_SYNC[@]}")
    l50p=$(median "${L50_PF[@]}") l99p=$(median "${L99_PF[@]}")
    l50c=$(median "${L50_CM[@]}") l99c=$(median "${L99_CM[@]}")
    cmv=$("$CHAINMAIL" --version 2>/dev/null | head -1)
    declare -A LABEL=(
        [nodelivery]="chainmail \`--no-delivery\`"
        [refuse]="delivering: the destination refuses (each message deferred once)"
        [tls]="delivering: to a live STARTTLS sink$([ -n "${SINK_CHUNKING:-}" ] && echo " offering CHUNKING (BDAT)" || echo " without CHUNKING (DATA)")"
    )
    {
        echo "# chainmail acceptance benchmark"
        echo
        echo "Written by \`$COMMAND\` on $(date -u '+%Y-%m-%d %H:%M UTC'); each figure is"
        echo "the median of $RUNS runs of $MSGS messages. Re-run the script to refresh this file."
        echo "Load average before the run: $LOAD_START; after: $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "(2 cores, shared with other work that this script does not control; the ratios"
        echo "compare subjects measured in the same run)."
        echo
        echo "## a, b. Acceptance (10 KB, $SESSIONS sessions, 250 only after fdatasync)"
        echo
        echo "| chainmail mode | chainmail msg/s | Postfix (HOLD) msg/s | ceiling msg/s | × Postfix | of ceiling | goal ≥ 5× and ≥ 60% |"
        echo "|---|---|---|---|---|---|---|"
        for mode in $MODES; do accept_row "$mode" "${LABEL[$mode]:-$mode}"; done
        echo
        echo "Ceiling: smtp-source → smtp-sink on loopback (no disk). Postfix: every"
        echo "message held, nothing delivered, as in every row."
        echo
        if [ "$THROUGHPUT_ONLY" = 0 ]; then
        echo "## c–e. Disk, memory, latency (chainmail \`--no-delivery\`)"
        echo
        echo "| figure | chainmail | Postfix | ceiling | goal | verdict |"
        echo "|---|---|---|---|---|---|"
        echo "| c. fdatasync'ed 4 KB appends/s of the spool disk | — | — | ${sync} | — | — |"
        echo "| d. memory per idle session after EHLO (KB) | ${CM_IDLE_KB:-n/a} RSS | ${PF_IDLE_RSS:-n/a} RSS, ${PF_IDLE_PSS:-n/a} PSS | — | ≤ 16 KB | $(verdict "${CM_IDLE_KB:-n/a}" "<=" 16) |"
        echo "| e. end-of-DATA → 250, p50 (ms) | ${l50c} | ${l50p} | — | — | — |"
        echo "| e. end-of-DATA → 250, p99 (ms) | ${l99c} | ${l99p} | — | < 20 ms | $(verdict "$l99c" "<" 20) |"
        echo
        fi
        echo "## Runs"
        echo
        echo "Steady msg/s per run: Postfix ${R_PF[*]:-none}; smtp-sink ${R_SINK[*]:-none}."
        for mode in $MODES; do
            echo "chainmail $mode: ${R_CM[$mode]:-none}(CPU % of one core: ${CPU_CM[$mode]:-none})."
            run_ratios "$mode"
            [ "$mode" = tls ] && [ -n "${CPU_SINK:-}" ] &&
                echo "  the TLS sink's CPU % of one core over the same time: ${CPU_SINK}"
            [ -n "${DRAIN_CM[$mode]:-}" ] &&
                echo "  seconds after the load until all $MSGS were $([ "$mode" = tls ] && echo delivered || echo deferred): ${DRAIN_CM[$mode]}"
        done
        echo
        echo "Wall-clock rates (connection set-up and the last sessions' tail included):"
        echo "Postfix ${pfw}, smtp-sink ${sinkw} msg/s; chainmail:"
        for mode in $MODES; do
            # shellcheck disable=SC2086
            echo "$mode $(median ${W_CM[$mode]:-});"
        done
        echo
        if [ "$THROUGHPUT_ONLY" = 0 ]; then
            echo "fdatasync/s: ${R_SYNC[*]:-none}. p99 ms per run: chainmail ${L99_CM[*]:-none};"
            echo "Postfix ${L99_PF[*]:-none}."
            echo
        fi
        echo "## Method"
        echo
        echo "- Load: \`smtp-source -c -s $SESSIONS -m $MSGS -l $SIZE -d\` (persistent sessions),"
        echo "  the same for every subject; runs interleaved Postfix, sink, chainmail per mode."
        echo "  The rate counts messages from 10% to 90% of each run (smtp-source's -c"
        echo "  counter), so session set-up, including a greeting delay, is left out."
        echo "- Postfix: a private instance (own config and queue directory, chroot off),"
        echo "  queue fsync'ed as shipped; \`check_client_access static:HOLD\` puts every"
        echo "  message in the hold queue, so nothing is delivered. The hold queue is"
        echo "  emptied between runs; each run's held count is checked against $MSGS."
        echo "- chainmail: \`chainmail serve\` with a fresh spool per run on the same disk."
        echo "  nodelivery: \`--no-delivery\` keeps the outbound side idle, as the hold queue"
        echo "  does for Postfix; queued count checked with \`chainmail queue list --json\`."
        echo "  refuse: delivery on, the only partner's next hop is a loopback port where"
        echo "  nothing listens; the run waits until the delivery log shows $MSGS deferrals"
        echo "  and checks that all $MSGS are still queued."
        echo "  tls: delivery on, \`tls: encrypt\` to \`bench/sink\` (STARTTLS, one thread,"
        echo "  self-signed certificate) on loopback; the run waits until the sink has all $MSGS."
        echo "  Every mode: 250 only after the message is fdatasync'ed."
        echo "- c: 4 KB append + fdatasync in a loop for 2 s (\`smtpbench fsync\`)."
        echo "- d: $IDLE sessions opened (greeting + EHLO) and held; chainmail: growth of"
        echo "  the server's VmRSS over a warmed-up baseline, / $IDLE. Postfix: one smtpd"
        echo "  process per session; total VmRSS (shared pages counted in each) and PSS"
        echo "  (shared pages divided) of its smtpd processes, / $IDLE."
        echo "- e: \`smtpbench latency\`: $SESSIONS sessions, $LAT_RATE msg/s in total,"
        echo "  $LAT_COUNT messages of 10 KB; time from sending the final \".\" line to"
        echo "  reading the reply."
        echo
        echo "## Machine"
        echo
        echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores;"
        echo "  RAM $(free -g | awk '/^Mem/ {print $2}') GB; kernel $(uname -r)"
        echo "- spool file system: $(findmnt -no FSTYPE,SOURCE -T "$WORK" | head -1)"
        echo "- Postfix $(postconf -c "$PF/etc" -h mail_version 2>/dev/null); ${cmv:-chainmail (version unknown)}"
    } >"$RESULTS"
    cat "$RESULTS"
}
