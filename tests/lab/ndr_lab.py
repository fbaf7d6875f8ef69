"""Shared by the test_ndr_*.py lab tests: one `chainmail serve` whose partners
all have an address-literal next_hop on loopback (no DNS), the sender's own
mail server (an smtp_peer.py receiver, reached through the partner rule for
the sender's domain) that collects the reports, partner receivers
(smtp_peer.py, reused from outbound_lab) and a partner that only ever
answers 451 to RCPT. Reports are parsed with Python's email package.
"""
import email
import email.policy
import email.utils
import json
import os
import random
import re
import shutil
import signal
import smtplib
import socketserver
import subprocess
import tempfile
import threading
import time
import types
import uuid

from outbound_lab import CHAINMAIL, SRC, Receiver, free_port, start_serve

SENDER_DOMAIN = "gemeente.test"
HOSTNAME = "relay.gemeente.test"
WAIT_S = 15


def parse(data):
    """A message as recorded by smtp_peer (text) → email.message.EmailMessage."""
    return email.message_from_bytes(data.encode("utf-8"), policy=email.policy.default)


def flat(text):
    """Whitespace folded to single spaces: templates wrap at 76 columns."""
    return re.sub(r"\s+", " ", text)


def status_blocks(report):
    """The message/delivery-status part as (per-message fields, [per-recipient
    fields]), each a dict of lower-case field name → value (RFC 3464 §2)."""
    [ds] = [p for p in report.walk() if p.get_content_type() == "message/delivery-status"]
    blocks = [{k.lower(): str(v) for k, v in b.items()} for b in ds.get_payload()]
    return blocks[0], blocks[1:]


