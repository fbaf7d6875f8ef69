"""Outbound `encrypt` and `may`: encrypt needs STARTTLS and refuses a peer
that does not offer it (or whose offer a middlebox strips) before MAIL;
may delivers in the clear to such a peer, and over TLS when offered."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from outbound_lab import LabCase  # noqa: E402

ANY = {"delivered", "deferred", "bounced"}


class OutboundEncrypt(LabCase, unittest.TestCase):
    @classmethod
    def setup_lab(cls, lab):
        cls.hosts = {}
        for label, tls in (("enc-ok", "encrypt"), ("enc-plain", "encrypt"),
                           ("enc-strip", "encrypt"), ("may-plain", "may"),
                           ("may-tls", "may"), ("enc-inject", "encrypt"),
                           ("may-inject", "may")):
            [(host, ip)] = lab.mx_domain("secure.lab", label, [(10, "mx")])
            cls.hosts[label] = (host, ip)
            lab.partner(name=label, domains=[f"{label}.secure.lab"], tls=tls,
                        on_tls_failure="bounce")
        # Self-signed and misnamed: encrypt and may ask for no proof.
        cls.cert = lab.cert("anycert", ["unrelated.example"], kind="selfsigned")

    def send(self, label, **recv_kw):
        host, ip = self.hosts[label]
        recv = self.lab.receiver(ip, host, **recv_kw)
        rcpt = f"a@{label}.secure.lab"
        self.lab.send(rcpt)
        return recv, rcpt, self.lab.wait_log(rcpt, ANY), host

    def assertRefusedNoTls(self, e, recv, rcpt, host):
        self.assertEqual(e["event"], "bounced", e)
        self.assertEqual(e["policy"], "encrypt", e)
        self.assertEqual(e["host"], host, e)
        self.assertRegex(e["dsn"], r"^5\.7\.\d+$", e)
        self.assertNotIn("tls", e, e)
        self.assertNothingSent(recv)
        self.assertNeverDelivered(rcpt)
        ndr = self.lab.wait_ndr(rcpt)
        self.assertRegex(ndr["data"], r"Status: 5\.7\.\d+")

    def test_encrypt_delivers_over_tls_without_proof(self):
        recv, _, e, host = self.send("enc-ok", cert=self.cert[0], key=self.cert[1])
        self.assertDeliveredTls(e, recv, "encrypt", "none", host)

    def test_encrypt_refuses_a_server_without_starttls(self):
        recv, rcpt, e, host = self.send("enc-plain")
        self.assertIn("EHLO", recv.commands())
        self.assertRefusedNoTls(e, recv, rcpt, host)

    def test_encrypt_refuses_when_starttls_is_stripped(self):
        recv, rcpt, e, host = self.send("enc-strip", cert=self.cert[0], key=self.cert[1],
                                        strip_starttls=True)
        self.assertRefusedNoTls(e, recv, rcpt, host)

    def test_may_delivers_in_plaintext_without_starttls(self):
        recv, rcpt, e, host = self.send("may-plain")
        self.assertEqual(e["event"], "delivered", e)
        self.assertEqual(e["policy"], "may", e)
        self.assertEqual(e["host"], host, e)
        self.assertEqual(e["dsn"], "2.0.0", e)
        self.assertNotIn("tls", e, "a plaintext delivery has no tls object")
        msgs = recv.messages()
        self.assertEqual(len(msgs), 1, msgs)
        self.assertFalse(msgs[0]["tls"])
        self.assertEqual(msgs[0]["rcpt_tos"], [rcpt])

    def test_may_uses_starttls_when_offered(self):
        recv, _, e, host = self.send("may-tls", cert=self.cert[0], key=self.cert[1])
        self.assertDeliveredTls(e, recv, "may", "none", host)

    # RFC 3207 §4.2: replies a man in the middle slips in behind the 220 to
    # STARTTLS are thrown away; TLS, a fresh EHLO and the delivery go on.
    INJECT = "250-evil.example\\r\\n250 AUTH LOGIN"

    def test_encrypt_delivers_despite_replies_injected_after_starttls(self):
        recv, _, e, host = self.send("enc-inject", cert=self.cert[0], key=self.cert[1],
                                     extra=["--inject-after-starttls", self.INJECT])
        self.assertIn("INJECT", recv.commands(), "the peer did not inject")
        self.assertDeliveredTls(e, recv, "encrypt", "none", host)
        ehlos = [x for x in recv.state()["events"] if x["cmd"] == "EHLO"]
        self.assertEqual([x["tls"] for x in ehlos], [False, True], ehlos)
        self.assertIn("discarded 34 bytes sent after the 220 reply to STARTTLS",
                      self.lab.serve_log(tail=400))

    def test_may_does_not_fall_back_to_plaintext_after_an_injection(self):
        recv, _, e, host = self.send("may-inject", cert=self.cert[0], key=self.cert[1],
                                     extra=["--inject-after-starttls", self.INJECT])
        self.assertDeliveredTls(e, recv, "may", "none", host)


if __name__ == "__main__":
    unittest.main(verbosity=2)
