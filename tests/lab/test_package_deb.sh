#!/bin/bash
# The Debian package as an operator installs it: `cpack -G DEB` from the build
# tree gives a .deb with the binary, the unit, the sysusers and tmpfiles
# snippets, logrotate and the example configuration as a conffile; `dpkg -i`
# installs it without starting anything, /usr/bin/chainmail answers
# --version and check-config on the installed file; remove and purge leave
# the machine as the test found it.
set -euo pipefail

: "${CHAINMAIL:?path of the chainmail binary}"
: "${CHAINMAIL_SOURCE_DIR:?path of the source tree}"
build=$(dirname "$CHAINMAIL")

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
skip() {
    echo "SKIP: $*" >&2
    exit 77
}

[ "$(id -u)" = 0 ] || skip "dpkg -i needs root"
command -v cpack >/dev/null || fail "cpack is missing (.ci/deps.sh installs cmake)"
command -v dpkg-shlibdeps >/dev/null || fail "dpkg-shlibdeps is missing (.ci/deps.sh: dpkg-dev)"

# One package test at a time on this machine (a sanitizer run may overlap).
exec 9>/tmp/chainmail-package-test.lock
flock -w 600 9 || fail "another package test holds the lock"

# The machine as we found it; the test refuses to run where it could not put
# it back (a chainmail installed by someone else).
dpkg-query -W -f='${Status}' chainmail 2>/dev/null | grep -q "installed" &&
    fail "a chainmail package is installed already; this test would remove it"
for p in /usr/bin/chainmail /etc/chainmail /var/spool/chainmail /var/log/chainmail; do
    [ ! -e "$p" ] || fail "$p exists already; this test would remove it"
done
getent passwd chainmail >/dev/null && fail "a user chainmail exists already"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lab-deb.XXXXXX")
cleanup() {
    dpkg --purge chainmail >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# --- build ---------------------------------------------------------------
(cd "$build" && cpack -G DEB -B "$tmp/out") >"$tmp/cpack.log" 2>&1 ||
    fail "cpack -G DEB: $(tail -20 "$tmp/cpack.log")"
deb=$(ls "$tmp"/out/chainmail_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no chainmail_*.deb in $tmp/out: $(tail -5 "$tmp/cpack.log")"

contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/chainmail ./usr/lib/systemd/system/chainmail.service \
    ./usr/lib/sysusers.d/chainmail.conf ./usr/lib/tmpfiles.d/chainmail.conf \
    ./etc/logrotate.d/chainmail ./etc/chainmail/chainmail.yaml \
    ./usr/share/doc/chainmail/chainmail.example.yaml ./usr/share/doc/chainmail/README.md; do
    grep -q " $f\$" <<<"$contents" || fail "$f is not in the package: $contents"
done
dpkg-deb -I "$deb" conffiles | grep -qx /etc/chainmail/chainmail.yaml ||
    fail "the configuration is not a conffile"
dpkg-deb -f "$deb" Depends | grep -q libunbound || fail "Depends lacks the shared libraries"

# --- install -------------------------------------------------------------
dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1 || fail "dpkg -i: $(cat "$tmp/dpkg.log")"
version=$(/usr/bin/chainmail --version) || fail "/usr/bin/chainmail --version failed"
grep -q "^chainmail [0-9]" <<<"$version" || fail "--version said: $version"
getent passwd chainmail >/dev/null || fail "postinst made no user chainmail"
[ "$(stat -c %U /var/spool/chainmail)" = chainmail ] || fail "the spool is not chainmail's"
[ "$(stat -c %U /var/log/chainmail)" = chainmail ] || fail "the log directory is not chainmail's"
out=$(/usr/bin/chainmail check-config --no-file-checks -c /etc/chainmail/chainmail.yaml) ||
    fail "check-config on the installed example: $out"
grep -q "^/etc/chainmail/chainmail.yaml: ok" <<<"$out" || fail "check-config said: $out"
# With the file checks, the example's certificate paths are what to fix first.
rc=0
out=$(/usr/bin/chainmail check-config 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "^/etc/chainmail/chainmail.yaml:[0-9]*:[0-9]*: tls.certificate" <<<"$out" ||
    fail "check-config with file checks should name the missing certificate: $out"
# logrotate reads the installed file without an error (the user exists now).
command -v logrotate >/dev/null || fail "logrotate is missing (.ci/deps.sh installs it)"
out=$(logrotate -d /etc/logrotate.d/chainmail 2>&1) || fail "logrotate -d: $out"
if grep -q "^error" <<<"$out"; then fail "logrotate -d: $out"; fi
grep -q "rotating pattern: /var/log/chainmail/\*.jsonl" <<<"$out" ||
    fail "logrotate does not see the delivery log: $out"
# Nothing was started (no systemd here, and postinst starts nothing anyway).
if pgrep -u chainmail >/dev/null; then fail "a process runs as chainmail after dpkg -i"; fi

# --- remove and purge ----------------------------------------------------
dpkg -r chainmail >"$tmp/dpkg.log" 2>&1 || fail "dpkg -r: $(cat "$tmp/dpkg.log")"
[ ! -e /usr/bin/chainmail ] || fail "dpkg -r left /usr/bin/chainmail"
[ -e /etc/chainmail/chainmail.yaml ] || fail "dpkg -r removed the conffile (only purge should)"
dpkg --purge chainmail >"$tmp/dpkg.log" 2>&1 || fail "dpkg --purge: $(cat "$tmp/dpkg.log")"
for p in /etc/chainmail /var/spool/chainmail /var/log/chainmail /etc/logrotate.d/chainmail; do
    [ ! -e "$p" ] || fail "purge left $p"
done
getent passwd chainmail >/dev/null && fail "purge left the user chainmail"
getent group chainmail >/dev/null && fail "purge left the group chainmail"
echo ok
