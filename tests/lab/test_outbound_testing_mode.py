"""`mode: testing`: delivery goes ahead as under `may`, and the delivery log
says "would_fail" with the reason whenever the configured level would have
refused; when the level is met, no would_fail is logged."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from outbound_lab import LabCase, certs_sh  # noqa: E402

ANY = {"delivered", "deferred", "bounced"}


class OutboundTestingMode(LabCase, unittest.TestCase):
    @classmethod
    def setup_lab(cls, lab):
        cls.hosts = {}
        for label, tls in (("t-verify-fail", "verify"), ("t-verify-ok", "verify"),
                           ("t-encrypt-plain", "encrypt"), ("t-dane-fail", "dane-only")):
            [(host, ip)] = lab.mx_domain("secure.lab", label, [(10, "mx")])
            cls.hosts[label] = (host, ip)
            lab.partner(name=label, domains=[f"{label}.secure.lab"], tls=tls, mode="testing",
                        on_tls_failure="bounce")
        cls.self_signed = lab.cert("t-self", ["unrelated.example"], kind="selfsigned")
        cls.other = lab.cert("t-other", ["unrelated.example"], kind="selfsigned")
        lab.tlsa("secure.lab", cls.hosts["t-dane-fail"][0], "3 1 1",
                 certs_sh("tlsa311", cls.other[2])[0])

    def send(self, label, **recv_kw):
        host, ip = self.hosts[label]
        recv = self.lab.receiver(ip, host, **recv_kw)
        rcpt = f"a@{label}.secure.lab"
        self.lab.send(rcpt)
        return recv, rcpt, self.lab.wait_log(rcpt, ANY), host

    def test_verify_failure_is_delivered_and_logged_as_would_fail(self):
        recv, _, e, host = self.send("t-verify-fail", cert=self.self_signed[0],
                                     key=self.self_signed[1])
        self.assertDeliveredTls(e, recv, "verify", "none", host)
        self.assertTrue(e.get("would_fail"), e)

    def test_dane_mismatch_is_delivered_and_logged_as_would_fail(self):
        recv, _, e, host = self.send("t-dane-fail", cert=self.self_signed[0],
                                     key=self.self_signed[1])
        self.assertDeliveredTls(e, recv, "dane-only", "none", host)
        self.assertTrue(e.get("would_fail"), e)

    def test_missing_starttls_is_delivered_in_plaintext_with_would_fail(self):
        recv, rcpt, e, host = self.send("t-encrypt-plain")
        self.assertEqual(e["event"], "delivered", e)
        self.assertEqual(e["policy"], "encrypt", e)
        self.assertEqual(e["host"], host, e)
        self.assertEqual(e["dsn"], "2.0.0", e)
        self.assertNotIn("tls", e, e)
        self.assertTrue(e.get("would_fail"), e)
        self.assertEqual([m["rcpt_tos"] for m in recv.messages()], [[rcpt]])

    def test_a_level_that_is_met_logs_no_would_fail(self):
        host, _ = self.hosts["t-verify-ok"]
        cert = self.lab.cert("t-verify-ok", [host])
        recv, _, e, host = self.send("t-verify-ok", cert=cert[0], key=cert[1])
        self.assertDeliveredTls(e, recv, "verify", "pkix", host)
        self.assertNotIn("would_fail", e, e)


if __name__ == "__main__":
    unittest.main(verbosity=2)
