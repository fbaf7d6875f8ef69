# shellcheck shell=bash
# postfix.sh: private Debian Postfix instances for lab tests and the bench.
# pf_create DIR PORT builds one under DIR (its own config, queue, data and
# log; smtpd on 127.0.0.1:PORT; chroot off); the system instance is never used.
#
# Source it from bash, then:
#   pf_create DIR PORT            write DIR/etc/{main,master}.cf, make DIR/queue, DIR/data
#   pf_conf DIR 'name = value'... edit DIR/etc/main.cf (postconf -e)
#   pf_start DIR [TIMEOUT_S]      postfix -c DIR/etc start, wait until smtpd answers
#   pf_stop DIR                   postfix -c DIR/etc stop, wait until the master is gone
#   pf_master_pid DIR             the instance's master PID (empty when not running)
#   pf_sendmail DIR ARGS...       Postfix's sendmail(1) for this instance
#   pf_log DIR                    the instance's log (maillog_file, via postlogd)
# Every wait is bounded in time. Needs root (Postfix's master runs as root).

pf_create() {
    local dir=$1 port=$2
    mkdir -p "$dir/etc" "$dir/queue" "$dir/data" || return 1
    # Daemons drop to mail_owner after chdir(queue_directory); the path to it
    # and to data_directory must be searchable by that user.
    chmod 0755 "$dir" "$dir/etc" "$dir/queue"
    chown postfix: "$dir/data"
    : >"$dir/maillog"
    cat >"$dir/etc/main.cf" <<EOF
# Private instance for tests: loopback only, no local delivery, no chroot.
compatibility_level = 3.6
config_directory = $dir/etc
queue_directory = $dir/queue
data_directory = $dir/data
multi_instance_enable = no
syslog_name = postfix-lab-$port
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
myhostname = postfix-lab.localdomain
mydomain = localdomain
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
biff = no
append_dot_mydomain = no
smtputf8_enable = no
# Fail fast when a peer is missing instead of sleeping for minutes.
smtp_connect_timeout = 5s
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 10s
EOF
    # Only the services a relay needs; chroot off everywhere (column 5).
    cat >"$dir/etc/master.cf" <<EOF
$port     inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    echo "$port" >"$dir/port"
}

pf_conf() {
    local dir=$1
    shift
    postconf -c "$dir/etc" -e "$@"
}

pf_master_pid() {
    local f="$1/queue/pid/master.pid" pid
    [ -r "$f" ] || return 0
    pid=$(tr -d ' \n' <"$f")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
    return 0
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
pf_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pf_start() {
    local dir=$1 timeout=${2:-20} port i
    port=$(cat "$dir/port")
    postfix -c "$dir/etc" start >>"$dir/start.log" 2>&1 || {
        cat "$dir/start.log" "$dir/maillog" >&2
        return 1
    }
    for ((i = 0; i < timeout * 10; i++)); do
        if [ -n "$(pf_master_pid "$dir")" ] && pf_port_open "$port"; then
            return 0
        fi
        sleep 0.1
    done
    echo "postfix in $dir did not come up on port $port" >&2
    cat "$dir/start.log" "$dir/maillog" >&2
    return 1
}

pf_stop() {
    local dir=$1 pid i
    pid=$(pf_master_pid "$dir")
    [ -n "$pid" ] || return 0
    postfix -c "$dir/etc" stop >>"$dir/start.log" 2>&1
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    # The master did not go within 10 s: end it and its children by PID.
    pkill -KILL -P "$pid" 2>/dev/null
    kill -KILL "$pid" 2>/dev/null
    return 0
}

pf_sendmail() {
    local dir=$1
    shift
    sendmail -C "$dir/etc" "$@"
}

pf_log() {
    cat "$1/maillog"
}

# A TCP port on 127.0.0.1 that is free now (the kernel's choice).
pf_free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
