#!/usr/bin/python3
"""REQUIRETLS (RFC 8689) end to end with real parts: a client hands a message
with MAIL FROM ... REQUIRETLS to chainmail over STARTTLS; chainmail relays it
over authenticated TLS to a second chainmail (the next hop, which offers
REQUIRETLS after STARTTLS), which passes REQUIRETLS on to the final server.
Toward a next hop without REQUIRETLS, or one that cannot be authenticated,
nothing is sent and the sender gets a 5.7.30 report with the headers only."""
import json
import os
import smtplib
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from outbound_lab import LabCase, start_serve  # noqa: E402

ANY = {"delivered", "deferred", "bounced"}


class SecondRelay:
    """A second `chainmail serve` on ip:port of the lab: the first one's next hop."""

    def __init__(self, lab, ip, cert, partners):
        self.lab, self.ip = lab, ip
        self.dir = os.path.join(lab.dir, "relay-b")
        os.makedirs(self.dir)
        self.delivery_log = os.path.join(self.dir, "delivery.jsonl")
        self.config = {
            "hostname": "b.relay.lab",
            "listen": [{"address": f"{ip}:{lab.port}", "starttls": True}],
            "tls": {"certificate": cert[0], "private_key": cert[1],
                    "ca_file": os.path.join(lab.ca_dir, "ca.crt")},
            "relay_from": {"networks": ["127.0.0.0/8"]},
            "spool": os.path.join(self.dir, "spool"),
            "control_socket": os.path.join(self.dir, "control"),
            "log": {"level": "debug", "delivery_log": self.delivery_log},
            "delivery": {"port": lab.port, "connect_timeout": "5s"},
            "queue": {"retry_schedule": ["2s"], "max_lifetime": "10m",
                      "delay_warning_after": "0"},
            "ndr": {"languages": ["en"]},
            "defaults": {"tls": "may", "mta_sts": False, "on_tls_failure": "defer"},
            "partners": partners,
        }
        self.proc = None

    def start(self):
        self.config["dns"] = {"nameservers": [self.lab.nameserver],
                              "trust_anchor_file": os.path.join(self.lab.dns_dir, "ta.key"),
                              "dnssec_check_name": self.lab.tld}
        self.log_path = os.path.join(self.dir, "serve.log")
        self.proc, self.out = start_serve(self.config, os.path.join(self.dir, "b.yaml"),
                                          self.log_path, self.lab.port, host=self.ip)
        return self

    def entries(self, rcpt):
        try:
            with open(self.delivery_log) as f:
                return [e for e in map(json.loads, filter(str.strip, f))
                        if e.get("rcpt") == rcpt]
        except OSError:
            return []

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=40)
        if self.proc:
            self.out.close()


