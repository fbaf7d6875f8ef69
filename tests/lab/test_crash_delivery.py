#!/usr/bin/python3
"""test_crash_delivery: `chainmail serve` is killed with SIGKILL three times
while 20 sessions hand it messages and it delivers them over STARTTLS to a
receiver (the sink of bench/, which records every arrival). After each kill
it is started again on the same spool. At the end every acknowledged
message must have arrived (none lost), and the deliveries per message are
counted at the receiver.

A message arrives twice only when it was in flight at a kill: the receiver
had its final dot and the reply was not yet read (relay/schedule/GUARANTEE.md).
From the moment the reply is read, the outcome is in the kernel, before the
grouped fdatasync. The goal: a median of at most 2 duplicates per three kills.

The suite's version makes the spool's disk slow (lab_slow_sync, preloaded:
every fdatasync takes CRASH_SYNC_MS = 50 ms longer, as on a busy spinning or
network disk) and kills right after the receiver reports new arrivals. An
outcome that waited for the group commit is then lost for most deliveries
in progress (about 20 duplicates per run); one written when the reply is
read is not. 5 runs of 400 messages (about 50 s); fails when the median
is above 2.

CRASH_FULL=1 is the harness of the finding: 5 runs of 2,000 messages on the
real disk (CRASH_SYNC_MS=0) and kills at random moments, failing when the
median is above 2. It measures more than the relay: a duplicate is a message
whose final dot the receiver had and whose reply the relay had not yet
turned into a written outcome at the kill. With up to 20 connections delivering
about 500 messages a second, that window is made of the receiver's own
delay (it may read the dot only after the kill: no reply could have come),
the wait of the relay's delivery thread for a core and for its turn among
the other connections' work (on 2 cores shared with the 20 sending threads
and the receiver, a median of about 0.4 ms and a tail of several ms), and
the write itself (a median of about 20 us after the reply is read). Each
run prints the load average and splits the duplicates by when the receiver
read their dot: after the kill, within 1 ms before it, or earlier. On a
busy machine the median can exceed the goal with every duplicate inside
that window (relay/schedule/GUARANTEE.md), which is why the suite does not
run it. CRASH_RUNS, CRASH_MESSAGES and CRASH_SYNC_MS change the size or the
disk; CRASH_SEED=N replays the kill moments; CRASH_RATE=N paces the
sessions to N messages a second in all (to compare relays at one rate);
CRASH_CONCURRENCY=N caps the relay at N connections to the receiver (20;
slow start opens 5 first, relay/schedule/GUARANTEE.md);
CRASH_CHUNKING=1 makes the receiver offer CHUNKING, so that the relay sends
BDAT instead of DATA.

CRASH_POSTFIX=master or =all puts Debian's Postfix (a private instance,
tests/lab/lib/postfix.sh) where serve was, in the same harness as
CRASH_FULL=1: relayhost the same sink, smtp_tls_security_level = encrypt,
its default concurrency of 20 per destination. "master" sends the SIGKILL
to Postfix's master process only, as a harness that kills "the server"
would: its delivery agents are separate processes, which finish the
transaction in hand and mark the recipient done in the queue file before
they notice the master is gone. "all" kills the master and every process
of the instance at once (one kill(2) to its process group), as the OOM
killer of a cgroup, a power cut or `systemctl kill -s KILL` would, and as
a SIGKILL of serve does. Not in the suite: a comparison, not a check of
chainmail (relay/schedule/GUARANTEE.md has the figures)."""

import os
import random
import shutil
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from checks import free_port  # noqa: E402

POSTFIX_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib", "postfix.sh")

