#!/usr/bin/python3
"""The operator's log (docs/delivery-log.md, "The operator's log": stderr, so the journal):
one line per delivery attempt per recipient in Postfix's smtp(8) habit, so
that `journalctl -u chainmail | grep QUEUEID` tells a message's story. A real
`chainmail serve` sends to partners that accept, defer, refuse without
STARTTLS (bounce), hold, and defer until max_lifetime runs out (expire);
its output is then grepped per queue id for each status= word.
"""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndr_lab import SENDER_DOMAIN, NdrLab  # noqa: E402

LIFETIME_S = 6
SENDER = f"burger@{SENDER_DOMAIN}"


class OperatorLog(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        lab = cls.lab = NdrLab("oplog", delay_warning_after="0", max_lifetime=f"{LIFETIME_S}s")
        try:
            cls.good = lab.receiver("mx.goed.test")
            cls.plain = lab.receiver("mx.plain.test")  # no certificate: no STARTTLS
            cls.slow = lab.tempfail_server()
            lab.partner(name="goed", domains=["goed.test"], tls="may", hop=cls.good)
            lab.partner(name="streng", domains=["streng.test"], tls="encrypt",
                        on_tls_failure="bounce", hop=cls.plain)
            lab.partner(name="vast", domains=["vast.test"], tls="encrypt",
                        on_tls_failure="hold", hop=cls.plain)
            lab.partner(name="traag", domains=["traag.test"], tls="may", hop=cls.slow)
            lab.start()
            cls.ids = {}
            for rcpt in ("a@goed.test", "b@streng.test", "c@vast.test", "d@traag.test"):
                lab.send(SENDER, [rcpt])
                cls.ids[rcpt] = cls.received_id(rcpt)
        except BaseException:
            lab.stop()
            raise

    @classmethod
    def received_id(cls, rcpt):
        e = cls.lab.wait_for(f"received line for {rcpt}", lambda: next(
            (x for x in cls.lab.entries(None, "received") if rcpt in x.get("rcpts", [])), None))
        return e["queue_id"]

    @classmethod
    def tearDownClass(cls):
        cls.lab.stop()

    def lines(self, qid):
        """The operator-log lines that name queue id `qid`: grep, as an operator would."""
        with open(self.lab.serve_log_path, encoding="utf-8", errors="replace") as f:
            return [l.rstrip("\n") for l in f if qid in l]

    def wait_line(self, qid, pattern, timeout=LIFETIME_S + 15):
        rx = re.compile(pattern)
        return self.lab.wait_for(
            f"a line for {qid} matching {pattern}",
            lambda: next((l for l in self.lines(qid) if rx.search(l)), None), timeout)

    def relay(self, peer):
        return re.escape(f"[{peer.ip}]:{peer.port}")

    def test_sent(self):
        qid = self.ids["a@goed.test"]
        self.wait_line(qid, rf"{qid}: to=<a@goed\.test>, partner=goed, "
                            rf"relay=\S+{self.relay(self.good)}, delay=[0-9.]+, "
                            rf"tls=may:none, dsn=2\.0\.0, status=sent \(250 ")

    def test_bounced_names_its_report(self):
        qid = self.ids["b@streng.test"]
        line = self.wait_line(qid, rf"{qid}: to=<b@streng\.test>, partner=streng, "
                                   rf"relay=\S+{self.relay(self.plain)}, delay=[0-9.]+, "
                                   rf"tls=encrypt:starttls-not-offered, dsn=5\.7\.\d+, "
                                   rf"ndr=(\w+), status=bounced \(")
        ndr = re.search(r"ndr=(\w+)", line).group(1)
        self.wait_line(qid, rf"{qid}: sender non-delivery notification: {ndr}$")
        # The report's own story: delivered to the sender's server under `may`.
        self.wait_line(ndr, rf"{ndr}: to=<{re.escape(SENDER)}>, partner=intern, .*status=sent")

    def test_held(self):
        qid = self.ids["c@vast.test"]
        self.wait_line(qid, rf"{qid}: to=<c@vast\.test>, partner=vast, relay=\S+"
                            rf"{self.relay(self.plain)}, delay=[0-9.]+, "
                            rf"tls=encrypt:starttls-not-offered, dsn=4\.7\.\d+, status=held \(")

    def test_deferred_then_expired(self):
        qid = self.ids["d@traag.test"]
        self.wait_line(qid, rf"{qid}: to=<d@traag\.test>, partner=traag, relay=\S+"
                            rf"{self.relay(self.slow)}, delay=[0-9.]+, tls=may:none, "
                            rf"dsn=4\.3\.0, status=deferred \(451 4\.3\.0 mailbox")
        line = self.wait_line(qid, rf"{qid}: to=<d@traag\.test>, .*dsn=5\.4\.7, ndr=(\w+), "
                                   rf"status=expired \(")
        ndr = re.search(r"ndr=(\w+)", line).group(1)
        self.wait_line(qid, rf"{qid}: sender non-delivery notification: {ndr}$")

    def test_every_attempt_line_is_one_line_with_the_queue_id_first(self):
        qid = self.ids["d@traag.test"]
        self.wait_line(qid, r"status=deferred")
        for l in self.lines(qid):
            if "status=" in l:
                self.assertRegex(l, rf"{qid}: to=<[^>]*>, partner=\S+, relay=\S+, ")


if __name__ == "__main__":
    unittest.main(verbosity=2)
