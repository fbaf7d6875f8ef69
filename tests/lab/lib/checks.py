"""Shared by the lab tests: a free TCP port on a loopback address, a serve
configuration's common part, and, for
the tests written as plain scripts, checks that are collected so that one run
reports every failure and then exits non-zero."""

import os
import socket
import sys

failures = []


def free_port(ip="127.0.0.1"):
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def exit_if_failed():
    if failures:
        sys.exit(f"{len(failures)} check(s) failed")


def dead_resolver(ip="127.0.0.1"):
    """A dns.nameservers entry where nothing answers, for tests that deliver
    nothing by DNS: serve's DNSSEC self-check (and any lookup) then fails at
    once on loopback instead of asking the machine's own resolver, which a
    test must never reach."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((ip, 0))
        return f"{ip}@{s.getsockname()[1]}"


def write_serve_config(tmp, listen, nameserver, rest, level="info"):
    """tmp/chainmail.yaml for a lab serve: listens on `listen` ("ip:port"),
    relays for loopback, keeps its spool, control socket and delivery log
    under tmp and asks `nameserver` (dns.nameservers); `rest` is the YAML
    that follows (delivery, partners). Returns the file's path."""
    import os
    cfg = os.path.join(tmp, "chainmail.yaml")
    with open(cfg, "w") as f:
        f.write(f"""hostname: chainmail.lab.test
listen:
  - address: "{listen}"
relay_from:
  networks: ["127.0.0.0/8"]
spool: {tmp}/spool
control_socket: {tmp}/spool/control
log:
  level: {level}
  delivery_log: {tmp}/delivery.jsonl
dns:
  nameservers: ["{nameserver}"]
""" + rest)
    return cfg
