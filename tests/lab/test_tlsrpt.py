#!/usr/bin/python3
"""TLSRPT (RFC 8460) end to end: signed zones publish `_smtp._tls` records;
chainmail counts its real TLS sessions (DANE, MTA-STS, a DANE mismatch) and
after each report period (shortened with CHAINMAIL_TLSRPT_PERIOD) sends the
gzipped JSON report by mail through its own queue to a local SMTP sink, and by
HTTPS POST to a local server with a certificate from the lab's test CA. Its own
report mail is never counted."""
import email
import email.policy
import gzip
import http.server
import json
import os
import ssl
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mta_sts_lab import StsLabCase, policy  # noqa: E402
from outbound_lab import certs_sh, free_port  # noqa: E402

ZONE = "secure.lab"
PERIOD = 6  # seconds: the report "day" of this test
WAIT = 40
MAILTO = f"tlsrpt@org.{ZONE}"  # the lab's sink receives mail for org.secure.lab


class PostServer:
    """An HTTPS server that keeps every POST (path, content type, body)."""

    def __init__(self, ip, port, cert, key):
        posts = self.posts = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                posts.append((self.path, self.headers.get("Content-Type"), self.rfile.read(n)))
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = http.server.ThreadingHTTPServer((ip, port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def report_of(msg_data):
    """(headers, report JSON) of a report mail, from its gzip attachment."""
    m = email.message_from_string(msg_data, policy=email.policy.default)
    parts = [p for p in m.walk() if p.get_content_type() == "application/tlsrpt+gzip"]
    assert len(parts) == 1, msg_data[:2000]
    return m, json.loads(gzip.decompress(parts[0].get_payload(decode=True)))


def check_schema(test, r):
    """RFC 8460 §4.4: the required members and their types."""
    for k in ("organization-name", "contact-info", "report-id"):
        test.assertIsInstance(r[k], str)
    for k in ("start-datetime", "end-datetime"):
        test.assertRegex(r["date-range"][k], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    test.assertIsInstance(r["policies"], list)
    for p in r["policies"]:
        test.assertIn(p["policy"]["policy-type"], ("tlsa", "sts", "no-policy-found"))
        test.assertIsInstance(p["policy"]["policy-domain"], str)
        for k in ("total-successful-session-count", "total-failure-session-count"):
            test.assertIsInstance(p["summary"][k], int)
        for f in p.get("failure-details", []):
            test.assertIsInstance(f["result-type"], str)
            test.assertIsInstance(f["failed-session-count"], int)


class Tlsrpt(StsLabCase, unittest.TestCase):
    @classmethod
    def setup_lab(cls, lab):
        os.environ["CHAINMAIL_TLSRPT_PERIOD"] = str(PERIOD)
        cls.policy_server(lab)
        lab.extra_config["tlsrpt"] = {"enabled": True, "organization": "Gemeente Lab",
                                      "contact": f"postmaster@org.{ZONE}"}
        # DANE: delivered under a tlsa policy.
        [(host, ip)] = lab.mx_domain(ZONE, "dane", [(10, "mx")])
        chain, key, leaf = lab.cert("dane", ["unrelated.example"], kind="selfsigned")
        lab.tlsa(ZONE, host, "3 1 1", certs_sh("tlsa311", leaf)[0])
        lab.receiver(ip, host, cert=chain, key=key)
        lab.partner(name="dane", domains=[f"dane.{ZONE}"], tls="dane-only")
        lab.record(ZONE, f'_smtp._tls.dane IN TXT "v=TLSRPTv1; rua=mailto:{MAILTO}"')
        # DANE mismatch: the peer's certificate is not the published one.
        [(host, ip)] = lab.mx_domain(ZONE, "mismatch", [(10, "mx")])
        chain, key, _ = lab.cert("mismatch", [host], kind="selfsigned")
        lab.tlsa(ZONE, host, "3 1 1", "00" * 32)
        lab.receiver(ip, host, cert=chain, key=key)
        lab.partner(name="mismatch", domains=[f"mismatch.{ZONE}"], tls="dane-only",
                    on_tls_failure="defer")
        lab.record(ZONE, f'_smtp._tls.mismatch IN TXT "v=TLSRPTv1; rua=mailto:{MAILTO};"')
        # MTA-STS enforce, its report POSTed over HTTPS.
        [(host, ip)] = lab.mx_domain(ZONE, "sts", [(10, "mx")])
        chain, key, _ = lab.cert("sts", [host])
        lab.receiver(ip, host, cert=chain, key=key)
        cls.sts_domain(lab, ZONE, "sts", body=policy(mode="enforce", mx=[host], max_age=86400))
        lab.partner(name="sts", domains=[f"sts.{ZONE}"], tls="may", mta_sts=True)
        post_ip = lab.addr()
        cls.post_port = free_port(post_ip)
        lab.record(ZONE, f"reports IN A {post_ip}")
        chain, key, _ = lab.cert("reports", [f"reports.{ZONE}"])
        cls.posts = PostServer(post_ip, cls.post_port, chain, key)
        lab.record(ZONE, f'_smtp._tls.sts IN TXT "v=TLSRPTv1; '
                         f'rua=https://reports.{ZONE}:{cls.post_port}/v1/tlsrpt"')
        # MTA-STS enforce, but the MX's certificate (from the trusted CA) has
        # expired: certificate-expired (§4.3.2.1).
        [(host, ip)] = lab.mx_domain(ZONE, "expired", [(10, "mx")])
        chain, key, _ = lab.cert("expired", [host], kind="expired-server")
        lab.receiver(ip, host, cert=chain, key=key)
        cls.sts_domain(lab, ZONE, "expired", body=policy(mode="enforce", mx=[host], max_age=86400))
        lab.partner(name="expired", domains=[f"expired.{ZONE}"], tls="may", mta_sts=True,
                    on_tls_failure="defer")
        lab.record(ZONE, f'_smtp._tls.expired IN TXT "v=TLSRPTv1; rua=mailto:{MAILTO}"')
        # A published MTA-STS policy that cannot be fetched (HTTP 404): the mail
        # goes as without MTA-STS, the report says sts-policy-fetch-error (§4.3.2.3).
        [(host, ip)] = lab.mx_domain(ZONE, "nofetch", [(10, "mx")])
        chain, key, _ = lab.cert("nofetch", [host])
        lab.receiver(ip, host, cert=chain, key=key)
        cls.sts_domain(lab, ZONE, "nofetch", status=404, body="not here")
        lab.partner(name="nofetch", domains=[f"nofetch.{ZONE}"], tls="may", mta_sts=True)
        lab.record(ZONE, f'_smtp._tls.nofetch IN TXT "v=TLSRPTv1; rua=mailto:{MAILTO}"')
        # The sink's domain asks for reports too: were our report mail counted,
        # it would get one.
        lab.record(ZONE, f'_smtp._tls.org IN TXT "v=TLSRPTv1; rua=mailto:{MAILTO}"')
        cls.sts.start()

    @classmethod
    def tearDownClass(cls):
        cls.posts.stop()
        super().tearDownClass()

    def reports(self, domain):
        out = []
        for m in self.lab.sink.messages():
            if f"TLS-Report-Domain: {domain}" in m["data"]:
                out.append((m, *report_of(m["data"])))
        return out

    def wait_report(self, domain, want):
        """The first report mail for `domain` whose JSON satisfies `want`."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for m, headers, r in self.reports(domain):
                if want(r):
                    return m, headers, r
            time.sleep(0.2)
        self.fail(f"no matching report for {domain} within {WAIT}s; got "
                  f"{[r for _, _, r in self.reports(domain)]}\n{self.lab.serve_log(60)}")

    def test_1_reports_by_mail_through_our_queue(self):
        rcpt = f"a{time.monotonic_ns()}@dane.{ZONE}"
        self.lab.send(rcpt)
        self.assertEqual(self.lab.wait_log(rcpt, {"delivered"})["tls"]["auth"], "dane-ee")
        bad = f"b{time.monotonic_ns()}@mismatch.{ZONE}"
        self.lab.send(bad)
        self.lab.wait_log(bad, {"deferred"})

        def tlsa_ok(r):
            return any(p["policy"]["policy-type"] == "tlsa" and
                       p["summary"]["total-successful-session-count"] >= 1
                       for p in r["policies"])
        m, headers, r = self.wait_report(f"dane.{ZONE}", tlsa_ok)
        check_schema(self, r)
        self.assertEqual(m["mail_from"], f"postmaster@org.{ZONE}")
        self.assertEqual(m["rcpt_tos"], [MAILTO])
        self.assertEqual(headers["TLS-Report-Submitter"], f"relay.lab")
        self.assertEqual(headers.get_content_type(), "multipart/report")
        self.assertEqual(headers.get_param("report-type"), "tlsrpt")
        self.assertIn(f"Report Domain: dane.{ZONE} Submitter: relay.lab Report-ID: <",
                      " ".join(headers["Subject"].split()))
        self.assertEqual(r["organization-name"], "Gemeente Lab")
        self.assertEqual(r["contact-info"], f"postmaster@org.{ZONE}")
        p = r["policies"][0]
        self.assertEqual(p["policy"]["policy-domain"], f"dane.{ZONE}")
        self.assertRegex(p["policy"]["policy-string"][0], r"^3 1 1 [0-9A-F]{64}$")
        self.assertEqual(p["summary"]["total-failure-session-count"], 0)

        def mismatch(r):
            return any(f["result-type"] == "validation-failure" and
                       f.get("failure-reason-code") == "tlsa-mismatch"
                       for p in r["policies"] for f in p.get("failure-details", []))
        _, _, r = self.wait_report(f"mismatch.{ZONE}", mismatch)
        check_schema(self, r)
        p = r["policies"][0]
        self.assertEqual(p["policy"]["policy-type"], "tlsa")
        self.assertGreaterEqual(p["summary"]["total-failure-session-count"], 1)
        self.assertEqual(p["failure-details"][0]["receiving-mx-hostname"],
                         f"mx.mismatch.{ZONE}")

        # Our report mail went to org.secure.lab, which asks for reports too:
        # two more periods and still no report about it, and no count of it.
        time.sleep(2 * PERIOD + 2)
        self.assertEqual(self.reports(f"org.{ZONE}"), [])
        with open(os.path.join(self.lab.spool, "tlsrpt", "counts.json")) as f:
            self.assertNotIn(f"org.{ZONE}", f.read())

    def test_3_expired_certificate_and_unfetchable_policy(self):
        bad = f"d{time.monotonic_ns()}@expired.{ZONE}"
        self.lab.send(bad)
        e = self.lab.wait_log(bad, {"deferred"})
        self.assertIn("expired", e["reply"], e)
        ok = f"e{time.monotonic_ns()}@nofetch.{ZONE}"
        self.lab.send(ok)
        self.lab.wait_log(ok, {"delivered"})

        def failure(result):
            def want(r):
                return any(f["result-type"] == result
                           for p in r["policies"] for f in p.get("failure-details", []))
            return want
        _, _, r = self.wait_report(f"expired.{ZONE}", failure("certificate-expired"))
        check_schema(self, r)
        p = r["policies"][0]
        self.assertEqual(p["policy"]["policy-type"], "sts")
        self.assertEqual(p["failure-details"][0]["receiving-mx-hostname"], f"mx.expired.{ZONE}")
        self.assertEqual(p["summary"]["total-successful-session-count"], 0)

        _, _, r = self.wait_report(f"nofetch.{ZONE}", failure("sts-policy-fetch-error"))
        check_schema(self, r)
        p = r["policies"][0]
        self.assertEqual(p["policy"]["policy-type"], "sts")
        # §4.4: no policy-string where no policy could be fetched.
        self.assertNotIn("policy-string", p["policy"])
        self.assertEqual(p["summary"]["total-failure-session-count"], 1)
        self.assertEqual(p["summary"]["total-successful-session-count"], 0)

    def test_2_reports_by_https_post(self):
        rcpt = f"c{time.monotonic_ns()}@sts.{ZONE}"
        self.lab.send(rcpt)
        self.assertEqual(self.lab.wait_log(rcpt, {"delivered"})["tls"]["auth"], "mta-sts")
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not self.posts.posts:
            time.sleep(0.2)
        self.assertTrue(self.posts.posts, "no report was POSTed\n" + self.lab.serve_log(60))
        path, ctype, body = self.posts.posts[0]
        self.assertEqual(path, "/v1/tlsrpt")
        self.assertEqual(ctype, "application/tlsrpt+gzip")
        r = json.loads(gzip.decompress(body))
        check_schema(self, r)
        p = r["policies"][0]
        self.assertEqual(p["policy"]["policy-type"], "sts")
        self.assertEqual(p["policy"]["policy-domain"], f"sts.{ZONE}")
        self.assertIn("mode: enforce", p["policy"]["policy-string"])
        self.assertEqual(p["policy"]["mx-host"], [f"mx.sts.{ZONE}"])
        self.assertEqual(p["summary"]["total-successful-session-count"], 1)


if __name__ == "__main__":
    unittest.main()
