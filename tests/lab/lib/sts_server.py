"""A real HTTPS server for MTA-STS policies (RFC 8461 §3.3) in the test
process: Python's http.server behind ssl, one listening address and port,
one certificate and behaviour per policy host name (chosen by SNI, so one
server serves many `mta-sts.DOMAIN` hosts). A behaviour can be changed while
the server runs; every request is recorded.

    srv = PolicyServer("127.9.9.2", port)
    srv.host("mta-sts.a.secure.lab", cert=(chain, key), body=POLICY)
    srv.host("mta-sts.b.secure.lab", cert=(chain, key), status=301, location="https://x/")
    srv.start(); ...; srv.stop()
"""
import http.server
import ssl
import threading
import time


def policy(mode="enforce", mx=("mx.example",), max_age=86400, eol="\r\n"):
    lines = ["version: STSv1", f"mode: {mode}"] + [f"mx: {m}" for m in mx] + \
        [f"max_age: {max_age}"]
    return eol.join(lines) + eol


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server.owner
        name = getattr(self.connection, "sni_name", None) or ""
        b = srv.behaviour(name)
        srv.requests.append({"host": name, "path": self.path,
                             "host_header": self.headers.get("Host")})
        if b is None:
            self.send_error(421)
            return
        if b.get("hang"):
            time.sleep(b["hang"])
            return
        body = b.get("body", "").encode()
        self.send_response(b.get("status", 200))
        if b.get("location"):
            self.send_header("Location", b["location"])
        self.send_header("Content-Type", b.get("ctype", "text/plain"))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the request's thread, never in the accept loop.
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError):
            request.close()
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass  # a client that went away (our fetch timing out) is not an error here


class PolicyServer:
    def __init__(self, ip, port):
        self.ip, self.port = ip, port
        self.hosts = {}
        self.contexts = {}
        self.requests = []
        self.lock = threading.Lock()
        self.httpd = None

    def host(self, name, cert, **behaviour):
        """cert: (chain file, key file). behaviour: body, status, ctype,
        location, hang (seconds to wait without answering)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert[0], cert[1])
        with self.lock:
            self.contexts[name] = ctx
            self.hosts[name] = dict(behaviour)

    def set(self, name, **behaviour):
        with self.lock:
            self.hosts[name] = dict(behaviour)

    def behaviour(self, name):
        with self.lock:
            return self.hosts.get(name)

    def fetches(self, name):
        return [r for r in self.requests if r["host"] == name]

    def start(self):
        def sni(sock, name, _ctx):
            sock.sni_name = name
            if name in self.contexts:
                sock.context = self.contexts[name]

        first = next(iter(self.contexts.values()))
        for c in self.contexts.values():
            c.sni_callback = sni
        self.httpd = _Server((self.ip, self.port), _Handler)
        self.httpd.owner = self
        self.httpd.socket = first.wrap_socket(self.httpd.socket, server_side=True,
                                              do_handshake_on_connect=False)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
