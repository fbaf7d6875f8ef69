"""Non-delivery reports, delay notices and DSN end to end (README
"Non-delivery reports"; RFC 3461, RFC 3464, RFC 6522): a real `chainmail
serve` refuses a partner that cannot receive securely, and the report travels
back, as a queued message from <>, to the sender's own mail server, where it
is parsed with Python's email package.
"""
import email.utils
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndr_lab import (HOSTNAME, SENDER_DOMAIN, WAIT_S, NdrLab, actions,  # noqa: E402
                     compare_example, flat, status_blocks)

PARTNER = "zorginstelling-noord"
CONTACT = "Servicedesk ICT zorginstelling-noord, 050 123 45 67"
SECURE = "zorg-noord.test"  # tls: encrypt, its server offers no STARTTLS
SECURE2 = "zorg-zuid.test"  # a second partner like SECURE, on its own server
HOLD = "vast.test"          # tls: encrypt, no STARTTLS, on_tls_failure: hold
GOOD = "goed.test"          # tls: may, accepts everything
GOOD_DSN = "dsn.test"       # tls: may, accepts everything and offers DSN
SLOW = "traag.test"         # answers 451 to every RCPT
NULL_SENDER = ("", "<>")    # as aiosmtpd records MAIL FROM:<>
LIFETIME_S = 8              # queue.max_lifetime: the slow messages expire
GRACE_S = 1.5               # after a control report: time for a wrong one to show up


def parts(report):
    return [p.get_content_type() for p in report.iter_parts()]


def human_text(report):
    return flat(next(report.iter_parts()).get_content())


def final_recipients(report):
    out = []
    for r in status_blocks(report)[1]:
        kind, _, addr = r["final-recipient"].partition(";")
        out.append(addr.strip())
    return out