class TempFailServer:
    """A partner's server that greets, accepts EHLO and MAIL, and answers
    451 to every RCPT: a recipient that can only be deferred."""

    def __init__(self, ip):
        self.commands = []
        lock = threading.Lock()
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 30

            def reply(self, line):
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self):
                self.reply("220 traag.test ESMTP")
                for raw in self.rfile:
                    word = raw.decode("ascii", "replace").strip().split(" ")[0].upper()
                    with lock:
                        outer.commands.append(word)
                    if word in ("EHLO", "HELO"):
                        self.reply("250 traag.test")
                    elif word in ("MAIL", "RSET", "NOOP"):
                        self.reply("250 2.0.0 Ok")
                    elif word == "RCPT":
                        self.reply("451 4.3.0 mailbox temporarily unavailable")
                    elif word == "QUIT":
                        self.reply("221 2.0.0 Bye")
                        return
                    else:
                        self.reply("503 5.5.1 no valid recipients")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.ip = ip
        self.server = Server((ip, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class NdrLab:
    def __init__(self, name, delay_warning_after="2s", max_lifetime="10m"):
        self.dir = tempfile.mkdtemp(prefix=f"chainmail-{name}-")
        r = random.Random()
        self.subnet = f"127.{r.randint(1, 254)}.{r.randint(1, 254)}"
        self.next_host = 2
        self.delay_warning_after = delay_warning_after
        self.max_lifetime = max_lifetime
        self.partners = []
        self.receivers = []
        self.tempfail = []
        self.proc = None
        self.serve_out = None
        # The sender's own mail server: reports come back here.
        self.sink = self.receiver("mx.gemeente.test")
        self.partner(name="intern", domains=[SENDER_DOMAIN], tls="may",
                     on_tls_failure="defer", hop=self.sink)

    def addr(self):
        ip = f"{self.subnet}.{self.next_host}"
        self.next_host += 1
        assert self.next_host < 255
        return ip

    def receiver(self, name, **kw):
        """An smtp_peer on a fresh loopback address and its own port."""
        ip = self.addr()
        at = types.SimpleNamespace(dir=self.dir, port=free_port(ip))
        r = Receiver(at, ip, name, **kw)
        r.port = at.port
        self.receivers.append(r)
        return r

    def tempfail_server(self):
        s = TempFailServer(self.addr())
        self.tempfail.append(s)
        return s

    def partner(self, hop, **p):
        p.setdefault("mta_sts", False)
        p["next_hop"] = f"[{hop.ip}]:{hop.port}"
        self.partners.append(p)

    def start(self):
        self.listen_port = free_port()
        self.spool = os.path.join(self.dir, "spool")
        self.delivery_log = os.path.join(self.dir, "delivery.jsonl")
        self.config = os.path.join(self.dir, "chainmail.yaml")
        config = {
            "hostname": HOSTNAME,
            "listen": [{"address": f"127.0.0.1:{self.listen_port}"}],
            "relay_from": {"networks": ["127.0.0.0/8"]},
            "spool": self.spool,
            "control_socket": os.path.join(self.spool, "control"),
            "log": {"level": "debug", "delivery_log": self.delivery_log},
            "delivery": {"connect_timeout": "5s"},
            "queue": {"retry_schedule": ["1s"], "max_lifetime": self.max_lifetime,
                      "delay_warning_after": self.delay_warning_after},
            "ndr": {"languages": ["nl", "en"]},
            "defaults": {"tls": "may", "mta_sts": False, "on_tls_failure": "defer"},
            "partners": self.partners,
        }
        self.serve_log_path = os.path.join(self.dir, "serve.log")
        self.proc, self.serve_out = start_serve(config, self.config, self.serve_log_path,
                                                self.listen_port)
        return self

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
            for s in self.tempfail:
                s.stop()
        finally:
            if self.serve_out:
                self.serve_out.close()
            if os.environ.get("NDRLAB_KEEP"):
                print("kept", self.dir)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)

    def serve_log(self, tail=40):
        try:
            with open(self.serve_log_path) as f:
                return "".join(f.readlines()[-tail:])
        except (OSError, AttributeError):
            return ""

    # --- sending ------------------------------------------------------------

    def send(self, sender, rcpts, mail_options=(), subject="NDR lab", body=None,
             message_id=None, with_id=True):
        """One message; rcpts is a list of addresses or (address, [RCPT
        options]). Returns its Message-ID (None when sent without one)."""
        mid = message_id or f"<{uuid.uuid4().hex}@{SENDER_DOMAIN}>"
        pairs = [(r, []) if isinstance(r, str) else r for r in rcpts]
        to = ", ".join(a for a, _ in pairs)
        body = body or f"Body of {mid}.\r\n"
        msg = (f"From: {sender or 'system@' + SENDER_DOMAIN}\r\nTo: {to}\r\n"
               f"Subject: {subject}\r\n" + (f"Message-ID: {mid}\r\n" if with_id else "") +
               f"Date: {email.utils.formatdate()}\r\n\r\n{body}")
        with smtplib.SMTP("127.0.0.1", self.listen_port, timeout=10) as s:
            s.ehlo("client.gemeente.test")
            code, reply = s.mail(sender, list(mail_options))
            assert code == 250, (code, reply)
            for addr, opts in pairs:
                code, reply = s.rcpt(addr, list(opts))
                assert code == 250, (addr, code, reply)
            code, reply = s.data(msg.encode())
            assert code == 250, (code, reply)
        return mid if with_id else None

    def queue(self):
        """`chainmail queue list --json` (one object a line), while serve runs."""
        out = subprocess.run([CHAINMAIL, "queue", "list", "--json", "-c", self.config],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stdout + out.stderr
        return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]

    # --- what happened ------------------------------------------------------

    def entries(self, rcpt=None, event=None):
        try:
            with open(self.delivery_log) as f:
                lines = [json.loads(l) for l in f if l.strip()]
        except OSError:
            return []
        return [e for e in lines if (rcpt is None or e.get("rcpt") == rcpt)
                and (event is None or e.get("event") == event)]

    def wait_for(self, what, probe, timeout=WAIT_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = probe()
            if got:
                return got
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{what}: not within {timeout}s\n--- delivery log:\n"
                             f"{json.dumps(self.entries(), indent=1)}\n--- serve log:\n"
                             f"{self.serve_log()}")

    def wait_log(self, rcpt, event, timeout=WAIT_S):
        """The first delivery-log line for rcpt with this event."""
        return self.wait_for(f"a {event} line for {rcpt}",
                             lambda: next(iter(self.entries(rcpt, event)), None), timeout)

    def reports(self, mid):
        """(record, parsed) of every message at the sender's server that
        answers the message with Message-ID mid: In-Reply-To, or mid anywhere."""
        out = []
        for m in self.sink.messages():
            if mid in m["data"]:
                out.append((m, parse(m["data"])))
        return out

    def wait_report(self, mid, action=None, timeout=WAIT_S):
        """The first report for mid (with this Action, if given)."""
        def probe():
            for m, r in self.reports(mid):
                if action is None or action in actions(r):
                    return m, r
            return None
        return self.wait_for(f"a report ({action or 'any'}) for {mid} at the sender's server",
                             probe, timeout)


def actions(report):
    """The Action of each recipient in a report."""
    try:
        return [r.get("action", "").strip().lower() for r in status_blocks(report)[1]]
    except ValueError:
        return []


# --- the example report shown in the README --------------------------------

VARIABLE = [
    (re.compile(r"\b127\.\d+\.\d+\.\d+\b"), "IP"),
    (re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b"), "QUEUEID"),
    (re.compile(r"=_chainmail_[0-9a-f]+"), "BOUNDARY"),
    (re.compile(r"\b\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\b"), "DATE"),
    (re.compile(r"\b\d{4}-\d\d-\d\d \d\d:\d\d \(UTC[+-]\d\d:\d\d\)"), "DATE"),
    (re.compile(r":\d{2,5}\b"), ":PORT"),
    (re.compile(r"<[0-9a-f]{32}@"), "<MID@"),
    (re.compile(r"Message-ID: <[^>]*@" + re.escape(HOSTNAME) + ">"), "Message-ID: NDR"),
]


def normalised(text):
    text = flat(text)
    for pattern, repl in VARIABLE:
        text = pattern.sub(repl, text)
    return text


def compare_example(name, data):
    """Compares a real report with the stored tests/lab/examples/NAME in all
    but ids, addresses, ports and dates: None when they agree, else what
    differs. With CHAINMAIL_REGENERATE_EXAMPLES=1 it writes the new report
    there instead (read the diff before committing it)."""
    path = os.path.join(SRC, "tests", "lab", "examples", name)
    if os.environ.get("CHAINMAIL_REGENERATE_EXAMPLES") == "1":
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(data)
        return None
    try:
        with open(path, encoding="utf-8", newline="") as f:
            stored = normalised(f.read())
    except OSError as e:
        return f"no stored example {path}: {e}"
    got = normalised(data)
    if stored == got:
        return None
    import difflib
    diff = "\n".join(difflib.unified_diff(stored.splitlines(), got.splitlines(), "stored", "got",
                                          lineterm="", n=1))
    return (f"the report differs from {path} (CHAINMAIL_REGENERATE_EXAMPLES=1 rewrites it):\n"
            + diff[:4000])
