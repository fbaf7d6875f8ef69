"""Outbound `fingerprint`: the peer's certificate or public key must match a
SHA-256 pin from `fingerprints`; no chain or name is checked, and a peer
with another key gets nothing."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from outbound_lab import LabCase, certs_sh  # noqa: E402

ANY = {"delivered", "deferred", "bounced"}


class OutboundFingerprint(LabCase, unittest.TestCase):
    @classmethod
    def setup_lab(cls, lab):
        cls.hosts = {}
        # Self-signed, unrelated name: only the pin can authenticate it.
        cls.pinned = lab.cert("pinned", ["unrelated.example"], kind="selfsigned")
        cls.other = lab.cert("other", ["unrelated.example"], kind="selfsigned")
        pins = {"fp-cert": certs_sh("fp-cert", cls.pinned[2])[0],
                "fp-pubkey": certs_sh("fp-pubkey", cls.pinned[2])[0],
                "fp-mismatch": certs_sh("fp-cert", cls.pinned[2])[0]}
        for label, pin in pins.items():
            [(host, ip)] = lab.mx_domain("secure.lab", label, [(10, "mx")])
            cls.hosts[label] = (host, ip)
            lab.partner(name=label, domains=[f"{label}.secure.lab"], tls="fingerprint",
                        fingerprints=[pin], on_tls_failure="bounce")

    def deliver(self, label, cert):
        host, ip = self.hosts[label]
        recv = self.lab.receiver(ip, host, cert=cert[0], key=cert[1])
        rcpt = f"a@{label}.secure.lab"
        self.lab.send(rcpt)
        return recv, rcpt, self.lab.wait_log(rcpt, ANY), host

    def test_certificate_fingerprint_delivers(self):
        recv, _, e, host = self.deliver("fp-cert", self.pinned)
        self.assertDeliveredTls(e, recv, "fingerprint", "fingerprint", host)

    def test_public_key_fingerprint_delivers(self):
        recv, _, e, host = self.deliver("fp-pubkey", self.pinned)
        self.assertDeliveredTls(e, recv, "fingerprint", "fingerprint", host)

    def test_other_key_is_refused(self):
        recv, rcpt, e, host = self.deliver("fp-mismatch", self.other)
        self.assertEqual(e["event"], "bounced", e)
        self.assertEqual(e["policy"], "fingerprint", e)
        self.assertEqual(e["host"], host, e)
        self.assertRegex(e["dsn"], r"^5\.7\.\d+$", e)
        self.assertNothingSent(recv)
        self.assertNeverDelivered(rcpt)


if __name__ == "__main__":
    unittest.main(verbosity=2)