class OutboundRequireTls(LabCase, unittest.TestCase):
    @classmethod
    def setup_lab(cls, lab):
        lab.listen_tls = lab.cert("relay-a", ["relay.lab"])[:2]
        # Relayed through a second chainmail to the final server, which offers REQUIRETLS.
        [(cls.b_host, cls.b_ip)] = lab.mx_domain("secure.lab", "rt-chain", [(10, "mx")])
        cls.final_ip = lab.addr()
        cls.final_host = "final.rt-chain.secure.lab"
        lab.record("secure.lab", f"final.rt-chain IN A {cls.final_ip}")
        cls.b_cert = lab.cert("rt-b", [cls.b_host])
        cls.final_cert = lab.cert("rt-final", [cls.final_host])
        lab.partner(name="rt-chain", domains=["rt-chain.secure.lab"], tls="may",
                    on_tls_failure="defer")
        # A PKIX-valid next hop without REQUIRETLS (the defaults: dane, defer).
        [(cls.plain_host, cls.plain_ip)] = lab.mx_domain("secure.lab", "rt-plain", [(10, "mx")])
        cls.plain_cert = lab.cert("rt-plain", [cls.plain_host])
        # A next hop that no route can authenticate: its MX is in an unsigned zone.
        [(cls.insecure_host, cls.insecure_ip)] = lab.mx_domain("insecure.lab", "rt-insecure",
                                                               [(10, "mx")])
        cls.insecure_cert = lab.cert("rt-insecure", [cls.insecure_host])
        lab.partner(name="rt-insecure", domains=["rt-insecure.insecure.lab"], tls="may",
                    on_tls_failure="defer")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        lab = cls.lab
        try:
            cls.final = lab.receiver(cls.final_ip, cls.final_host, cert=cls.final_cert[0],
                                     key=cls.final_cert[1], extra=["--requiretls"])
            cls.b = SecondRelay(lab, cls.b_ip, cls.b_cert, [
                {"name": "final", "domains": ["rt-chain.secure.lab"], "tls": "may",
                 "mta_sts": False, "on_tls_failure": "bounce",
                 "next_hop": f"[{cls.final_host}]:{lab.port}"}]).start()
        except BaseException:
            cls.lab.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if getattr(cls, "b", None):
                cls.b.stop()
        finally:
            super().tearDownClass()

    def send_requiretls(self, rcpt, subject):
        return self.lab.send(rcpt, subject=subject, starttls=True, mail_options=["REQUIRETLS"])

    def assertRedactedNdr(self, rcpt, subject):
        """RFC 8689 §5: the report names REQUIRETLS and 5.7.30, returns the
        headers and never the body."""
        ndr = self.lab.wait_ndr(rcpt)["data"]
        self.assertIn("5.7.30", ndr)
        self.assertIn("REQUIRETLS", ndr)
        self.assertIn("text/rfc822-headers", ndr)
        self.assertIn(subject, ndr)
        self.assertNotIn(f"body for {rcpt}", ndr)
        self.assertNotIn("DNSSEC-secure MX answer", ndr)  # not the no-dnssec text

    def test_requiretls_is_offered_only_after_starttls(self):
        with smtplib.SMTP("127.0.0.1", self.lab.listen_port, timeout=10) as s:
            s.ehlo("client.lab")
            self.assertFalse(s.has_extn("requiretls"))
            code, _ = s.mail(f"x@{self.lab.sender_domain}", ["REQUIRETLS"])
            self.assertEqual(code, 555)
            s.rset()
            s.starttls()
            s.ehlo("client.lab")
            self.assertTrue(s.has_extn("requiretls"))

    def test_relayed_through_a_second_chainmail_that_passes_requiretls_on(self):
        rcpt = "a@rt-chain.secure.lab"
        self.send_requiretls(rcpt, "REQUIRETLS chain")
        # Hop one: authenticated (PKIX on a DNSSEC-secure MX name), REQUIRETLS offered.
        e = self.lab.wait_log(rcpt, ANY)
        self.assertEqual(e["event"], "delivered", e)
        self.assertEqual(e["policy"], "authenticated", e)  # the partner's `may`, raised
        self.assertEqual(e["host"], self.b_host, e)
        self.assertEqual(e["tls"]["auth"], "pkix", e)
        self.assertIs(e.get("sensitive"), True, e)
        self.assertEqual(e["sensitive_why"], "REQUIRETLS", e)
        # Hop two: the second chainmail took it as REQUIRETLS and passed that on.
        end = time.monotonic() + 20
        while time.monotonic() < end and not self.final.messages():
            time.sleep(0.1)
        msgs = self.final.messages()
        self.assertEqual(len(msgs), 1, (msgs, self.b.entries(rcpt)))
        self.assertEqual(msgs[0]["rcpt_tos"], [rcpt])
        self.assertTrue(msgs[0]["tls"])
        self.assertIn("REQUIRETLS", msgs[0]["mail_options"])
        # The final hop records the message at its final dot, before the
        # second chainmail has read the 250 and written its log line: wait for it.
        end = time.monotonic() + 20
        while time.monotonic() < end:
            b_lines = self.b.entries(rcpt)
            delivered = [x for x in b_lines if x["event"] == "delivered"]
            if delivered:
                break
            time.sleep(0.1)
        self.assertEqual(len(delivered), 1, b_lines)
        self.assertEqual(delivered[0]["sensitive_why"], "REQUIRETLS")
        self.assertEqual(delivered[0]["tls"]["auth"], "pkix")
        self.assertEqual(delivered[0]["policy"], "authenticated")

    def test_refused_with_5_7_30_toward_a_next_hop_without_requiretls(self):
        recv = self.lab.receiver(self.plain_ip, self.plain_host, cert=self.plain_cert[0],
                                 key=self.plain_cert[1])
        rcpt = "b@rt-plain.secure.lab"
        self.send_requiretls(rcpt, "REQUIRETLS plain")
        # Bounced at once although the defaults say on_tls_failure: defer.
        e = self.lab.wait_log(rcpt, {"bounced", "delivered"})
        self.assertEqual(e["event"], "bounced", e)
        self.assertEqual(e["dsn"], "5.7.30", e)
        self.assertEqual(e["reason"], "requiretls-not-offered", e)
        self.assertEqual(e["sensitive_why"], "REQUIRETLS", e)
        self.assertNothingSent(recv)
        self.assertRedactedNdr(rcpt, "REQUIRETLS plain")

    def test_refused_with_5_7_30_toward_a_next_hop_that_cannot_be_authenticated(self):
        recv = self.lab.receiver(self.insecure_ip, self.insecure_host,
                                 cert=self.insecure_cert[0], key=self.insecure_cert[1],
                                 extra=["--requiretls"])
        rcpt = "c@rt-insecure.insecure.lab"
        self.send_requiretls(rcpt, "REQUIRETLS insecure")
        e = self.lab.wait_log(rcpt, {"bounced", "delivered"})
        self.assertEqual(e["event"], "bounced", e)
        self.assertEqual(e["dsn"], "5.7.30", e)
        self.assertEqual(e["reason"], "requiretls-unauthenticated", e)
        self.assertIn("REQUIRETLS", e["reply"], e)
        self.assertNothingSent(recv)
        self.assertEqual(recv.state()["connections"], 0)  # refused before connecting
        self.assertRedactedNdr(rcpt, "REQUIRETLS insecure")


if __name__ == "__main__":
    unittest.main(verbosity=2)