CHAINMAIL = os.environ.get("CHAINMAIL", "")
SINK = os.environ.get("CHAINMAIL_SINK", "")
SLOW_SYNC = os.environ.get("CHAINMAIL_SLOW_SYNC", "")
POSTFIX_KILL = os.environ.get("CRASH_POSTFIX", "")  # "", "master" or "all"
FULL = os.environ.get("CRASH_FULL") == "1" or POSTFIX_KILL != ""
# The sanitizer tree (CMake sets CHAINMAIL_SANITIZED=1 there): serve runs
# 2-3 times slower, so the window between a dot and its reply is that much
# wider. The duplicate goal is a speed goal, enforced on the Release tree;
# here the run checks what sanitizers are for: nothing lost, no stray arrival.
SANITIZED = os.environ.get("CHAINMAIL_SANITIZED") == "1"
RUNS = int(os.environ.get("CRASH_RUNS", "5"))
MESSAGES = int(os.environ.get("CRASH_MESSAGES", "2000" if FULL else "400"))
SYNC_MS = int(os.environ.get("CRASH_SYNC_MS", "0" if FULL else "50"))
CHUNKING = os.environ.get("CRASH_CHUNKING") == "1"
RATE = float(os.environ.get("CRASH_RATE", "0"))  # messages a second in all; 0: unpaced
SESSIONS = 20
KILLS = 3
# delivery.concurrency_per_destination (Postfix: default_destination_concurrency_limit):
# messages in flight at most (slow start opens initial_concurrency_per_destination first)
CONCURRENCY = int(os.environ.get("CRASH_CONCURRENCY", "20"))
MAX_MEDIAN_DUPLICATES = 2
RUN_LIMIT_S = 90  # one run, deliveries included; a bound, not the expected time
ACTIVE_WAIT_S = 5  # at most this long for deliveries to flow again before a kill


