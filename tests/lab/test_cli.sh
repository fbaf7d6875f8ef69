#!/bin/bash
# The command line as an operator meets it: every --help answers, check-config
# names FILE:LINE:COL for each kind of mistake, policy explains its choice,
# probe without a target is a usage error (exit 2), and so is a file named
# without -c (the error shows the command with -c), queue commands that need a
# running serve say that it is not running, and --version is right.
set -euo pipefail

: "${CHAINMAIL:?path of the chainmail binary}"
: "${CHAINMAIL_SOURCE_DIR:?path of the source tree}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lab-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# run ARGS...: runs chainmail, keeping its exit status in $rc, stdout in
# $out and stderr in $err; never lets set -e stop the script.
run() {
    rc=0
    "$CHAINMAIL" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
}

# expect STATUS WHAT: the last run ended with STATUS.
expect() {
    [ "$rc" = "$1" ] || fail "$2: exit $rc, expected $1; stdout: $out; stderr: $err"
}

# contains TEXT NEEDLE WHAT: TEXT holds NEEDLE (a fixed string).
contains() {
    grep -qF -- "$2" <<<"$1" || fail "$3: '$2' not in: $1"
}

# --- help: every command says what it is for -------------------------------
run --help
expect 0 "chainmail --help"
contains "$out" "outbound SMTP relay" "chainmail --help"
for sub in serve check-config config health policy probe report queue log; do
    contains "$out" "$sub" "chainmail --help lists $sub"
done

while IFS='|' read -r cmd purpose; do
    # shellcheck disable=SC2086 # the command is one or two words
    run $cmd --help
    expect 0 "chainmail $cmd --help"
    contains "$out" "$purpose" "chainmail $cmd --help"
    contains "$out" "Usage:" "chainmail $cmd --help"
    # Each option as the operator types it: no CLI11 default-value syntax.
    ! grep -qE -- '--[a-z-]+\{' <<<"$out" || fail "chainmail $cmd --help shows an option with {...}: $out"
done <<'EOF'
serve|run the relay in the foreground
check-config|validate the configuration
config|print the effective configuration
health|ask the running server whether it answers
policy|which partner and TLS level apply
probe|live check
report|deliveries by TLS and authentication
queue|inspect and act on the queue
queue list|the queue: id, age, sender, recipients
queue show|the envelope and state of messages
queue show|--message
queue retry|retry now
queue flush|the same as retry --all
queue hold|hold messages until released
queue release|release held messages
queue delete|delete messages
queue bounce|give up now
log|read the delivery log
EOF

# --- check-config ------------------------------------------------------------
good=$tmp/good.yaml
cat >"$good" <<EOF
hostname: relay.lab.test
listen:
  - address: "127.0.0.1:2525"
relay_from:
  networks: ["127.0.0.0/8"]
spool: $tmp/spool
log:
  delivery_log: $tmp/delivery.jsonl
queue:
  max_lifetime: 5d
defaults:
  tls: dane
