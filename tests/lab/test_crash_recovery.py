#!/usr/bin/python3
"""test_crash_recovery: `chainmail serve` is killed with SIGKILL while 200
messages are in flight over 10 sessions. After a restart on the same spool,
every message that got a 250 must be queued intact, and every queued message
must be one the client sent, intact (no half-written message). Three rounds,
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

CHAINMAIL = os.environ["CHAINMAIL"]
ROUNDS = 3
THREADS = 10
PER_THREAD = 20
DEADLINE = time.monotonic() + 50  # the whole test, rounds included


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def write_config(tmp, port, dead_port):
    cfg = os.path.join(tmp, "chainmail.yaml")
    with open(cfg, "w") as f:
        f.write(f"""hostname: chainmail.lab.test
listen:
  - address: "127.0.0.1:{port}"
relay_from:
  networks: ["127.0.0.0/8"]
spool: {tmp}/spool
log:
  level: info
  delivery_log: {tmp}/delivery.jsonl
dns:
  nameservers: ["127.0.0.1@{dead_port}"]
partners:
  - name: lab-partner
    domains: [partner.test]
    tls: none
    next_hop: "[127.0.0.1]:{dead_port}"
    on_tls_failure: defer
""")
    return cfg


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
    """SHA-256 over the body with line ends normalised, so CRLF/LF display differences do not count."""
    lines = body.replace(b"\r\n", b"\n").rstrip(b"\n").split(b"\n")
    return hashlib.sha256(b"\n".join(lines)).hexdigest()


def make_message(rng, msg_id):
    # 1 to 40 KB of base64-like lines; no line starts with a dot.
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    nlines = rng.randint(13, 540)
    body = b"".join(bytes(rng.choices(alphabet, k=76)) + b"\r\n" for _ in range(nlines))
    head = (f"From: crash@org.test\r\nTo: rcpt@partner.test\r\nSubject: crash {msg_id}\r\n"
            f"Message-ID: <{msg_id}@org.test>\r\nX-Crash-Id: {msg_id}\r\n"
            f"X-Body-SHA256: {body_digest(body)}\r\n\r\n").encode()
    return head + body, body_digest(body)


class Round:
    def __init__(self, number, rng):
        self.number = number
        self.rng = rng
        self.lock = threading.Lock()
        self.acked = set()
        self.attempted = set()
        self.cond = threading.Condition(self.lock)
        self.messages = {}  # id -> digest, every message of this round
        self.sizes = {}  # id -> bytes sent (the DATA content)

    def sender(self, port, t):
        rng = random.Random(self.rng.random())
        try:
            smtp = smtplib.SMTP("127.0.0.1", port, timeout=20)
            smtp.ehlo("crash.lab.test")
        except (OSError, smtplib.SMTPException):
            return
        for i in range(PER_THREAD):
            msg_id = f"r{self.number}-t{t}-m{i}-{os.getpid()}"
            data, digest = make_message(rng, msg_id)
            with self.lock:
                self.messages[msg_id] = digest
                self.sizes[msg_id] = len(data)
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


def queued_messages(cfg):
    """qid -> (envelope from `queue list --json`, `queue show` text) for the whole queue."""
    out = subprocess.run([CHAINMAIL, "queue", "list", "--json", "-c", cfg], capture_output=True,
                         timeout=60)
    assert out.returncode == 0, f"queue list failed: {out.stderr.decode(errors='replace')}"
    envs = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    if not envs:
        return {}
    ids = [e["id"] for e in envs]
    show = subprocess.run([CHAINMAIL, "queue", "show", "-c", cfg] + ids, capture_output=True,
                          timeout=60)
    assert show.returncode == 0, f"queue show failed: {show.stderr.decode(errors='replace')}"
    blocks = {}
    for block in re.split(rb"(?m)^(?=Queue-ID:)", show.stdout):
        m = re.match(rb"Queue-ID:\s+(\S+)", block)
        if m:
            blocks[m.group(1).decode()] = block
    assert set(blocks) == set(ids), "queue show and queue list disagree"
    return {e["id"]: (e, blocks[e["id"]]) for e in envs}


def parse_shown(text):
    """(crash id, header digest or None, computed body digest or None) of one shown message.
    The id comes from the X-Crash-Id header when the message text is shown,
    else from the Message-ID the spool recorded."""
    m = re.search(rb"^X-Crash-Id: (\S+)\r?$", text, re.M)
    h = re.search(rb"^X-Body-SHA256: ([0-9a-f]{64})\r?$", text, re.M)
    if m and h:
        sep = re.search(rb"\r?\n\r?\n", text[h.end():])
        body = text[h.end() + sep.end():] if sep else b""
        return m.group(1).decode(), h.group(1).decode(), body_digest(body)
    mid = re.search(rb"^Message-ID:\s+<([^@>]+)@org\.test>", text, re.M)
    return (mid.group(1).decode() if mid else None), None, None


def verify(cfg, rounds):
    sent = {}
    acked = set()
    for r in rounds:
        sent.update(r.messages)
        acked |= r.acked
    sizes = {}
    for r in rounds:
        sizes.update(r.sizes)
    seen = {}
    extra = []  # stored size - sent size: the Received: header chainmail adds
    bodies_checked = 0
    for qid, (env, text) in queued_messages(cfg).items():
        crash_id, header_digest, digest = parse_shown(text)
        assert crash_id is not None, f"queued message {qid} is not one the client sent (or is cut)"
        assert crash_id in sent, f"queued message {qid} has unknown id {crash_id}"
        assert crash_id not in seen, f"{crash_id} is queued twice ({seen.get(crash_id)}, {qid})"
        if digest is not None:
            assert header_digest == sent[crash_id] and digest == sent[crash_id], \
                f"queued message {qid} ({crash_id}) is not intact"
            bodies_checked += 1
        assert env.get("sender") == "crash@org.test", f"{qid}: sender {env.get('sender')}"
        rcpts = [r.get("address") for r in env.get("recipients", [])]
        assert rcpts == ["rcpt@partner.test"], f"{qid}: recipients {rcpts}"
        extra.append(int(env["size"]) - sizes[crash_id])
        seen[crash_id] = qid
    missing = sorted(acked - set(seen))
    assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {missing[:5]}"
    if extra:
        # Without the text, the size must still say "whole message plus one
        # Received: header", which is nearly the same length for every message.
        assert min(extra) > 0 and max(extra) - min(extra) <= 16, \
            f"stored sizes do not match the sent messages: extra bytes {min(extra)}..{max(extra)}"
    print(f"  queue: {len(seen)} messages; all {len(acked)} acknowledged ones present; "
          f"{len(seen) - len(acked)} unacknowledged ones kept; bodies compared: {bodies_checked}; "
          f"size - sent size in {min(extra, default=0)}..{max(extra, default=0)}")


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
