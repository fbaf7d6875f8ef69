#!/usr/bin/python3
"""`authenticated` as the TLS-level table says (RFC 8689 §4.1) and DANE
meeting MTA-STS (RFC 8461 §2), with real DNSSEC, real HTTPS policies and
real TLS peers: DANE where usable TLSA exist, else an MTA-STS enforce
policy, else PKIX with the MX name when the MX answer was DNSSEC-secure;
refused, with the reason naming each missing route, when none applies."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mta_sts_lab import StsLabCase, policy  # noqa: E402
from outbound_lab import certs_sh  # noqa: E402

ANY = {"delivered", "deferred", "bounced"}
PLACEHOLDER = "00" * 31 + "01"


class OutboundAuthenticated(StsLabCase, unittest.TestCase):
    @classmethod
    def setup_lab(cls, lab):
        cls.policy_server(lab)
        cls.recv = {}

        def dom(zone, label, level, cert="server", tlsa=None, sts=None):
            """sts: None, or (mode, patterns) for an MTA-STS policy."""
            [(host, ip)] = lab.mx_domain(zone, label, [(10, "mx")])
            chain, key, leaf = lab.cert(label, [host], kind=cert)
            cls.recv[label] = (lab.receiver(ip, host, cert=chain, key=key), host, zone)
            if tlsa == "match":
                lab.tlsa(zone, host, "3 1 1", certs_sh("tlsa311", leaf)[0])
            elif tlsa == "wrong":
                lab.tlsa(zone, host, "3 1 1", PLACEHOLDER)
            if sts:
                mode, patterns = sts
                cls.sts_domain(lab, zone, label,
                               body=policy(mode=mode, mx=patterns or [host], max_age=3600))
            lab.partner(name=label, domains=[f"{label}.{zone}"], tls=level, mta_sts=True,
                        on_tls_failure="bounce")

        other = ["mx.other.secure.lab"]
        # DANE decides where usable TLSA exist, both ways.
        dom("secure.lab", "dane-wins", "authenticated", cert="selfsigned", tlsa="match",
            sts=("enforce", other))
        dom("secure.lab", "dane-wins-may", "may", cert="selfsigned", tlsa="match",
            sts=("enforce", other))
        dom("secure.lab", "dane-mismatch", "may", tlsa="wrong", sts=("enforce", None))
        dom("secure.lab", "dane-mismatch-auth", "authenticated", tlsa="wrong",
            sts=("enforce", None))
        # authenticated, route by route.
        dom("secure.lab", "route-dane", "authenticated", cert="selfsigned", tlsa="match")
        dom("insecure.lab", "route-sts", "authenticated", sts=("enforce", None))
        dom("secure.lab", "route-pkix", "authenticated")
        dom("insecure.lab", "route-none", "authenticated")
        dom("insecure.lab", "route-sts-testing", "authenticated", sts=("testing", None))
        dom("secure.lab", "route-pkix-bad", "authenticated", cert="selfsigned")
        cls.sts.start()

    def send(self, label):
        _, _, zone = self.recv[label]
        rcpt = f"a{time.monotonic_ns()}@{label}.{zone}"
        self.lab.send(rcpt)
        return rcpt, self.lab.wait_log(rcpt, ANY)

    def delivered(self, label, auth):
        recv, host, _ = self.recv[label]
        rcpt, e = self.send(label)
        self.assertDeliveredTo(recv, rcpt, e, auth)
        self.assertEqual(e["host"], host)
        return e

    def refused(self, label, words):
        recv, _, _ = self.recv[label]
        rcpt, e = self.send(label)
        self.assertEqual(e["event"], "bounced", e)
        self.assertRefusedBefore(recv, rcpt, e, words)
        return rcpt, e

    # --- DANE and MTA-STS meeting --------------------------------------------

    def test_a_dane_match_delivers_though_the_policy_does_not_list_the_mx(self):
        self.delivered("dane-wins", "dane-ee")

    def test_an_enforce_policy_raises_may_to_dane_where_tlsa_exist(self):
        self.delivered("dane-wins-may", "dane-ee")

    def test_a_dane_mismatch_is_not_rescued_by_a_pkix_valid_certificate(self):
        for label in ("dane-mismatch", "dane-mismatch-auth"):
            with self.subTest(label):
                self.refused(label, "does not match its DANE TLSA records")

    # --- authenticated, route by route ---------------------------------------

    def test_route_1_dane(self):
        self.delivered("route-dane", "dane-ee")

    def test_route_2_mta_sts_enforce(self):
        self.delivered("route-sts", "mta-sts")

    def test_route_3_pkix_with_the_mx_name_from_a_secure_mx(self):
        self.delivered("route-pkix", "pkix")

    def test_route_3_needs_a_pkix_valid_certificate(self):
        self.refused("route-pkix-bad", "not issued by a trusted authority")

    def test_refused_when_no_route_applies_and_the_reason_names_each(self):
        rcpt, e = self.refused("route-none", "no DANE: the MX record of route-none.insecure.lab")
        self.assertIn("no MTA-STS: route-none.insecure.lab publishes no MTA-STS policy", e["reply"])
        self.assertIn("no PKIX with the MX name", e["reply"])
        self.assertEqual(self.recv["route-none"][0].state()["connections"], 0)
        ndr = self.lab.wait_ndr(rcpt)
        self.assertIn("no MTA-STS", ndr["data"])

    def test_a_testing_policy_is_no_route(self):
        self.refused("route-sts-testing", "is in testing mode")


if __name__ == "__main__":
    unittest.main(verbosity=2)
