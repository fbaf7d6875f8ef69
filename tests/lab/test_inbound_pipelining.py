#!/usr/bin/python3
"""Unauthorised pipelining (the pattern SMTP smuggling exploits): a client
that sends message text before our 354, or commands behind DATA or EHLO in
the same packet, gets Postfix's 554 5.5.0 and is disconnected, and nothing
is queued. RFC 2920 groups that end with DATA keep working."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inbound_lab import Relay  # noqa: E402

ENVELOPE = "MAIL FROM:<a@gemeente.nl>\r\nRCPT TO:<b@partner.nl>\r\n"
SYNC = "554 5.5.0 Error: SMTP protocol synchronization"


class Pipelining(unittest.TestCase):
    def refused(self, r, c, expect_before=()):
        for code in expect_before:
            self.assertEqual(c.reply()[0], code)
        code, lines = c.reply()
        self.assertEqual(lines, [SYNC])
        self.assertTrue(c.closed())
        c.close()

    def test_violations_are_refused_and_nothing_is_queued(self):
        with Relay() as r:
            # Message text in the same packet as DATA, before our 354.
            c = r.client()
            c.cmd("EHLO client.example")
            c.send(ENVELOPE + "DATA\r\nSubject: early\r\n\r\nhello\r\n.\r\n")
            self.refused(r, c, expect_before=(250, 250))

            # A command behind DATA.
            c = r.client()
            c.cmd("EHLO client.example")
            c.send(ENVELOPE + "DATA\r\nQUIT\r\n")
            self.refused(r, c, expect_before=(250, 250))

            # Commands behind EHLO, before the client can know PIPELINING is offered.
            c = r.client()
            c.send("EHLO client.example\r\n" + ENVELOPE)
            self.refused(r, c)

            # After HELO there is no PIPELINING at all.
            c = r.client()
            c.cmd("HELO client.example")
            c.send(ENVELOPE)
            self.refused(r, c)

            self.assertEqual(r.queue(), [])
            self.assertEqual([e for e in r.received_events() if e["event"] == "received"], [])
            log = r.serve_log()
            self.assertIn('improper command pipelining after DATA: "Subject: early', log)
            self.assertIn('improper command pipelining after EHLO: "MAIL FROM', log)

    def test_rfc2920_groups_ending_with_data_are_accepted(self):
        with Relay() as r:
            c = r.client()
            code, lines = c.cmd("EHLO client.example")
            self.assertIn("250-PIPELINING", lines)
            # RFC 2920 §3.1: MAIL, RCPTs and DATA in one group; wait for 354.
            c.send(ENVELOPE + "RCPT TO:<c@partner.nl>\r\nDATA\r\n")
            self.assertEqual([c.reply()[0] for _ in range(4)], [250, 250, 250, 354])
            # The end of data may carry the next group, and QUIT after the last.
            c.send("Subject: one\r\n\r\nfirst\r\n.\r\n" + ENVELOPE + "DATA\r\n")
            self.assertEqual([c.reply()[0] for _ in range(4)], [250, 250, 250, 354])
            c.send("Subject: two\r\n\r\nsecond\r\n.\r\nQUIT\r\n")
            self.assertEqual([c.reply()[0] for _ in range(2)], [250, 221])
            self.assertEqual(len(r.queue()), 2)
            self.assertNotIn("improper command pipelining", r.serve_log())


if __name__ == "__main__":
    unittest.main()
