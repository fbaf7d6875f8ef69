#!/usr/bin/python3
"""test_serve_operate: `chainmail serve` as systemd runs it. The operator's log
goes to stderr (with journald's <N> priority prefixes when JOURNAL_STREAM is
set) and nothing to stdout; READY=1 and, with WATCHDOG_USEC, WATCHDOG=1 pings
from the event loop reach NOTIFY_SOCKET; SIGHUP applies a good new file and
reopens the delivery log; a bad new file is logged as FILE:LINE:COL and the
running configuration stays; SIGTERM sends STOPPING=1 and exits 0."""

import os
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from checks import check, dead_resolver, failures, free_port  # noqa: E402

CHAINMAIL = os.environ["CHAINMAIL"]


def write_config(path, port, tmp, networks):
    with open(path, "w") as f:
        f.write(f"""hostname: relay.gemeente.test
listen:
  - address: "127.0.0.1:{port}"
relay_from:
  networks: [{networks}]
  authenticated: false
spool: {tmp}/spool
control_socket: {tmp}/spool/control
log:
  level: info
  delivery_log: {tmp}/delivery.jsonl
dns:
  nameservers: ["{dead_resolver()}"]
""")


def rcpt_code(port):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        s.ehlo("client.gemeente.test")
        s.mail("a@gemeente.test")
        code, _ = s.rcpt("b@partner.test")
        return code


def read_file(path):
    with open(path) as f:
        return f.read()


with tempfile.TemporaryDirectory(prefix="lab-serve-operate.") as tmp:
    port = free_port()
    cfg = os.path.join(tmp, "chainmail.yaml")
    write_config(cfg, port, tmp, '"10.0.0.0/8"')
    notify_path = os.path.join(tmp, "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(0.2)
    messages = []

    def drain(seconds, until=None):
        """Reads notify messages for up to `seconds`, or until one equals `until`."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                m = notify.recv(4096).decode()
            except socket.timeout:
                continue
            messages.append(m)
            if until is not None and until in m.split("\n"):
                return True
        return False

    def wait_log(text, seconds=10):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if text in read_file(err_path):
                return True
            time.sleep(0.05)
        return False

    env = {**os.environ, "NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": "400000",
           "JOURNAL_STREAM": "8:12345"}
    out_path, err_path = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen([CHAINMAIL, "serve", "--no-delivery", "-c", cfg],
                                stdout=out, stderr=err, env=env)
    try:
        check(drain(20, "READY=1"), f"READY=1 on NOTIFY_SOCKET; got {messages}")
        # 400 ms watchdog: a ping every 200 ms from the event loop.
        # Counted over 3 s, loosely: a loaded machine delays timers, never hastens them.
        # Above: at most one per 200 ms of the time actually spent reading, plus
        # one already waiting in the socket and one read just after the window.
        before = messages.count("WATCHDOG=1")
        t0 = time.monotonic()
        drain(3)
        elapsed = time.monotonic() - t0
        pings = messages.count("WATCHDOG=1") - before
        check(4 <= pings <= int(elapsed / 0.2) + 2,
              f"WATCHDOG=1 about every 200 ms; {pings} in {elapsed:.2f} s")

        check(read_file(out_path) == "", f"nothing on stdout: {read_file(out_path)!r}")
        check(f"<6>chainmail serve: listening on 127.0.0.1:{port}" in read_file(err_path),
              f"the start line on stderr with journald's info prefix: {read_file(err_path)}")
        check(rcpt_code(port) == 554, "before the reload 127.0.0.1 may not relay")

        # A good new file: applied, and the delivery log is reopened (rotation).
        write_config(cfg, port, tmp, '"127.0.0.0/8"')
        os.rename(f"{tmp}/delivery.jsonl", f"{tmp}/delivery.jsonl.1")
        messages.clear()
        proc.send_signal(signal.SIGHUP)
        check(wait_log(f"configuration reloaded from {cfg}"), "the reload is logged")
        check(drain(5, "READY=1") and "RELOADING=1" in messages,
              f"RELOADING=1 then READY=1 on reload; got {messages}")
        check(rcpt_code(port) == 250, "after the reload 127.0.0.1 may relay")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
            s.sendmail("a@gemeente.test", ["b@partner.test"], b"Subject: t\r\n\r\nhi\r\n")
        end = time.monotonic() + 10
        while time.monotonic() < end and not (
                os.path.exists(f"{tmp}/delivery.jsonl")
                and '"event":"received"' in read_file(f"{tmp}/delivery.jsonl")):
            time.sleep(0.05)
        check(os.path.exists(f"{tmp}/delivery.jsonl")
              and '"event":"received"' in read_file(f"{tmp}/delivery.jsonl"),
              "after SIGHUP the delivery log is written to a new file")

        # A bad new file: FILE:LINE:COL in the log, the old configuration stays.
        with open(cfg, "w") as f:
            f.write("queue:\n  max_lifetime: 5 days\n")
        proc.send_signal(signal.SIGHUP)
        check(wait_log("reload refused"), "a bad file is refused")
        check(f"<3>{cfg}:2:17: " in read_file(err_path),
              f"the error as FILE:LINE:COL at error priority: {read_file(err_path)}")
        check(proc.poll() is None, "serve still runs after a bad reload")
        check(rcpt_code(port) == 250, "the running configuration stays after a bad file")

        messages.clear()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=40)
        check(code == 0, f"exit 0 after SIGTERM, not {code}")
        drain(0.5)
        check("STOPPING=1" in messages, f"STOPPING=1 on SIGTERM; got {messages}")
        check(read_file(out_path) == "", f"still nothing on stdout: {read_file(out_path)!r}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        notify.close()
    if failures:
        print(read_file(err_path), file=sys.stderr)

if failures:
    sys.exit(f"{len(failures)} check(s) failed")
print("ok")