partners:
  - name: ziekenhuis-west
    domains: [ziekenhuis-west.nl, .ziekenhuis-west.nl]
    tls: dane-only
  - name: school
    domains: [school.test]
    tls: fingerprint
    fingerprints: ["sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]
control_socket: $tmp/control
EOF

run check-config -c "$good"
expect 0 "check-config on a good file"
contains "$out" "$good: ok" "check-config on a good file"

# bad NAME SED-SCRIPT LINE:COL MESSAGE: the changed file fails with exactly
# that position, as FILE:LINE:COL: at the start of a line of stderr.
bad() {
    local file=$tmp/$1.yaml
    sed "$2" "$good" >"$file"
    cmp -s "$file" "$good" && fail "$1: the edit changed nothing"
    run check-config -c "$file"
    expect 1 "check-config $1"
    awk -v p="$file:$3: " 'index($0, p) == 1 { found = 1 } END { exit !found }' <<<"$err" ||
        fail "check-config $1: no line starts with '$file:$3: ': $err"
    contains "$err" "$4" "check-config $1"
}
bad unknown-key 's/^hostname:/hostnme:/' 1:1 "unknown key"
bad bad-duration 's/max_lifetime: 5d/max_lifetime: 5x/' 10:17 "bad duration"
bad fingerprint-without-fingerprints '/fingerprints:/d' 19:10 "fingerprints"
bad unknown-timezone '$a ndr:\n  timezone: Europe/Amsterdm' 23:13 "unknown time zone 'Europe/Amsterdm'"
bad domain-in-two-partners 's/domains: \[school.test\]/domains: [school.test, ziekenhuis-west.nl]/' \
    18:28 "ziekenhuis-west.nl"

run check-config --no-file-checks -c "$CHAINMAIL_SOURCE_DIR/config/chainmail.example.yaml"
expect 0 "check-config --no-file-checks on the example"
contains "$out" "ok" "check-config on the example"

rc=0
CHAINMAIL_CONFIG=$good "$CHAINMAIL" check-config >"$tmp/out" 2>"$tmp/err" || rc=$?
out=$(cat "$tmp/out") err=$(cat "$tmp/err")
expect 0 "check-config with CHAINMAIL_CONFIG"
contains "$out" "$good: ok" "CHAINMAIL_CONFIG is the file checked"

rc=0
CHAINMAIL_CONFIG=$tmp/unknown-key.yaml "$CHAINMAIL" check-config -c "$good" >"$tmp/out" 2>"$tmp/err" || rc=$?
out=$(cat "$tmp/out") err=$(cat "$tmp/err")
expect 0 "-c wins over CHAINMAIL_CONFIG"

run check-config -c "$tmp/missing.yaml"
expect 1 "check-config on a missing file"
contains "$err" "$tmp/missing.yaml: cannot read" "a missing file is named, with no line in it"
contains "$err" "or try --default-config" "a missing file: the ways forward"

# The file named without -c: the command that works.
for sub in check-config config; do
    run $sub "$good"
    expect 2 "$sub FILE"
    contains "$err" "chainmail $sub: name the file with -c: chainmail $sub -c $good" "$sub FILE"
    [ -z "$out" ] || fail "$sub FILE: printed as if it worked: $out"
done

# --- policy: partner, level and why ---------------------------------------------
# policy_of DOMAIN PARTNER LEVEL WHY
policy_of() {
    run policy -c "$good" "$1"
    expect 0 "policy $1"
    grep -Eq "^  partner: +$2\$" <<<"$out" || fail "policy $1: partner is not $2: $out"
    grep -Eq "^  tls: +$3: " <<<"$out" || fail "policy $1: level is not $3: $out"
    contains "$out" "$4" "policy $1"
}
policy_of ziekenhuis-west.nl ziekenhuis-west dane-only "rule ziekenhuis-west.nl of partner ziekenhuis-west"
policy_of mx1.ziekenhuis-west.nl ziekenhuis-west dane-only "rule .ziekenhuis-west.nl of partner ziekenhuis-west"
policy_of nobody@elsewhere.example '\(defaults\)' dane "no partner rule matches elsewhere.example"
contains "$out" "chunking:        BDAT when the next hop offers CHUNKING" "policy: chunking on by default"
sed 's/^    tls: dane-only$/    tls: dane-only\n    chunking: false/' "$good" >"$tmp/nochunk.yaml"
cmp -s "$tmp/nochunk.yaml" "$good" && fail "nochunk: the edit changed nothing"
run policy -c "$tmp/nochunk.yaml" ziekenhuis-west.nl
expect 0 "policy with chunking: false"
contains "$out" "chunking:        off: always DATA (chunking: false)" "policy: a partner's chunking: false"

# --- probe needs something to probe --------------------------------------------
run probe -c "$good"
expect 2 "probe without targets"
contains "$err" "--partners" "probe without targets"
[ -z "$out" ] || fail "probe without targets: printed as if it worked: $out"

# --- queue commands that need serve say so when it is not running -------------------
for cmd in "retry --all" "flush" "retry 01ARZ3NDEKTSV4RRFFQ69G5FAV" "hold 01ARZ3NDEKTSV4RRFFQ69G5FAV" \
    "release 01ARZ3NDEKTSV4RRFFQ69G5FAV" "delete 01ARZ3NDEKTSV4RRFFQ69G5FAV" \
    "bounce 01ARZ3NDEKTSV4RRFFQ69G5FAV"; do
    # shellcheck disable=SC2086 # a command and its argument
    run queue $cmd -c "$good"
    expect 1 "queue $cmd without serve"
    contains "$err" "chainmail serve is not running (no control socket at $tmp/control)" "queue $cmd"
    [ -z "$out" ] || fail "queue $cmd: printed as if it worked: $out"
done
run queue retry -c "$good"
expect 2 "queue retry without ids or --all"
contains "$err" "--all" "queue retry without ids"

# --- log and report without a delivery log yet: a clear error, exit 1 -----------
for sub in log report; do
    run $sub -c "$good"
    expect 1 "$sub without a delivery log"
    contains "$err" "cannot open" "$sub without a delivery log"
done

# --- queue show --message on an id that is not queued ------------------------------
run queue show --message -c "$good" 01ARZ3NDEKTSV4RRFFQ69G5FAV
expect 1 "queue show --message with an unknown id"
contains "$err" "no message 01ARZ3NDEKTSV4RRFFQ69G5FAV in the queue" "unknown id"
[ ! -e "$tmp/spool" ] || fail "queue show created the spool"

# --- version ---------------------------------------------------------------------
want=$(sed -nE 's/^project\(chainmail VERSION ([0-9.]+).*/\1/p' "$CHAINMAIL_SOURCE_DIR/CMakeLists.txt")
[ -n "$want" ] || fail "no project version in CMakeLists.txt"
run --version
expect 0 "--version"
[ "$out" = "chainmail $want" ] || fail "--version printed '$out', expected 'chainmail $want'"

echo "ok"
