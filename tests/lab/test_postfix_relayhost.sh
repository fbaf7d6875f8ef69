#!/bin/bash
# test_postfix_relayhost: a real Postfix uses chainmail as its relayhost with
# smtp_tls_security_level = encrypt. All 5 messages must land in chainmail's
# queue, and Postfix must log a TLS session to chainmail and status=sent.
set -euo pipefail

: "${CHAINMAIL:?CHAINMAIL must name the chainmail binary}"
SRC=${CHAINMAIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$SRC/tests/lab/lib/postfix.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/lab-pf-relayhost.XXXXXX")
chmod 0755 "$T"
PF=$T/postfix
CM_PID=""
cleanup() {
    [ -n "$CM_PID" ] && kill -TERM "$CM_PID" 2>/dev/null && wait "$CM_PID" 2>/dev/null
    [ -d "$PF/etc" ] && pf_stop "$PF"
    rm -rf "$T"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    echo "--- postfix log" >&2
    tail -30 "$PF/maillog" >&2 || true
    echo "--- chainmail log" >&2
    tail -30 "$T/serve.log" >&2 || true
    exit 1
}

# A test CA and a server certificate for 127.0.0.1, made now.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=chainmail lab CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign" -keyout "$T/ca.key" -out "$T/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$T/key.pem" -out "$T/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$T/ext"
openssl x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
    -days 2 -extfile "$T/ext" -out "$T/cert.pem" 2>/dev/null

CM_PORT=$(pf_free_port)
DEAD_PORT=$(pf_free_port) # closed: chainmail's own delivery attempts defer
cat >"$T/chainmail.yaml" <<EOF
hostname: chainmail.lab.test
listen:
  - address: "127.0.0.1:$CM_PORT"
    starttls: true
tls:
  certificate: $T/cert.pem
  private_key: $T/key.pem
relay_from:
  networks: ["127.0.0.0/8"]
spool: $T/spool
control_socket: $T/spool/control
log:
  level: info
  delivery_log: $T/delivery.jsonl
dns:
  nameservers: ["127.0.0.1@$DEAD_PORT"]
partners:
  - name: lab-partner
    domains: [partner.test]
    tls: none
    next_hop: "[127.0.0.1]:$DEAD_PORT"
    on_tls_failure: defer
EOF
"$CHAINMAIL" serve -c "$T/chainmail.yaml" >"$T/serve.log" 2>&1 &
CM_PID=$!
for ((i = 0; i < 200; i++)); do
    kill -0 "$CM_PID" 2>/dev/null || {
        wait "$CM_PID" 2>/dev/null || true
        CM_PID=""
        fail "chainmail serve exited at start"
    }
    pf_port_open "$CM_PORT" && break
    sleep 0.1
done
pf_port_open "$CM_PORT" || fail "chainmail serve does not listen on 127.0.0.1:$CM_PORT"

PF_PORT=$(pf_free_port)
pf_create "$PF" "$PF_PORT"
pf_conf "$PF" "relayhost = [127.0.0.1]:$CM_PORT" \
    "smtp_tls_security_level = encrypt" \
    "smtp_tls_CAfile = $T/ca.pem" \
    "smtp_tls_loglevel = 1"
pf_start "$PF" || fail "postfix did not start"

N=5
for ((i = 1; i <= N; i++)); do
    printf 'From: sender@org.test\nTo: rcpt%d@partner.test\nSubject: relay %d\nMessage-ID: <relay-%d-%d@org.test>\n\nmessage %d through the relayhost\n' \
        "$i" "$i" "$i" "$$" "$i" | pf_sendmail "$PF" -f sender@org.test "rcpt$i@partner.test"
done

# Postfix hands the messages on within seconds; wait at most 30 s.
for ((i = 0; i < 300; i++)); do
    sent=$(grep -c "relay=127.0.0.1\[127.0.0.1\]:$CM_PORT,.*status=sent" "$PF/maillog" || true)
    [ "$sent" -ge "$N" ] && break
    sleep 0.1
done
[ "$sent" = "$N" ] || fail "postfix logged status=sent for $sent of $N messages"
grep -q "status=\(deferred\|bounced\)" "$PF/maillog" && fail "postfix deferred or bounced a message"
# The CA verifies chainmail's chain, so Postfix calls the session Trusted.
grep -q "Trusted TLS connection established to 127.0.0.1\[127.0.0.1\]:$CM_PORT: TLSv1\.[23]" \
    "$PF/maillog" || fail "postfix logged no trusted TLS 1.2/1.3 session to chainmail"

# Every message is in chainmail's queue with its envelope.
"$CHAINMAIL" queue list --json -c "$T/chainmail.yaml" >"$T/queue.json" ||
    fail "chainmail queue list --json failed"
/usr/bin/python3 - "$T/queue.json" "$N" <<'EOF' || fail "queue does not hold the $N messages"
import json, sys
# JSON Lines: one object per queued message.
msgs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
n = int(sys.argv[2])
def rcpts(m):
    out = []
    for r in m.get("recipients", []):
        out.append(r if isinstance(r, str) else r.get("address", ""))
    return out
want = {f"rcpt{i}@partner.test" for i in range(1, n + 1)}
got = [a for m in msgs for a in rcpts(m)]
senders = {m.get("sender") for m in msgs}
print(f"queue: {len(msgs)} messages, recipients {sorted(got)}, senders {senders}")
assert len(msgs) == n, f"{len(msgs)} messages queued, want {n}"
assert sorted(got) == sorted(want), "recipients differ"
assert senders == {"sender@org.test"}, "sender differs"
EOF
# chainmail recorded that each message came in over TLS.
ids=$(/usr/bin/python3 -c 'import json, sys; print(" ".join(json.loads(l)["id"] for l in open(sys.argv[1]) if l.strip()))' "$T/queue.json")
# shellcheck disable=SC2086
"$CHAINMAIL" queue show -c "$T/chainmail.yaml" $ids >"$T/show.txt" || fail "queue show failed"
tls=$(grep -c '^Client TLS: *TLSv1\.[23]' "$T/show.txt" || true)
[ "$tls" = "$N" ] || fail "chainmail recorded TLS for $tls of $N messages: $(grep '^Client TLS' "$T/show.txt")"
for ((i = 1; i <= N; i++)); do
    grep -q "^Message-ID: *<relay-$i-$$@org.test>" "$T/show.txt" || fail "message $i not in the queue"
done
echo "PASS: $N messages relayed by Postfix over TLS into chainmail's queue"
