"""Outbound DANE (RFC 7672) against real DNSSEC: DANE-EE and DANE-TA
authenticate, a TLSA mismatch refuses (bounce or defer), an insecure MX gets
opportunistic TLS, and a bogus answer always defers."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from outbound_lab import LabCase, certs_sh  # noqa: E402

PLACEHOLDER = "00" * 31 + "01"


class OutboundDane(LabCase, unittest.TestCase):
    @classmethod
    def setup_lab(cls, lab):
        # DANE-EE: a self-signed certificate whose name has nothing to do with
        # the MX; RFC 7672 §3.1.1 checks neither name nor expiry.
        [(cls.ee_host, cls.ee_ip)] = lab.mx_domain("secure.lab", "ee", [(10, "mx")])
        cls.ee_cert = lab.cert("ee", ["unrelated.example"], kind="selfsigned")
        lab.tlsa("secure.lab", cls.ee_host, "3 1 1", certs_sh("tlsa311", cls.ee_cert[2])[0])
        lab.partner(name="ee", domains=["ee.secure.lab"], tls="dane-only")

        [(cls.exp_host, cls.exp_ip)] = lab.mx_domain("secure.lab", "expired", [(10, "mx")])
        cls.exp_cert = lab.cert("expired", ["mx.expired.secure.lab"], kind="expired")
        lab.tlsa("secure.lab", cls.exp_host, "3 1 1", certs_sh("tlsa311", cls.exp_cert[2])[0])
        lab.partner(name="expired", domains=["expired.secure.lab"], tls="dane-only")

        # DANE-TA: a CA that is not in tls.ca_file, so only the TLSA record
        # can make it a trust anchor; the leaf names the MX (RFC 7672 §3.2.2).
        [(cls.ta_host, cls.ta_ip)] = lab.mx_domain("secure.lab", "ta", [(10, "mx")])
        ta_ca = lab.new_ca("ta")
        cls.ta_cert = lab.cert("ta-mx", [cls.ta_host], ca="ta", with_ca=True)
        lab.tlsa("secure.lab", cls.ta_host, "2 0 1",
                 certs_sh("tlsa201", os.path.join(ta_ca, "ca.crt"))[0])
        lab.partner(name="ta", domains=["ta.secure.lab"], tls="dane-only")

        # TLSA mismatch: the peer's certificate is not the one published.
        for label, on_fail in (("mismatch-bounce", "bounce"), ("mismatch-defer", "defer")):
            [(host, ip)] = lab.mx_domain("secure.lab", label, [(10, "mx")])
            setattr(cls, label.replace("-", "_"), (host, ip))
            lab.tlsa("secure.lab", host, "3 1 1", PLACEHOLDER)
            lab.partner(name=label, domains=[f"{label}.secure.lab"], tls="dane-only",
                        on_tls_failure=on_fail)
        cls.wrong_cert = lab.cert("wrong", ["mx.mismatch.secure.lab"])

        # An MX in an unsigned zone: its TLSA (even a wrong one) must be ignored.
        [(cls.ins_host, cls.ins_ip)] = lab.mx_domain("insecure.lab", "dom", [(10, "mx")])
        lab.tlsa("insecure.lab", cls.ins_host, "3 1 1", PLACEHOLDER)
        lab.partner(name="insecure", domains=["dom.insecure.lab"], tls="dane",
                    on_tls_failure="bounce")

        # dane with only unusable TLSA (PKIX-EE, usage 1): encrypt is required
        # (RFC 7672 §2.2); with no TLSA at all (a secure NODATA): may.
        [(cls.unus_host, cls.unus_ip)] = lab.mx_domain("secure.lab", "unusable", [(10, "mx")])
        lab.tlsa("secure.lab", cls.unus_host, "1 1 1", PLACEHOLDER)
        lab.partner(name="unusable", domains=["unusable.secure.lab"], tls="dane",
                    on_tls_failure="bounce")
        [(cls.notlsa_host, cls.notlsa_ip)] = lab.mx_domain("secure.lab", "notlsa", [(10, "mx")])
        lab.partner(name="notlsa", domains=["notlsa.secure.lab"], tls="dane",
                    on_tls_failure="bounce")

        # Expired signatures: bogus, which must defer even under bounce.
        [(cls.bog_host, cls.bog_ip)] = lab.mx_domain("bogus.lab", "dom", [(10, "mx")])
        lab.partner(name="bogus", domains=["dom.bogus.lab"], tls="dane",
                    on_tls_failure="bounce")

    def test_dane_ee_delivers_without_name_checks(self):
        recv = self.lab.receiver(self.ee_ip, self.ee_host, cert=self.ee_cert[0],
                                 key=self.ee_cert[1])
        self.lab.send("a@ee.secure.lab")
        e = self.lab.wait_log("a@ee.secure.lab", {"delivered", "deferred", "bounced"})
        self.assertDeliveredTls(e, recv, "dane-only", "dane-ee", self.ee_host)
        self.assertEqual(e["ip"], self.ee_ip)
        self.assertEqual(e["port"], self.lab.port)

    def test_dane_ee_ignores_expiry(self):
        recv = self.lab.receiver(self.exp_ip, self.exp_host, cert=self.exp_cert[0],
                                 key=self.exp_cert[1])
        self.lab.send("a@expired.secure.lab")
        e = self.lab.wait_log("a@expired.secure.lab", {"delivered", "deferred", "bounced"})
        self.assertDeliveredTls(e, recv, "dane-only", "dane-ee", self.exp_host)

    def test_dane_ta_delivers(self):
        recv = self.lab.receiver(self.ta_ip, self.ta_host, cert=self.ta_cert[0],
                                 key=self.ta_cert[1])
        self.lab.send("a@ta.secure.lab")
        e = self.lab.wait_log("a@ta.secure.lab", {"delivered", "deferred", "bounced"})
        self.assertDeliveredTls(e, recv, "dane-only", "dane-ta", self.ta_host)

    def test_tlsa_mismatch_bounces_and_sends_nothing(self):
        host, ip = self.mismatch_bounce
        recv = self.lab.receiver(ip, host, cert=self.wrong_cert[0], key=self.wrong_cert[1])
        rcpt = "a@mismatch-bounce.secure.lab"
        self.lab.send(rcpt)
        e = self.lab.wait_log(rcpt, {"delivered", "bounced"})
        self.assertEqual(e["event"], "bounced", e)
        self.assertEqual(e["policy"], "dane-only", e)
        self.assertEqual(e["host"], host, e)
        self.assertRegex(e["dsn"], r"^5\.7\.\d+$", e)
        self.assertTrue(e.get("ndr_queue_id"), e)
        self.assertNothingSent(recv)
        self.assertIn("STARTTLS", recv.commands())  # it did try, and refused after TLS
        ndr = self.lab.wait_ndr(rcpt)
        self.assertRegex(ndr["data"], r"Status: 5\.7\.\d+")
        self.assertNothingSent(recv)

    def test_tlsa_mismatch_defers_and_sends_nothing(self):
        host, ip = self.mismatch_defer
        recv = self.lab.receiver(ip, host, cert=self.wrong_cert[0], key=self.wrong_cert[1])
        rcpt = "a@mismatch-defer.secure.lab"
        self.lab.send(rcpt)
        e = self.lab.wait_log(rcpt, {"delivered", "deferred", "bounced"})
        self.assertEqual(e["event"], "deferred", e)
        self.assertEqual(e["policy"], "dane-only", e)
        self.assertEqual(e["host"], host, e)
        self.assertRegex(e["dsn"], r"^4\.", e)
        self.assertNothingSent(recv)
        self.assertNeverDelivered(rcpt)

    def test_insecure_mx_gets_opportunistic_tls(self):
        # The TLSA record of an insecure host is not looked at (RFC 7672 §2.2):
        # STARTTLS is used when offered, no authentication is claimed.
        cert = self.lab.cert("insecure", ["unrelated.example"], kind="selfsigned")
        recv = self.lab.receiver(self.ins_ip, self.ins_host, cert=cert[0], key=cert[1])
        self.lab.send("a@dom.insecure.lab")
        e = self.lab.wait_log("a@dom.insecure.lab", {"delivered", "deferred", "bounced"})
        self.assertDeliveredTls(e, recv, "dane", "none", self.ins_host)

    def test_unusable_tlsa_requires_starttls(self):
        recv = self.lab.receiver(self.unus_ip, self.unus_host)  # no STARTTLS
        rcpt = "a@unusable.secure.lab"
        self.lab.send(rcpt)
        e = self.lab.wait_log(rcpt, {"delivered", "deferred", "bounced"})
        self.assertEqual(e["event"], "bounced", e)
        self.assertEqual(e["policy"], "dane", e)
        self.assertEqual(e["host"], self.unus_host, e)
        self.assertRegex(e["dsn"], r"^5\.7\.\d+$", e)
        self.assertNothingSent(recv)
        self.assertNeverDelivered(rcpt)

    def test_no_tlsa_under_dane_delivers_in_plaintext(self):
        recv = self.lab.receiver(self.notlsa_ip, self.notlsa_host)  # no STARTTLS
        rcpt = "a@notlsa.secure.lab"
        self.lab.send(rcpt)
        e = self.lab.wait_log(rcpt, {"delivered", "deferred", "bounced"})
        self.assertEqual(e["event"], "delivered", e)
        self.assertEqual(e["policy"], "dane", e)
        self.assertEqual(e["host"], self.notlsa_host, e)
        self.assertEqual(e["dsn"], "2.0.0", e)
        self.assertNotIn("tls", e, e)
        self.assertEqual([m["rcpt_tos"] for m in recv.messages()], [[rcpt]])

    def test_bogus_dnssec_defers_never_bounces(self):
        recv = self.lab.receiver(self.bog_ip, self.bog_host)
        rcpt = "a@dom.bogus.lab"
        self.lab.send(rcpt)
        e = self.lab.wait_log(rcpt, {"delivered", "deferred", "bounced"})
        self.assertEqual(e["event"], "deferred", e)
        self.assertRegex(e["dsn"], r"^4\.", e)
        # One retry later (retry_schedule 2s) it is still only deferred.
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            if len([x for x in self.lab.entries(rcpt) if x["event"] == "deferred"]) >= 2:
                break
            time.sleep(0.2)
        events = [x["event"] for x in self.lab.entries(rcpt)]
        self.assertGreaterEqual(events.count("deferred"), 2, events)
        self.assertEqual(set(events), {"deferred"}, events)
        self.assertEqual(recv.state()["connections"], 0, "connected to a bogus MX")


if __name__ == "__main__":
    unittest.main(verbosity=2)
