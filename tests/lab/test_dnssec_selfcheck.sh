#!/bin/bash
# The DNSSEC self-check: through a validating path the signed name checks
# out (check-config --online exits 0, serve logs "ok"); with a wrong trust
# anchor, or a server that hands out the zones without their signatures (as
# a forwarder that strips DNSSEC does), check-config --online exits 1 and
# serve logs an error naming the resolver and the likely cause.
set -euo pipefail

: "${CHAINMAIL:?path of the chainmail binary}"
: "${CHAINMAIL_SOURCE_DIR:?path of the source tree}"
LIB=$CHAINMAIL_SOURCE_DIR/tests/lab/lib

DNSLAB_NO_TRAP=1
. "$LIB/dnslab.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lab-dnssec-check.XXXXXX")
plain_pid= serve_pid=
cleanup() {
    [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
    [ -n "$plain_pid" ] && kill "$plain_pid" 2>/dev/null && wait "$plain_pid" 2>/dev/null
    dnslab_stop
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

dnslab_init "$tmp/dns"
dnslab_start

# The same zones without signatures, from a second nsd: what a resolver that
# strips DNSSEC records hands on.
plain_port=$(_dnslab_free_port)
sed -e "s/@$DNSLAB_PORT\$/@$plain_port/" -e 's/\.signed"/.unsigned"/' \
    -e "s|$DNSLAB_DIR/nsd.pidfile|$tmp/plain.pid|" -e "s|$DNSLAB_DIR/nsd.log|$tmp/plain.log|" \
    -e "s|$DNSLAB_DIR/zone.list|$tmp/plain.list|" -e "s|$DNSLAB_DIR/xfrd.state|$tmp/plain.xfrd|" \
    "$DNSLAB_DIR/nsd.conf" >"$tmp/plain.conf"
nsd -d -c "$tmp/plain.conf" >>"$tmp/plain.log" 2>&1 </dev/null &
plain_pid=$!
for _ in $(seq 1 50); do
    drill -p "$plain_port" @127.0.0.1 lab. SOA >/dev/null 2>&1 && break
    sleep 0.1
done

# A trust anchor for lab. that is not the one the zone is signed with.
mkdir -p "$tmp/otherkey"
(cd "$tmp/otherkey" && ldns-keygen -a ECDSAP256SHA256 -k lab >base)
cp "$tmp/otherkey/$(cat "$tmp/otherkey/base").key" "$tmp/wrong-ta.key"

listen_port=$(_dnslab_free_port)
# config NAME NAMESERVER ANCHOR
config() {
    cat >"$tmp/$1.yaml" <<EOF
hostname: relay.lab
listen: [{address: "127.0.0.1:$listen_port"}]
spool: $tmp/spool-$1
control_socket: $tmp/spool-$1/control
dns:
  nameservers: ["$2"]
  trust_anchor_file: $3
  dnssec_check_name: lab
EOF
}

config good "$DNSLAB_NS" "$DNSLAB_TA"
config wrong-anchor "$DNSLAB_NS" "$tmp/wrong-ta.key"
config stripped "127.0.0.1@$plain_port" "$DNSLAB_TA"

rc=0
out=$("$CHAINMAIL" check-config --online -c "$tmp/good.yaml" 2>&1) || rc=$?
[ "$rc" = 0 ] || fail "good resolver: exit $rc: $out"
grep -qF "DNSSEC: ok: the DNSKEY records of lab. validated through $DNSLAB_NS" <<<"$out" ||
    fail "good resolver: $out"

# Without --online nothing is asked: a bad path still passes the offline check.
"$CHAINMAIL" check-config -c "$tmp/wrong-anchor.yaml" >/dev/null ||
    fail "check-config without --online asked the resolver"

for name in wrong-anchor stripped; do
    rc=0
    out=$("$CHAINMAIL" check-config --online -c "$tmp/$name.yaml" 2>&1) || rc=$?
    [ "$rc" = 1 ] || fail "$name: exit $rc, expected 1: $out"
    grep -qF "DNSSEC: failed: the DNSKEY records of lab. did not validate" <<<"$out" ||
        fail "$name: $out"
    grep -qF "strips DNSSEC records" <<<"$out" || fail "$name: no likely cause: $out"
    grep -qF "trust_anchor_file" <<<"$out" || fail "$name: no likely cause: $out"
done
grep -qF "127.0.0.1@$plain_port" <<<"$out" || fail "stripped: the resolver is not named: $out"

# serve runs the same check at start-up and logs it.
# serve_log NAME: starts serve, waits for the self-check line, stops serve.
serve_log() {
    "$CHAINMAIL" serve -c "$tmp/$1.yaml" >"$tmp/$1.log" 2>&1 &
    serve_pid=$!
    for _ in $(seq 1 100); do
        grep -q "DNSSEC self-check" "$tmp/$1.log" && break
        kill -0 "$serve_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
    serve_pid=
}
serve_log good
grep -q "DNSSEC self-check ok: the DNSKEY records of lab. validated through $DNSLAB_NS" \
    "$tmp/good.log" || fail "serve, good resolver: $(cat "$tmp/good.log")"
serve_log stripped
grep -q "error.*DNSSEC self-check failed: .*127.0.0.1@$plain_port.*strips DNSSEC" \
    "$tmp/stripped.log" || fail "serve, stripped: $(cat "$tmp/stripped.log")"

echo ok
