#!/usr/bin/python3
"""test_deploy_walk: docs/deploy.md as an operator follows it on one machine.

Section 1: the package from `cpack -G DEB`, installed with `dpkg -i`.
Section 6: the relay's certificate in /etc/chainmail/tls, readable by the
group chainmail, as the certbot hook installs it. Section 3: the
configuration edited in place, `check-config`, `config` and `policy`; serve
started the way the installed unit starts it (ExecStartPre and ExecStart of
/usr/lib/systemd/system/chainmail.service, as User=chainmail, with the
RuntimeDirectory the unit would make: there is no systemd as PID 1 here),
and `chainmail health`. Section 4 and 5: a first delivery over STARTTLS and
a first NDR, which goes back to the internal server by the own-domain rule;
the journal line of each, the delivery log under /var/log/chainmail, and
`chainmail log` and `queue list` on them. Section 6: a reload with a broken
file keeps serve running. Section 12: SIGTERM drains, and installing the
package again keeps the edited configuration. Purge leaves the machine as
the test found it. Needs root (dpkg -i); skipped (77) otherwise.
"""

import email
import fcntl
import json
import os
import pwd
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from checks import check, dead_resolver, exit_if_failed, failures, free_port  # noqa: E402

CHAINMAIL = os.environ["CHAINMAIL"]
SOURCE = os.environ["CHAINMAIL_SOURCE_DIR"]
BUILD = os.path.dirname(CHAINMAIL)
LIB = os.path.join(SOURCE, "tests", "lab", "lib")
PY = "/usr/bin/python3"
CONF = "/etc/chainmail/chainmail.yaml"
UNIT = "/usr/lib/systemd/system/chainmail.service"
RUN_DIR = "/run/chainmail"
INSTALLED = ["/usr/bin/chainmail", "/etc/chainmail", "/var/spool/chainmail",
             "/var/log/chainmail", RUN_DIR]


def sh(*cmd, **kw):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=120, **kw)


def as_chainmail(*cmd):
    """User=chainmail, Group=chainmail: exec'd directly (no process between,
    so that signals reach serve as systemd sends them)."""
    return ["setpriv", "--reuid=chainmail", "--regid=chainmail", "--init-groups", "--", *cmd]


