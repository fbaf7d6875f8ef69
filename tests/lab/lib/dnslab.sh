# dnslab.sh: a real DNSSEC-signed DNS hierarchy on loopback, for tests.
# Builds a signed test TLD (default "lab.") with secure, insecure and bogus
# child zones in a temp dir and serves it with nsd on 127.0.0.1:<free port>.
#
# Usage from a bash test (sourced):
#   . "$CHAINMAIL_SOURCE_DIR/tests/lab/lib/dnslab.sh"
#   dnslab_init                         # temp dir, keys, base zones (not served yet)
#   dnslab_add_record secure.lab "_25._tcp.mx1 IN TLSA 3 1 1 $(dnslab_tlsa_spki_sha256 cert.pem)"
#   dnslab_start                        # sign, start nsd; sets DNSLAB_PORT, DNSLAB_NS, DNSLAB_TA
#   ... config: dns: { nameservers: ["$DNSLAB_NS"], trust_anchor_file: "$DNSLAB_TA" }
#   dnslab_add_record ...; dnslab_sign_and_reload   # change records while serving
#   dnslab_stop                         # kills nsd (by PID) and removes the dir
# dnslab_init installs an EXIT trap that calls dnslab_stop; a test that sets
# its own EXIT trap must call dnslab_stop itself.
#
# Usage as a command (for test programs in other languages):
#   bash dnslab.sh start DIR [OWNER_PID]  # DIR must not exist; prints the port, writes
#                                         # DIR/port, DIR/nameserver, DIR/ta.key; when OWNER_PID
#                                         # dies, nsd is stopped (a crashed test leaks nothing).
#                                         # With DNSLAB_RECORDS=FILE, each line "ZONE RR..." of
#                                         # FILE is added before signing.
#   bash dnslab.sh change DIR ZONE REGEX [RR...]  # while serving: removes ZONE's records
#                                         # matching REGEX, adds the RRs, re-signs, reloads
#   bash dnslab.sh stop DIR               # stops nsd and removes DIR
#
# Names served (TLD = lab; every zone below lab. except insecure.lab is signed):
#   lab.              signed, anchor in DNSLAB_TA; delegates secure, insecure, bogus
#   secure.lab.       MX 10 mx1, 10 mx2, 20 mx3; mx1 A 127.0.0.11 + AAAA ::1; mx2 A 127.0.0.12;
#                     mx3 A 127.0.0.13; _25._tcp.mx1 TLSA 3 1 1 (placeholder digest);
#                     _25._tcp.mx2: NXDOMAIN; _25._tcp.mx3: TXT only, so TLSA is a secure
#                     NODATA; www CNAME mx1; alias CNAME www
#                     (two-step chain); outside CNAME mx.insecure.lab.
#   nullmx.secure.lab. MX 0 . (RFC 7505); nomx.secure.lab. A 127.0.0.20, no MX;
#   insecure.lab.     unsigned, no DS: MX 10 mx; mx A 127.0.0.30; _25._tcp.mx TLSA 3 1 1 ...
#   bogus.lab.        DS in lab., but every signature expired in 2020: MX 10 mx; mx A 127.0.0.40;
#                     _25._tcp.mx TLSA 3 1 1 ...
# The relay under test only ever talks to nsd through libunbound, which
# forwards to nsd and validates every answer up to DNSLAB_TA.

DNSLAB_TLD=${DNSLAB_TLD:-lab}
DNSLAB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The placeholder TLSA digest: valid syntax, matches no real key.
DNSLAB_TLSA_PLACEHOLDER=0000000000000000000000000000000000000000000000000000000000000001

_dnslab_zones() { echo "$DNSLAB_TLD secure.$DNSLAB_TLD insecure.$DNSLAB_TLD bogus.$DNSLAB_TLD"; }

_dnslab_die() {
    echo "dnslab: $*" >&2
    return 1
}

