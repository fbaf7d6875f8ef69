#!/bin/bash
# check-config refuses what serve would refuse at start: a private key that
# does not belong to the certificate, a delivery-log directory that does not
# exist, a spool or log directory the running user cannot write. Each error
# is FILE:LINE:COL at the key, and serve refuses the same file.
set -euo pipefail

: "${CHAINMAIL:?path of the chainmail binary}"
: "${CHAINMAIL_SOURCE_DIR:?path of the source tree}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lab-check-config.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
certs=$CHAINMAIL_SOURCE_DIR/tests/lab/lib/certs.sh

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# run [AS-USER-PREFIX...] -- ARGS: chainmail's status in $rc, stderr in $err.
run() {
    rc=0
    "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    out=$(cat "$tmp/out") err=$(cat "$tmp/err")
}

bash "$certs" selfsigned "$tmp/a" relay relay.lab.test >/dev/null
bash "$certs" selfsigned "$tmp/b" other other.lab.test >/dev/null
chmod -R a+rX "$tmp"

# write NAME KEY LOG_DIR SPOOL: a configuration whose line 5 col 16 is the key.
write() {
    cat >"$tmp/$1.yaml" <<EOF
hostname: relay.lab.test
listen: [{address: "127.0.0.1:2525"}]
tls:
  certificate: $tmp/a/relay.crt
  private_key: $2
spool: $4
log:
  delivery_log: $3/delivery.jsonl
control_socket: $4/control
EOF
    chmod 644 "$tmp/$1.yaml"
}

# refused NAME LINE:COL NEEDLE [PREFIX...]: check-config (and serve) exit 1
# with an error at that position.
refused() {
    local name=$1 pos=$2 needle=$3 file=$tmp/$1.yaml
    shift 3
    run "$@" "$CHAINMAIL" check-config -c "$file"
    [ "$rc" = 1 ] || fail "check-config $name: exit $rc, expected 1: $out $err"
    awk -v p="$file:$pos: " 'index($0, p) == 1 { found = 1 } END { exit !found }' <<<"$err" ||
        fail "check-config $name: no line starts with '$file:$pos: ': $err"
    grep -qF -- "$needle" <<<"$err" || fail "check-config $name: '$needle' not in: $err"
    run "$@" timeout 20 "$CHAINMAIL" serve -c "$file"
    [ "$rc" = 1 ] || fail "serve $name: exit $rc, expected 1: $err"
}

mkdir -p "$tmp/log"
write good "$tmp/a/relay.key" "$tmp/log" "$tmp/spool"
run "$CHAINMAIL" check-config -c "$tmp/good.yaml"
[ "$rc" = 0 ] || fail "check-config on a good file: exit $rc: $err"

write wrong-key "$tmp/b/other.key" "$tmp/log" "$tmp/spool"
refused wrong-key 5:16 "does not belong to the certificate"

write no-log-dir "$tmp/a/relay.key" "$tmp/nowhere" "$tmp/spool"
refused no-log-dir 8:17 "$tmp/nowhere' does not exist"

# Not writable: as root, by dropping to nobody; otherwise by taking away write.
mkdir -p "$tmp/ro-log" "$tmp/ro-spool"
if [ "$(id -u)" = 0 ]; then
    as=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
    chmod 755 "$tmp/ro-log" "$tmp/ro-spool"
    chmod a+r "$tmp/a/relay.key"
else
    as=()
    chmod 555 "$tmp/ro-log" "$tmp/ro-spool"
fi
"${as[@]}" "$CHAINMAIL" --version >/dev/null ||
    fail "cannot run chainmail as an unprivileged user here"
mkdir -p "$tmp/spool-nobody" "$tmp/log-nobody"
chmod 777 "$tmp/spool-nobody" "$tmp/log-nobody"
write ro-log "$tmp/a/relay.key" "$tmp/ro-log" "$tmp/spool-nobody"
refused ro-log 8:17 "is not writable" "${as[@]}"
write ro-spool "$tmp/a/relay.key" "$tmp/log-nobody" "$tmp/ro-spool/spool"
refused ro-spool 6:8 "is not writable" "${as[@]}"

echo "ok"
