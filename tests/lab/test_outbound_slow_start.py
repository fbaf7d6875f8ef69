#!/usr/bin/python3
"""test_outbound_slow_start: a burst to one destination that its first
connections keep up with gets no more than delivery.initial_concurrency_per_destination
of them (slow start, relay/schedule/GUARANTEE.md). 20 sessions hand `serve`
300 messages at once for one partner whose next hop is the sink of bench/
(lab_sink), which counts the connections it accepted. With the default (5)
the sink sees at most 5; with initial_concurrency_per_destination: 20 (no
slow start, the behaviour before it) the same burst opens more than 5, which
shows that the count can tell the two apart."""

import os
import random
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from checks import (check, dead_resolver, exit_if_failed, free_port,  # noqa: E402
                    write_serve_config)

CHAINMAIL = os.environ["CHAINMAIL"]
SINK = os.environ.get("CHAINMAIL_SINK", "")
SESSIONS, PER_SESSION = 20, 15
MESSAGES = SESSIONS * PER_SESSION


def wait_port(ip, port, proc, what):
    limit = time.monotonic() + 20
    while time.monotonic() < limit:
        if proc.poll() is not None:
            raise SystemExit(f"FAIL: {what} exited with {proc.returncode} at start")
        try:
            socket.create_connection((ip, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"FAIL: {what} did not listen within 20 s")


def burst(initial):
    """One serve and one sink; returns the connections the sink accepted."""
    tmp = tempfile.mkdtemp(prefix="lab-slow-start.")
    ip = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
    port, sink_port = free_port(ip), free_port(ip)
    extra = f"  initial_concurrency_per_destination: {initial}\n" if initial else ""
    cfg = write_serve_config(tmp, f"{ip}:{port}", dead_resolver(ip), level="warning", rest=f"""\
delivery:
  concurrency_per_destination: 20
{extra}partners:
  - name: lab-partner
    domains: [partner.test]
    tls: none
    next_hop: "[{ip}]:{sink_port}"
""")
    report, status = os.path.join(tmp, "sink.rep"), os.path.join(tmp, "sink.status")
    sink = subprocess.Popen([SINK, "--listen", f"{ip}:{sink_port}", "--report", report,
                             "--status", status, "--max-seconds", "120"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    serve = subprocess.Popen([CHAINMAIL, "serve", "-c", cfg],
                             stdout=open(os.path.join(tmp, "serve.log"), "wb"),
                             stderr=subprocess.STDOUT)
    try:
        # Its "ready" line, not a probe connection, which it would count.
        if sink.stdout.readline().strip() != "ready":
            raise SystemExit("FAIL: the sink did not start")
        wait_port(ip, port, serve, "serve")
        start = threading.Barrier(SESSIONS)

        def send(t):
            with smtplib.SMTP(ip, port, timeout=30) as s:
                s.ehlo(f"s{t}.lab.test")
                start.wait()  # all at once: a burst
                for n in range(PER_SESSION):
                    s.sendmail("a@org.test", ["r@partner.test"],
                               f"Subject: burst {t}.{n}\r\n\r\nbody\r\n")

        threads = [threading.Thread(target=send, args=(t,)) for t in range(SESSIONS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        limit = time.monotonic() + 60
        arrived = 0
        while time.monotonic() < limit:
            try:
                with open(status) as f:
                    arrived = int(f.read().split()[2])
            except (OSError, IndexError, ValueError):
                pass
            if arrived >= MESSAGES:
                break
            time.sleep(0.1)
        check(arrived == MESSAGES, f"initial {initial or 'default'}: {arrived} of "
              f"{MESSAGES} messages reached the sink")
    finally:
        serve.terminate()
        serve.wait(timeout=30)
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=30)
    with open(report) as f:
        words = f.read().split()
    shutil.rmtree(tmp, ignore_errors=True)
    return int(words[words.index("connections") + 1])


def main():
    if not SINK or not os.access(SINK, os.X_OK):
        print("FAIL: CHAINMAIL_SINK does not name the built sink (target lab_sink)")
        return 1
    slow = burst(0)
    print(f"default slow start: {slow} connection(s) for {MESSAGES} messages")
    check(1 <= slow <= 5, f"with slow start the sink saw {slow} connections, expected 1-5")
    fast = burst(20)
    print(f"initial_concurrency_per_destination: 20: {fast} connection(s)")
    check(fast > 5, f"without slow start the sink saw only {fast} connections: "
          "this burst would not show slow start at work")
    exit_if_failed()
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