def wait_for(what, pred, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    check(False, f"waited {seconds} s for {what}")
    return None


class Peer:
    """An internal or partner mail server (smtp_peer.py, STARTTLS)."""

    def __init__(self, tmp, name, cert, key):
        self.record = os.path.join(tmp, f"{name}.json")
        self.err = open(os.path.join(tmp, f"{name}.err"), "w")
        self.proc = subprocess.Popen(
            [PY, os.path.join(LIB, "smtp_peer.py"), "--record", self.record, "--hostname", name,
             "--cert", cert, "--key", key, "--lifetime", "300"],
            stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.port = int(self.proc.stdout.readline().strip())

    def messages(self):
        try:
            with open(self.record) as f:
                return json.load(f)["messages"]
        except (OSError, ValueError):
            return []

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.err.close()


def unit_commands():
    """ExecStartPre and ExecStart of the installed unit, in order."""
    pre, start = [], None
    with open(UNIT) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            if key == "ExecStartPre":
                pre.append(value)
            elif key == "ExecStart":
                start = value
    return pre, start


def config_text(port, exchange, partner):
    return f"""# Edited as docs/deploy.md sections 3, 5, 6 and 8 say.
hostname: relay.gemeente.test
listen:
  - address: "127.0.0.1:{port}"
    starttls: true
relay_from:
  networks: ["127.0.0.0/8"]
  authenticated: false
tls:
  certificate: /etc/chainmail/tls/fullchain.pem
  private_key: /etc/chainmail/tls/key.pem
dns:
  nameservers: ["{dead_resolver()}"]
log:
  level: info
  delivery_log: /var/log/chainmail/delivery.jsonl
defaults:
  tls: dane
  on_tls_failure: defer
partners:
  - name: eigen-organisatie
    domains: [gemeente.test, .gemeente.test]
    next_hop: "[127.0.0.1]:{exchange}"
    tls: encrypt
    on_tls_failure: defer
  - name: zorg-west
    domains: [zorg-west.test]
    next_hop: "[127.0.0.1]:{partner}"
    tls: encrypt
  - name: test-dane
    domains: [geen-dane.test]
    next_hop: "[127.0.0.1]:{partner}"
    tls: dane-only
    on_tls_failure: bounce
"""


def journal_line(journal, rcpt):
    with open(journal) as f:
        return next((line for line in f if f"to=<{rcpt}>" in line), None)


def main():
    if os.getuid() != 0:
        print("SKIP: dpkg -i needs root", file=sys.stderr)
        sys.exit(77)
    for tool in ("cpack", "dpkg-shlibdeps", "setpriv"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing (.ci/deps.sh installs it)")
    # One package test at a time (test_package_deb.sh takes the same lock).
    lock = open("/tmp/chainmail-package-test.lock", "w")
    deadline = time.monotonic() + 600
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                sys.exit("another package test holds the lock")
            time.sleep(1)
    # The machine as we found it: refuse where we could not put it back.
    if "installed" in sh("dpkg-query", "-W", "-f=${Status}", "chainmail").stdout:
        sys.exit("a chainmail package is installed already; this test would remove it")
    for p in INSTALLED:
        if os.path.exists(p):
            sys.exit(f"{p} exists already; this test would remove it")
    if sh("getent", "passwd", "chainmail").returncode == 0:
        sys.exit("a user chainmail exists already")

    tmp = tempfile.mkdtemp(prefix="lab-deploy.")
    os.chmod(tmp, 0o755)  # the peers' records are read as root; serve never reads here
    peers, serve = [], None
    try:
        # --- 1. install -------------------------------------------------
        r = sh("cpack", "-G", "DEB", "-B", os.path.join(tmp, "out"), cwd=BUILD)
        debs = [f for f in os.listdir(os.path.join(tmp, "out")) if f.endswith(".deb")] \
            if r.returncode == 0 else []
        if not debs:
            sys.exit(f"cpack -G DEB: {r.stdout[-2000:]}{r.stderr[-2000:]}")
        deb = os.path.join(tmp, "out", debs[0])
        r = sh("dpkg", "-i", deb)
        if r.returncode != 0:
            sys.exit(f"dpkg -i: {r.stdout}{r.stderr}")

        # --- 6. the certificate, as the certbot deploy hook installs it ---
        pki = os.path.join(tmp, "pki")
        for name, dns in (("relay", "relay.gemeente.test"), ("exchange", "exchange.gemeente.test"),
                          ("partner", "mx.zorg-west.test")):
            r = sh(os.path.join(LIB, "certs.sh"), "selfsigned", pki, name, dns)
            if r.returncode != 0:
                sys.exit(f"certs.sh: {r.stderr}")
        sh("install", "-d", "-m", "0750", "-o", "root", "-g", "chainmail", "/etc/chainmail/tls")
        sh("install", "-m", "0640", "-g", "chainmail", f"{pki}/relay.crt",
           "/etc/chainmail/tls/fullchain.pem")
        sh("install", "-m", "0640", "-g", "chainmail", f"{pki}/relay.key", "/etc/chainmail/tls/key.pem")

        exchange = Peer(tmp, "exchange", f"{pki}/exchange.crt", f"{pki}/exchange.key")
        peers.append(exchange)
        partner = Peer(tmp, "partner", f"{pki}/partner.crt", f"{pki}/partner.key")
        peers.append(partner)

        # --- 3. the configuration ------------------------------------------
        port = free_port()
        with open(CONF, "w") as f:  # dpkg's conffile, edited in place
            f.write(config_text(port, exchange.port, partner.port))
        r = sh("chainmail", "check-config")
        check(r.returncode == 0 and r.stdout.startswith(f"{CONF}: ok"),
              f"check-config on the edited file: {r.returncode} {r.stdout}{r.stderr}")
        r = sh("chainmail", "config")
        check(r.returncode == 0 and "eigen-organisatie" in r.stdout and "dane-only" in r.stdout,
              f"chainmail config: {r.stdout[:500]}{r.stderr}")
        r = sh("chainmail", "policy", "zorg-west.test")
        check(r.returncode == 0 and "zorg-west" in r.stdout and "encrypt" in r.stdout,
              f"chainmail policy: {r.stdout}{r.stderr}")

        # --- serve, as the unit starts it -----------------------------------
        pre, start = unit_commands()
        check(start == f"/usr/bin/chainmail serve -c {CONF}", f"the unit's ExecStart: {start}")
        os.makedirs(RUN_DIR, mode=0o750)  # RuntimeDirectory=chainmail
        shutil.chown(RUN_DIR, "chainmail", "chainmail")
        for cmd in pre:
            privileged = cmd.startswith("+")
            argv = cmd.lstrip("+").split()
            r = sh(*(argv if privileged else as_chainmail(*argv)))
            check(r.returncode == 0, f"ExecStartPre {cmd}: {r.returncode} {r.stdout}{r.stderr}")
        journal = os.path.join(tmp, "journal")
        with open(journal, "w") as j:
            serve = subprocess.Popen(as_chainmail(*start.split()), stdout=subprocess.DEVNULL,
                                     stderr=j)
        wait_for("chainmail health", lambda: sh("chainmail", "health").returncode == 0)

        # --- 4. a first delivery, a first NDR ---------------------------------
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.starttls()
            s.sendmail("clerk@gemeente.test", ["arts@zorg-west.test"],
                       "From: clerk@gemeente.test\r\nTo: arts@zorg-west.test\r\n"
                       "Subject: first delivery\r\n\r\nHallo.\r\n")
            s.sendmail("clerk@gemeente.test", ["iemand@geen-dane.test"],
                       "From: clerk@gemeente.test\r\nTo: iemand@geen-dane.test\r\n"
                       "Subject: first NDR\r\n\r\nHallo.\r\n")
        got = wait_for("the delivery at the partner", lambda: [
            m for m in partner.messages() if "arts@zorg-west.test" in m["rcpt_tos"]])
        check(bool(got) and got[0]["tls"], f"the partner got it over TLS: {got}")
        check(not any("iemand@geen-dane.test" in m["rcpt_tos"] for m in partner.messages()),
              "a dane-only recipient without DANE got the message")
        ndrs = wait_for("the NDR at the internal server", lambda: [
            m for m in exchange.messages() if m["mail_from"] in ("", "<>") and
            "clerk@gemeente.test" in m["rcpt_tos"]])
        if ndrs:
            ndr = email.message_from_string(ndrs[0]["data"])
            check(ndr.get_content_type() == "multipart/report", f"NDR type {ndr.get_content_type()}")
            check(ndrs[0]["tls"], "the NDR went to the internal server over TLS")
        sent = wait_for("the journal line of the delivery",
                        lambda: journal_line(journal, "arts@zorg-west.test"))
        check(sent and "partner=zorg-west" in sent and "tls=encrypt:encrypt" in sent and
              "status=sent" in sent, f"journal: {sent}")
        bounced = journal_line(journal, "iemand@geen-dane.test")
        check(bounced and "status=bounced" in bounced and "ndr=" in bounced, f"journal: {bounced}")

        st = os.stat("/var/log/chainmail/delivery.jsonl")
        check(pwd.getpwuid(st.st_uid).pw_name == "chainmail", "the delivery log belongs to chainmail")
        r = sh("chainmail", "log", "--rcpt", "zorg-west.test", "--json")
        lines = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
        check(any(x.get("event") == "delivered" and x.get("tls") for x in lines),
              f"chainmail log --rcpt zorg-west.test: {r.stdout}{r.stderr}")
        r = wait_for("an empty queue", lambda: (lambda q: q if q.returncode == 0 and
                     "iemand@" not in q.stdout and "arts@" not in q.stdout else None)(
                         sh("chainmail", "queue", "list")))
        check(r is not None, "queue list after both settled")

        # --- 6. a broken file: the reload is refused, serve keeps running -----
        good = open(CONF).read()
        with open(CONF, "w") as f:
            f.write(good + "no_such_key: 1\n")
        r = sh("chainmail", "check-config")  # ExecReload's first command
        check(r.returncode == 1 and f"{CONF}:" in r.stdout + r.stderr, "ExecReload refuses the file")
        serve.send_signal(signal.SIGHUP)
        wait_for("the refused reload in the journal",
                 lambda: "reload refused" in open(journal).read())
        with open(CONF, "w") as f:  # health reads the file for the listener
            f.write(good)
        check(serve.poll() is None and sh("chainmail", "health").returncode == 0,
              "serve alive after a refused reload")

        # --- 12. upgrading: stop drains, the edited conffile stays ------------
        serve.send_signal(signal.SIGTERM)
        try:
            rc = serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, f"serve after SIGTERM: exit {rc}")
        serve = None
        r = sh("dpkg", "-i", "--force-confold", deb)
        check(r.returncode == 0, f"dpkg -i again: {r.stdout}{r.stderr}")
        check("relay.gemeente.test" in open(CONF).read(), "the upgrade replaced the edited file")
        r = sh("chainmail", "check-config")
        check(r.returncode == 0, f"check-config after the upgrade: {r.stdout}{r.stderr}")
    finally:
        if serve is not None:
            serve.kill()
            serve.wait()
        for p in peers:
            p.stop()
        sh("dpkg", "--purge", "chainmail")
        # Purge keeps what the operator added (the certificates); so do we not.
        shutil.rmtree("/etc/chainmail/tls", ignore_errors=True)
        if os.path.isdir("/etc/chainmail") and not os.listdir("/etc/chainmail"):
            os.rmdir("/etc/chainmail")
        shutil.rmtree(RUN_DIR, ignore_errors=True)
        if failures:
            print(f"kept for a look: {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    for p in INSTALLED:
        check(not os.path.exists(p), f"purge left {p}")
    check(sh("getent", "passwd", "chainmail").returncode != 0, "purge left the user chainmail")
    exit_if_failed()


if __name__ == "__main__":
    main()
