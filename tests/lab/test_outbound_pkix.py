"""Outbound PKIX levels: `verify` (chain to tls.ca_file, name = the MX host)
and `secure` (chain, name in `match`, by default the next-hop domain and its
subdomains). A wrong name is refused before a byte of the message leaves."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from outbound_lab import LabCase  # noqa: E402

ANY = {"delivered", "deferred", "bounced"}


class OutboundPkix(LabCase, unittest.TestCase):
    @classmethod
    def setup_lab(cls, lab):
        cls.hosts = {}

        def dom(label, **partner):
            [(host, ip)] = lab.mx_domain("secure.lab", label, [(10, "mx")])
            cls.hosts[label] = (host, ip)
            lab.partner(name=label, domains=[f"{label}.secure.lab"], **partner)

        dom("verify-ok", tls="verify", on_tls_failure="bounce")
        dom("verify-wrong", tls="verify", on_tls_failure="bounce")
        dom("verify-untrusted", tls="verify", on_tls_failure="defer")
        dom("secure-match", tls="secure", match=["partner-mail.example"],
            on_tls_failure="bounce")
        dom("secure-nomatch", tls="secure", match=["partner-mail.example"],
            on_tls_failure="bounce")
        dom("secure-default", tls="secure", on_tls_failure="bounce")

    def deliver(self, label, cert):
        host, ip = self.hosts[label]
        recv = self.lab.receiver(ip, host, cert=cert[0], key=cert[1])
        rcpt = f"a@{label}.secure.lab"
        self.lab.send(rcpt)
        return recv, rcpt, self.lab.wait_log(rcpt, ANY), host

    def assertRefused(self, e, recv, rcpt, policy, host, event="bounced"):
        self.assertEqual(e["event"], event, e)
        self.assertEqual(e["policy"], policy, e)
        self.assertEqual(e["host"], host, e)
        self.assertRegex(e["dsn"], r"^5\.7\.\d+$" if event == "bounced" else r"^4\.", e)
        self.assertNothingSent(recv)
        self.assertNeverDelivered(rcpt)

    def test_verify_delivers_with_the_mx_name(self):
        host, _ = self.hosts["verify-ok"]
        cert = self.lab.cert("verify-ok", [host])
        recv, _, e, host = self.deliver("verify-ok", cert)
        self.assertDeliveredTls(e, recv, "verify", "pkix", host)

    def test_verify_refuses_a_wrong_name(self):
        cert = self.lab.cert("verify-wrong", ["mx.elsewhere.secure.lab"])
        recv, rcpt, e, host = self.deliver("verify-wrong", cert)
        self.assertRefused(e, recv, rcpt, "verify", host)
        self.assertIn("STARTTLS", recv.commands())
        ndr = self.lab.wait_ndr(rcpt)
        self.assertIn(host, ndr["data"])

    def test_verify_refuses_an_untrusted_chain_and_defers(self):
        host, _ = self.hosts["verify-untrusted"]
        cert = self.lab.cert("verify-untrusted", [host], kind="selfsigned")
        recv, rcpt, e, host = self.deliver("verify-untrusted", cert)
        self.assertRefused(e, recv, rcpt, "verify", host, event="deferred")

    def test_secure_delivers_to_a_name_in_match(self):
        cert = self.lab.cert("secure-match", ["partner-mail.example"])
        recv, _, e, host = self.deliver("secure-match", cert)
        self.assertDeliveredTls(e, recv, "secure", "pkix", host)

    def test_secure_refuses_the_mx_name_when_match_names_another(self):
        host, _ = self.hosts["secure-nomatch"]
        cert = self.lab.cert("secure-nomatch", [host])  # valid for verify, not for match
        recv, rcpt, e, host = self.deliver("secure-nomatch", cert)
        self.assertRefused(e, recv, rcpt, "secure", host)

    def test_secure_default_match_is_the_domain_and_its_subdomains(self):
        host, _ = self.hosts["secure-default"]
        cert = self.lab.cert("secure-default", [host])  # mx.secure-default.secure.lab
        recv, _, e, host = self.deliver("secure-default", cert)
        self.assertDeliveredTls(e, recv, "secure", "pkix", host)


if __name__ == "__main__":
    unittest.main(verbosity=2)
