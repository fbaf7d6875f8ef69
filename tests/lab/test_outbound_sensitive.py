#!/usr/bin/python3
"""Mail the sender marked as sensitive, and "TLS-Required: No" (RFC 8689),
with real DNSSEC, real TLS peers and the delivery log:
- a subject tag or an Outlook `Sensitivity` header raises a partner that
  otherwise has `may` to `authenticated`: toward an MX in an unsigned zone
  nothing is sent and the sender gets a report; toward an authenticable MX it
  is delivered over PKIX with the tag removed from the Subject; the log says
  `"sensitive": true` and why;
- "TLS-Required: No" is ignored from a client that tls_required_header does
  not list, and honoured from one it lists (the recipient's DANE records are
  then not enforced), but never below a partner's mandatory level."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from outbound_lab import LabCase  # noqa: E402

ANY = {"delivered", "deferred", "bounced"}
WRONG_DIGEST = "00" * 31 + "01"


class OutboundSensitive(LabCase, unittest.TestCase):
    @classmethod
    def setup_lab(cls, lab):
        lab.extra_config["sensitive"] = {
            "subject_tags": ["[vertrouwelijk]"],
            "headers": {"Sensitivity": ["Private", "Company-Confidential"]}}
        cls.listed_ip = lab.addr()  # a client address the config lists
        lab.extra_config["tls_required_header"] = {"honour_from": [f"{cls.listed_ip}/32"]}
        cls.recv = {}

        def dom(zone, label, cert=None, **partner):
            [(host, ip)] = lab.mx_domain(zone, label, [(10, "mx")])
            cls.recv[label] = (ip, host, cert)
            if partner:
                lab.partner(name=label, domains=[f"{label}.{zone}"], **partner)
            return host

        # `may` partners: one unauthenticable (unsigned zone), one PKIX-valid on a signed MX.
        dom("insecure.lab", "zorg-may", lab.cert("zorg-may", ["mx.zorg-may.insecure.lab"]),
            tls="may", on_tls_failure="bounce")
        dom("secure.lab", "zorg-ok", lab.cert("zorg-ok", ["mx.zorg-ok.secure.lab"]),
            tls="may", on_tls_failure="bounce")
        # The defaults (dane, defer) toward a host whose TLSA records do not match it.
        host = dom("secure.lab", "tr-dane", lab.cert("tr-dane", ["x.example"], kind="selfsigned"))
        lab.tlsa("secure.lab", host, "3 1 1", WRONG_DIGEST)
        # A partner whose contract is `encrypt`, toward a host without STARTTLS.
        dom("secure.lab", "tr-encrypt", None, tls="encrypt", on_tls_failure="bounce")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            for label, (ip, host, cert) in cls.recv.items():
                kw = {"cert": cert[0], "key": cert[1]} if cert else {}
                cls.recv[label] = cls.lab.receiver(ip, host, **kw)
        except BaseException:
            cls.lab.stop()
            raise

    def mails(self, label):
        return [e for e in self.recv[label].state()["events"] if e["cmd"] == "MAIL"]

    # --- sensitive marks ----------------------------------------------------

    def test_unmarked_mail_to_the_may_partner_is_delivered(self):
        rcpt = "plain@zorg-may.insecure.lab"
        self.lab.send(rcpt, subject="Agenda overleg")
        e = self.lab.wait_log(rcpt, ANY)
        self.assertEqual(e["event"], "delivered", e)
        self.assertEqual(e["policy"], "may", e)
        self.assertNotIn("sensitive", e, e)

    def assertRefusedAsSensitive(self, rcpt, why):
        e = self.lab.wait_log(rcpt, ANY)
        self.assertEqual(e["event"], "bounced", e)
        self.assertEqual(e["policy"], "authenticated", e)
        self.assertEqual(e["reason"], "no-dnssec", e)
        self.assertIs(e["sensitive"], True, e)
        self.assertEqual(e["sensitive_why"], why, e)
        self.assertNotIn("tls", e, e)
        ndr = self.lab.wait_ndr(rcpt)["data"]
        self.assertIn("5.7.4", ndr)
        # Not one byte of this message reached the partner's server.
        for m in self.recv["zorg-may"].messages():
            self.assertNotIn(rcpt, m["rcpt_tos"])

    def test_a_subject_tag_forces_authenticated_and_fails_toward_the_may_partner(self):
        rcpt = "tag@zorg-may.insecure.lab"
        self.lab.send(rcpt, subject="[vertrouwelijk] Dossier 12")
        self.assertRefusedAsSensitive(rcpt, 'subject tag "[vertrouwelijk]"')

    def test_an_outlook_sensitivity_header_forces_authenticated_too(self):
        rcpt = "outlook@zorg-may.insecure.lab"
        self.lab.send(rcpt, subject="Dossier 13", headers=["Sensitivity: Company-Confidential"])
        self.assertRefusedAsSensitive(rcpt, 'header "Sensitivity: Company-Confidential"')

    def test_a_tagged_message_goes_over_pkix_with_the_tag_removed(self):
        rcpt = "tag@zorg-ok.secure.lab"
        self.lab.send(rcpt, subject="[vertrouwelijk] Dossier 14")
        e = self.lab.wait_log(rcpt, ANY)
        self.assertDeliveredTls(e, self.recv["zorg-ok"], "authenticated", "pkix",
                                "mx.zorg-ok.secure.lab")
        self.assertEqual(e["sensitive_why"], 'subject tag "[vertrouwelijk]"', e)
        data = self.recv["zorg-ok"].messages()[0]["data"]
        self.assertIn("Subject: Dossier 14\r\n", data)
        self.assertNotIn("vertrouwelijk", data)

    # --- TLS-Required: No ---------------------------------------------------

    def test_tls_required_no_from_an_unlisted_client_is_ignored(self):
        rcpt = "ignored@tr-dane.secure.lab"
        self.lab.send(rcpt, headers=["TLS-Required: No"])  # from 127.0.0.1
        e = self.lab.wait_log(rcpt, ANY)
        self.assertEqual(e["event"], "deferred", e)
        self.assertEqual(e["reason"], "tlsa-mismatch", e)
        self.assertEqual(e["tls_required_no"], "ignored", e)
        for m in self.recv["tr-dane"].messages():
            self.assertNotIn(rcpt, m["rcpt_tos"])

    def test_tls_required_no_from_a_listed_client_skips_the_recipients_dane(self):
        rcpt = "honoured@tr-dane.secure.lab"
        self.lab.send(rcpt, headers=["TLS-Required: No"], source_ip=self.listed_ip)
        e = self.lab.wait_log(rcpt, ANY)
        self.assertEqual(e["event"], "delivered", e)
        self.assertEqual(e["policy"], "may", e)
        self.assertEqual(e["tls"]["auth"], "none", e)  # encrypted, not authenticated
        self.assertEqual(e["tls_required_no"], "honoured", e)
        got = [m for m in self.recv["tr-dane"].messages() if rcpt in m["rcpt_tos"]]
        self.assertEqual(len(got), 1)
        self.assertTrue(got[0]["tls"], "STARTTLS is still used when offered")
        self.assertIn("TLS-Required: No", got[0]["data"])  # passed on unchanged

    def test_a_listed_client_without_the_header_gets_the_normal_policy(self):
        rcpt = "noheader@tr-dane.secure.lab"
        self.lab.send(rcpt, source_ip=self.listed_ip)
        e = self.lab.wait_log(rcpt, ANY)
        self.assertEqual(e["event"], "deferred", e)
        self.assertEqual(e["reason"], "tlsa-mismatch", e)
        self.assertNotIn("tls_required_no", e, e)

    def test_tls_required_no_never_goes_below_a_partners_mandatory_level(self):
        rcpt = "contract@tr-encrypt.secure.lab"
        self.lab.send(rcpt, headers=["TLS-Required: No"], source_ip=self.listed_ip)
        e = self.lab.wait_log(rcpt, ANY)
        self.assertEqual(e["event"], "bounced", e)
        self.assertEqual(e["policy"], "encrypt", e)
        self.assertEqual(e["reason"], "starttls-not-offered", e)
        self.assertEqual(e["tls_required_no"], "honoured", e)
        self.assertNothingSent(self.recv["tr-encrypt"])

    def test_a_sensitive_mark_wins_over_tls_required_no(self):
        rcpt = "both@zorg-may.insecure.lab"
        self.lab.send(rcpt, subject="[vertrouwelijk] Dossier 15", headers=["TLS-Required: No"],
                      source_ip=self.listed_ip)
        self.assertRefusedAsSensitive(rcpt, 'subject tag "[vertrouwelijk]"')
        e = self.lab.wait_log(rcpt, {"bounced"})
        self.assertEqual(e["tls_required_no"], "ignored", e)


if __name__ == "__main__":
    unittest.main(verbosity=2)
