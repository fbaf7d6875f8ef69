#!/usr/bin/python3
"""Staging networks use the special-use TLD .test (RFC 6761 §6.2), and a
resolver library must send such names to its configured servers. The whole
lab runs under a signed test. here: a dane-only partner under .test is
delivered DANE-authenticated, and a recipient that fails sends its report to
a sender under .test, whose MX is found through the same resolver."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from outbound_lab import LabCase, certs_sh  # noqa: E402


class OutboundTestTld(LabCase, unittest.TestCase):
    tld = "test"

    @classmethod
    def setup_lab(cls, lab):
        [(cls.host, cls.ip)] = lab.mx_domain("secure.test", "staging", [(10, "mx")])
        cls.cert = lab.cert("staging", ["unrelated.example"], kind="selfsigned")
        lab.tlsa("secure.test", cls.host, "3 1 1", certs_sh("tlsa311", cls.cert[2])[0])
        lab.partner(name="staging", domains=["staging.secure.test"], tls="dane-only")
        # A partner whose server has no STARTTLS: bounced, the report goes to .test.
        [(cls.plain_host, cls.plain_ip)] = lab.mx_domain("secure.test", "plain", [(10, "mx")])
        lab.partner(name="plain", domains=["plain.secure.test"], tls="encrypt",
                    on_tls_failure="bounce")

    def test_dane_only_partner_under_test_is_delivered(self):
        recv = self.lab.receiver(self.ip, self.host, cert=self.cert[0], key=self.cert[1])
        rcpt = "a@staging.secure.test"
        self.lab.send(rcpt)
        e = self.lab.wait_log(rcpt, {"delivered", "bounced", "deferred"})
        self.assertDeliveredTls(e, recv, "dane-only", "dane-ee", self.host)

    def test_report_reaches_a_sender_under_test(self):
        recv = self.lab.receiver(self.plain_ip, self.plain_host)
        rcpt = "b@plain.secure.test"
        self.lab.send(rcpt)
        e = self.lab.wait_log(rcpt, {"delivered", "bounced", "deferred"})
        self.assertEqual(e["event"], "bounced", e)
        self.assertEqual(e["dsn"], "5.7.10", e)
        self.assertNothingSent(recv)
        ndr = self.lab.wait_ndr(rcpt)
        self.assertEqual(ndr["rcpt_tos"], ["sender@org.secure.test"])
        self.assertIn("Status: 5.7.10", ndr["data"])
        # The sink is reached only through the MX of org.secure.test: the
        # report was routed by the same resolver, not dropped as NXDOMAIN.


if __name__ == "__main__":
    unittest.main(verbosity=2)
