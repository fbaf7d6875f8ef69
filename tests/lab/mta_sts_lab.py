"""Shared by the MTA-STS lab tests: a recipient domain with an `_mta-sts`
TXT record in the signed lab DNS and its policy host `mta-sts.DOMAIN` served
by a real HTTPS server (lib/sts_server.py) with a certificate from the lab's
test CA, on one lab address and port (config `mta_sts.port`)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from outbound_lab import LIB, LabCase, free_port  # noqa: E402
from sts_server import PolicyServer, policy  # noqa: E402,F401


class StsLabCase(LabCase):
    """LabCase with a policy server: cls.sts is the PolicyServer; call
    cls.sts_domain(...) from setup_lab for every domain that publishes MTA-STS."""

    @classmethod
    def setUpClass(cls):
        cls.sts = None
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        if cls.sts:
            cls.sts.stop()
        super().tearDownClass()

    @classmethod
    def policy_server(cls, lab, fetch_timeout="2s"):
        ip = lab.addr()
        cls.sts = PolicyServer(ip, free_port(ip))
        lab.extra_config["mta_sts"] = {"port": cls.sts.port, "fetch_timeout": fetch_timeout}
        return cls.sts

    @classmethod
    def sts_domain(cls, lab, zone, label, txt="v=STSv1; id=1;", cert_kind="server",
                   cert_names=None, address=True, **behaviour):
        """_mta-sts.LABEL.ZONE TXT (TTL 1 s, so changes are seen at once),
        mta-sts.LABEL.ZONE A on the policy server, and the server's behaviour
        for that host. txt may be a list of records, or None for none."""
        domain = f"{label}.{zone}"
        host = f"mta-sts.{domain}"
        for t in ([txt] if isinstance(txt, str) else (txt or [])):
            lab.record(zone, f'_mta-sts.{label} 1 IN TXT "{t}"')
        if address:
            ip = cls.sts.ip if address is True else address
            lab.record(zone, f"mta-sts.{label} IN A {ip}")
        chain, key, _ = lab.cert(host, cert_names or [host], kind=cert_kind)
        cls.sts.host(host, cert=(chain, key), **behaviour)
        return domain, host

    def change_txt(self, zone, label, *records):
        """Replaces the _mta-sts TXT records of LABEL.ZONE while serving."""
        rrs = [f'_mta-sts.{label} 1 IN TXT "{r}"' for r in records]
        subprocess.run(["bash", os.path.join(LIB, "dnslab.sh"), "change", self.lab.dns_dir, zone,
                        rf"^_mta-sts\.{label} ", *rrs], check=True, capture_output=True,
                       timeout=60)

    def serve_log_all(self):
        with open(self.lab.serve_log_path) as f:
            return f.read()

    def assertDeliveredTo(self, recv, rcpt, e, auth):
        """Delivered to this receiver over TLS with tls.auth = auth."""
        self.assertEqual(e["event"], "delivered", e)
        self.assertIn("tls", e, e)
        self.assertEqual(e["tls"]["auth"], auth, e)
        got = [m for m in recv.messages() if rcpt in m["rcpt_tos"]]
        self.assertEqual(len(got), 1, recv.messages())
        self.assertTrue(got[0]["tls"], "the receiver got the message in the clear")

    def assertRefusedBefore(self, recv, rcpt, e, reason_words):
        """Refused before a byte of the message left, for the reason given."""
        self.assertIn(e["event"], ("bounced", "deferred"), e)
        self.assertRegex(e["dsn"], r"^[45]\.7\.\d+$", e)
        self.assertIn(reason_words, e["reply"], e)
        self.assertEqual([m for m in recv.messages() if rcpt in m["rcpt_tos"]], [])
        self.assertNeverDelivered(rcpt)
