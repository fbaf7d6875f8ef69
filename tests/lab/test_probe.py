#!/usr/bin/python3
"""`chainmail probe` against real peers, and proof that probe and delivery
never disagree. One signed lab holds seven destinations: a DANE-EE host, a
DANE-TA host, a wrong TLSA record, no STARTTLS, a certificate for the wrong
name, an MX in an unsigned zone, and an MTA-STS enforce domain. Each
destination is reachable as LEVEL.DEST for every one of the nine levels, with
a partner rule of that level: the probe's verdict for LEVEL is asserted, then
a message is delivered to every LEVEL.DEST and the delivery log must say the
same (delivered = deliver, bounced = fail, deferred = defer)."""
import json
import os
import smtplib
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mta_sts_lab import StsLabCase, policy  # noqa: E402
from outbound_lab import CHAINMAIL, certs_sh  # noqa: E402

PLACEHOLDER = "00" * 31 + "01"
LEVELS = ["none", "may", "encrypt", "fingerprint", "verify", "secure", "dane", "dane-only",
          "authenticated"]
D, F = "deliver", "fail"
# What each level must decide per destination (the product's TLS-level table).
EXPECTED = {
    #             none may encrypt fingerprint verify secure dane dane-only authenticated
    "ee":        [D, D, D, D, F, F, D, D, D],  # the fingerprint rules pin ee's certificate
    "ta":        [D, D, D, F, F, F, D, D, D],
    "wrongtlsa": [D, D, D, F, D, F, F, F, F],
    "nostarttls": [D, D, F, F, F, F, D, F, F],
    "wrongname": [D, D, D, F, F, F, D, F, F],
    "insecure":  [D, D, D, F, D, D, D, F, F],
    "sts":       [D, D, D, F, D, F, D, F, D],
}
ZONE = "secure.lab"
EVENT_VERDICT = {"delivered": D, "bounced": F, "deferred": "defer"}


