#!/usr/bin/python3
"""test_crash_recovery: `chainmail serve` is killed with SIGKILL while 200
messages are in flight over 10 sessions. After a restart on the same spool,
every message that got a 250 must be queued intact, and every queued message
must be one the client sent, byte for byte after one Received: header (read
back with `queue show --message`; no half-written message). Three rounds,
each killing at a different, seeded moment; CRASH_SEED=N replays a run."""

import hashlib
import json
import os
import random
import re
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
from checks import free_port, write_serve_config  # noqa: E402

CHAINMAIL = os.environ["CHAINMAIL"]
ROUNDS = 3
THREADS = 10
PER_THREAD = 20
DEADLINE = time.monotonic() + 50  # the whole test, rounds included


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def write_config(tmp, port, dead_port):
    return write_serve_config(tmp, f"127.0.0.1:{port}", f"127.0.0.1@{dead_port}", rest=f"""\
partners:
  - name: lab-partner
    domains: [partner.test]
    tls: none
    next_hop: "[127.0.0.1]:{dead_port}"
    on_tls_failure: defer
""")


def start_serve(cfg, port, log):
    proc = subprocess.Popen([CHAINMAIL, "serve", "-c", cfg], stdout=log, stderr=subprocess.STDOUT)
    limit = time.monotonic() + 20
    while time.monotonic() < limit:
        if proc.poll() is not None:
            raise SystemExit(f"FAIL: chainmail serve exited with {proc.returncode} at start")
        if port_open(port):
            return proc
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise SystemExit("FAIL: chainmail serve did not listen within 20 s")


def body_digest(body):
    """SHA-256 of a message body (CRLF lines), as its X-Body-SHA256 header states it."""
    return hashlib.sha256(body).hexdigest()


def make_message(rng, msg_id):
    # 1 to 40 KB of base64-like lines; no line starts with a dot.
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    nlines = rng.randint(13, 540)
    body = b"".join(bytes(rng.choices(alphabet, k=76)) + b"\r\n" for _ in range(nlines))
    head = (f"From: crash@org.test\r\nTo: rcpt@partner.test\r\nSubject: crash {msg_id}\r\n"
            f"Message-ID: <{msg_id}@org.test>\r\nX-Crash-Id: {msg_id}\r\n"
            f"X-Body-SHA256: {body_digest(body)}\r\n\r\n").encode()
    return head + body