# dnslab_init [DIR]: creates the lab directory, keys and unsigned zones.
dnslab_init() {
    local dir=${1:-}
    if [ -z "$dir" ]; then
        dir=$(mktemp -d "${TMPDIR:-/tmp}/dnslab.XXXXXX") || return 1
    else
        mkdir -p "$dir" || return 1
    fi
    DNSLAB_DIR=$(cd "$dir" && pwd)
    DNSLAB_TA=$DNSLAB_DIR/ta.key
    DNSLAB_SERIAL=1
    export DNSLAB_DIR DNSLAB_TA
    mkdir -p "$DNSLAB_DIR/keys" "$DNSLAB_DIR/zones"
    [ -n "${DNSLAB_NO_TRAP:-}" ] || trap dnslab_stop EXIT
    local t=$DNSLAB_TLD z
    for z in "$t" "secure.$t" "bogus.$t"; do
        (cd "$DNSLAB_DIR/keys" && ldns-keygen -a ECDSAP256SHA256 -k "$z" >"$z.base") ||
            _dnslab_die "ldns-keygen $z failed" || return 1
    done
    # The anchor: the TLD's key-signing DNSKEY, in the zone-file format
    # that unbound's trust-anchor-file and ub_ctx_add_ta_file() read.
    cp "$DNSLAB_DIR/keys/$(cat "$DNSLAB_DIR/keys/$t.base").key" "$DNSLAB_TA"

    _dnslab_zone_head "$t" >"$DNSLAB_DIR/zones/$t.zone"
    cat >>"$DNSLAB_DIR/zones/$t.zone" <<EOF
ns       IN A    127.0.0.1
secure   IN NS   ns.$t.
insecure IN NS   ns.$t.
bogus    IN NS   ns.$t.
EOF
    # DS records in the parent for the signed children only: insecure.lab
    # has none, so the parent's signed NSEC proves it insecure.
    for z in "secure.$t" "bogus.$t"; do
        cat "$DNSLAB_DIR/keys/$(cat "$DNSLAB_DIR/keys/$z.base").ds" >>"$DNSLAB_DIR/zones/$t.zone"
    done

    _dnslab_zone_head "secure.$t" >"$DNSLAB_DIR/zones/secure.$t.zone"
    cat >>"$DNSLAB_DIR/zones/secure.$t.zone" <<EOF
@        IN MX   10 mx1
@        IN MX   10 mx2
@        IN MX   20 mx3
mx1      IN A    127.0.0.11
mx1      IN AAAA ::1
mx2      IN A    127.0.0.12
mx3      IN A    127.0.0.13
_25._tcp.mx1 IN TLSA 3 1 1 $DNSLAB_TLSA_PLACEHOLDER
_25._tcp.mx3 IN TXT "a name without TLSA"
www      IN CNAME mx1
alias    IN CNAME www
outside  IN CNAME mx.insecure.$t.
nullmx   IN MX   0 .
nomx     IN A    127.0.0.20
EOF
    _dnslab_zone_head "insecure.$t" >"$DNSLAB_DIR/zones/insecure.$t.zone"
    cat >>"$DNSLAB_DIR/zones/insecure.$t.zone" <<EOF
@        IN MX   10 mx
mx       IN A    127.0.0.30
_25._tcp.mx IN TLSA 3 1 1 $DNSLAB_TLSA_PLACEHOLDER
EOF
    _dnslab_zone_head "bogus.$t" >"$DNSLAB_DIR/zones/bogus.$t.zone"
    cat >>"$DNSLAB_DIR/zones/bogus.$t.zone" <<EOF
@        IN MX   10 mx
mx       IN A    127.0.0.40
_25._tcp.mx IN TLSA 3 1 1 $DNSLAB_TLSA_PLACEHOLDER
EOF
}

_dnslab_zone_head() {
    cat <<EOF
\$ORIGIN $1.
\$TTL 300
@ IN SOA ns.$DNSLAB_TLD. hostmaster.$DNSLAB_TLD. @SERIAL@ 3600 600 86400 300
@ IN NS ns.$DNSLAB_TLD.
EOF
}

# dnslab_add_record ZONE "RR": appends a record (names relative to ZONE
# unless they end in a dot). Takes effect at dnslab_start or
# dnslab_sign_and_reload.
dnslab_add_record() {
    local zone=$1 rr=$2 f
    f=$DNSLAB_DIR/zones/$zone.zone
    [ -f "$f" ] || _dnslab_die "no zone $zone" || return 1
    printf '%s\n' "$rr" >>"$f"
}

# dnslab_del_records ZONE REGEX: removes the records whose line matches REGEX.
dnslab_del_records() {
    local zone=$1 re=$2 f
    f=$DNSLAB_DIR/zones/$zone.zone
    [ -f "$f" ] || _dnslab_die "no zone $zone" || return 1
    grep -v -E -e "$re" "$f" >"$f.new" || true
    mv "$f.new" "$f"
}

# dnslab_tlsa_spki_sha256 CERT.pem: the hex digest for a "3 1 1" TLSA record.
dnslab_tlsa_spki_sha256() {
    openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
        openssl dgst -sha256 -binary | od -An -v -tx1 | tr -d ' \n'
}

