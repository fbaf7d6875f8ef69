#!/usr/bin/python3
"""smtp_peer: a receiving SMTP server for tests (aiosmtpd).

Binds --listen on a free port (or --port), prints the port on stdout, and
records every command event and every message into the --record JSON file,
with whether TLS was up at that moment. Options make it a good or a bad peer:
STARTTLS with a given certificate, no STARTTLS, a STARTTLS-stripping
middlebox, replies injected behind the 220 to STARTTLS, a maximum TLS
version, PIPELINING, CHUNKING (BDAT, RFC 3030), DSN, REQUIRETLS (after
STARTTLS), SIZE, refused recipients.
Stops on SIGTERM, when its parent dies, or after --lifetime seconds.
"""
import argparse
import asyncio
import ctypes
import json
import logging
import os
import signal
import socket
import ssl
import sys

import warnings
from asyncio import sslproto

from aiosmtpd.smtp import SMTP

warnings.filterwarnings("ignore", category=DeprecationWarning)  # TLS 1.0/1.1 on purpose

_handshake_complete = sslproto.SSLProtocol._on_handshake_complete


def _send_alert_first(self, exc):
    """A real server sends its TLS alert (e.g. protocol_version) before it
    closes; asyncio (3.11) drops it. Flush it so clients see the reason."""
    if exc is not None:
        try:
            self._process_outgoing()
        except Exception:  # the connection may already be gone
            pass
    _handshake_complete(self, exc)


sslproto.SSLProtocol._on_handshake_complete = _send_alert_first

VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}
DSN_PARAMS = ("NOTIFY=", "ORCPT=", "RET=", "ENVID=")


class Recorder:
    def __init__(self, path):
        self.path = path
        self.state = {"connections": 0, "events": [], "messages": []}

    def save(self):
        if not self.path:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state, f, indent=1)
        os.replace(tmp, self.path)


def tls_info(server):
    obj = server.transport.get_extra_info("ssl_object") if server.transport else None
    if obj is None or server._tls_protocol is None:
        return {"tls": False}
    return {"tls": True, "tls_version": obj.version(), "cipher": obj.cipher()[0],
            "resumed": obj.session_reused}


class Handler:
    def __init__(self, args, rec):
        self.args = args
        self.rec = rec

    def event(self, server, cmd, **kw):
        e = {"cmd": cmd, "conn": id(server) & 0xFFFFFF}
        e.update(tls_info(server))
        e.update(kw)
        self.rec.state["events"].append(e)
        self.rec.save()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.event(server, "EHLO", arg=hostname)
        session.host_name = hostname  # aiosmtpd leaves this to a 5-argument hook
        out = []
        for r in responses:
            if self.args.strip_starttls and "STARTTLS" in r:
                r = r.replace("STARTTLS", "XXXXXXXA")  # what a stripping middlebox sends
            out.append(r)
        extra = []
        if self.args.pipelining:
            extra.append("250-PIPELINING")
        if self.args.chunking:
            extra.append("250-CHUNKING")
        if self.args.dsn:
            extra.append("250-DSN")
        if self.args.requiretls and server._tls_protocol is not None:
            extra.append("250-REQUIRETLS")  # RFC 8689 §2: offered only over TLS
        return out[:1] + extra + out[1:]

    async def handle_MAIL(self, server, session, envelope, address, options):
        buffered = bytes(getattr(server._reader, "_buffer", b"")).upper()
        self.event(server, "MAIL", arg=address, options=options + server._dsn_mail,
                   pipelined=b"RCPT TO" in buffered and (b"DATA" in buffered or b"BDAT" in buffered))
        if self.args.reject_mail:
            return "550 5.7.1 sender refused"
        envelope.mail_from = address
        envelope.mail_options.extend(options + server._dsn_mail)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, options):
        self.event(server, "RCPT", arg=address, options=options + server._dsn_rcpt)
        if self.args.delay_rcpt:  # a slow receiver: the sender's attempt stays in flight
            await asyncio.sleep(self.args.delay_rcpt)
        if address in self.args.reject_rcpt:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(options + server._dsn_rcpt)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        info = tls_info(server)
        self.event(server, "DATA")
        return self.keep(envelope, info, "DATA")

    def keep(self, envelope, info, via):
        msg = {"via": via, "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
               "mail_options": envelope.mail_options, "rcpt_options": envelope.rcpt_options,
               "data": envelope.original_content.decode("utf-8", "replace")}
        msg.update(info)
        self.rec.state["messages"].append(msg)
        self.rec.save()
        return "250 2.0.0 Ok: queued"

    async def handle_RSET(self, server, session, envelope):
        buffered = bytes(getattr(server._reader, "_buffer", b"")).upper()
        self.event(server, "RSET", pipelined=b"MAIL FROM" in buffered
                   and (b"DATA" in buffered or b"BDAT" in buffered))
        return "250 2.0.0 Ok"


