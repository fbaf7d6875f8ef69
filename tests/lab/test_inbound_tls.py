"""Inbound STARTTLS and AUTH: a certificate made now, AUTH PLAIN and LOGIN
only inside TLS, require_starttls, and no plaintext command pipelined after
STARTTLS answered inside TLS (CVE-2011-0411)."""
import base64
import os
import smtplib
import ssl
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inbound_lab import Relay  # noqa: E402

USERS = {"alice": "s3cret-Pass"}
MSG = "From: a@gemeente.nl\r\nTo: b@partner.nl\r\nSubject: tls\r\n\r\nhello\r\n"


def tls_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def relay():
    # 127.0.0.1 is not in networks: only a logged-in client may relay.
    return Relay(networks=("10.0.0.0/8",), tls=True, users=USERS,
                 listen_extra="    auth: true\n")


class InboundTls(unittest.TestCase):
    def test_auth_refused_before_starttls_and_not_advertised(self):
        with relay() as r:
            c = r.client()
            code, ehlo = c.cmd("EHLO client")
            self.assertIn("250-STARTTLS", ehlo)
            self.assertFalse(any("AUTH" in l for l in ehlo))
            plain = base64.b64encode(b"\0alice\0s3cret-Pass").decode()
            code, lines = c.cmd("AUTH PLAIN " + plain)
            self.assertEqual(code, 538)
            self.assertIn("5.7.11", lines[0])
            c.cmd("MAIL FROM:<a@gemeente.nl>")
            self.assertEqual(c.cmd("RCPT TO:<b@partner.nl>")[0], 554)

    def test_starttls_then_auth_plain_relays(self):
        with relay() as r:
            with smtplib.SMTP("127.0.0.1", r.port, timeout=10) as s:
                s.starttls(context=tls_ctx())
                code, ehlo = s.ehlo("client.gemeente.nl")
                self.assertIn(b"AUTH PLAIN LOGIN", ehlo)
                self.assertNotIn(b"STARTTLS", ehlo)
                self.assertIn(s.sock.version(), ("TLSv1.2", "TLSv1.3"))
                with self.assertRaises(smtplib.SMTPAuthenticationError):
                    s.login("alice", "wrong")
                s.auth("PLAIN", lambda challenge=None: "\0alice\0s3cret-Pass")
                s.sendmail("a@gemeente.nl", ["b@partner.nl"], MSG)
            q = r.queue()
            self.assertEqual(len(q), 1)
            shown = r.show(q[0]["id"])
            self.assertIn("authenticated as alice", shown)
            self.assertRegex(shown, r"Client TLS:   TLSv1\.[23] ")
            ev = [e for e in r.received_events() if e["event"] == "received"][0]
            self.assertEqual(ev["auth_user"], "alice")
            self.assertIn(ev["tls"]["version"], ("TLSv1.2", "TLSv1.3"))

    def test_starttls_then_auth_login(self):
        with relay() as r:
            c = r.client()
            c.cmd("EHLO client")
            self.assertEqual(c.cmd("STARTTLS")[0], 220)
            c.starttls()
            self.assertEqual(c.cmd("EHLO client")[0], 250)
            code, lines = c.cmd("AUTH LOGIN")
            self.assertEqual((code, lines[0]), (334, "334 VXNlcm5hbWU6"))
            self.assertEqual(c.cmd(base64.b64encode(b"alice").decode())[0], 334)
            code, lines = c.cmd(base64.b64encode(b"s3cret-Pass").decode())
            self.assertEqual(code, 235)
            self.assertEqual(c.cmd("MAIL FROM:<a@gemeente.nl>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<b@partner.nl>")[0], 250)

    def test_tls_1_1_is_refused(self):
        with relay() as r:
            c = r.client()
            c.cmd("EHLO client")
            self.assertEqual(c.cmd("STARTTLS")[0], 220)
            ctx = tls_ctx()
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            with self.assertRaises((ssl.SSLError, ConnectionError)):
                ctx.wrap_socket(c.sock, server_hostname="localhost")

    def test_commands_pipelined_after_starttls_are_discarded(self):
        with relay() as r:
            c = r.client()
            c.cmd("EHLO client")
            c.send("STARTTLS\r\nRSET\r\n")  # one packet
            code, _ = c.reply()
            self.assertEqual(code, 220)
            c.starttls()
            # The first reply inside TLS answers our EHLO, not the injected RSET.
            code, lines = c.cmd("EHLO client")
            self.assertEqual(code, 250)
            self.assertEqual(lines[0], "250-relay.test")
            self.assertEqual(c.cmd("NOOP")[0], 250)

    def test_require_starttls_refuses_mail_in_clear(self):
        with Relay(tls=True, listen_extra="    require_starttls: true\n") as r:
            c = r.client()
            c.cmd("EHLO client")
            code, lines = c.cmd("MAIL FROM:<a@gemeente.nl>")
            self.assertEqual(code, 530)
            self.assertIn("5.7.0", lines[0])
            self.assertEqual(c.cmd("STARTTLS")[0], 220)
            c.starttls()
            c.cmd("EHLO client")
            self.assertEqual(c.cmd("MAIL FROM:<a@gemeente.nl>")[0], 250)


if __name__ == "__main__":
    unittest.main()