class Probe(StsLabCase, unittest.TestCase):
    @classmethod
    def setup_lab(cls, lab):
        cls.policy_server(lab, fetch_timeout="3s")
        cls.dest = {}  # label -> (base domain, zone, MX host, receiver)
        ee = lab.cert("ee", ["unrelated.example"], kind="selfsigned")
        cls.ee_pin = certs_sh("fp-cert", ee[2])[0]
        ta_ca = lab.new_ca("ta")

        def dest(label, zone, cert=None, tlsa=None, extra_names=()):
            [(host, ip)] = lab.mx_domain(zone, label, [(10, "mx")])
            if tlsa:
                lab.tlsa(zone, host, *tlsa)
            kw = {}
            if cert == "ee":
                kw = {"cert": ee[0], "key": ee[1]}
            elif cert == "ta":
                chain, key, _ = lab.cert("ta-mx", [host], ca="ta", with_ca=True)
                kw = {"cert": chain, "key": key}
            elif cert:
                chain, key, _ = lab.cert(label, list(cert) + list(extra_names))
                kw = {"cert": chain, "key": key}
            recv = lab.receiver(ip, host, **kw)
            cls.dest[label] = (f"{label}.{zone}", zone, host, recv)
            for level in LEVELS:
                lab.record(zone, f"{level}.{label} IN MX 10 mx.{label}")
                p = {"name": f"{label}-{level}", "domains": [f"{level}.{label}.{zone}"],
                     "tls": level, "on_tls_failure": "bounce", "fingerprints": [cls.ee_pin]}
                if label == "sts":
                    p["mta_sts"] = True
                    cls.sts_domain(lab, zone, f"{level}.{label}", body=policy(mx=[host]))
                lab.partner(**p)
            return host

        host = dest("ee", ZONE, cert="ee")
        lab.tlsa(ZONE, host, "3 1 1", certs_sh("tlsa311", ee[2])[0])
        host = dest("ta", ZONE, cert="ta")
        lab.tlsa(ZONE, host, "2 0 1", certs_sh("tlsa201", os.path.join(ta_ca, "ca.crt"))[0])
        host = dest("wrongtlsa", ZONE, cert=[f"mx.wrongtlsa.{ZONE}"])
        lab.tlsa(ZONE, host, "3 1 1", PLACEHOLDER)
        dest("nostarttls", ZONE)
        dest("wrongname", ZONE, cert=[f"mx.other.{ZONE}"])
        # The insecure host's certificate also names every LEVEL.dom domain, so
        # that `secure` (names: the next-hop domain) has a host that passes.
        dest("insecure", "insecure.lab", cert=["mx.insecure.insecure.lab"],
             extra_names=[f"{lv}.insecure.insecure.lab" for lv in LEVELS])
        dest("sts", ZONE, cert=[f"mx.sts.{ZONE}"])
        cls.sts.start()

    def probe(self, *args, check=True):
        r = subprocess.run([CHAINMAIL, "probe", "-c", self.lab.config, *args],
                           capture_output=True, text=True, timeout=120)
        if check:
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def probe_json(self, targets):
        r = self.probe("--json", *targets)
        out = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        self.assertEqual(len(out), len(targets), r.stdout + r.stderr)
        return {o["domain"]: o for o in out}

    def test_probe_verdicts_match_delivery_under_every_level(self):
        targets = [f"a@{lv}.{d[0]}" for d in self.dest.values() for lv in LEVELS]
        probed = self.probe_json(targets)
        # Probing sends no mail: EHLO, STARTTLS and QUIT only.
        for label, (_, _, _, recv) in self.dest.items():
            self.assertNothingSent(recv)
            self.assertGreater(recv.state()["connections"], 0, label)
        for label, expected in EXPECTED.items():
            base = self.dest[label][0]
            for level, want in zip(LEVELS, expected):
                p = probed[f"{level}.{base}"]
                self.assertEqual(set(p["levels"]), set(LEVELS), p)
                self.assertEqual(p["rule"]["tls"], level, p["rule"])
                got = p["levels"][level]
                with self.subTest(dest=label, level=level):
                    self.assertEqual(got["verdict"], want, got)
                    self.assertTrue(got["reason"], got)
        # Then deliver to every LEVEL.DEST under its level: the log must agree.
        # One message to all of them: each recipient keeps its own fate.
        with smtplib.SMTP("127.0.0.1", self.lab.listen_port, timeout=30) as s:
            sender = f"sender@{self.lab.sender_domain}"
            s.sendmail(sender, targets, f"From: {sender}\r\nSubject: probe lab\r\n\r\nbody\r\n")
        for t in targets:
            domain = t.split("@")[1]
            level = domain.split(".")[0]
            e = self.lab.wait_log(t, set(EVENT_VERDICT))
            verdict = probed[domain]["levels"][level]
            with self.subTest(target=t):
                self.assertEqual(EVENT_VERDICT[e["event"]], verdict["verdict"],
                                 f"probe said {verdict}, delivery did {e}")
                if e["event"] == "delivered":
                    auth = e["tls"]["auth"] if "tls" in e else "plaintext"
                    self.assertEqual(auth, verdict["auth"], (verdict, e))

    def test_facts_of_each_destination(self):
        p = self.probe_json([f"dane-only.{d[0]}" for d in self.dest.values()])
        self.assertEqual(p[f"dane-only.ee.{ZONE}"]["resolver_dnssec"]["state"], "ok")
        ee = p[f"dane-only.ee.{ZONE}"]
        self.assertEqual(ee["mx"]["dnssec"], "secure")
        [h] = ee["hosts"]
        self.assertEqual(h["name"], f"mx.ee.{ZONE}")
        self.assertEqual(h["address_dnssec"], "secure")
        self.assertEqual(h["tlsa"]["state"], "secure")
        self.assertEqual([(r["usage"], r["usable"], r["matched"]) for r in h["tlsa"]["records"]],
                         [(3, True, True)])
        self.assertTrue(h["starttls"])
        self.assertIn(h["tls"]["version"], ("TLSv1.2", "TLSv1.3"))
        self.assertIn(h["tls"]["version_rating"], ("good", "sufficient"))
        self.assertEqual(h["certificates"][0]["sha256"], self.ee_pin)
        self.assertEqual(h["certificates"][0]["dns_names"], ["unrelated.example"])
        self.assertFalse(h["pkix"]["chain_valid"])  # self-signed: not in tls.ca_file
        self.assertEqual(ee["levels"]["dane-only"]["auth"], "dane-ee")
        self.assertEqual(ee["strongest"], "dane-only")

        ta = p[f"dane-only.ta.{ZONE}"]
        self.assertEqual(ta["levels"]["dane-only"]["auth"], "dane-ta")
        self.assertEqual(ta["strongest"], "dane-only")
        bad = p[f"dane-only.wrongtlsa.{ZONE}"]
        self.assertEqual(bad["levels"]["dane-only"]["code"], "tlsa-mismatch")
        self.assertFalse(bad["hosts"][0]["tlsa"]["records"][0]["matched"])
        self.assertTrue(bad["hosts"][0]["pkix"]["chain_valid"])
        self.assertEqual(bad["strongest"], "verify")
        plain = p[f"dane-only.nostarttls.{ZONE}"]
        self.assertIs(plain["hosts"][0]["starttls"], False)
        self.assertIsNone(plain["hosts"][0]["tls"])
        self.assertEqual(plain["levels"]["encrypt"]["code"], "starttls-not-offered")
        self.assertEqual(plain["strongest"], "dane")  # delivers, in plaintext: no TLSA
        self.assertEqual(plain["levels"]["dane"]["auth"], "plaintext")
        name = p[f"dane-only.wrongname.{ZONE}"]
        self.assertTrue(name["hosts"][0]["pkix"]["chain_valid"])
        self.assertFalse(name["hosts"][0]["pkix"]["name_valid"])
        self.assertEqual(name["levels"]["verify"]["code"], "certificate-name")
        self.assertIn(f"mx.other.{ZONE}", name["levels"]["verify"]["reason"])
        ins = p["dane-only.insecure.insecure.lab"]
        self.assertEqual(ins["mx"]["dnssec"], "insecure")
        self.assertFalse(ins["hosts"][0]["tlsa"]["dane_applies"])
        self.assertEqual(ins["levels"]["dane-only"]["code"], "no-dnssec")
        self.assertEqual(ins["strongest"], "secure")
        sts = p[f"dane-only.sts.{ZONE}"]
        self.assertEqual(sts["mta_sts"]["mode"], "enforce")
        self.assertEqual(sts["mta_sts"]["mx_match"], {f"mx.sts.{ZONE}": True})
        self.assertEqual(sts["levels"]["authenticated"]["auth"], "mta-sts")
        self.assertEqual(sts["levels"]["may"]["auth"], "mta-sts")  # enforce raises may
        self.assertEqual(sts["strongest"], "authenticated")
        self.assertIsNone(ee["mta_sts"])  # mta_sts: false for these partners

    def test_text_output_answers_in_policy_terms(self):
        out = self.probe(f"dane-only.ee.{ZONE}", f"b@verify.wrongname.{ZONE}").stdout
        self.assertIn("DNSSEC: our resolver validates DNSSEC", out)
        self.assertRegex(out, r"\* dane-only +would deliver +mx\.ee\.secure\.lab: "
                              r"authenticated by a DANE-EE TLSA record")
        self.assertRegex(out, r"\* verify +would fail +the certificate of mx\.wrongname")
        self.assertIn(f"cert    {self.ee_pin}", out)  # ready to paste into `fingerprints`
        self.assertIn("(it is issued to mx.other.secure.lab)", out)
        self.assertIn("strongest level that would deliver: dane-only\n", out)
        self.assertIn("strongest level that would deliver: encrypt\n", out)

    def test_partners_map(self):
        html = os.path.join(self.lab.dir, "partners.html")
        r = self.probe("--partners", "--html", html)
        rows = {line.split()[1]: line.split() for line in r.stdout.splitlines()
                if len(line.split()) >= 12 and line.split()[1].count(".") >= 2}
        n = len(LEVELS) * len(self.dest) + 1  # and the lab's own sender domain
        self.assertEqual(len(rows), n, r.stdout)
        self.assertIn(f"probe: {n}/{n} ", r.stderr)  # the progress line
        # partner domain level mode DNSSEC DANE MTA-STS STARTTLS TLS cert strongest configured
        ee = rows[f"dane-only.ee.{ZONE}"]
        self.assertEqual(ee[0], "ee-dane-only")
        self.assertEqual(ee[4:6], ["secure", "all"], ee)
        self.assertEqual(ee[-2:], ["dane-only", "delivers"], ee)
        bad = rows[f"dane-only.wrongtlsa.{ZONE}"]
        self.assertEqual(bad[-3:], ["verify", "would", "fail"], bad)
        self.assertEqual(rows[f"may.sts.{ZONE}"][6], "enforce")
        self.assertEqual(rows[f"encrypt.nostarttls.{ZONE}"][7], "no")
        self.assertIn("where the configured level would not deliver today:", r.stdout)
        self.assertIn(f"wrongtlsa-dane-only / dane-only.wrongtlsa.{ZONE} (dane-only): the "
                      "certificate of mx.wrongtlsa.secure.lab does not match its DANE TLSA "
                      "records", r.stdout)
        with open(html) as f:
            page = f.read()
        self.assertNotIn("http://", page.replace("http://www.w3.org", ""))
        self.assertNotIn("<script", page)
        fails = sum(v.count(F) for v in EXPECTED.values())
        self.assertIn(f"<div class=card id=c-not><b>{fails}</b>", page)
        self.assertIn(f"<td class=l>dane-only.ee.{ZONE}</td>", page)

    def test_usage_errors(self):
        r = self.probe(check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        r = self.probe("--html", "x.html", f"ee.{ZONE}", check=False)
        self.assertEqual(r.returncode, 2, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
