#!/usr/bin/python3
"""Inbound TLS resumption: a client that reconnects with the ticket of its first
connection resumes its session (no full handshake), over TLS 1.2 and TLS 1.3,
and still after a configuration reload."""
import os
import signal
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inbound_lab import Raw, Relay  # noqa: E402


def context(version):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = version
    ctx.maximum_version = version
    return ctx


def session_over_starttls(port, ctx, session=None):
    """One SMTP connection: EHLO, STARTTLS, EHLO inside TLS (which also reads the
    TLS 1.3 tickets the server sends after the handshake), QUIT.
    Returns (reused, session, version)."""
    c = Raw(port)
    c.cmd("EHLO client.gemeente.nl")
    code, _ = c.cmd("STARTTLS")
    assert code == 220, code
    c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost", session=session)
    code, _ = c.cmd("EHLO client.gemeente.nl")
    assert code == 250, code
    c.cmd("QUIT")
    result = (c.sock.session_reused, c.sock.session, c.sock.version())
    c.close()
    return result


class InboundTlsResumption(unittest.TestCase):
    def check_resumes(self, version, name):
        with Relay(tls=True) as r:
            ctx = context(version)
            reused, session, got = session_over_starttls(r.port, ctx)
            self.assertEqual(got, name)
            self.assertFalse(reused)
            self.assertTrue(session.has_ticket, "the server sent no session ticket")
            reused, session2, _ = session_over_starttls(r.port, ctx, session)
            self.assertTrue(reused, f"{name}: the second connection did a full handshake")
            # A reload builds a new TLS context; tickets already handed out stay good.
            r.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while "configuration reloaded" not in r.serve_log():
                self.assertLess(time.monotonic(), deadline, "serve did not reload")
                time.sleep(0.05)
            reused, _, _ = session_over_starttls(r.port, ctx, session2)
            self.assertTrue(reused, f"{name}: a reload ended resumption")

    def test_tls12_resumes_with_a_ticket(self):
        self.check_resumes(ssl.TLSVersion.TLSv1_2, "TLSv1.2")

    def test_tls13_resumes_with_a_ticket(self):
        self.check_resumes(ssl.TLSVersion.TLSv1_3, "TLSv1.3")

    def test_a_ticket_from_another_server_is_a_full_handshake(self):
        with Relay(tls=True) as a, Relay(tls=True) as b:
            ctx = context(ssl.TLSVersion.TLSv1_3)
            _, session, _ = session_over_starttls(a.port, ctx)
            reused, _, _ = session_over_starttls(b.port, ctx, session)
            self.assertFalse(reused)


if __name__ == "__main__":
    unittest.main()