class PeerSMTP(SMTP):
    """Accepts DSN parameters when --dsn (aiosmtpd knows none) and can strip STARTTLS."""

    def __init__(self, handler, args, **kw):
        super().__init__(handler, **kw)
        self._args = args
        self._dsn_mail = []
        self._dsn_rcpt = []
        self._bdat = b""  # the chunks of the BDAT transaction so far

    def _take_dsn(self, arg):
        """The DSN (and, with --requiretls over TLS, REQUIRETLS) parameters,
        which aiosmtpd does not know, taken out of `arg` and kept aside."""
        ours = DSN_PARAMS if self._args.dsn else ()
        if self._args.requiretls and self._tls_protocol is not None:
            ours = ours + ("REQUIRETLS",)
        if not ours or arg is None:
            return arg, []
        words = arg.split(" ")
        keep = [w for w in words if not w.upper().startswith(ours)]
        dsn = [w for w in words if w.upper().startswith(ours)]
        return " ".join(keep), dsn

    async def smtp_MAIL(self, arg):
        arg, self._dsn_mail = self._take_dsn(arg)
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg):
        arg, self._dsn_rcpt = self._take_dsn(arg)
        await super().smtp_RCPT(arg)

    async def smtp_BDAT(self, arg):
        """RFC 3030 §2: exactly SIZE octets follow "BDAT SIZE [LAST]"; they are
        read even when the chunk is refused, so that the session stays in step."""
        if not self._args.chunking:
            await self.push("502 5.5.1 BDAT not offered")
            return
        words = (arg or "").split()
        if not words or not words[0].isdigit() or len(words) > 2 or (
                len(words) == 2 and words[1].upper() != "LAST"):
            await self.push("501 5.5.4 Syntax: BDAT size [LAST]")  # no octets to read
            return
        chunk = await self._reader.readexactly(int(words[0]))
        last = len(words) == 2
        self.event_handler.event(self, "BDAT", arg=arg, size=len(chunk), last=last)
        if not self.envelope.rcpt_tos:
            await self.push("554 5.5.1 Error: no valid recipients")
            return
        self._bdat += chunk
        if not last:
            await self.push(f"250 2.0.0 {len(chunk)} octets received")
            return
        self.envelope.original_content, self._bdat = self._bdat, b""
        status = self.event_handler.keep(self.envelope, tls_info(self), "BDAT")
        self._set_post_data_state()
        await self.push(status)

    def _set_rset_state(self):
        super()._set_rset_state()
        self._bdat = b""  # RSET drops chunks of an unfinished BDAT transaction

    async def smtp_STARTTLS(self, arg):
        self.event_handler.event(self, "STARTTLS")
        if self._args.strip_starttls:
            await self.push("500 5.5.1 unrecognised command")
            return
        await super().smtp_STARTTLS(arg)

    async def push(self, status):
        # --inject-after-starttls: more replies in the same write as the 220
        # to STARTTLS, as a man in the middle would inject them.
        if self._args.inject_after_starttls and status == "220 Ready to start TLS":
            self.event_handler.event(self, "INJECT", arg=self._args.inject_after_starttls)
            status = status + "\r\n" + self._args.inject_after_starttls.replace("\\r\\n", "\r\n")
        await super().push(status)

    def connection_made(self, transport):
        if self._tls_protocol is None:  # not the re-entry after STARTTLS
            self.event_handler.rec.state["connections"] += 1
            self.event_handler.rec.save()
        super().connection_made(transport)


def make_tls(args, rec):
    if not args.cert:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)

    def note_sni(sslobj, name, context):  # the server name each client asked for
        rec.state.setdefault("sni", []).append(name)
        rec.save()

    ctx.sni_callback = note_sni
    if args.tls_max:
        ctx.maximum_version = VERSIONS[args.tls_max]
    if args.tls_max in ("1.0", "1.1") or args.tls_min in ("1.0", "1.1"):
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # Debian's OpenSSL 3 refuses 1.0/1.1 otherwise
    elif args.tls_min:
        ctx.minimum_version = VERSIONS[args.tls_min]
    return ctx


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--record", default="")
    p.add_argument("--hostname", default="peer.test")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--tls-max", choices=list(VERSIONS))
    p.add_argument("--tls-min", choices=list(VERSIONS))
    p.add_argument("--strip-starttls", action="store_true")
    p.add_argument("--inject-after-starttls", default="",
                   help='replies sent behind "220 Ready to start TLS" in the same write; '
                        'lines separated by a literal \\r\\n')
    p.add_argument("--no-pipelining", dest="pipelining", action="store_false")
    p.add_argument("--chunking", action="store_true", help="offer CHUNKING (BDAT, RFC 3030)")
    p.add_argument("--dsn", action="store_true")
    p.add_argument("--requiretls", action="store_true")
    p.add_argument("--size", type=int, default=33554432)
    p.add_argument("--reject-mail", action="store_true")
    p.add_argument("--reject-rcpt", action="append", default=[])
    p.add_argument("--delay-rcpt", type=float, default=0, help="seconds before each RCPT reply")
    p.add_argument("--lifetime", type=float, default=300)
    args = p.parse_args()
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)  # failures are the tests' business

    try:  # PR_SET_PDEATHSIG: never outlive the test that started us
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)
    except OSError:
        pass

    rec = Recorder(args.record)
    rec.save()
    handler = Handler(args, rec)
    tls = make_tls(args, rec)
    family = socket.AF_INET6 if ":" in args.listen else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.listen, args.port))
    sock.listen(64)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory():
        return PeerSMTP(handler, args, tls_context=tls, hostname=args.hostname,
                        data_size_limit=args.size, enable_SMTPUTF8=True, decode_data=False,
                        timeout=60)

    server = loop.run_until_complete(loop.create_server(factory, sock=sock))
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    loop.call_later(args.lifetime, loop.stop)
    print(sock.getsockname()[1], flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()
        rec.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