# dnslab_tlsa_cert_sha256 CERT.pem: the hex digest for a "3 0 1" TLSA record.
dnslab_tlsa_cert_sha256() {
    openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -binary | od -An -v -tx1 | tr -d ' \n'
}

# Signs every zone into zones/*.signed with the current serial.
_dnslab_sign() {
    local t=$DNSLAB_TLD z base args
    for z in $(_dnslab_zones); do
        sed "s/@SERIAL@/$DNSLAB_SERIAL/" "$DNSLAB_DIR/zones/$z.zone" >"$DNSLAB_DIR/zones/$z.unsigned"
        if [ "$z" = "insecure.$t" ]; then
            cp "$DNSLAB_DIR/zones/$z.unsigned" "$DNSLAB_DIR/zones/$z.signed"
            continue
        fi
        base=$(cat "$DNSLAB_DIR/keys/$z.base")
        args=()
        # bogus.lab: the chain of trust is intact but every signature expired.
        [ "$z" = "bogus.$t" ] && args=(-i 20190101000000 -e 20200101000000)
        (cd "$DNSLAB_DIR/keys" &&
            ldns-signzone "${args[@]}" -o "$z." -f "$DNSLAB_DIR/zones/$z.signed" \
                "$DNSLAB_DIR/zones/$z.unsigned" "$base") ||
            _dnslab_die "ldns-signzone $z failed" || return 1
    done
}

_dnslab_free_port() {
    /usr/bin/python3 - <<'EOF'
import socket
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(("127.0.0.1", port))
    except OSError:
        continue
    print(port)
    break
EOF
}

# The SOA serial nsd serves for the TLD, or nothing.
_dnslab_served_serial() {
    drill -p "$DNSLAB_PORT" @127.0.0.1 "$DNSLAB_TLD." SOA 2>/dev/null |
        awk '$4 == "SOA" && $1 == "'"$DNSLAB_TLD"'." { print $7; exit }'
}

_dnslab_wait_serial() {
    local i
    for i in $(seq 1 100); do
        [ "$(_dnslab_served_serial)" = "$DNSLAB_SERIAL" ] && return 0
        if [ -n "${DNSLAB_NSD_PID:-}" ] && ! kill -0 "$DNSLAB_NSD_PID" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    _dnslab_die "nsd does not serve serial $DNSLAB_SERIAL; log:" || true
    tail -n 20 "$DNSLAB_DIR/nsd.log" >&2 2>/dev/null
    return 1
}

_dnslab_write_conf() {
    local z
    {
        cat <<EOF
server:
  ip-address: 127.0.0.1@$DNSLAB_PORT
  do-ip6: no
  server-count: 1
  username: ""
  chroot: ""
  database: ""
  zonesdir: "$DNSLAB_DIR/zones"
  zonelistfile: "$DNSLAB_DIR/zone.list"
  xfrdfile: "$DNSLAB_DIR/xfrd.state"
  xfrdir: "$DNSLAB_DIR"
  pidfile: "$DNSLAB_DIR/nsd.pidfile"
  logfile: "$DNSLAB_DIR/nsd.log"
  hide-version: yes
  verbosity: 1
remote-control:
  control-enable: no
EOF
        for z in $(_dnslab_zones); do
            printf 'zone:\n  name: "%s."\n  zonefile: "%s.signed"\n' "$z" "$z"
        done
    } >"$DNSLAB_DIR/nsd.conf"
}

# dnslab_start: signs and serves the zones; sets DNSLAB_PORT, DNSLAB_NS
# ("127.0.0.1@PORT", the form dns.nameservers takes) and DNSLAB_NSD_PID.
dnslab_start() {
    [ -n "${DNSLAB_DIR:-}" ] || dnslab_init || return 1
    _dnslab_sign || return 1
    local attempt
    for attempt in 1 2 3 4 5; do
        DNSLAB_PORT=$(_dnslab_free_port)
        [ -n "$DNSLAB_PORT" ] || continue
        _dnslab_write_conf
        nsd -d -c "$DNSLAB_DIR/nsd.conf" >>"$DNSLAB_DIR/nsd.log" 2>&1 </dev/null &
        DNSLAB_NSD_PID=$!
        echo "$DNSLAB_NSD_PID" >"$DNSLAB_DIR/nsd.pid"
        if _dnslab_wait_serial 2>/dev/null; then
            DNSLAB_NS=127.0.0.1@$DNSLAB_PORT
            export DNSLAB_PORT DNSLAB_NS DNSLAB_NSD_PID
            echo "$DNSLAB_PORT" >"$DNSLAB_DIR/port"
            echo "$DNSLAB_NS" >"$DNSLAB_DIR/nameserver"
            return 0
        fi
        # Most likely the port was taken in the meantime: try another.
        kill "$DNSLAB_NSD_PID" 2>/dev/null || true
        wait "$DNSLAB_NSD_PID" 2>/dev/null || true
        DNSLAB_NSD_PID=
    done
    _dnslab_die "nsd did not start; log:" || true
    tail -n 20 "$DNSLAB_DIR/nsd.log" >&2
    return 1
}