class Round:
    def __init__(self, number, rng):
        self.number = number
        self.rng = rng
        self.lock = threading.Lock()
        self.acked = set()
        self.attempted = set()
        self.cond = threading.Condition(self.lock)
        self.sent = {}  # id -> (SHA-256, length) of the DATA content, every message of this round

    def sender(self, port, t):
        rng = random.Random(self.rng.random())
        try:
            smtp = smtplib.SMTP("127.0.0.1", port, timeout=20)
            smtp.ehlo("crash.lab.test")
        except (OSError, smtplib.SMTPException):
            return
        for i in range(PER_THREAD):
            msg_id = f"r{self.number}-t{t}-m{i}-{os.getpid()}"
            data = make_message(rng, msg_id)
            with self.lock:
                self.sent[msg_id] = (hashlib.sha256(data).hexdigest(), len(data))
                self.attempted.add(msg_id)
            try:
                smtp.sendmail("crash@org.test", ["rcpt@partner.test"], data)
            except (OSError, smtplib.SMTPException):
                return  # the server died mid-transaction: this one is "maybe"
            with self.cond:
                self.acked.add(msg_id)
                self.cond.notify_all()
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass

    def run(self, proc, port):
        kill_after = self.rng.randint(10, THREADS * PER_THREAD * 3 // 5)
        extra = self.rng.uniform(0, 0.005)
        threads = [threading.Thread(target=self.sender, args=(port, t)) for t in range(THREADS)]
        for th in threads:
            th.start()
        with self.cond:
            self.cond.wait_for(lambda: len(self.acked) >= kill_after, timeout=30)
        time.sleep(extra)
        proc.send_signal(signal.SIGKILL)
        with self.lock:
            at_kill = len(self.acked)
        proc.wait()
        for th in threads:
            th.join(timeout=30)
        print(f"round {self.number}: SIGKILL after {at_kill} acks (aimed at {kill_after} "
              f"+ {extra * 1000:.1f} ms); {len(self.acked)} acked, "
              f"{len(self.attempted) - len(self.acked)} in flight")
        assert at_kill >= 1, "the kill came before any message was acknowledged"
        assert len(self.acked) < THREADS * PER_THREAD, "every message was acknowledged before the kill"


def parse_framed(out, ids):
    """qid -> bytes from `queue show --message` output: one id is printed raw;
    several are each a line "Message: ID SIZE", SIZE bytes, then a newline."""
    if len(ids) == 1:
        return {ids[0]: out}
    shown, pos = {}, 0
    while pos < len(out):
        eol = out.index(b"\n", pos)
        m = re.fullmatch(rb"Message: (\S+) (\d+)", out[pos:eol])
        assert m, f"queue show --message: bad frame line {out[pos:eol][:80]!r}"
        size = int(m.group(2))
        body_end = eol + 1 + size
        assert out[body_end:body_end + 1] == b"\n", "queue show --message: frame not ended"
        shown[m.group(1).decode()] = out[eol + 1:body_end]
        pos = body_end + 1
    return shown


def queued_messages(cfg):
    """qid -> (envelope from `queue list --json`, stored bytes from `queue show --message`)."""
    out = subprocess.run([CHAINMAIL, "queue", "list", "--json", "-c", cfg], capture_output=True,
                         timeout=60)
    assert out.returncode == 0, f"queue list failed: {out.stderr.decode(errors='replace')}"
    envs = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    if not envs:
        return {}
    ids = [e["id"] for e in envs]
    show = subprocess.run([CHAINMAIL, "queue", "show", "--message", "-c", cfg] + ids,
                          capture_output=True, timeout=60)
    assert show.returncode == 0, f"queue show failed: {show.stderr.decode(errors='replace')}"
    shown = parse_framed(show.stdout, ids)
    assert set(shown) == set(ids), "queue show --message and queue list disagree"
    return {e["id"]: (e, shown[e["id"]]) for e in envs}


RECEIVED = re.compile(rb"Received: [^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*")


def verify(cfg, rounds):
    sent = {}  # crash id -> (SHA-256 of the DATA content, its length)
    acked = set()
    for r in rounds:
        sent.update(r.sent)
        acked |= r.acked
    seen = {}
    extra = []  # stored size - sent size: the Received: header chainmail adds
    for qid, (env, stored) in queued_messages(cfg).items():
        assert int(env["size"]) == len(stored), \
            f"{qid}: queue list says {env['size']} bytes, queue show gave {len(stored)}"
        m = re.search(rb"^X-Crash-Id: (\S+)\r$", stored, re.M)
        assert m, f"queued message {qid} is not one the client sent (or is cut)"
        crash_id = m.group(1).decode()
        assert crash_id in sent, f"queued message {qid} has unknown id {crash_id}"
        assert crash_id not in seen, f"{crash_id} is queued twice ({seen.get(crash_id)}, {qid})"
        digest, size = sent[crash_id]
        # Stored = one Received: header (possibly folded), then exactly what was sent.
        received = RECEIVED.match(stored)
        assert received and received.end() == len(stored) - size, \
            f"queued message {qid} ({crash_id}) does not start with one Received: header"
        assert hashlib.sha256(stored[received.end():]).hexdigest() == digest, \
            f"queued message {qid} ({crash_id}) is not intact"
        head, _, body = stored.partition(b"\r\n\r\n")
        h = re.search(rb"^X-Body-SHA256: ([0-9a-f]{64})\r?$", head, re.M)
        assert h and h.group(1).decode() == body_digest(body), \
            f"queued message {qid} ({crash_id}): body differs from its X-Body-SHA256"
        assert env.get("sender") == "crash@org.test", f"{qid}: sender {env.get('sender')}"
        rcpts = [r.get("address") for r in env.get("recipients", [])]
        assert rcpts == ["rcpt@partner.test"], f"{qid}: recipients {rcpts}"
        extra.append(received.end())
        seen[crash_id] = qid
    missing = sorted(acked - set(seen))
    assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {missing[:5]}"
    print(f"  queue: {len(seen)} messages, every body compared and intact; all {len(acked)} "
          f"acknowledged ones present; {len(seen) - len(acked)} unacknowledged ones kept; "
          f"Received: header {min(extra, default=0)}..{max(extra, default=0)} bytes")


def main():
    seed = int(os.environ.get("CRASH_SEED", str(time.time_ns() % 2**32)))
    print(f"seed {seed} (replay with CRASH_SEED={seed})")
    rng = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="lab-crash.")
    proc = None
    try:
        port, dead = free_port(), free_port()
        cfg = write_config(tmp, port, dead)
        log = open(os.path.join(tmp, "serve.log"), "ab")
        rounds = []
        for n in range(1, ROUNDS + 1):
            if time.monotonic() > DEADLINE:
                print(f"time budget spent: stopping after {n - 1} rounds")
                break
            proc = start_serve(cfg, port, log)
            r = Round(n, random.Random(rng.random()))
            rounds.append(r)
            r.run(proc, port)
            proc = start_serve(cfg, port, log)  # recovery on the same spool
            verify(cfg, rounds)
            proc.terminate()
            proc.wait(timeout=20)
            proc = None
        assert len(rounds) >= 2, "fewer than two rounds ran"
        print("PASS")
    except AssertionError as e:
        print(f"FAIL: {e}")
        with open(os.path.join(tmp, "serve.log"), "rb") as f:
            sys.stdout.write(f.read()[-3000:].decode(errors="replace"))
        return 1
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
