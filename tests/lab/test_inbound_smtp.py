"""Inbound SMTP, plain text: a message handed over is in the spool, limits and
relay rules answer as an operator expects, and early talkers are refused."""
import os
import signal
import smtplib
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inbound_lab import Relay  # noqa: E402

MSG = "From: a@gemeente.nl\r\nTo: b@ziekenhuis-west.nl\r\nMessage-ID: <t1@gemeente.nl>\r\n" \
      "Subject: test\r\n\r\nhello\r\n"


class InboundSmtp(unittest.TestCase):
    def test_smtplib_message_ends_up_in_the_spool_with_received_header(self):
        with Relay() as r:
            with smtplib.SMTP("127.0.0.1", r.port, timeout=10) as s:
                code, ehlo = s.ehlo("client.gemeente.nl")
                self.assertEqual(code, 250)
                for ext in (b"PIPELINING", b"SIZE", b"8BITMIME", b"ENHANCEDSTATUSCODES",
                            b"DSN", b"SMTPUTF8"):
                    self.assertIn(ext, ehlo)
                self.assertNotIn(b"STARTTLS", ehlo)  # no certificate configured
                self.assertNotIn(b"AUTH", ehlo)
                s.sendmail("a@gemeente.nl", ["b@ziekenhuis-west.nl", "c@ziekenhuis-west.nl"],
                           MSG)
                self.assertEqual(s.verify("x@y.nl")[0], 252)
                self.assertEqual(s.noop()[0], 250)
            q = r.queue()
            self.assertEqual(len(q), 1)
            self.assertEqual(q[0]["sender"], "a@gemeente.nl")
            self.assertEqual([x["address"] for x in q[0]["recipients"]],
                             ["b@ziekenhuis-west.nl", "c@ziekenhuis-west.nl"])
            shown = r.show(q[0]["id"])
            self.assertIn("client.gemeente.nl", shown)
            ev = [e for e in r.received_events() if e["event"] == "received"]
            self.assertEqual(len(ev), 1)
            self.assertEqual(ev[0]["queue_id"], q[0]["id"])
            self.assertEqual(ev[0]["message_id"], "<t1@gemeente.nl>")
            self.assertEqual(ev[0]["rcpts"], ["b@ziekenhuis-west.nl", "c@ziekenhuis-west.nl"])

    def test_a_message_without_message_id_gets_one_naming_us(self):
        # RFC 5322 §3.6.4; the log and later reports name the message by it.
        with Relay() as r:
            with smtplib.SMTP("127.0.0.1", r.port, timeout=10) as s:
                s.sendmail("a@gemeente.nl", ["b@partner.nl"],
                           "From: a@gemeente.nl\r\nSubject: no id\r\n\r\nhello\r\n")
                # Folded onto a second line, it is still there: none is added.
                s.sendmail("a@gemeente.nl", ["c@partner.nl"],
                           "Subject: folded\r\nMessage-ID:\r\n <f1@gemeente.nl>\r\n\r\nhi\r\n")
            by_rcpt = {q["recipients"][0]["address"]: q["id"] for q in r.queue()}
            ev = {e["rcpts"][0]: e.get("message_id") for e in r.received_events()
                  if e["event"] == "received"}
            qid = by_rcpt["b@partner.nl"]
            self.assertEqual(ev["b@partner.nl"], f"<{qid}@relay.test>")
            self.assertIn(f"Message-ID:   <{qid}@relay.test>", r.show(qid))
            self.assertEqual(ev["c@partner.nl"], "<f1@gemeente.nl>")

    def test_swaks_pipelined_happy_path(self):
        with Relay() as r:
            out = subprocess.run(["swaks", "--server", f"127.0.0.1:{r.port}", "--pipeline",
                                  "--from", "a@gemeente.nl", "--to", "b@partner.nl",
                                  "--helo", "swaks.gemeente.nl"],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            self.assertIn("250 2.0.0 Ok: queued as", out.stdout)
            self.assertEqual(len(r.queue()), 1)

    def test_relay_denied_for_a_client_outside_networks(self):
        with Relay(networks=("10.0.0.0/8", "::1/128")) as r:
            c = r.client()
            self.assertEqual(c.cmd("EHLO client")[0], 250)
            self.assertEqual(c.cmd("MAIL FROM:<a@gemeente.nl>")[0], 250)
            code, lines = c.cmd("RCPT TO:<b@partner.nl>")
            self.assertEqual(code, 554)
            self.assertIn("5.7.1", lines[0])
            code, _ = c.cmd("DATA")
            self.assertEqual(code, 554)  # no valid recipients
            c.close()
            self.assertEqual(r.queue(), [])

    def test_size_limit_at_mail_and_in_data(self):
        with Relay(limits="  max_message_size: 10KB\n") as r:
            c = r.client()
            _, ehlo = c.cmd("EHLO client")
            self.assertIn("250-SIZE 10240", ehlo)
            code, lines = c.cmd("MAIL FROM:<a@gemeente.nl> SIZE=20000")
            self.assertEqual(code, 552)
            self.assertIn("5.3.4", lines[0])
            # No SIZE given: the limit is enforced while reading DATA, to its end.
            self.assertEqual(c.cmd("MAIL FROM:<a@gemeente.nl>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<b@partner.nl>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(("x" * 998 + "\r\n") * 30)
            code, lines = c.cmd(".")
            self.assertEqual(code, 552)
            self.assertIn("5.3.4", lines[0])
            self.assertEqual(c.cmd("NOOP")[0], 250)  # the session goes on
            self.assertEqual(r.queue(), [])

    def test_recipient_limit_and_long_lines(self):
        with Relay(limits="  max_recipients: 2\n") as r:
            c = r.client()
            c.cmd("EHLO client")
            c.cmd("MAIL FROM:<a@gemeente.nl>")
            self.assertEqual(c.cmd("RCPT TO:<b1@partner.nl>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<b2@partner.nl>")[0], 250)
            code, lines = c.cmd("RCPT TO:<b3@partner.nl>")
            self.assertEqual((code, lines[0][4:9]), (452, "4.5.3"))
            code, lines = c.cmd("NOOP " + "x" * 600)
            self.assertEqual((code, lines[0][4:9]), (500, "5.5.2"))
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send("a" * 1200 + "\r\n")
            code, _ = c.cmd(".")
            self.assertEqual(code, 550)
            self.assertEqual(r.queue(), [])

    def test_dsn_parameters_are_stored_in_the_envelope(self):
        with Relay() as r:
            c = r.client()
            c.cmd("EHLO client")
            self.assertEqual(c.cmd("MAIL FROM:<a@gemeente.nl> RET=HDRS ENVID=env+2B42 "
                                   "BODY=8BITMIME")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<b@partner.nl> NOTIFY=SUCCESS,DELAY "
                                   "ORCPT=rfc822;b+40partner.nl")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<c@partner.nl> NOTIFY=NEVER")[0], 250)
            code, lines = c.cmd("RCPT TO:<d@partner.nl> NOTIFY=NEVER,DELAY")
            self.assertEqual(code, 501)
            self.assertEqual(c.cmd("DATA")[0], 354)
            self.assertEqual(c.cmd(MSG + ".")[0], 250)
            self.assertEqual(c.cmd("QUIT")[0], 221)
            q = r.queue()
            self.assertEqual(len(q), 1)
            shown = r.show(q[0]["id"])
            self.assertIn("RET=HDRS ENVID=env+42", shown)
            self.assertIn("8BITMIME", shown)
            self.assertIn("ORCPT:      rfc822;b+40partner.nl", shown)
            self.assertIn("NOTIFY:     SUCCESS,DELAY", shown)
            self.assertIn("NOTIFY:     NEVER", shown)

    def test_a_client_that_talks_before_the_greeting_is_refused(self):
        with Relay() as r:
            c = r.client(greet=False)
            c.send("EHLO early\r\n")
            code, lines = c.reply()
            self.assertEqual(code, 554)
            self.assertIn("5.5.1", lines[0])
            self.assertTrue(c.closed())

    def test_every_reply_has_an_enhanced_status_code_and_errors_are_bounded(self):
        with Relay(limits="  max_errors: 5\n") as r:  # 3 errors before EHLO, then 2
            c = r.client()
            for line in ("MAIL FROM:<a@b.nl>", "RCPT TO:<b@c.nl>", "DATA", "HELP", "RSET",
                         "VRFY x"):
                code, lines = c.cmd(line)
                self.assertRegex(lines[-1], r"^\d{3} [245]\.\d{1,3}\.\d{1,3} ", line)
            c.cmd("EHLO x")
            for _ in range(2):
                self.assertEqual(c.cmd("BOGUS")[0], 500)
            code, lines = c.reply()
            self.assertEqual(code, 421)
            self.assertTrue(c.closed())

    def test_idle_client_times_out_with_421(self):
        with Relay(limits="  command_timeout: 1s\n") as r:
            c = r.client()
            t0 = time.monotonic()
            code, lines = c.reply()
            self.assertEqual(code, 421)
            self.assertIn("4.4.2", lines[0])
            self.assertLess(time.monotonic() - t0, 5)
            self.assertTrue(c.closed())

    def test_connections_over_the_limit_get_421_at_connect(self):
        with Relay(limits="  max_connections: 2\n") as r:
            # The start-up probe's connection holds a slot until the server
            # has seen it close (after the greeting delay); let it go first.
            time.sleep(1.0)
            a, b = r.client(), r.client()
            c = r.client(greet=False)
            code, lines = c.reply()
            self.assertEqual(code, 421)
            self.assertIn("4.7.0", lines[0])
            a.cmd("QUIT")
            a.close()
            time.sleep(0.2)
            d = r.client()  # a freed slot is usable again
            self.assertEqual(d.cmd("NOOP")[0], 250)
            b.close()

    def test_sighup_reloads_and_a_bad_file_keeps_the_old_configuration(self):
        with Relay() as r:
            with open(r.config) as f:
                good = f.read()
            with open(r.config, "w") as f:
                f.write(good.replace("hostname: relay.test", "hostname: reloaded.test"))
            r.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while "configuration reloaded" not in r.serve_log() and time.monotonic() < deadline:
                time.sleep(0.05)
            c = r.client(greet=False)
            code, lines = c.reply()
            self.assertIn("reloaded.test", lines[0])
            c.close()
            with open(r.config, "w") as f:
                f.write(good + "no_such_key: 1\n")
            r.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while "reload refused" not in r.serve_log() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertIn("reload refused", r.serve_log())
            c = r.client(greet=False)
            code, lines = c.reply()
            self.assertIn("reloaded.test", lines[0])
            c.close()

    def test_sigterm_lets_a_transaction_in_flight_finish(self):
        with Relay() as r:
            c = r.client()
            c.cmd("EHLO client")
            c.cmd("MAIL FROM:<a@gemeente.nl>")
            c.cmd("RCPT TO:<b@partner.nl>")
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send("Subject: half\r\n\r\n")
            r.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            self.assertIsNone(r.proc.poll())  # still waiting for us
            code, _ = c.cmd("rest\r\n.")
            self.assertEqual(code, 250)
            code, lines = c.reply()
            self.assertEqual(code, 421)  # then told the service is going away
            self.assertEqual(r.proc.wait(timeout=10), 0)


if __name__ == "__main__":
    unittest.main()
