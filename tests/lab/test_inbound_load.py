"""Inbound load: 20 pipelining sessions hand over 10 KB messages for a
bounded time, and idle connections stay small. Prints the measured rate and
memory per idle connection; asserts that nothing acknowledged is lost and idle sessions stay small."""
import asyncio
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inbound_lab import Relay  # noqa: E402

SESSIONS = 20
SECONDS = 5.0
BODY = ("Subject: load\r\n\r\n" + ("x" * 98 + "\r\n") * 100).encode()  # about 10 KB
IDLE = 500


async def read_reply(reader):
    while True:
        line = await reader.readline()
        if not line:
            raise EOFError
        if line[3:4] != b"-":
            return int(line[:3])


async def session(port, deadline, counts):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await read_reply(reader) == 220
    writer.write(b"EHLO load.test\r\n")
    assert await read_reply(reader) == 250
    while time.monotonic() < deadline:
        # RFC 2920: MAIL, RCPT and DATA in one go, then the message.
        writer.write(b"MAIL FROM:<a@gemeente.nl> SIZE=%d\r\nRCPT TO:<b@partner.nl>\r\nDATA\r\n"
                     % len(BODY))
        for expected in (250, 250, 354):
            assert await read_reply(reader) == expected
        writer.write(BODY + b".\r\n")
        assert await read_reply(reader) == 250
        counts[0] += 1
    writer.write(b"QUIT\r\n")
    await read_reply(reader)
    writer.close()


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class InboundLoad(unittest.TestCase):
    def test_every_message_acknowledged_under_20_sessions_is_queued(self):
        with Relay(extra_yaml="") as r:
            counts = [0]
            start = time.monotonic()

            async def main():
                await asyncio.gather(*(session(r.port, start + SECONDS, counts)
                                       for _ in range(SESSIONS)))
            asyncio.run(main())
            rate = counts[0] / (time.monotonic() - start)
            print(f"\ninbound: {counts[0]} messages of {len(BODY)} bytes in {SECONDS:.0f}s "
                  f"over {SESSIONS} sessions: {rate:.0f} messages/s", flush=True)
            # Speed is the benchmark's job (bench/); this asserts nothing is lost.
            self.assertGreater(counts[0], 0)
            self.assertEqual(len(r.queue()), counts[0])

    def test_idle_connections_stay_small(self):
        with Relay() as r:
            time.sleep(0.5)
            before = rss_kb(r.proc.pid)
            socks = []
            try:
                for _ in range(IDLE):
                    s = socket.create_connection(("127.0.0.1", r.port), timeout=10)
                    socks.append(s)
                for s in socks:  # every session past its greeting, waiting for a command
                    self.assertTrue(s.recv(512).startswith(b"220"))
                time.sleep(0.5)
                per_conn = (rss_kb(r.proc.pid) - before) * 1024 / IDLE
                print(f"\ninbound: {per_conn:.0f} bytes of RSS per idle connection", flush=True)
                self.assertLess(per_conn, 16 * 1024)
            finally:
                for s in socks:
                    s.close()


if __name__ == "__main__":
    unittest.main()
