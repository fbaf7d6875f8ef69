"""Shared by the test_outbound_*.py lab tests: one signed DNS lab (nsd, via
lib/dnslab.sh), a throw-away PKI (lib/certs.sh), receiving SMTP peers
(lib/smtp_peer.py) on their own loopback addresses, and one `chainmail serve`
that delivers to them. Nothing here is mocked: chainmail resolves through
libunbound with DNSSEC validation and speaks real TLS to real peers.

A test file declares its domains, MX hosts, TLSA records and partners before
Lab.start(); every receiver listens on the same port (delivery.port), each on
its own address in a 127.R.S.0/24 chosen at random per file, so files run in
parallel without clashing.
"""
import json
import os
import random
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import uuid

CHAINMAIL = os.environ.get("CHAINMAIL", "chainmail")
SRC = os.environ.get("CHAINMAIL_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LIB = os.path.join(SRC, "tests", "lab", "lib")
PY = "/usr/bin/python3"

SENDER_DOMAIN = "org.secure.lab"  # NDRs go to its MX: the lab's sink
WAIT_S = 20


def free_port(ip="127.0.0.1"):
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def certs_sh(*args):
    return subprocess.run(["bash", os.path.join(LIB, "certs.sh"), *args], check=True,
                          capture_output=True, text=True).stdout.split()


class Receiver:
    """One smtp_peer.py on ip:port; messages() and events() read its record."""

    def __init__(self, lab, ip, name, cert=None, key=None, strip_starttls=False, extra=()):
        self.ip = ip
        self.record = os.path.join(lab.dir, f"peer-{ip}-{uuid.uuid4().hex[:6]}.json")
        cmd = [PY, os.path.join(LIB, "smtp_peer.py"), "--listen", ip, "--port", str(lab.port),
               "--record", self.record, "--hostname", name, "--lifetime", "600"]
        if cert:
            cmd += ["--cert", cert, "--key", key]
        if strip_starttls:
            cmd += ["--strip-starttls"]
        cmd += list(extra)
        self.stderr = open(self.record + ".err", "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        line = self.proc.stdout.readline()
        if not line.strip():
            self.stop()
            with open(self.record + ".err") as f:
                raise AssertionError(f"smtp_peer on {ip}:{lab.port} did not start: {f.read()}")

    def state(self):
        try:
            with open(self.record) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {"connections": 0, "events": [], "messages": []}

    def messages(self):
        return self.state()["messages"]

    def commands(self):
        return [e["cmd"] for e in self.state()["events"]]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()


class Lab:
    def __init__(self, name, port=None, subnet=None, tld="lab"):
        self.name = name
        self.tld = tld  # the lab's signed TLD (dnslab.sh DNSLAB_TLD)
        self.sender_domain = SENDER_DOMAIN if tld == "lab" else f"org.secure.{tld}"
        self.dir = tempfile.mkdtemp(prefix=f"chainmail-{name}-")
        os.chmod(self.dir, 0o755)  # Postfix daemons must reach files below it
        self.port = port or free_port()  # delivery.port: every receiver listens here
        r = random.Random()
        self.subnet = subnet or f"127.{r.randint(1, 254)}.{r.randint(1, 254)}"
        self.next_host = 2
        self.records = []
        self.partners = []
        self.receivers = []
        self.proc = None
        self.extra_config = {}  # top-level keys added to (or replacing) the lab's config
        self.listen_tls = None  # (chain, key): the listener offers STARTTLS with them
        self.dns_dir = os.path.join(self.dir, "dns")
        self.pki = {}
        self.ca_dir = self.new_ca("pkix")  # tls.ca_file trusts only this CA
        self.sink_ip = self.mx_domain(f"secure.{tld}", "org", [(10, "mx")])[0][1]
        self.partner(name="origin", domains=[self.sender_domain], tls="may",
                     on_tls_failure="defer")

    # --- set-up before start() --------------------------------------------

    def new_ca(self, label):
        d = os.path.join(self.dir, "pki-" + label)
        certs_sh("ca", d)
        self.pki[label] = d
        return d

    def cert(self, name, dns_names, ca="pkix", kind="server", with_ca=False):
        """(chain file, key file, leaf cert file). kind: server (issued by the
        `ca` label), selfsigned, expired (self-signed) or expired-server
        (issued by the `ca` label, valid only in January 2020). with_ca adds the CA certificate to
        the chain the peer sends (RFC 7671 §5.2.2 for DANE-TA)."""
        d = (self.pki[ca] if kind in ("server", "expired-server")
             else os.path.join(self.dir, "pki-" + name))
        certs_sh(kind, d, name, *dns_names)
        leaf, key = os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")
        chain = os.path.join(d, name + ".chain.pem")
        if with_ca:
            with open(chain, "a") as out, open(os.path.join(d, "ca.crt")) as ca_pem:
                out.write(ca_pem.read())
        return chain, key, leaf

    def addr(self):
        ip = f"{self.subnet}.{self.next_host}"
        self.next_host += 1
        assert self.next_host < 255
        return ip

    def record(self, zone, rr):
        self.records.append(f"{zone} {rr}")

    def mx_domain(self, zone, label, hosts, ips=None):
        """Adds domain LABEL.ZONE with MX records [(pref, hostlabel)]; each
        host is hostlabel.LABEL.ZONE with an A record on a fresh address.
        Returns [(host name, ip)] in the order given."""
        out = []
        for i, (pref, h) in enumerate(hosts):
            ip = ips[i] if ips else self.addr()
            self.record(zone, f"{label} IN MX {pref} {h}.{label}")
            self.record(zone, f"{h}.{label} IN A {ip}")
            out.append((f"{h}.{label}.{zone}", ip))
        return out

    def tlsa(self, zone, host, usage_sel_mtype, digest):
        """A TLSA record at _PORT._tcp.HOST, PORT being delivery.port (RFC 7672 §3)."""
        rel = host[: -len(zone) - 1]
        self.record(zone, f"_{self.port}._tcp.{rel} IN TLSA {usage_sel_mtype} {digest}")

    def partner(self, **p):
        p.setdefault("mta_sts", False)  # no HTTPS look-ups in the lab
        self.partners.append(p)

    # --- running ------------------------------------------------------------

    def start(self):
        rec_file = os.path.join(self.dir, "records.txt")
        with open(rec_file, "w") as f:
            f.write("\n".join(self.records) + "\n")
        env = dict(os.environ, DNSLAB_RECORDS=rec_file, DNSLAB_TLD=self.tld)
        subprocess.run(["bash", os.path.join(LIB, "dnslab.sh"), "start", self.dns_dir,
                        str(os.getpid())], check=True, env=env, capture_output=True, text=True,
                       timeout=60)
        with open(os.path.join(self.dns_dir, "nameserver")) as f:
            self.nameserver = f.read().strip()
        self.sink = self.receiver(self.sink_ip, f"mx.{self.sender_domain}")
        self.listen_port = free_port()
        self.spool = os.path.join(self.dir, "spool")
        self.delivery_log = os.path.join(self.dir, "delivery.jsonl")
        self.config = os.path.join(self.dir, "chainmail.yaml")
        config = {
            "hostname": f"relay.{self.tld}",
            "listen": [{"address": f"127.0.0.1:{self.listen_port}"}],
            "tls": {"ca_file": os.path.join(self.ca_dir, "ca.crt")},
            "relay_from": {"networks": ["127.0.0.0/8"]},
            "spool": self.spool,
            "control_socket": os.path.join(self.dir, "control"),
            "log": {"level": "debug", "delivery_log": self.delivery_log},
            "dns": {"nameservers": [self.nameserver],
                    "trust_anchor_file": os.path.join(self.dns_dir, "ta.key"),
                    "dnssec_check_name": self.tld},
            "delivery": {"port": self.port, "connect_timeout": "5s"},
            "queue": {"retry_schedule": ["2s"], "max_lifetime": "10m",
                      "delay_warning_after": "0"},
            "ndr": {"languages": ["en"]},
            "defaults": {"tls": "dane", "mta_sts": False, "on_tls_failure": "defer"},
            "partners": self.partners,
        }
        if self.listen_tls:
            config["listen"][0]["starttls"] = True
            config["tls"].update(certificate=self.listen_tls[0], private_key=self.listen_tls[1])
        config.update(self.extra_config)
        self.serve_log_path = os.path.join(self.dir, "serve.log")
        self.proc, self.serve_out = start_serve(config, self.config, self.serve_log_path,
                                                self.listen_port)
        return self

    def receiver(self, ip, name, **kw):
        r = Receiver(self, ip, name, **kw)
        self.receivers.append(r)
        return r

    def stop(self):
        try:
            if self.proc and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            for r in self.receivers:
                r.stop()
            if os.path.isdir(self.dns_dir):
                subprocess.run(["bash", os.path.join(LIB, "dnslab.sh"), "stop", self.dns_dir],
                               capture_output=True, timeout=30)
        finally:
            if getattr(self, "serve_out", None):
                self.serve_out.close()
            if os.environ.get("OUTLAB_KEEP"):
                print("kept", self.dir)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)

    def serve_log(self, tail=40):
        try:
            with open(self.serve_log_path) as f:
                return "".join(f.readlines()[-tail:])
        except (OSError, AttributeError):
            return ""

    # --- a message and its fate -------------------------------------------

    def send(self, rcpt, sender=None, subject="outbound lab", headers=(), source_ip=None,
             starttls=False, mail_options=(), body=None):
        """headers: extra "Name: value" lines; source_ip: the client's address
        (any 127/8 address); starttls: STARTTLS first (the listener needs
        listen_tls); mail_options: MAIL FROM parameters such as REQUIRETLS;
        body: the body's CRLF lines (default: one line naming rcpt)."""
        assert self.proc.poll() is None, \
            f"serve exited with {self.proc.returncode}:\n{self.serve_log()}"
        sender = sender or f"sender@{self.sender_domain}"
        mid = f"<{uuid.uuid4().hex}@{self.sender_domain}>"
        extra = "".join(h + "\r\n" for h in headers)
        msg = (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n{extra}"
               f"Message-ID: {mid}\r\n\r\n" + (body or f"body for {rcpt}\r\n"))
        source = (source_ip, 0) if source_ip else None
        with smtplib.SMTP("127.0.0.1", self.listen_port, timeout=10,
                          source_address=source) as s:
            if starttls:
                import ssl
                ctx = ssl.create_default_context(cafile=os.path.join(self.ca_dir, "ca.crt"))
                ctx.check_hostname = False
                s.starttls(context=ctx)
            s.sendmail(sender, [rcpt], msg, mail_options=list(mail_options))
        return mid

    def entries(self, rcpt=None):
        try:
            with open(self.delivery_log) as f:
                lines = [json.loads(l) for l in f if l.strip()]
        except OSError:
            return []
        return [e for e in lines if e.get("event") != "received"
                and (rcpt is None or e.get("rcpt") == rcpt)]

    def wait_log(self, rcpt, events, timeout=WAIT_S):
        """The first delivery-log line for rcpt whose event is in `events`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.entries(rcpt):
                if e["event"] in events:
                    return e
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        died = "" if self.proc.poll() is None else f" (serve exited with {self.proc.returncode})"
        raise AssertionError(
            f"no {sorted(events)} line for {rcpt} within {timeout}s{died}; lines for it: "
            f"{json.dumps(self.entries(rcpt), indent=1)}\n--- serve log:\n{self.serve_log()}")

    def wait_ndr(self, rcpt, timeout=WAIT_S):
        """The NDR naming rcpt that reached the sender domain's MX (the sink)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.sink.messages():
                if m["mail_from"] in ("", "<>") and rcpt in m["data"]:  # aiosmtpd keeps "<>"
                    return m
            time.sleep(0.1)
        raise AssertionError(f"no NDR for {rcpt} at the sink within {timeout}s; log: "
                             f"{json.dumps(self.entries(rcpt))}\n{self.serve_log()}")


class LabCase:
    """unittest mix-in: cls.lab is built by cls.setup_lab(lab) and started once."""

    lab = None
    tld = "lab"

    @classmethod
    def setUpClass(cls):
        cls.lab = Lab(cls.__name__.lower(), tld=cls.tld)
        try:
            cls.setup_lab(cls.lab)
            cls.lab.start()
        except BaseException:
            cls.lab.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.lab.stop()

    # Assertions shared by the files.
    def assertDeliveredTls(self, e, recv, policy, auth, host):
        self.assertEqual(e["event"], "delivered", e)
        self.assertEqual(e["policy"], policy, e)
        self.assertEqual(e["host"], host, e)
        self.assertEqual(e["dsn"], "2.0.0", e)
        self.assertIn("tls", e, e)
        self.assertEqual(e["tls"]["auth"], auth, e)
        self.assertIn(e["tls"]["version"], ("TLSv1.2", "TLSv1.3"), e)
        msgs = recv.messages()
        self.assertEqual(len(msgs), 1, msgs)
        self.assertEqual(msgs[0]["rcpt_tos"], [e["rcpt"]])
        self.assertTrue(msgs[0]["tls"], "the receiver got the message in the clear")
        self.assertEqual(msgs[0]["tls_version"], e["tls"]["version"])

    def assertNothingSent(self, recv):
        """Not one byte of the message left: no MAIL command reached the peer."""
        self.assertNotIn("MAIL", recv.commands(), recv.state()["events"])
        self.assertEqual(recv.messages(), [])

    def assertNeverDelivered(self, rcpt):
        self.assertEqual([e for e in self.lab.entries(rcpt) if e["event"] == "delivered"], [])


def start_serve(config, config_path, log_path, port, host="127.0.0.1"):
    """Writes `config` (JSON is YAML), checks it with check-config, starts
    `chainmail serve` and waits until it listens on host:port. Returns the
    process and its open log file."""
    with open(config_path, "w") as f:
        json.dump(config, f, indent=1)
    check = subprocess.run([CHAINMAIL, "check-config", "-c", config_path],
                           capture_output=True, text=True)
    assert check.returncode == 0, "check-config: " + check.stdout + check.stderr
    out = open(log_path, "w")
    proc = subprocess.Popen([CHAINMAIL, "serve", "-c", config_path],
                            stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("serve exited early:\n" + open(log_path).read())
        try:
            with socket.create_connection((host, port), timeout=1):
                return proc, out
        except OSError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise AssertionError("serve did not listen:\n" + open(log_path).read())
