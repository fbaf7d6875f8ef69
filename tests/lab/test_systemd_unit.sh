#!/bin/bash
# The systemd unit as shipped: `systemd-analyze verify` finds nothing, the
# exposure of `systemd-analyze security --offline=true` is at most 1.5, and
# it has what a fresh machine needs (the user, the spool and log directories,
# the watchdog, a reload that checks the file first).
set -euo pipefail

: "${CHAINMAIL:?path of the chainmail binary}"
: "${CHAINMAIL_SOURCE_DIR:?path of the source tree}"
unit="$CHAINMAIL_SOURCE_DIR/systemd/chainmail.service"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (.ci/deps.sh: systemd)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lab-unit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# verify checks that the programs exist: point it at the binary just built.
sed "s|/usr/bin/chainmail|$CHAINMAIL|g" "$unit" >"$tmp/chainmail.service"
out=$(systemd-analyze verify "$tmp/chainmail.service" 2>&1) || fail "verify failed: $out"
[ -z "$out" ] || fail "verify is not clean: $out"

out=$(systemd-analyze security --offline=true --no-pager "$tmp/chainmail.service" 2>&1) ||
    fail "security: $out"
level=$(sed -n 's/.*Overall exposure level for chainmail.service: \([0-9.]*\).*/\1/p' <<<"$out")
[ -n "$level" ] || fail "no exposure level in: $out"
awk -v l="$level" 'BEGIN { exit !(l <= 1.5) }' || fail "exposure $level > 1.5: $out"

for line in "Type=notify" "User=chainmail" "WatchdogSec=" "LogsDirectory=chainmail" \
    "RuntimeDirectory=chainmail" "ReadWritePaths=/var/spool/chainmail" \
    "ExecReload=/usr/bin/chainmail check-config -c /etc/chainmail/chainmail.yaml" \
    "ExecStartPre=+/usr/bin/systemd-tmpfiles --create chainmail.conf" \
    "SystemCallFilter=~@privileged @resources"; do
    grep -q "^$line" "$unit" || fail "the unit lacks $line"
done
# Nothing of @resources is let through again (serve sets no priorities).
! grep -qE "^(SystemCallFilter=setpriority|LimitNICE=)" "$unit" ||
    fail "the unit lets serve change priorities, which it no longer does"
# The reload checks the file before the signal, so a bad file fails it visibly.
check_line=$(grep -n "^ExecReload=.*check-config" "$unit" | cut -d: -f1)
kill_line=$(grep -n "^ExecReload=.*kill -HUP" "$unit" | cut -d: -f1)
[ "$check_line" -lt "$kill_line" ] || fail "ExecReload must run check-config before kill -HUP"

# The directories the unit writes are the ones the snippets create, and the
# spool is the configuration's default.
grep -q "^d /var/spool/chainmail .* chainmail chainmail" \
    "$CHAINMAIL_SOURCE_DIR/systemd/chainmail.tmpfiles" || fail "tmpfiles.d lacks the spool"
grep -q "^u chainmail " "$CHAINMAIL_SOURCE_DIR/systemd/chainmail.sysusers" ||
    fail "sysusers.d lacks the user"
printf 'hostname: relay.test\n' >"$tmp/c.yaml"
"$CHAINMAIL" config --no-file-checks -c "$tmp/c.yaml" | grep -qx "spool: /var/spool/chainmail" ||
    fail "the default spool is not /var/spool/chainmail"
echo "ok (exposure $level)"