# dnslab_sign_and_reload: re-signs with a new serial and waits until nsd
# serves it. Resolvers that cached the old answers keep them until their TTL
# (300 s) runs out: create a new resolver after a reload.
dnslab_sign_and_reload() {
    DNSLAB_SERIAL=$((DNSLAB_SERIAL + 1))
    _dnslab_sign || return 1
    kill -HUP "$DNSLAB_NSD_PID" || return 1
    _dnslab_wait_serial
}

# dnslab_stop: stops nsd and removes the lab directory. Safe to call twice,
# and under `set -e`.
dnslab_stop() {
    local pid i
    [ -n "${DNSLAB_DIR:-}" ] || return 0
    pid=${DNSLAB_NSD_PID:-$(cat "$DNSLAB_DIR/nsd.pid" 2>/dev/null || true)}
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for i in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
        # Reaps it when it is our child (sourced use); harmless otherwise.
        wait "$pid" 2>/dev/null || true
    fi
    pid=$(cat "$DNSLAB_DIR/watchdog.pid" 2>/dev/null || true)
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
    rm -rf "$DNSLAB_DIR"
    DNSLAB_DIR= DNSLAB_NSD_PID=
    return 0
}

# Command mode: see the top of this file.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    case "${1:-}" in
    start)
        [ $# -ge 2 ] || { echo "usage: dnslab.sh start DIR [OWNER_PID]" >&2; exit 2; }
        [ -e "$2" ] && { echo "dnslab: $2 exists" >&2; exit 2; }
        DNSLAB_NO_TRAP=1
        dnslab_init "$2" || { rm -rf "$2"; exit 1; }
        if [ -n "${DNSLAB_RECORDS:-}" ]; then
            while read -r zone rr; do
                [ -n "$zone" ] || continue
                dnslab_add_record "$zone" "$rr" || { dnslab_stop; exit 1; }
            done <"$DNSLAB_RECORDS"
        fi
        dnslab_start || { dnslab_stop; exit 1; }
        if [ -n "${3:-}" ]; then
            # The watchdog stops nsd when the owner dies; its own lifetime
            # is bounded by nsd's.
            owner=$3 nsd_pid=$DNSLAB_NSD_PID
            (
                while kill -0 "$owner" 2>/dev/null && kill -0 "$nsd_pid" 2>/dev/null; do
                    sleep 1
                done
                if kill -0 "$nsd_pid" 2>/dev/null; then
                    kill "$nsd_pid" 2>/dev/null
                    sleep 1
                    rm -rf "$DNSLAB_DIR"
                fi
            ) </dev/null >/dev/null 2>&1 &
            echo $! >"$DNSLAB_DIR/watchdog.pid"
        fi
        echo "$DNSLAB_PORT"
        ;;
    change)
        [ $# -ge 4 ] || { echo "usage: dnslab.sh change DIR ZONE REGEX [RR...]" >&2; exit 2; }
        DNSLAB_DIR=$(cd "$2" && pwd)
        DNSLAB_PORT=$(cat "$DNSLAB_DIR/port")
        DNSLAB_NSD_PID=$(cat "$DNSLAB_DIR/nsd.pid")
        DNSLAB_SERIAL=$(_dnslab_served_serial)
        [ -n "$DNSLAB_SERIAL" ] || { echo "dnslab: no serial served" >&2; exit 1; }
        zone=$3
        dnslab_del_records "$zone" "$4" || exit 1
        shift 4
        for rr in "$@"; do dnslab_add_record "$zone" "$rr" || exit 1; done
        dnslab_sign_and_reload || exit 1
        ;;
    stop)
        [ $# -ge 2 ] || { echo "usage: dnslab.sh stop DIR" >&2; exit 2; }
        [ -d "$2" ] || exit 0
        DNSLAB_DIR=$(cd "$2" && pwd)
        dnslab_stop
        ;;
    *)
        echo "usage: dnslab.sh start DIR [OWNER_PID] | change DIR ZONE REGEX [RR...] | stop DIR" >&2
        exit 2
        ;;
    esac
fi
