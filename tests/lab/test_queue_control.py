#!/usr/bin/python3
"""Live queue control against a running `chainmail serve` and real peers:
queue retry (by id and --all) takes effect at once, hold and release (also of
mail held by on_tls_failure: hold), delete and bounce (a real report reaches
the sender's MX), a delete or hold racing an attempt in flight at a slow
receiver (nothing is delivered), a destination whose only host refuses
(not reconnected for every message), held state kept across a restart, the
answer when serve is not running, and the socket's permission checks.

The retry schedule is one hour, so any delivery within seconds is the
command's doing.
"""
import datetime
import email
import json
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from outbound_lab import CHAINMAIL, LabCase, free_port, start_serve  # noqa: E402

NOBODY = 65534


class QueueControl(LabCase, unittest.TestCase):
    @classmethod
    def setup_lab(cls, lab):
        lab.extra_config["queue"] = {"retry_schedule": ["1h"], "max_lifetime": "1d",
                                  "delay_warning_after": "0"}
        cls.ip = {}
        for name in ("later", "gone", "slow", "dead", "locked"):
            cls.ip[name] = lab.addr()
            lab.partner(name=name, domains=[f"{name}.test"], tls="may",
                        next_hop=f"[{cls.ip[name]}]:{lab.port}", on_tls_failure="defer")
        # TLS required, and held (not bounced) when the peer cannot do it.
        lab.partners[-1].update(tls="encrypt", on_tls_failure="hold")
        # Two MX hosts, neither answering at first: both get a per-host backoff.
        cls.two = lab.mx_domain("secure.lab", "twohosts", [(10, "mx1"), (20, "mx2")])
        lab.partner(name="twohosts", domains=["twohosts.secure.lab"], tls="may",
                    on_tls_failure="defer")
        cls.slow = lab.receiver(cls.ip["slow"], "mx.slow.test", extra=["--delay-rcpt", "3"])
        cls.locked = lab.receiver(cls.ip["locked"], "mx.locked.test")  # no STARTTLS offered

    # --- helpers ------------------------------------------------------------

    def queue(self, *args, user=None, config=None):
        cmd = [CHAINMAIL, "queue", *args, "-c", config or self.lab.config]
        if user is not None:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def listed(self):
        r = self.queue("list", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return {m["id"]: m for m in map(json.loads, r.stdout.splitlines())}

    def id_of(self, rcpt):
        for m in self.listed().values():
            if any(x["address"] == rcpt for x in m["recipients"]):
                return m["id"]
        self.fail(f"{rcpt} is not in the queue: {self.listed()}")

    def events(self, rcpt):
        return [e["event"] for e in self.lab.entries(rcpt)]

    def control_path(self):
        with open(self.lab.config) as f:
            return json.load(f)["control_socket"]

    def restart(self):
        self.lab.proc.terminate()
        self.lab.proc.wait(timeout=40)
        self.lab.serve_out.close()
        with open(self.lab.config) as f:
            config = json.load(f)
        self.lab.proc, self.lab.serve_out = start_serve(
            config, self.lab.config, self.lab.serve_log_path + ".2", self.lab.listen_port)

    def wait_for(self, what, check, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.05)
        self.fail(f"{what} within {timeout}s\n{self.lab.serve_log()}")

    # --- retry ---------------------------------------------------------------

    def test_retry_takes_effect_at_once(self):
        self.lab.send("one@later.test")
        self.lab.send("two@later.test")
        self.lab.wait_log("one@later.test", {"deferred"})
        self.lab.wait_log("two@later.test", {"deferred"})
        one, two = self.id_of("one@later.test"), self.id_of("two@later.test")
        rcpt = self.listed()[one]["recipients"][0]
        self.assertEqual((rcpt["state"], rcpt["partner"], rcpt["level"]),
                         ("deferred", "later", "may"), rcpt)
        text = self.queue("list")
        self.assertIn("deferred   one@later.test  (later, may)", text.stdout)

        recv = self.lab.receiver(self.ip["later"], "mx.later.test")  # the partner is back
        r = self.queue("retry", one)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{one}: retrying now", r.stdout)
        self.assertEqual(self.lab.wait_log("one@later.test", {"delivered"})["attempt"], 2)
        r = self.queue("flush")  # retry --all, as Postfix operators know it
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{two}: retrying now", r.stdout)
        self.lab.wait_log("two@later.test", {"delivered"})
        self.assertEqual(sorted(m["rcpt_tos"][0] for m in recv.messages()),
                         ["one@later.test", "two@later.test"])
        r = self.queue("retry", one)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no such message in the queue", r.stderr)

    def test_retry_forgets_hosts_that_failed(self):
        rcpt = "three@twohosts.secure.lab"
        self.lab.send(rcpt)
        self.lab.wait_log(rcpt, {"deferred"})
        (mx1, ip1), _ = self.two
        # The partner fixed its preferred host. Without forgetting, mx1 would
        # be skipped (it failed seconds ago and mx2 is left) and mx2 refuse again.
        recv = self.lab.receiver(ip1, mx1)
        r = self.queue("retry", self.id_of(rcpt))
        self.assertEqual(r.returncode, 0, r.stderr)
        e = self.lab.wait_log(rcpt, {"delivered"})
        self.assertEqual(e["attempt"], 2, e)
        self.assertEqual([m["rcpt_tos"] for m in recv.messages()], [[rcpt]])

    def test_a_dead_destination_is_not_reconnected_for_every_message(self):
        # "dead": its only host refuses connections. The first attempt
        # connects; messages due in the next second are deferred as refused
        # without a connection of their own (docs/queue.md).
        rcpts = [f"m{i}@dead.test" for i in range(6)]
        sender = f"sender@{self.lab.sender_domain}"
        with smtplib.SMTP("127.0.0.1", self.lab.listen_port, timeout=10) as s:
            for r in rcpts:
                s.sendmail(sender, [r], f"To: {r}\r\nSubject: dead\r\n\r\nbody\r\n")
        lines = sorted((self.lab.wait_log(r, {"deferred"}) for r in rcpts), key=lambda e: e["ts"])
        for e in lines:
            self.assertEqual((e["reason"], e["attempt"]), ("connect-failed", 1), e)
        tried = [e for e in lines if "not tried" not in e["reply"]]
        skipped = [e for e in lines if "not tried" in e["reply"]]
        self.assertTrue(tried and skipped, json.dumps(lines, indent=1))

        def seconds(e):
            return datetime.datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp()

        for e in skipped:  # only shortly after a refusal
            since = min(abs(seconds(e) - seconds(t)) for t in tried)
            self.assertLess(since, 1.5, json.dumps(lines, indent=1))
        # A while later the destination gets a connection again.
        time.sleep(1.2)
        self.lab.send("late@dead.test")
        e = self.lab.wait_log("late@dead.test", {"deferred"})
        self.assertNotIn("not tried", e["reply"], e)
        self.assertEqual(e["reason"], "connect-failed", e)

    # --- hold and release ---------------------------------------------------------

    def test_tls_failure_hold_is_releasable(self):
        rcpt = "client@locked.test"
        self.lab.send(rcpt)
        e = self.lab.wait_log(rcpt, {"held"})
        self.assertEqual(e["policy"], "encrypt", e)
        qid = self.id_of(rcpt)
        m = self.listed()[qid]
        self.assertTrue(m["held"], m)
        self.assertEqual(m["recipients"][0]["state"], "held", m)
        self.assertIn("(held)", self.queue("list").stdout)
        self.assertIn("already held", self.queue("hold", qid).stdout)
        r = self.queue("retry", qid)
        self.assertIn("release", r.stdout)

        # The partner fixed its server: now it offers STARTTLS.
        self.locked.stop()
        chain, key, _ = self.lab.cert("mx.locked.test", ["mx.locked.test"])
        tls = self.lab.receiver(self.ip["locked"], "mx.locked.test", cert=chain, key=key)
        r = self.queue("release", qid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("released", r.stdout)
        e = self.lab.wait_log(rcpt, {"delivered"})
        self.assertIn("tls", e, e)
        self.assertTrue(tls.messages()[0]["tls"])
        # The log line comes before the message leaves the spool.
        self.wait_for("the delivered message to leave the queue", lambda: qid not in self.listed())
        r = self.queue("release", qid)
        self.assertEqual(r.returncode, 1, "released a message that is gone")
        self.assertIn("no such message in the queue", r.stderr)

    def test_hold_survives_restart_and_commands_need_serve(self):
        rcpt = "kept@gone.test"
        self.lab.send(rcpt)
        self.lab.wait_log(rcpt, {"deferred"})
        qid = self.id_of(rcpt)
        r = self.queue("hold", qid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{qid}: held", r.stdout)
        self.assertIn("held", self.events(rcpt))

        self.lab.proc.terminate()
        self.lab.proc.wait(timeout=40)
        path = self.control_path()
        self.assertFalse(os.path.exists(path), "serve left its control socket behind")
        self.assertTrue(self.listed()[qid]["held"], "queue list works with serve stopped")
        for args in (["release", qid], ["retry", "--all"], ["delete", qid], ["bounce", qid]):
            r = self.queue(*args)
            self.assertEqual(r.returncode, 1, args)
            self.assertIn(f"chainmail serve is not running (no control socket at {path})",
                          r.stderr)
        self.restart()
        self.assertTrue(self.listed()[qid]["held"], "held state lost in the restart")
        time.sleep(0.5)
        self.assertEqual(self.events(rcpt).count("deferred"), 1, "a held message was tried")

        r = self.queue("delete", qid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("deleted", r.stdout)
        self.assertNotIn(qid, self.listed())
        e = self.lab.wait_log(rcpt, {"deleted"})
        self.assertEqual(e["reply"], "deleted by the administrator")
        r = self.queue("delete", qid)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{qid}: no such message in the queue", r.stderr)

    # --- bounce ----------------------------------------------------------------------

    def test_bounce_sends_a_report_now(self):
        rcpt = "given-up@gone.test"
        self.lab.send(rcpt, subject="bounce me")
        self.lab.wait_log(rcpt, {"deferred"})
        qid = self.id_of(rcpt)
        r = self.queue("bounce", qid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("bounced 1 recipient(s); report", r.stdout)
        e = self.lab.wait_log(rcpt, {"bounced"})
        self.assertEqual(e["dsn"], "5.0.0", e)
        self.assertTrue(e.get("ndr_queue_id"), e)
        ndr = email.message_from_string(self.lab.wait_ndr(rcpt)["data"])
        self.assertIn("bounce me", ndr["Subject"])
        parts = {}
        for p in ndr.walk():  # the first of each type: delivery-status blocks parse as text
            parts.setdefault(p.get_content_type(), p)
        status = parts["message/delivery-status"].as_string()
        self.assertIn("Status: 5.0.0", status)
        self.assertIn("Action: failed", status)
        text = parts["text/plain"].get_payload(decode=True).decode()
        self.assertIn("removed it from the queue", " ".join(text.split()))
        self.assertNotIn(qid, self.listed())

    # --- racing an attempt in flight ---------------------------------------------------

    def wait_in_flight(self, rcpt):
        """The slow peer got RCPT for rcpt and sits on its answer."""
        self.wait_for(f"RCPT {rcpt} at the slow peer", lambda: any(
            e["cmd"] == "RCPT" and rcpt in e.get("arg", "") for e in self.slow.state()["events"]))

    def test_delete_during_an_attempt_is_never_delivered(self):
        rcpt = "race@slow.test"
        self.lab.send(rcpt)
        self.wait_in_flight(rcpt)
        qid = self.id_of(rcpt)
        r = self.queue("delete", qid)  # returns once the attempt has stopped
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("deleted; 1 recipient(s) will not get it", r.stdout)
        time.sleep(4)  # the peer's delayed answers have come and gone
        got = [m for m in self.slow.messages() if rcpt in m["rcpt_tos"]]
        self.assertEqual(got, [], "a deleted message was delivered")
        self.assertEqual(self.events(rcpt), ["deleted"])
        self.assertNotIn(qid, self.listed())

    def test_hold_during_an_attempt_then_release(self):
        rcpt = "pause@slow.test"
        self.lab.send(rcpt)
        self.wait_in_flight(rcpt)
        qid = self.id_of(rcpt)
        r = self.queue("hold", qid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([m for m in self.slow.messages() if rcpt in m["rcpt_tos"]], [])
        self.assertTrue(self.listed()[qid]["held"])
        r = self.queue("release", qid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.lab.wait_log(rcpt, {"delivered"})
        self.assertEqual(len([m for m in self.slow.messages() if rcpt in m["rcpt_tos"]]), 1)

    # --- who may use the socket ----------------------------------------------------------

    def test_socket_is_owner_only(self):
        path = self.control_path()
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            self.skipTest("the checks against another user need root and setpriv")
        # A configuration another user can read: only the socket matters here.
        d = tempfile.mkdtemp(dir=self.lab.dir)
        os.chmod(d, 0o755)
        # The loader refuses a spool its user cannot write (as serve would):
        # give that user a spool of its own.
        os.mkdir(os.path.join(d, "spool"))
        os.chown(os.path.join(d, "spool"), 65534, 65534)
        other = os.path.join(d, "other.yaml")
        with open(other, "w") as f:
            f.write(f"spool: {d}/spool\ncontrol_socket: {path}\n")
        os.chmod(other, 0o644)
        r = self.queue("retry", "--all", user=NOBODY, config=other)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("permission denied", r.stderr)
        os.chmod(path, 0o666)  # even so, the peer credentials decide
        try:
            r = self.queue("retry", "--all", user=NOBODY, config=other)
        finally:
            os.chmod(path, 0o600)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn(f"permission denied: uid {NOBODY} may not control", r.stderr)
        self.assertEqual(self.queue("retry", "--all").returncode, 0)

    def test_serve_refuses_a_shared_or_open_socket_place(self):
        with open(self.lab.config) as f:
            base = json.load(f)
        d = tempfile.mkdtemp(dir=self.lab.dir)
        cases = [("in use by another chainmail serve", self.control_path())]
        open_dir = os.path.join(d, "open")
        os.mkdir(open_dir)
        os.chmod(open_dir, 0o777)
        cases.append(("is writable by others", os.path.join(open_dir, "control")))
        for i, (why, sock) in enumerate(cases):
            cfg = dict(base, spool=os.path.join(d, f"spool{i}"), control_socket=sock,
                       listen=[{"address": f"127.0.0.1:{free_port()}"}])
            path = os.path.join(d, f"c{i}.yaml")
            with open(path, "w") as f:
                json.dump(cfg, f)
            r = subprocess.run([CHAINMAIL, "serve", "-c", path], capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(r.returncode, 1, why)
            self.assertIn(why, r.stderr)
        self.assertEqual(self.queue("retry", "--all").returncode, 0, "the running serve lost it")


if __name__ == "__main__":
    unittest.main(verbosity=2)
