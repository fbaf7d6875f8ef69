#!/bin/bash
# The DNS lab's shell API as other lab tests use it: a TLSA record computed
# from a certificate the test makes appears, signed, after
# dnslab_sign_and_reload, and dnslab_stop leaves no process or directory.
set -euo pipefail
. "$CHAINMAIL_SOURCE_DIR/tests/lab/lib/dnslab.sh"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

dnslab_init
work=$DNSLAB_DIR/cert
mkdir -p "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=mx2.secure.lab -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
spki=$(dnslab_tlsa_spki_sha256 "$work/cert.pem")
[ ${#spki} = 64 ] || fail "SPKI digest has ${#spki} hex digits"
full=$(dnslab_tlsa_cert_sha256 "$work/cert.pem")
[ ${#full} = 64 ] && [ "$full" != "$spki" ] || fail "certificate digest: $full"

dnslab_start
q() { drill -D -p "$DNSLAB_PORT" @127.0.0.1 "$@"; }
q _25._tcp.mx2.secure.lab TLSA | grep -q 'rcode: NXDOMAIN' || fail "TLSA before it was added"

dnslab_add_record secure.lab "_25._tcp.mx2 IN TLSA 3 1 1 $spki"
dnslab_sign_and_reload
out=$(q _25._tcp.mx2.secure.lab TLSA)
echo "$out" | grep -Eiq "TLSA[[:space:]]+3 1 1 $spki" || fail "TLSA not served: $out"
echo "$out" | grep -Eq 'RRSIG[[:space:]]+TLSA 13 ' || fail "TLSA not signed: $out"

dnslab_del_records secure.lab "_25._tcp.mx2 "
dnslab_sign_and_reload
q _25._tcp.mx2.secure.lab TLSA | grep -q 'rcode: NXDOMAIN' || fail "TLSA still served after removal"

# The bogus zone is signed with signatures that expired in 2020.
q bogus.lab MX | grep -Eq 'RRSIG[[:space:]]+MX 13 2 300 20200101000000' || fail "bogus.lab not expired"

pid=$DNSLAB_NSD_PID dir=$DNSLAB_DIR
dnslab_stop
kill -0 "$pid" 2>/dev/null && fail "nsd $pid still runs"
[ ! -e "$dir" ] || fail "$dir left behind"
echo "ok"
