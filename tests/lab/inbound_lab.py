"""Shared by the test_inbound_*.py lab tests: runs `chainmail serve` on a free
loopback port with a temporary configuration, and talks raw SMTP to it."""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from checks import dead_resolver  # noqa: E402

CHAINMAIL = os.environ.get("CHAINMAIL", "chainmail")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(directory):
    """A self-signed certificate for localhost, made now with openssl."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


def make_users(directory, users):
    """user:crypt-hash lines, hashed by `openssl passwd -6`."""
    path = os.path.join(directory, "users")
    with open(path, "w") as f:
        for user, password in users.items():
            h = subprocess.run(["openssl", "passwd", "-6", password], check=True,
                               capture_output=True, text=True).stdout.strip()
            f.write(f"{user}:{h}\n")
    return path


class Relay:
    """`with Relay(extra_yaml=...) as r:` starts serve; leaving stops it with
    SIGTERM and checks that it exits 0."""

    def __init__(self, networks=("127.0.0.0/8",), listen_extra="", extra_yaml="",
                 tls=False, users=None, limits=""):
        self.dir = tempfile.mkdtemp(prefix="chainmail-inbound-")
        self.port = free_port()
        self.spool = os.path.join(self.dir, "spool")
        self.delivery_log = os.path.join(self.dir, "delivery.jsonl")
        self.config = os.path.join(self.dir, "chainmail.yaml")
        self.cert = self.key = None
        text = "hostname: relay.test\n"
        text += f'listen:\n  - address: "127.0.0.1:{self.port}"\n{listen_extra}'
        if tls:
            self.cert, self.key = make_cert(self.dir)
            text += f"tls:\n  certificate: {self.cert}\n  private_key: {self.key}\n"
        if users:
            text += f"auth:\n  users_file: {make_users(self.dir, users)}\n"
        nets = ", ".join(f'"{n}"' for n in networks)
        text += f"relay_from:\n  networks: [{nets}]\n  authenticated: true\n"
        text += f"spool: {self.spool}\ncontrol_socket: {self.spool}/control\nlog:\n  level: debug\n  delivery_log: {self.delivery_log}\n"
        # Nothing here resolves by DNS; the start-up self-check must not
        # reach the machine's own resolver either.
        text += f'dns:\n  nameservers: ["{dead_resolver()}"]\n'
        if limits:
            text += "limits:\n" + limits
        text += extra_yaml
        with open(self.config, "w") as f:
            f.write(text)
        self.proc = None

    def __enter__(self):
        self.log = open(os.path.join(self.dir, "serve.log"), "w")
        self.proc = subprocess.Popen([CHAINMAIL, "serve", "-c", self.config],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("serve exited early:\n" + self.serve_log())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("serve did not listen:\n" + self.serve_log())

    def __exit__(self, exc_type, exc, tb):
        try:
            if self.proc and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    code = self.proc.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
                    raise AssertionError("serve did not stop on SIGTERM")
                if exc_type is None:
                    assert code == 0, f"serve exit status {code}:\n{self.serve_log()}"
        finally:
            self.log.close()
            if exc_type is not None:
                print(self.serve_log())
            shutil.rmtree(self.dir, ignore_errors=True)

    def serve_log(self):
        with open(os.path.join(self.dir, "serve.log")) as f:
            return f.read()

    def queue(self):
        out = subprocess.run([CHAINMAIL, "queue", "list", "--json", "-c", self.config],
                             check=True, capture_output=True, text=True).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def show(self, qid):
        return subprocess.run([CHAINMAIL, "queue", "show", "-c", self.config, qid],
                              check=True, capture_output=True, text=True).stdout

    def received_events(self):
        if not os.path.exists(self.delivery_log):
            return []
        with open(self.delivery_log) as f:
            return [json.loads(l) for l in f if l.strip()]

    def client(self, greet=True):
        return Raw(self.port, greet)


class Raw:
    """A bare SMTP client on a socket, for what smtplib will not send."""

    def __init__(self, port, greet=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        if greet:
            code, _ = self.reply()
            assert code == 220, code

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; unread: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def reply(self):
        """(code, [lines]) of one possibly multi-line reply."""
        lines = []
        while True:
            line = self._line()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), lines

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def closed(self, timeout=5):
        """True when the server closed the connection (after any pending data)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def starttls(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        assert self.buf == b"", self.buf

    def __del__(self):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
