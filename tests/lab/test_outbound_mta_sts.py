#!/usr/bin/python3
"""MTA-STS (RFC 8461) end to end: the TXT record in signed DNS, the policy
over real HTTPS from a test CA, the cache under the spool. Each way a policy
can be invalid or unreachable means no policy (never a failure of the
message); each way an MX or its certificate fails an enforce policy keeps
the message from that host; testing delivers and logs; the cache outlives a
failed refetch, and `mode: none` removes it."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mta_sts_lab import StsLabCase, policy  # noqa: E402

ANY = {"delivered", "deferred", "bounced"}
ZONE = "secure.lab"
# A policy that, were it applied, would refuse the shared MX below.
NOT_SHARED = policy(mx=["mx.elsewhere.example"])

# Each way a policy can be invalid or unreachable, with what the log says.
NO_POLICY = {
    "no-txt": ({"txt": None}, "publishes no MTA-STS policy"),
    "bad-txt": ({"txt": "v=STSv1; id=2026-01-01;"}, "id is not 1 to 32 letters and digits"),
    "two-txt": ({"txt": ["v=STSv1; id=a;", "v=STSv1; id=b;"]}, "2 v=STSv1 records"),
    "no-address": ({"address": False}, "could not be found"),
    "unreachable": ({"address": "UNUSED"}, "cannot connect to mta-sts.unreachable"),
    "http-404": ({"status": 404}, "answered HTTP 404"),
    "redirect": ({"status": 301, "location": "https://mta-sts.elsewhere.example/"},
                 "redirects are not followed"),
    "html": ({"ctype": "text/html"}, "is not text/plain"),
    "too-big": ({"body": NOT_SHARED + "pad: " + "x" * 70000 + "\r\n"}, "larger than 64 KB"),
    "invalid": ({"body": policy(mx=["mx.elsewhere.example"], max_age=31557601)},
                "max_age is above 31557600"),
    "no-mode": ({"body": "version: STSv1\r\nmx: mx.elsewhere.example\r\nmax_age: 600\r\n"},
                "mode is missing"),
    "untrusted": ({"cert_kind": "selfsigned"}, "TLS with mta-sts.untrusted"),
    "wrong-name": ({"cert_names": ["mta-sts.other.example"]}, "TLS with mta-sts.wrong-name"),
    "hangs": ({"hang": 8}, "timed out"),
}


class OutboundMtaSts(StsLabCase, unittest.TestCase):
    @classmethod
    def setup_lab(cls, lab):
        cls.policy_server(lab, fetch_timeout="5s")
        # One MX (valid certificate for its name) for every domain whose policy
        # must come to nothing: delivered as `may`, so tls.auth is "none".
        cls.shared_ip = lab.addr()
        lab.record(ZONE, f"mx.shared IN A {cls.shared_ip}")
        shared = f"mx.shared.{ZONE}"
        chain, key, _ = lab.cert("shared", [shared])
        cls.shared = lab.receiver(cls.shared_ip, shared, cert=chain, key=key)
        for label, (opts, _) in NO_POLICY.items():
            opts = dict(opts)
            lab.record(ZONE, f"{label} IN MX 10 {shared}.")
            if opts.get("address") == "UNUSED":
                opts["address"] = lab.addr()  # nothing listens there
            opts.setdefault("body", NOT_SHARED)
            cls.sts_domain(lab, ZONE, label, **opts)
            lab.partner(name=label, domains=[f"{label}.{ZONE}"], tls="may", mta_sts=True,
                        on_tls_failure="bounce")

        # A policy host that never answers, for a domain no other test uses.
        lab.record(ZONE, f"slow IN MX 10 {shared}.")
        cls.sts_domain(lab, ZONE, "slow", body=NOT_SHARED, hang=8)
        lab.partner(name="slow", domains=[f"slow.{ZONE}"], tls="may", mta_sts=True)

        # Enforce: each domain its own MX and receiver.
        cls.recv = {}

        def enforce(label, mx_label="mx", patterns=None, cert="server", cert_names=None,
                    starttls=True, mode="enforce", level="may"):
            [(host, ip)] = lab.mx_domain(ZONE, label, [(10, mx_label)])
            kw = {}
            if starttls:
                chain, key, _ = lab.cert(label, cert_names or [host], kind=cert)
                kw = {"cert": chain, "key": key}
            cls.recv[label] = (lab.receiver(ip, host, **kw), host)
            cls.sts_domain(lab, ZONE, label,
                           body=policy(mode=mode, mx=patterns or [host], max_age=86400))
            lab.partner(name=label, domains=[f"{label}.{ZONE}"], tls=level, mta_sts=True,
                        on_tls_failure="bounce")

        enforce("enforce-ok")
        enforce("enforce-encrypt", level="encrypt")
        enforce("enforce-wild", patterns=[f"*.enforce-wild.{ZONE}"])
        enforce("enforce-deep", mx_label="a.mx", patterns=[f"*.enforce-deep.{ZONE}"])
        enforce("enforce-unlisted", patterns=[f"mx.other.{ZONE}"])
        enforce("enforce-untrusted", cert="selfsigned")
        enforce("enforce-name", cert_names=[f"mx.other.{ZONE}"])
        enforce("enforce-nostarttls", starttls=False)
        enforce("testing", mode="testing", cert="selfsigned")
        enforce("cache")
        cls.sts.start()

    def send(self, label):
        rcpt = f"a{time.monotonic_ns()}@{label}.{ZONE}"
        self.lab.send(rcpt)
        return rcpt, self.lab.wait_log(rcpt, ANY)

    # --- a policy that comes to nothing: delivered as without MTA-STS ------

    def test_each_invalid_or_unreachable_policy_is_no_policy(self):
        for label, (_, words) in NO_POLICY.items():
            with self.subTest(label):
                rcpt, e = self.send(label)
                # The policy would have refused this MX: delivery proves it was not applied.
                self.assertDeliveredTo(self.shared, rcpt, e, "none")
                self.assertIn(f"mta-sts: {label}.{ZONE}", self.serve_log_all())
                if label != "no-txt":  # no record: nothing to say beyond the debug level
                    lines = [l for l in self.serve_log_all().splitlines()
                             if f"mta-sts: {label}.{ZONE}:" in l]
                    self.assertTrue(any(words in l for l in lines), lines)
                    self.assertTrue(any("delivering as without MTA-STS" in l for l in lines),
                                    lines)

    def test_a_slow_policy_host_holds_up_no_other_domain(self):
        n = time.monotonic_ns()
        slow, quick = f"b{n}@slow.{ZONE}", f"c{n}@no-txt.{ZONE}"
        self.lab.send(slow)
        self.lab.send(quick)
        e = self.lab.wait_log(quick, ANY)
        self.assertDeliveredTo(self.shared, quick, e, "none")
        # The slow domain is still waiting for its policy (fetch_timeout 5 s) ...
        self.assertEqual(self.lab.entries(slow), [], "the quick domain waited for the slow fetch")
        # ... and then goes as without MTA-STS.
        self.assertDeliveredTo(self.shared, slow, self.lab.wait_log(slow, ANY), "none")

    # --- enforce ---------------------------------------------------------------

    def test_enforce_delivers_to_a_listed_mx_with_a_valid_certificate(self):
        recv, host = self.recv["enforce-ok"]
        rcpt, e = self.send("enforce-ok")
        self.assertDeliveredTo(recv, rcpt, e, "mta-sts")
        self.assertEqual(e["host"], host)
        fetches = self.sts.fetches(f"mta-sts.enforce-ok.{ZONE}")
        self.assertEqual(fetches[0]["path"], "/.well-known/mta-sts.txt")
        # The policy is cached on disk under the spool.
        path = os.path.join(self.lab.spool, "mta-sts", f"enforce-ok.{ZONE}")
        with open(path) as f:
            self.assertIn("mode: enforce", f.read())

    def test_enforce_raises_encrypt_to_authenticated(self):
        recv, _ = self.recv["enforce-encrypt"]
        rcpt, e = self.send("enforce-encrypt")
        self.assertDeliveredTo(recv, rcpt, e, "mta-sts")

    def test_a_wildcard_pattern_matches_one_label(self):
        recv, _ = self.recv["enforce-wild"]
        rcpt, e = self.send("enforce-wild")
        self.assertDeliveredTo(recv, rcpt, e, "mta-sts")

    def test_a_wildcard_pattern_does_not_match_two_labels(self):
        recv, _ = self.recv["enforce-deep"]
        rcpt, e = self.send("enforce-deep")
        self.assertRefusedBefore(recv, rcpt, e, "is not among the MX hosts")

    def test_an_mx_not_in_the_policy_is_not_used(self):
        recv, _ = self.recv["enforce-unlisted"]
        rcpt, e = self.send("enforce-unlisted")
        self.assertEqual(e["event"], "bounced", e)
        self.assertRefusedBefore(recv, rcpt, e, "is not among the MX hosts")
        self.assertEqual(recv.state()["connections"], 0, "the unlisted MX was contacted")

    def test_an_untrusted_certificate_fails_enforce(self):
        recv, _ = self.recv["enforce-untrusted"]
        rcpt, e = self.send("enforce-untrusted")
        self.assertRefusedBefore(recv, rcpt, e, "not issued by a trusted authority")

    def test_a_certificate_for_another_name_fails_enforce(self):
        recv, _ = self.recv["enforce-name"]
        rcpt, e = self.send("enforce-name")
        self.assertRefusedBefore(recv, rcpt, e, "not issued to the expected name")

    def test_no_starttls_fails_enforce(self):
        recv, _ = self.recv["enforce-nostarttls"]
        rcpt, e = self.send("enforce-nostarttls")
        self.assertRefusedBefore(recv, rcpt, e, "does not offer encryption")

    # --- testing -------------------------------------------------------------------

    def test_testing_delivers_and_logs_what_would_have_failed(self):
        recv, _ = self.recv["testing"]
        rcpt, e = self.send("testing")
        self.assertDeliveredTo(recv, rcpt, e, "none")
        self.assertIn("would_fail", e, e)
        self.assertIn("certificate-chain", e["would_fail"], e)

    # --- the cache -------------------------------------------------------------------

    def test_the_cache_outlives_a_failed_refetch_and_mode_none_drops_it(self):
        recv, _ = self.recv["cache"]
        host = f"mta-sts.cache.{ZONE}"
        rcpt, e = self.send("cache")
        self.assertDeliveredTo(recv, rcpt, e, "mta-sts")
        # A new id, and the policy host fails: the cached policy stays in force.
        self.sts.set(host, status=500, body="down")
        self.change_txt(ZONE, "cache", "v=STSv1; id=2;")
        time.sleep(1.5)  # the TXT record's TTL
        before = len(self.sts.fetches(host))
        rcpt, e = self.send("cache")
        self.assertDeliveredTo(recv, rcpt, e, "mta-sts")
        self.assertGreater(len(self.sts.fetches(host)), before, "no refetch for the new id")
        self.assertIn("stays in force", self.serve_log_all())
        # The domain withdraws its policy with mode none: the cache goes.
        self.sts.set(host, body=policy(mode="none", mx=[], max_age=600))
        self.change_txt(ZONE, "cache", "v=STSv1; id=3;")
        time.sleep(1.5)
        rcpt, e = self.send("cache")
        self.assertDeliveredTo(recv, rcpt, e, "none")
        self.assertFalse(os.path.exists(os.path.join(self.lab.spool, "mta-sts", f"cache.{ZONE}")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