def port_open(ip, port):
    try:
        socket.create_connection((ip, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def make_cert(directory):
    cert, key = os.path.join(directory, "sink.pem"), os.path.join(directory, "sink.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=mx.partner.test", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


class Lab:
    """One run: a sink, a spool, a serve that is killed and started again."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.tmp = tempfile.mkdtemp(prefix="lab-crash-delivery.")
        # Our own loopback address, so that parallel tests never meet.
        self.ip = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
        self.port, self.sink_port, self.dead = (free_port(self.ip) for _ in range(3))
        self.mta_ip = self.ip  # where the sessions hand over their messages
        self.cfg = os.path.join(self.tmp, "chainmail.yaml")
        with open(self.cfg, "w") as f:
            f.write(f"""hostname: chainmail.lab.test
listen:
  - address: "{self.ip}:{self.port}"
relay_from:
  networks: ["127.0.0.0/8"]
spool: {self.tmp}/spool
control_socket: {self.tmp}/spool/control
log:
  level: warning
  delivery_log: {self.tmp}/delivery.jsonl
dns:
  nameservers: ["{self.ip}@{self.dead}"]
delivery:
  concurrency_per_destination: {CONCURRENCY}
partners:
  - name: lab-partner
    domains: [partner.test]
    tls: encrypt
    next_hop: "[{self.ip}]:{self.sink_port}"
    on_tls_failure: defer
""")
        self.log = open(os.path.join(self.tmp, "serve.log"), "ab")
        self.proc = self.sink = None
        self.lock = threading.Lock()
        self.acked, self.next_id = set(), 0

    def start_sink(self):
        cert, key = make_cert(self.tmp)
        self.report = os.path.join(self.tmp, "sink.rep")
        self.status = os.path.join(self.tmp, "sink.status")
        out = open(os.path.join(self.tmp, "sink.out"), "w")
        self.sink = subprocess.Popen([SINK, "--listen", f"{self.ip}:{self.sink_port}",
                                      "--cert", cert, "--key", key, "--report", self.report,
                                      "--status", self.status,
                                      "--max-seconds", str(RUN_LIMIT_S + 60)]
                                     + (["--chunking"] if CHUNKING else []),
                                     stdout=out, stderr=subprocess.STDOUT)
        limit = time.monotonic() + 10
        while time.monotonic() < limit:
            if port_open(self.ip, self.sink_port):
                return
            time.sleep(0.05)
        raise AssertionError("the sink did not listen")

    def start_serve(self):
        env = dict(os.environ)
        if SYNC_MS > 0:
            env["LD_PRELOAD"] = SLOW_SYNC
            env["SLOW_SYNC_MS"] = str(SYNC_MS)
        self.proc = subprocess.Popen([CHAINMAIL, "serve", "-c", self.cfg], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        limit = time.monotonic() + 20
        while time.monotonic() < limit:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited with {self.proc.returncode} at start")
            if port_open(self.mta_ip, self.port):
                return
            time.sleep(0.02)
        raise AssertionError("serve did not listen within 20 s")

    def arrived(self):
        """Messages the sink has had so far (its status file, every 100 ms)."""
        try:
            with open(self.status) as f:
                return int(f.read().split()[2])
        except (OSError, IndexError, ValueError):
            return 0

    def wait_for_outcomes(self, deadline):
        """On the slow disk: returns once the (restarted) server has delivered
        a round over its connections and the receiver has just reported new
        arrivals, so that the kill comes while their outcomes are being
        recorded. The receiver reports every 100 ms, a rhythm of its own."""
        limit = min(deadline, time.monotonic() + ACTIVE_WAIT_S)
        since = self.arrived()
        while self.arrived() < since + CONCURRENCY and time.monotonic() < limit:
            time.sleep(0.005)
        since = self.arrived()
        while self.arrived() == since and time.monotonic() < limit:
            time.sleep(0.002)

    def take_id(self):
        with self.lock:
            if self.next_id >= MESSAGES:
                return None
            self.next_id += 1
            return self.next_id

    def sender(self, t, deadline):
        """Sends until every id is taken; after a kill it connects again. An
        id whose transaction broke is not sent again: a client resend would
        be a duplicate of the client's making, not of the relay's."""
        smtp = None
        while time.monotonic() < deadline:
            if smtp is None:
                try:
                    smtp = smtplib.SMTP(self.mta_ip, self.port, timeout=20)
                    smtp.ehlo(f"s{t}.crash.lab.test")
                except (OSError, smtplib.SMTPException):
                    smtp = None
                    time.sleep(0.05)
                    continue
            n = self.take_id()
            if n is None:
                break
            if RATE > 0:  # message n goes at its slot, whoever sends it
                wait = self.sending_from + (n - 1) / RATE - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            data = (f"From: crash@org.test\r\nTo: rcpt@partner.test\r\nSubject: crash {n}\r\n"
                    f"X-Bench-Id: {n}\r\n\r\n" + f"line {n} of the crash test\r\n" * 20)
            try:
                smtp.sendmail("crash@org.test", ["rcpt@partner.test"], data)
            except (OSError, smtplib.SMTPException):
                smtp = None  # serve died mid-transaction: this id is "maybe"
                continue
            with self.lock:
                self.acked.add(n)
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)

    def reap(self):
        self.proc.wait()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.proc = None

    def queue_empty(self):
        out = subprocess.run([CHAINMAIL, "queue", "list", "--json", "-c", self.cfg],
                             capture_output=True, text=True, timeout=30)
        return out.returncode == 0 and not out.stdout.strip()

    def run(self):
        self.load = os.getloadavg()[0]
        t0 = time.monotonic()
        deadline = t0 + RUN_LIMIT_S
        self.start_sink()
        self.start_serve()
        # Kill while the queue is busy both ways: at seeded points spread
        # over the accepted messages.
        marks = sorted(self.rng.randint(MESSAGES * k // (KILLS + 1) - MESSAGES // 10,
                                        MESSAGES * k // (KILLS + 1) + MESSAGES // 10)
                       for k in range(1, KILLS + 1))
        threads = [threading.Thread(target=self.sender, args=(t, deadline))
                   for t in range(SESSIONS)]
        self.sending_from = time.monotonic()
        for th in threads:
            th.start()
        kills, kill_ns, drained = [], [], 0
        for mark in marks:
            while len(self.acked) < mark and time.monotonic() < deadline:
                time.sleep(0.002)
            if SYNC_MS > 0:
                self.wait_for_outcomes(deadline)
            else:
                # Acks and deliveries both follow the spool's group commits: a
                # kill right after an ack would hit the same moment of that
                # rhythm every time. A random delay over several of its periods
                # decorrelates it.
                time.sleep(self.rng.uniform(0, 0.1))
            self.kill()
            kill_ns.append(time.monotonic_ns())
            self.reap()
            # The relay was only delivering its queue (GUARANTEE.md: draining)
            # when the sessions had handed over everything, or when no message
            # came in since the last restart (it was delivering what it found).
            drained += (not any(th.is_alive() for th in threads)
                        or (len(kills) > 0 and len(self.acked) == kills[-1]))
            kills.append(len(self.acked))
            self.start_serve()
        for th in threads:
            th.join(timeout=max(1, deadline - time.monotonic()))
        send_s = time.monotonic() - self.sending_from
        while not self.queue_empty():
            assert time.monotonic() < deadline, "the queue did not drain in time"
            time.sleep(0.2)
        accept_s = time.monotonic() - t0
        self.stop()
        self.sink.send_signal(signal.SIGTERM)
        self.sink.wait(timeout=30)
        self.sink = None
        counts, first = {}, {}
        with open(self.report + ".arrivals") as f:
            for line in f:
                n, t_ns = (int(x) for x in line.split())
                counts[n] = counts.get(n, 0) + 1
                first.setdefault(n, t_ns)
        # Connections the receiver accepted over the run (every restart opens
        # its own): how many the relay used.
        with open(self.report) as f:
            words = f.read().split()
        conns = int(words[words.index("connections") + 1]) if "connections" in words else -1
        lost = sorted(self.acked - set(counts))
        duplicated = sum(c - 1 for c in counts.values() if c > 1)
        unknown = [n for n in counts if n < 1 or n > MESSAGES]
        # When each duplicated message first arrived, in ms from the nearest
        # kill (negative: before it; the receiver may read a dot after the kill).
        near = sorted(min((first[n] - k for k in kill_ns), key=abs) / 1e6
                      for n, c in counts.items() if c > 1)
        if near:
            print("  duplicates first arrived at (ms from the nearest kill): " +
                  " ".join(f"{x:.1f}" for x in near))
        # Read by the receiver only after the kill: no reply could reach us.
        unread = sum(1 for x in near if x > 0)
        # Read within 1 ms before it: the reply was on its way or waiting
        # for the delivery thread's turn.
        recent = sum(1 for x in near if -1.0 <= x <= 0)
        print(f"  kills after {kills} acks ({drained} while only draining the queue); "
              f"{len(self.acked)} acked, {self.next_id} sent, "
              f"{len(counts)} arrived, lost {len(lost)}, duplicated {duplicated} "
              f"({unread} of them first read after the kill, {recent} within 1 ms before it) "
              f"({accept_s:.1f} s, {len(self.acked) / send_s:.0f} acked a second while sending, "
              f"{conns} connections to the receiver, "
              f"load average {self.load:.2f})")
        assert len(kills) == KILLS, f"only {len(kills)} kills happened"
        assert not unknown, f"arrivals the test never sent: {unknown[:5]}"
        assert not lost, f"{len(lost)} acknowledged messages never arrived, e.g. {lost[:5]}"
        # A kill breaks at most one transaction per session, never sent again.
        assert len(self.acked) >= MESSAGES - SESSIONS * KILLS, \
            f"only {len(self.acked)} acknowledged"
        assert duplicated <= CONCURRENCY * KILLS, \
            f"{duplicated} duplicates: more than could be in flight at {KILLS} kills"
        return duplicated, unread, recent

    def close(self, failed):
        for p in (self.proc, self.sink):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        self.log.close()
        if failed:
            with open(os.path.join(self.tmp, "serve.log"), "rb") as f:
                sys.stdout.write(f.read()[-3000:].decode(errors="replace"))
        shutil.rmtree(self.tmp, ignore_errors=True)


class PostfixLab(Lab):
    """The same run with a private Debian Postfix as the relay (CRASH_POSTFIX)."""

    def __init__(self, seed):
        super().__init__(seed)
        # Postfix's daemons drop to the postfix user: the path must be searchable.
        os.chmod(self.tmp, 0o755)
        self.pf = os.path.join(self.tmp, "postfix")
        self.etc = os.path.join(self.pf, "etc")
        self.pid = None
        # Postfix listens only on addresses of an interface: 127.0.0.1, not
        # the run's own loopback address (the sink keeps that one).
        self.mta_ip = "127.0.0.1"
        self.port = free_port(self.mta_ip)
        settings = [f"relayhost = [{self.ip}]:{self.sink_port}",
                    "smtp_tls_security_level = encrypt",
                    "default_destination_concurrency_limit = %d" % CONCURRENCY,
                    # After a restart, what the killed instance deferred goes
                    # out within a second or two, as serve's queue does.
                    "queue_run_delay = 1s", "minimal_backoff_time = 1s",
                    "maximal_backoff_time = 2s"]
        subprocess.run(["bash", "-c", 'source "$0"; d=$1; p=$2; shift 2; '
                        'pf_create "$d" "$p" && pf_conf "$d" "$@"', POSTFIX_SH, self.pf,
                        str(self.port)] + settings, check=True, capture_output=True)
        # After a kill of every process, `postfix start` runs postsuper, which
        # warns (as the postfix user) about the files cleanup left half made.
        shutil.chown(os.path.join(self.pf, "maillog"), "postfix")

    def master_pid(self):
        try:
            with open(os.path.join(self.pf, "queue", "pid", "master.pid")) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def instance_pids(self):
        """Every process of this instance: Postfix passes MAIL_CONFIG to its daemons."""
        mine = f"MAIL_CONFIG={self.etc}".encode()
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/environ", "rb") as f:
                    if mine in f.read().split(b"\0"):
                        pids.append(int(d))
            except OSError:
                pass
        return pids

    def start_serve(self):
        """postfix start; again while the killed instance's daemons still
        hold the listening socket (they finish their session first)."""
        limit = time.monotonic() + 30
        old = self.pid
        while True:
            r = subprocess.run(["postfix", "-c", self.etc, "start"], capture_output=True,
                               text=True)
            wait = time.monotonic() + 5
            while time.monotonic() < wait:
                pid = self.master_pid()
                if pid and pid != old and port_open(self.mta_ip, self.port):
                    self.pid = pid
                    return
                time.sleep(0.02)
            if time.monotonic() > limit:
                raise AssertionError(f"postfix did not start: {r.stdout} {r.stderr}")

    def kill(self):
        if POSTFIX_KILL == "master":
            os.kill(self.pid, signal.SIGKILL)
            return
        # All at once: the master leads its own process group (setsid).
        pgid = os.getpgid(self.pid)
        if pgid == self.pid and pgid != os.getpgid(0):
            os.killpg(pgid, signal.SIGKILL)
        else:
            for pid in [self.pid] + [p for p in self.instance_pids() if p != self.pid]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def reap(self):
        limit = time.monotonic() + 10
        while os.path.exists(f"/proc/{self.pid}") and time.monotonic() < limit:
            time.sleep(0.005)

    def stop(self):
        subprocess.run(["postfix", "-c", self.etc, "stop"], capture_output=True)
        limit = time.monotonic() + 10
        while self.instance_pids() and time.monotonic() < limit:
            time.sleep(0.05)

    def queue_empty(self):
        """postqueue, not the queue's files: a cleanup killed mid-message
        leaves a half-made file in incoming/ that is never a message."""
        out = subprocess.run(["postqueue", "-c", self.etc, "-j"], capture_output=True,
                             text=True, timeout=30)
        return out.returncode == 0 and not out.stdout.strip()

    def close(self, failed):
        for pid in self.instance_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if failed:
            try:
                with open(os.path.join(self.pf, "maillog"), "rb") as f:
                    sys.stdout.write(f.read()[-3000:].decode(errors="replace"))
            except OSError:
                pass
        super().close(failed)


def main():
    if POSTFIX_KILL not in ("", "master", "all"):
        print("FAIL: CRASH_POSTFIX is master or all")
        return 1
    if POSTFIX_KILL and SYNC_MS > 0:
        print("FAIL: CRASH_SYNC_MS slows chainmail's spool only; with CRASH_POSTFIX it is 0")
        return 1
    if not POSTFIX_KILL and not (CHAINMAIL and os.access(CHAINMAIL, os.X_OK)):
        print("FAIL: CHAINMAIL does not name the built chainmail")
        return 1
    if not SINK or not os.access(SINK, os.X_OK):
        print("FAIL: CHAINMAIL_SINK does not name the built sink (target lab_sink)")
        return 1
    if SYNC_MS > 0 and not os.access(SLOW_SYNC, os.R_OK):
        print("FAIL: CHAINMAIL_SLOW_SYNC does not name the built lab_slow_sync module")
        return 1
    seed = int(os.environ.get("CRASH_SEED", str(time.time_ns() % 2**32)))
    disk = f"fdatasync {SYNC_MS} ms slower" if SYNC_MS > 0 else "the real disk"
    killed = "its master" if POSTFIX_KILL == "master" else "all its processes"
    relay = f"Postfix, SIGKILL to {killed}" if POSTFIX_KILL else "chainmail serve"
    print(f"{relay}: seed {seed} (replay with CRASH_SEED={seed}); {RUNS} run(s) of {MESSAGES} "
          f"messages, {SESSIONS} sessions, {KILLS} kills each, {disk}, "
          f"{'BDAT' if CHUNKING else 'DATA'} to the receiver"
          + (f", sessions paced to {RATE:g} messages a second" if RATE > 0 else ""))
    rng = random.Random(seed)
    dups, unread, recent, loads = [], [], [], []
    for r in range(1, RUNS + 1):
        print(f"run {r}:")
        lab = PostfixLab(rng.random()) if POSTFIX_KILL else Lab(rng.random())
        failed = True
        try:
            d, u, n = lab.run()
            dups.append(d)
            unread.append(u)
            recent.append(n)
            loads.append(round(lab.load, 2))
            failed = False
        except AssertionError as e:
            print(f"FAIL: {e}")
            return 1
        finally:
            lab.close(failed)
    median = statistics.median(dups)
    print(f"duplicated deliveries per run of {KILLS} kills: {dups}, median {median}; "
          f"of them first read by the receiver after the kill: {unread}, within 1 ms "
          f"before it: {recent}; load average at each start: {loads}")
    if median > MAX_MEDIAN_DUPLICATES and SANITIZED:
        print(f"PASS (sanitized build: median {median} duplicates is above the goal of "
              f"{MAX_MEDIAN_DUPLICATES}, which the Release tree's run enforces; none lost)")
        return 0
    if median > MAX_MEDIAN_DUPLICATES:
        print(f"FAIL: median {median} duplicates per {KILLS} kills, goal at most "
              f"{MAX_MEDIAN_DUPLICATES}")
        if FULL:
            print(f"  {sum(unread)} of {sum(dups)} were read by the receiver only after a kill "
                  f"and {sum(recent)} within 1 ms before one: dots in flight and replies "
                  "waiting for the delivery thread (relay/schedule/GUARANTEE.md, the window)")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
