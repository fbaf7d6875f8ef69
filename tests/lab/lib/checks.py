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
