"""SMTP smuggling (CVE-2023-51764 and kin): only CRLF.CRLF ends DATA. Each
bare-newline variant sent with a raw socket is refused; neither the outer
message nor the smuggled second one is ever queued."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inbound_lab import Relay  # noqa: E402

SMUGGLED = ("MAIL FROM:<ceo@gemeente.nl>\r\nRCPT TO:<victim@partner.nl>\r\nDATA\r\n"
            "Subject: smuggled\r\n\r\nwire the money\r\n.\r\n")

VARIANTS = {
    "lf-dot-lf": "\n.\n",
    "lf-dot-crlf": "\n.\r\n",
    "crlf-dot-lf": "\r\n.\n",
    "cr-dot-cr": "\r.\r",
    "crlf-dot-cr": "\r\n.\r",
}


class Smuggling(unittest.TestCase):
    def test_no_bare_newline_variant_ends_data(self):
        with Relay() as r:
            for name, marker in VARIANTS.items():
                with self.subTest(variant=name):
                    c = r.client()
                    c.cmd("EHLO attacker.example")
                    c.cmd("MAIL FROM:<a@gemeente.nl>")
                    c.cmd("RCPT TO:<b@partner.nl>")
                    self.assertEqual(c.cmd("DATA")[0], 354)
                    # One packet: outer message, fake end, smuggled message, real end.
                    c.send("Subject: outer\r\n\r\nhello" + marker + SMUGGLED + "\r\n.\r\n")
                    code, lines = c.reply()
                    self.assertEqual(code, 550, lines)
                    self.assertIn("5.5.2", lines[0])
                    self.assertTrue(c.closed())  # nothing after it is read as commands
                    c.close()
            self.assertEqual(r.queue(), [])
            self.assertEqual([e for e in r.received_events() if e["event"] == "received"], [])

    def test_a_bare_lf_in_a_command_is_refused(self):
        with Relay() as r:
            c = r.client()
            c.send("EHLO x\nMAIL FROM:<a@gemeente.nl>\r\n")
            code, lines = c.reply()
            self.assertEqual(code, 550)
            self.assertIn("bare <LF>", lines[0])
            self.assertTrue(c.closed())

    def test_nul_in_data_is_refused_after_the_final_dot(self):
        # A receiver that drops NULs reads "\r\n\0.\r\n" as an end of data:
        # we refuse the whole message (BINARYMIME is not offered), queue nothing,
        # and the session goes on.
        with Relay() as r:
            c = r.client()
            c.cmd("EHLO attacker.example")
            for body in ("Subject: outer\r\n\r\nhello\r\n\x00.\r\n" + SMUGGLED[:-5],
                         "Subject: nul\r\n\r\nab\x00cd\r\n"):
                self.assertEqual(c.cmd("MAIL FROM:<a@gemeente.nl>")[0], 250)
                self.assertEqual(c.cmd("RCPT TO:<b@partner.nl>")[0], 250)
                self.assertEqual(c.cmd("DATA")[0], 354)
                c.send(body + "\r\n.\r\n")
                code, lines = c.reply()
                self.assertEqual(code, 550, lines)
                self.assertIn("5.6.0", lines[0])
                self.assertIn("NUL", lines[0])
            self.assertEqual(c.cmd("RSET")[0], 250)  # the session is still usable
            self.assertEqual(c.cmd("QUIT")[0], 221)
            self.assertEqual(r.queue(), [])
            self.assertEqual([e for e in r.received_events() if e["event"] == "received"], [])
            self.assertIn("NUL byte in DATA", r.serve_log())

    def test_dot_stuffing_is_undone_exactly(self):
        with Relay() as r:
            c = r.client()
            c.cmd("EHLO client")
            c.cmd("MAIL FROM:<a@gemeente.nl>")
            c.cmd("RCPT TO:<b@partner.nl>")
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send("Subject: dots\r\n\r\n..\r\n...two\r\n.\r\n")
            code, lines = c.reply()
            self.assertEqual(code, 250)
            q = r.queue()
            self.assertEqual(len(q), 1)
            # The stored message keeps ".", "..two" and Received: is prepended.
            size_without_received = len("Subject: dots\r\n\r\n.\r\n..two\r\n")
            self.assertGreater(q[0]["size"], size_without_received)
            self.assertEqual(c.cmd("QUIT")[0], 221)


if __name__ == "__main__":
    unittest.main()
