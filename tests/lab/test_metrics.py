#!/usr/bin/python3
"""The Prometheus endpoint (PRODUCT.md "Running it"; docs/metrics.md): a real
`chainmail serve` with metrics.listen on a free loopback port accepts mail,
delivers it under DANE and in the clear, bounces a partner without STARTTLS,
holds one and defers another, all through real DNSSEC. The endpoint is then
scraped over HTTP and read with Prometheus's own text parser
(python3-prometheus-client), and every family's values are checked.
"""
import http.client
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from outbound_lab import SENDER_DOMAIN, LabCase, certs_sh, free_port  # noqa: E402

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # a test that cannot run fails with its reason
    raise SystemExit("python3-prometheus-client is missing: run .ci/deps.sh test")

SCRAPE_WAIT_S = 20  # queue gauges are read from the spool at most every 5 s


class Metrics(LabCase, unittest.TestCase):
    @classmethod
    def setup_lab(cls, lab):
        cls.metrics_port = free_port()
        lab.extra_config["metrics"] = {"listen": f"127.0.0.1:{cls.metrics_port}"}
        # DANE-EE over TLS; plaintext under may; no STARTTLS under encrypt (bounce
        # and hold); nobody listening (deferred).
        [(cls.ee_host, cls.ee_ip)] = lab.mx_domain("secure.lab", "ee", [(10, "mx")])
        cls.ee_cert = lab.cert("ee", ["unrelated.example"], kind="selfsigned")
        lab.tlsa("secure.lab", cls.ee_host, "3 1 1", certs_sh("tlsa311", cls.ee_cert[2])[0])
        lab.partner(name="ee", domains=["ee.secure.lab"], tls="dane-only")
        [(cls.plain_host, cls.plain_ip)] = lab.mx_domain("secure.lab", "plain", [(10, "mx")])
        lab.partner(name="plain", domains=["plain.secure.lab"], tls="may")
        [(cls.strict_host, cls.strict_ip)] = lab.mx_domain("secure.lab", "strict", [(10, "mx")])
        lab.partner(name="strict", domains=["strict.secure.lab"], tls="encrypt",
                    on_tls_failure="bounce")
        [(cls.held_host, cls.held_ip)] = lab.mx_domain("secure.lab", "held", [(10, "mx")])
        lab.partner(name="held", domains=["held.secure.lab"], tls="encrypt",
                    on_tls_failure="hold")
        [(cls.away_host, cls.away_ip)] = lab.mx_domain("secure.lab", "away", [(10, "mx")])
        lab.partner(name="away", domains=["away.secure.lab"], tls="may")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        lab = cls.lab
        try:
            lab.receiver(cls.ee_ip, cls.ee_host, cert=cls.ee_cert[0], key=cls.ee_cert[1])
            lab.receiver(cls.plain_ip, cls.plain_host)
            lab.receiver(cls.strict_ip, cls.strict_host)  # no certificate: no STARTTLS
            lab.receiver(cls.held_ip, cls.held_host)
            cls.before = cls.scrape()
            for rcpt in ("a@ee.secure.lab", "b@plain.secure.lab", "c@strict.secure.lab",
                         "d@held.secure.lab", "e@away.secure.lab"):
                lab.send(rcpt)
            lab.wait_log("a@ee.secure.lab", {"delivered"})
            lab.wait_log("b@plain.secure.lab", {"delivered"})
            lab.wait_log("c@strict.secure.lab", {"bounced"})
            lab.wait_log("d@held.secure.lab", {"held"})
            lab.wait_log("e@away.secure.lab", {"deferred"})
            lab.wait_ndr("c@strict.secure.lab")
        except BaseException:
            lab.stop()
            raise

    # --- scraping ------------------------------------------------------------

    @classmethod
    def get(cls, path, method="GET"):
        c = http.client.HTTPConnection("127.0.0.1", cls.metrics_port, timeout=10)
        try:
            c.request(method, path)
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read().decode()
        finally:
            c.close()

    @classmethod
    def scrape(cls):
        """{(sample name, frozenset(labels)): value} and the families, parsed by Prometheus's parser."""
        status, headers, body = cls.get("/metrics")
        assert status == 200, (status, body)
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers
        families = list(text_string_to_metric_families(body))
        samples = {}
        for f in families:
            for s in f.samples:
                samples[(s.name, frozenset(s.labels.items()))] = s.value
        return families, samples

    def value(self, name, samples=None, **labels):
        samples = samples if samples is not None else self.scrape()[1]
        return samples.get((name, frozenset(labels.items())), 0)

    def increase(self, name, **labels):
        return self.value(name, **labels) - self.value(name, self.before[1], **labels)

    def eventually(self, name, expected, **labels):
        deadline = time.monotonic() + SCRAPE_WAIT_S
        while True:
            got = self.value(name, **labels)
            if got == expected or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(got, expected, f"{name}{labels}")

    # --- the families ----------------------------------------------------------

    def test_every_family_has_help_type_and_the_prefix(self):
        families, _ = self.scrape()
        names = {f.name: f for f in families}
        expected = {
            "chainmail_inbound_connections_open": "gauge",
            "chainmail_inbound_connections": "counter",
            "chainmail_messages_accepted": "counter",
            "chainmail_delivery_attempts": "counter",
            "chainmail_deliveries": "counter",
            "chainmail_delivery_latency_seconds": "histogram",
            "chainmail_tls_failures": "counter",
            "chainmail_queue_messages": "gauge",
            "chainmail_queue_oldest_message_age_seconds": "gauge",
            "chainmail_dns_lookups": "counter",
            "chainmail_build_info": "gauge",
        }
        for name, kind in expected.items():
            self.assertIn(name, names, sorted(names))
            self.assertEqual(names[name].type, kind, name)
            self.assertTrue(names[name].documentation, name)
        for f in families:
            self.assertTrue(f.name.startswith("chainmail_"), f.name)

    def test_accepted_and_connections(self):
        self.assertEqual(self.increase("chainmail_messages_accepted_total"), 5)
        self.assertGreaterEqual(self.increase("chainmail_inbound_connections_total"), 5)
        self.eventually("chainmail_inbound_connections_open", 0)

    def test_attempts_by_status(self):
        # The two deliveries and the NDR to the sender's server.
        self.assertGreaterEqual(self.value("chainmail_delivery_attempts_total",
                                           status="delivered"), 3)
        self.assertEqual(self.value("chainmail_delivery_attempts_total", status="bounced"), 1)
        self.assertGreaterEqual(self.value("chainmail_delivery_attempts_total", status="held"), 1)
        self.assertGreaterEqual(self.value("chainmail_delivery_attempts_total",
                                           status="deferred"), 1)
        self.assertEqual(self.value("chainmail_delivery_attempts_total", status="expired"), 0)

    def test_deliveries_by_tls_version_and_authentication(self):
        _, samples = self.scrape()
        dane = [v for (n, l), v in samples.items() if n == "chainmail_deliveries_total"
                and dict(l)["tls_auth"] == "dane-ee"]
        self.assertEqual(sum(dane), 1, samples)
        [(labels, _)] = [(dict(l), v) for (n, l), v in samples.items()
                         if n == "chainmail_deliveries_total" and dict(l)["tls_auth"] == "dane-ee"]
        self.assertIn(labels["tls_version"], ("TLSv1.2", "TLSv1.3"))
        # b@plain and the NDR (the sink offers no STARTTLS): plaintext.
        self.assertGreaterEqual(self.value("chainmail_deliveries_total", samples,
                                           tls_version="none", tls_auth="plaintext"), 2)

    def test_tls_failures_by_partner_and_reason(self):
        self.assertEqual(self.value("chainmail_tls_failures_total", partner="strict",
                                    reason="starttls-not-offered"), 1)
        self.assertGreaterEqual(self.value("chainmail_tls_failures_total", partner="held",
                                           reason="starttls-not-offered"), 1)

    def test_queue_size_and_oldest_age(self):
        self.eventually("chainmail_queue_messages", 1, state="held")
        self.eventually("chainmail_queue_messages", 1, state="active")  # the deferred one
        self.assertGreater(self.value("chainmail_queue_oldest_message_age_seconds"), 0)

    def test_dns_lookups_by_dnssec_state(self):
        self.assertGreaterEqual(self.value("chainmail_dns_lookups_total", type="mx",
                                           dnssec="secure"), 5)
        self.assertGreaterEqual(self.value("chainmail_dns_lookups_total", type="a",
                                           dnssec="secure"), 1)
        self.assertGreaterEqual(self.value("chainmail_dns_lookups_total", type="tlsa",
                                           dnssec="secure"), 1)

    def test_dnssec_selfcheck(self):
        # The lab's resolver validates its signed TLD through the lab's anchor.
        self.eventually("chainmail_dnssec_selfcheck_ok", 1)

    def test_latency_histogram(self):
        _, samples = self.scrape()
        count = self.value("chainmail_delivery_latency_seconds_count", samples)
        self.assertEqual(count, self.value("chainmail_delivery_attempts_total", samples,
                                           status="delivered"))
        self.assertGreater(self.value("chainmail_delivery_latency_seconds_sum", samples), 0)
        buckets = sorted((float(dict(l)["le"]), v) for (n, l), v in samples.items()
                         if n == "chainmail_delivery_latency_seconds_bucket")
        self.assertEqual(buckets[-1], (float("inf"), count))
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))  # cumulative
        # Loopback deliveries: every one well under a minute.
        self.assertEqual(dict(buckets)[60.0], count)

    def test_build_info(self):
        _, samples = self.scrape()
        [v] = [v for (n, l), v in samples.items() if n == "chainmail_build_info"]
        self.assertEqual(v, 1)

    def test_only_get_metrics(self):
        self.assertEqual(self.get("/")[0], 404)
        self.assertEqual(self.get("/metrics/extra")[0], 404)
        status, headers, _ = self.get("/metrics", method="POST")
        self.assertEqual(status, 405)
        self.assertEqual(headers.get("Allow"), "GET")


if __name__ == "__main__":
    unittest.main(verbosity=2)
