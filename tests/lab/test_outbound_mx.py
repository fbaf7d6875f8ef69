"""Outbound MX handling: when the preferred MX fails the TLS level, the next
one is tried in the same attempt and delivers; the failed host gets no MAIL.
A null MX (RFC 7505) bounces with 5.1.10 and an NDR reaches the sender."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from outbound_lab import LabCase  # noqa: E402

ANY = {"delivered", "deferred", "bounced"}


class OutboundMx(LabCase, unittest.TestCase):
    @classmethod
    def setup_lab(cls, lab):
        # Preference 10 fails, preference 20 passes.
        cls.verify_mx = lab.mx_domain("secure.lab", "two-verify", [(10, "mx1"), (20, "mx2")])
        lab.partner(name="two-verify", domains=["two-verify.secure.lab"], tls="verify",
                    on_tls_failure="bounce")
        cls.encrypt_mx = lab.mx_domain("secure.lab", "two-encrypt", [(10, "mx1"), (20, "mx2")])
        lab.partner(name="two-encrypt", domains=["two-encrypt.secure.lab"], tls="encrypt",
                    on_tls_failure="bounce")
        # nullmx.secure.lab (MX 0 .) is in the lab's base zone; defaults apply.

    def test_verify_falls_through_a_wrong_certificate_to_the_next_mx(self):
        (h1, ip1), (h2, ip2) = self.verify_mx
        bad = self.lab.cert("two-verify-1", ["mx.elsewhere.secure.lab"])
        good = self.lab.cert("two-verify-2", [h2])
        r1 = self.lab.receiver(ip1, h1, cert=bad[0], key=bad[1])
        r2 = self.lab.receiver(ip2, h2, cert=good[0], key=good[1])
        rcpt = "a@two-verify.secure.lab"
        self.lab.send(rcpt)
        e = self.lab.wait_log(rcpt, {"delivered", "bounced"})
        self.assertDeliveredTls(e, r2, "verify", "pkix", h2)
        self.assertEqual(e["ip"], ip2)
        self.assertIn("STARTTLS", r1.commands(), "the preferred MX was not tried first")
        self.assertNothingSent(r1)
        self.assertNotIn("bounced", [x["event"] for x in self.lab.entries(rcpt)])

    def test_encrypt_falls_through_a_server_without_starttls(self):
        (h1, ip1), (h2, ip2) = self.encrypt_mx
        cert = self.lab.cert("two-encrypt-2", ["unrelated.example"], kind="selfsigned")
        r1 = self.lab.receiver(ip1, h1)
        r2 = self.lab.receiver(ip2, h2, cert=cert[0], key=cert[1])
        rcpt = "a@two-encrypt.secure.lab"
        self.lab.send(rcpt)
        e = self.lab.wait_log(rcpt, {"delivered", "bounced"})
        self.assertDeliveredTls(e, r2, "encrypt", "none", h2)
        self.assertIn("EHLO", r1.commands(), "the preferred MX was not tried first")
        self.assertNothingSent(r1)
        self.assertNotIn("bounced", [x["event"] for x in self.lab.entries(rcpt)])

    def test_null_mx_bounces_5_1_10(self):
        rcpt = "a@nullmx.secure.lab"
        self.lab.send(rcpt)
        e = self.lab.wait_log(rcpt, ANY)
        self.assertEqual(e["event"], "bounced", e)
        self.assertEqual(e["dsn"], "5.1.10", e)
        self.assertTrue(e.get("ndr_queue_id"), e)
        ndr = self.lab.wait_ndr(rcpt)
        self.assertIn("Status: 5.1.10", ndr["data"])
        self.assertEqual(ndr["rcpt_tos"], ["sender@org.secure.lab"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
