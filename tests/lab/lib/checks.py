"""Shared by the lab tests: a free TCP port on a loopback address, and, for
the tests written as plain scripts, checks that are collected so that one run
reports every failure and then exits non-zero."""

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