class NdrReports(unittest.TestCase):
    lab = None

    @classmethod
    def setUpClass(cls):
        lab = cls.lab = NdrLab("ndr", delay_warning_after="2s",
                               max_lifetime=f"{LIFETIME_S}s")
        try:
            cls.secure = lab.receiver("mx." + SECURE)  # no certificate: no STARTTLS
            cls.secure2 = lab.receiver("mx." + SECURE2)
            cls.hold = lab.receiver("mx." + HOLD)
            cls.good = lab.receiver("mx." + GOOD)
            cls.good_dsn = lab.receiver("mx." + GOOD_DSN, extra=["--dsn"])
            cls.slow = lab.tempfail_server()
            lab.partner(name=PARTNER, domains=[SECURE], tls="encrypt",
                        on_tls_failure="bounce", contact=CONTACT, hop=cls.secure)
            lab.partner(name="zorginstelling-zuid", domains=[SECURE2], tls="encrypt",
                        on_tls_failure="bounce", hop=cls.secure2)
            lab.partner(name="vasthouden", domains=[HOLD], tls="encrypt",
                        on_tls_failure="hold", hop=cls.hold)
            lab.partner(name="goed", domains=[GOOD], tls="may", hop=cls.good)
            lab.partner(name="goed-dsn", domains=[GOOD_DSN], tls="may", hop=cls.good_dsn)
            lab.partner(name="traag", domains=[SLOW], tls="may", on_tls_failure="defer",
                        hop=cls.slow)
            lab.start()
            # The delay cases need time to ripen: start them first.
            cls.delay_mid = lab.send(f"d.delay@{SENDER_DOMAIN}", [
                (f"slow1@{SLOW}", ["NOTIFY=DELAY,FAILURE"])])
            cls.nodelay_mid = lab.send(f"d.nodelay@{SENDER_DOMAIN}", [
                (f"slow2@{SLOW}", ["NOTIFY=FAILURE"])])
        except BaseException:
            lab.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.lab.stop()

    def assertNothingSentTo(self, recv):
        """Not one byte of any message reached the partner: no MAIL at all."""
        self.assertNotIn("MAIL", recv.commands(), recv.state()["events"])
        self.assertEqual(recv.messages(), [])

    def control_report(self, sender):
        """A failing message with default NOTIFY from `sender`, and its
        report: once it is back, a report queued before it would be too."""
        mid = self.lab.send(sender, [f"control@{SECURE}"])
        self.lab.wait_report(mid, "failed")
        time.sleep(GRACE_S)

    # --- the main case ------------------------------------------------------

    def test_encrypt_partner_without_starttls(self):
        lab = self.lab
        sender, rcpt = f"a.jansen@{SENDER_DOMAIN}", f"b.devries@{SECURE}"
        t0 = time.monotonic()
        mid = lab.send(sender, [rcpt], subject="Overdracht client 1234",
                       body="Vertrouwelijk: dossier 1234.\r\n")
        rec, ndr = lab.wait_report(mid)
        self.assertLess(time.monotonic() - t0, 15)
        self.assertNothingSentTo(self.secure)
        self.assertIn("EHLO", self.secure.commands())  # it was asked, and said no STARTTLS

        # The envelope: from <> (RFC 5321 §4.5.5) to the original sender.
        self.assertIn(rec["mail_from"], NULL_SENDER)
        self.assertEqual(rec["rcpt_tos"], [sender])

        # RFC 6522 multipart/report, RFC 3834 Auto-Submitted, threading.
        self.assertEqual(ndr.get_content_type(), "multipart/report")
        self.assertEqual(ndr.get_param("report-type"), "delivery-status")
        self.assertEqual(ndr["Auto-Submitted"], "auto-replied")
        self.assertEqual(ndr["In-Reply-To"], mid)
        self.assertIn(sender, ndr["To"])
        self.assertIn(HOSTNAME, ndr["From"])
        self.assertEqual(parts(ndr), ["text/plain", "message/delivery-status",
                                      "text/rfc822-headers"])

        # The words for a person: Dutch first, then English, each naming the
        # recipient and the partner and saying that nothing left unprotected.
        text = human_text(ndr)
        nl = re.search(r"[Nn]iets van uw bericht.{0,40}onbeveiligd", text)
        en = re.search(r"[Nn]othing of your message.{0,40}unprotected", text)
        self.assertTrue(nl, text)
        self.assertTrue(en, text)
        self.assertLess(nl.start(), en.start(), "nl must come before en")
        self.assertIn(rcpt, text[:en.start()])
        self.assertIn(rcpt, text[nl.end():])
        self.assertIn(PARTNER, text)
        self.assertIn(CONTACT, text)
        self.assertIn("encrypt", text)  # the protection that was required

        # The machine-readable part (RFC 3464 §2.2, §2.3).
        msg_f, [r] = status_blocks(ndr)
        self.assertEqual(msg_f["reporting-mta"].replace(" ", ""), "dns;" + HOSTNAME)
        self.assertIsNotNone(email.utils.parsedate_to_datetime(msg_f["arrival-date"]))
        self.assertEqual(r["final-recipient"].replace(" ", "").lower(), "rfc822;" + rcpt)
        self.assertEqual(r["action"], "failed")
        self.assertEqual(r["status"], "5.7.10")
        self.assertIn(self.secure.ip, r["remote-mta"])
        self.assertTrue(r["diagnostic-code"].strip(), r)
        self.assertIsNotNone(email.utils.parsedate_to_datetime(r["last-attempt-date"]))
        self.assertNotIn("will-retry-until", r)

        # The original headers, not the body (RET=HDRS is the default).
        headers = ndr.get_payload()[2].get_content()
        self.assertIn(mid, headers)
        self.assertIn("Overdracht client 1234", headers)
        self.assertNotIn("dossier 1234", flat(ndr.as_string()))

        # The log: bounced, with the report's queue id, then that report's ndr_sent.
        b = lab.wait_log(rcpt, "bounced")
        self.assertEqual(b["dsn"], "5.7.10", b)
        self.assertEqual(b["policy"], "encrypt", b)
        self.assertTrue(b.get("ndr_queue_id"), b)
        sent = lab.wait_for("the report's ndr_sent line", lambda: [
            e for e in lab.entries(event="ndr_sent") if e.get("queue_id") == b["ndr_queue_id"]])
        self.assertEqual(sent[0]["rcpt"], sender, sent)
        self.assertEqual(sent[0]["from"], "", sent)
        self.assertEqual(len(lab.reports(mid)), 1)
        problem = compare_example("ndr-encrypt-no-starttls.eml", rec["data"])
        self.assertIsNone(problem, problem)

    # --- one report per message, only the failed ---------------------------

    def test_a_message_without_message_id_is_named_by_the_one_we_added(self):
        # RFC 5322 §3.6.4: added at acceptance; the log and the report name it.
        lab = self.lab
        sender, rcpt = f"no.id@{SENDER_DOMAIN}", f"no.id@{SECURE}"
        lab.send(sender, [rcpt], subject="Zonder Message-ID", with_id=False)
        received = lab.wait_for("the received line", lambda: next(
            (e for e in lab.entries(event="received") if rcpt in e.get("rcpts", [])), None))
        mid = received.get("message_id")
        self.assertEqual(mid, f"<{received['queue_id']}@{HOSTNAME}>")
        rec, ndr = lab.wait_report(mid, "failed")
        self.assertEqual(ndr["In-Reply-To"], mid)
        self.assertEqual(lab.wait_log(rcpt, "bounced")["message_id"], mid)

    def test_partial_failure_one_report_for_the_failed_only(self):
        lab = self.lab
        sender = f"p.partial@{SENDER_DOMAIN}"
        bad = [f"x1@{SECURE}", f"x2@{SECURE}"]
        ok = f"ok@{GOOD}"
        mid = lab.send(sender, [bad[0], ok, bad[1]])
        lab.wait_report(mid, "failed")
        lab.wait_log(ok, "delivered")
        for r in bad:
            lab.wait_log(r, "bounced")
        time.sleep(GRACE_S)
        reports = lab.reports(mid)
        self.assertEqual(len(reports), 1, [m["data"] for m, _ in reports])
        ndr = reports[0][1]
        self.assertEqual(sorted(final_recipients(ndr)), sorted(bad))
        self.assertEqual([r["action"] for r in status_blocks(ndr)[1]], ["failed", "failed"])
        text = human_text(ndr)
        for r in bad:
            self.assertIn(r, text)
        self.assertNotIn(ok, text)
        got = [m for m in self.good.messages() if ok in m["rcpt_tos"]]
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0]["rcpt_tos"], [ok])
        self.assertEqual(len(lab.entries(ok, "delivered")), 1)

    def test_partial_failure_across_two_partners_one_report_per_attempt(self):
        """Two partners refuse, each in its own delivery attempt: one report
        per message and attempt, each listing exactly the recipients that
        failed in it, never the delivered one (see README: reports)."""
        lab = self.lab
        sender = f"p.twopartners@{SENDER_DOMAIN}"
        bad = [f"y1@{SECURE}", f"y2@{SECURE2}"]
        ok = f"ok2@{GOOD}"
        mid = lab.send(sender, [bad[0], ok, bad[1]])
        lab.wait_report(mid, "failed")
        lab.wait_log(ok, "delivered")
        for r in bad:
            lab.wait_log(r, "bounced")
        time.sleep(GRACE_S)
        reports = lab.reports(mid)
        listed = [final_recipients(r) for _, r in reports]
        self.assertEqual(len(reports), 2, f"reports listing {listed}")
        self.assertEqual(sorted(sum(listed, [])), sorted(bad))
        self.assertTrue(all(len(x) == 1 for x in listed), listed)
        self.assertNothingSentTo(self.secure2)

    def test_hold_sends_a_delay_notice(self):
        """on_tls_failure: hold keeps the message, held, and a delay notice
        tells the sender; nothing is sent to the partner."""
        lab = self.lab
        sender, rcpt = f"h.hold@{SENDER_DOMAIN}", f"dossier@{HOLD}"
        mid = lab.send(sender, [rcpt], subject="Vasthouden")
        _, ndr = lab.wait_report(mid, "delayed")
        msg_f, [r] = status_blocks(ndr)
        self.assertEqual(r["status"], "4.7.10")
        self.assertIn("will-retry-until", r)
        self.assertIn(rcpt, human_text(ndr))
        self.assertNothingSentTo(self.hold)
        [q] = [m for m in lab.queue() if m["sender"] == sender]
        self.assertTrue(q["held"], q)
        self.assertEqual([x["state"] for x in q["recipients"]], ["held"], q)
        self.assertEqual([e["event"] for e in lab.entries(rcpt)], ["held"])
        time.sleep(GRACE_S)
        self.assertEqual([actions(r) for _, r in lab.reports(mid)], [["delayed"]])

    # --- who gets no report -------------------------------------------------

    def test_notify_never_gets_no_report(self):
        lab = self.lab
        sender, rcpt = f"n.never@{SENDER_DOMAIN}", f"never@{SECURE}"
        mid = lab.send(sender, [(rcpt, ["NOTIFY=NEVER"])])
        b = lab.wait_log(rcpt, "bounced")
        self.assertFalse(b.get("ndr_queue_id"), b)
        self.control_report(sender)
        self.assertEqual(lab.reports(mid), [])

    def test_notify_never_on_one_recipient_of_two(self):
        lab = self.lab
        sender = f"n.mixed@{SENDER_DOMAIN}"
        quiet, loud = f"quiet@{SECURE}", f"loud@{SECURE}"
        mid = lab.send(sender, [(quiet, ["NOTIFY=NEVER"]), loud])
        lab.wait_report(mid, "failed")
        lab.wait_log(quiet, "bounced")
        time.sleep(GRACE_S)
        reports = lab.reports(mid)
        self.assertEqual(len(reports), 1)
        self.assertEqual(final_recipients(reports[0][1]), [loud])

    def test_null_sender_gets_no_report(self):
        lab = self.lab
        rcpt = f"null@{SECURE}"
        mid = lab.send("", [rcpt])
        b = lab.wait_log(rcpt, "bounced")
        self.assertEqual(b["from"], "", b)
        self.assertFalse(b.get("ndr_queue_id"), b)
        self.control_report(f"n.null@{SENDER_DOMAIN}")
        self.assertEqual(lab.reports(mid), [])
        self.assertEqual([m for m in lab.sink.messages() if m["rcpt_tos"] in ([""], ["<>"])], [])
        self.assertNothingSentTo(self.secure)

    # --- RET=FULL, ENVID, ORCPT ---------------------------------------------

    def test_ret_full_envid_orcpt(self):
        lab = self.lab
        sender, rcpt = f"r.full@{SENDER_DOMAIN}", f"real@{SECURE}"
        orcpt = f"alias@{SECURE}"
        mid = lab.send(sender, [(rcpt, ["NOTIFY=FAILURE", f"ORCPT=rfc822;{orcpt}"])],
                       mail_options=["RET=FULL", "ENVID=dossier-4711"],
                       body="Bijlage: verslag 4711, regel een.\r\n")
        _, ndr = lab.wait_report(mid, "failed")
        self.assertEqual(parts(ndr), ["text/plain", "message/delivery-status",
                                      "message/rfc822"])
        original = ndr.get_payload()[2].get_payload()[0]
        self.assertEqual(original["Message-ID"], mid)
        self.assertIn("Bijlage: verslag 4711, regel een.", original.get_content())
        msg_f, [r] = status_blocks(ndr)
        self.assertEqual(msg_f.get("original-envelope-id", "").strip(), "dossier-4711", msg_f)
        self.assertEqual(r.get("original-recipient", "").replace(" ", "").lower(),
                         "rfc822;" + orcpt, r)
        self.assertEqual(r["final-recipient"].replace(" ", "").lower(), "rfc822;" + rcpt)

    # --- delay notices ------------------------------------------------------

    def test_delay_notice_once_with_notify_delay(self):
        lab = self.lab
        rcpt = f"slow1@{SLOW}"
        _, ndr = lab.wait_report(self.delay_mid, "delayed")
        self.assertEqual(ndr.get_content_type(), "multipart/report")
        self.assertEqual(parts(ndr)[-1], "text/rfc822-headers")  # headers only (RFC 3461 §4.3)
        msg_f, [r] = status_blocks(ndr)
        self.assertEqual(r["action"], "delayed")
        self.assertRegex(r["status"], r"^4\.\d+\.\d+$")
        self.assertIn("451", r.get("diagnostic-code", ""), r)
        until = email.utils.parsedate_to_datetime(r["will-retry-until"])
        arrival = email.utils.parsedate_to_datetime(msg_f["arrival-date"])
        self.assertAlmostEqual((until - arrival).total_seconds(), LIFETIME_S, delta=1.5)
        self.assertIn(rcpt, human_text(ndr))
        self.assertFalse(lab.entries(rcpt, "bounced"))
        # Still one notice, however often it is retried, until it expires.
        lab.wait_log(rcpt, "expired")
        self.assertGreater(len(lab.entries(rcpt, "deferred")), 3)
        lab.wait_report(self.delay_mid, "failed")
        self.assertEqual(sorted(a for _, r in lab.reports(self.delay_mid) for a in actions(r)),
                         ["delayed", "failed"])

    def test_no_delay_notice_with_notify_failure_only(self):
        lab = self.lab
        rcpt = f"slow2@{SLOW}"
        # Past delay_warning_after (2s) and attempted again after that; the
        # other message, sent at the same moment, has its notice by then.
        lab.wait_for("an attempt 3.5s after arrival", lambda: [
            e for e in lab.entries(rcpt, "deferred") if e.get("delay_s", 0) >= 3.5])
        lab.wait_report(self.delay_mid, "delayed")
        time.sleep(GRACE_S)
        # Its failure report comes once it expires (test_expired_after_max_lifetime).
        self.assertNotIn("delayed", [a for _, r in lab.reports(self.nodelay_mid)
                                     for a in actions(r)])

    def test_expired_after_max_lifetime(self):
        """A recipient deferred until max_lifetime runs out fails with 5.4.7
        (RFC 3463) and one report; the log says expired, with its id."""
        lab = self.lab
        rcpt = f"slow2@{SLOW}"
        e = lab.wait_log(rcpt, "expired", timeout=LIFETIME_S + WAIT_S)
        self.assertEqual(e["dsn"], "5.4.7", e)
        self.assertGreaterEqual(e["delay_s"], LIFETIME_S, e)
        self.assertTrue(e.get("ndr_queue_id"), e)
        _, ndr = lab.wait_report(self.nodelay_mid, "failed")
        msg_f, [r] = status_blocks(ndr)
        self.assertEqual(r["action"], "failed")
        self.assertEqual(r["status"], "5.4.7")
        self.assertIn("451", r.get("diagnostic-code", ""), r)  # why it kept failing
        self.assertEqual(len(lab.reports(self.nodelay_mid)), 1)
        self.assertEqual(lab.entries(rcpt, "bounced"), [])
        self.assertEqual(self.slow.commands.count("DATA"), 0)

    # --- success ------------------------------------------------------------

    def test_notify_success(self):
        lab = self.lab
        sender, rcpt = f"s.success@{SENDER_DOMAIN}", f"s@{GOOD}"
        mid = lab.send(sender, [(rcpt, ["NOTIFY=SUCCESS"])])
        rec, ndr = lab.wait_report(mid)
        self.assertIn(rec["mail_from"], NULL_SENDER)
        msg_f, [r] = status_blocks(ndr)
        # The next hop offers no DSN: "relayed" (RFC 3461 §6.2.1); "delivered" is fine too.
        self.assertIn(r["action"], ("delivered", "relayed"))
        self.assertRegex(r["status"], r"^2\.\d+\.\d+$")
        self.assertEqual(r["final-recipient"].replace(" ", "").lower(), "rfc822;" + rcpt)
        self.assertEqual(ndr["In-Reply-To"], mid)
        got = [m for m in self.good.messages() if rcpt in m["rcpt_tos"]]
        self.assertEqual(len(got), 1, got)
        self.assertEqual(len(lab.entries(rcpt, "delivered")), 1)

    def test_notify_success_passed_on_to_a_dsn_server(self):
        """A next hop that offers DSN gets NOTIFY, ORCPT and ENVID (RFC 3461
        §5.2.1) and reports success itself: the relay did not deliver to the
        mailbox, so it sends no "delivered" report (RFC 3464 §2.3.3), as
        Postfix does; "relayed" is only for a next hop without DSN."""
        lab = self.lab
        sender, rcpt = f"s.passon@{SENDER_DOMAIN}", f"s@{GOOD_DSN}"
        mid = lab.send(sender, [(rcpt, ["NOTIFY=SUCCESS,FAILURE", f"ORCPT=rfc822;{rcpt}"])],
                       mail_options=["ENVID=passon-1"])
        lab.wait_log(rcpt, "delivered")
        [got] = [m for m in self.good_dsn.messages() if rcpt in m["rcpt_tos"]]
        self.assertIn("ENVID=passon-1", got["mail_options"])
        [opts] = got["rcpt_options"]
        self.assertIn("NOTIFY=SUCCESS,FAILURE", opts)
        self.assertIn(f"ORCPT=rfc822;{rcpt}", opts)
        self.control_report(sender)
        self.assertEqual([actions(r) for _, r in lab.reports(mid)], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
