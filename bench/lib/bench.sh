# shellcheck shell=bash
# bench.sh: helpers for bench/accept.sh (sourced; uses its variables WORK,
# TOOL, CHAINMAIL, SIZE, SESSIONS, MSGS, IDLE, LAT_*, FROM, RCPT, RESULTS).
# Servers are started and stopped by PID; every wait is bounded in time.

DEAD_PORT=$(pf_free_port) # nothing listens here: delivery attempts fail at once

# Starts `chainmail serve` on a free port with a fresh spool; sets CM_PID,
# CM_PORT, CM_CFG. `--no-delivery` keeps the outbound side idle, like
# Postfix's hold queue, so only acceptance is measured.
cm_start() {
    local i
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
    tls: none
    next_hop: "[127.0.0.1]:$DEAD_PORT"
    on_tls_failure: defer
EOF
    [ -x "$CHAINMAIL" ] || return 1
    "$CHAINMAIL" serve --no-delivery -c "$CM_CFG" >"$CM_DIR/serve.log" 2>&1 &
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

report() {
    local pf sink cm pfw sinkw cmw sync r_pf r_sink l50p l99p l50c l99c cmv
    pf=$(median "${R_PF[@]}") sink=$(median "${R_SINK[@]}") cm=$(median "${R_CM[@]}")
    pfw=$(median "${W_PF[@]}") sinkw=$(median "${W_SINK[@]}") cmw=$(median "${W_CM[@]}")
    sync=$(median "${R_SYNC[@]}")
    r_pf=$(ratio "$cm" "$pf") r_sink=$(ratio "$cm" "$sink")
    l50p=$(median "${L50_PF[@]}") l99p=$(median "${L99_PF[@]}")
    l50c=$(median "${L50_CM[@]}") l99c=$(median "${L99_CM[@]}")
    cmv=$("$CHAINMAIL" --version 2>/dev/null | head -1)
    {
        echo "# chainmail acceptance benchmark"
        echo
        echo "Written by \`bench/accept.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); each figure is"
        echo "the median of $RUNS runs. Re-run the script to refresh this file."
        echo
        echo "| figure | chainmail | Postfix | ceiling | goal | verdict |"
        echo "|---|---|---|---|---|---|"
        echo "| a. acceptance, 10 KB, $SESSIONS sessions, fsync (msg/s) | ${cm} | ${pf} | — | ≥ 5× Postfix: ${r_pf}× | $(verdict "$r_pf" ">=" 5) |"
        echo "| b. loopback ceiling smtp-source → smtp-sink (msg/s) | ${cm} | — | ${sink} | ≥ 60%: $(awk -v r="$r_sink" 'BEGIN{print (r=="n/a")?"n/a":sprintf("%.0f%%", r*100)}') | $(verdict "$r_sink" ">=" 0.60) |"
        echo "| c. fdatasync'ed 4 KB appends/s of the spool disk | — | — | ${sync} | — | — |"
        echo "| d. memory per idle session after EHLO (KB) | ${CM_IDLE_KB:-n/a} RSS | ${PF_IDLE_RSS:-n/a} RSS, ${PF_IDLE_PSS:-n/a} PSS | — | ≤ 16 KB | $(verdict "${CM_IDLE_KB:-n/a}" "<=" 16) |"
        echo "| e. end-of-DATA → 250, p50 (ms) | ${l50c} | ${l50p} | — | — | — |"
        echo "| e. end-of-DATA → 250, p99 (ms) | ${l99c} | ${l99p} | — | < 20 ms | $(verdict "$l99c" "<" 20) |"
        echo
        echo "Wall-clock rates (connection set-up and the last sessions' tail included):"
        echo "chainmail ${cmw}, Postfix ${pfw}, smtp-sink ${sinkw} msg/s."
        echo
        echo "Runs (msg/s, steady part): chainmail ${R_CM[*]:-none}; Postfix ${R_PF[*]:-none};"
        echo "smtp-sink ${R_SINK[*]:-none}. fdatasync/s: ${R_SYNC[*]:-none}."
        echo "p99 ms per run: chainmail ${L99_CM[*]:-none}; Postfix ${L99_PF[*]:-none}."
        echo "chainmail's CPU use during its throughput runs (% of one core): ${CPU_CM[*]:-none};"
        echo "well under 100% means the runs were bound by the disk's syncs, not by CPU."
        echo
        echo "## Method"
        echo
        echo "- Load: \`smtp-source -c -s $SESSIONS -m $MSGS -l $SIZE -d\` (persistent sessions),"
        echo "  the same for every subject; runs interleaved Postfix, sink, chainmail."
        echo "  The rate counts messages from 10% to 90% of each run (smtp-source's -c"
        echo "  counter), so session set-up, including a greeting delay, is left out."
        echo "- Postfix: a private instance (own config and queue directory, chroot off),"
        echo "  queue fsync'ed as shipped; \`check_client_access static:HOLD\` puts every"
        echo "  message in the hold queue, so nothing is delivered. The hold queue is"
        echo "  emptied between runs; each run's held count is checked against $MSGS."
        echo "- chainmail: \`chainmail serve\` with a fresh spool per run on the same disk;"
        echo "  \`--no-delivery\` keeps the outbound side idle, as the hold queue does for Postfix."
        echo "  Queued count checked with \`chainmail queue list --json\`."
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
        echo "- Postfix $(postconf -h mail_version); ${cmv:-chainmail (version unknown)}"
        echo "- Other load on the machine during the run is not controlled."
    } >"$RESULTS"
    cat "$RESULTS"
}
