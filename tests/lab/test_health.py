#!/usr/bin/python3
"""test_health: `chainmail health` asks the running server (greeting, then
NOOP on the first listener) and exits 0 only when it answers: 1 with the
reason when nothing listens or a listener never greets. The Dockerfile's
HEALTHCHECK runs exactly this command, and keeps the spool and the log as
volumes."""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from checks import check, dead_resolver, exit_if_failed, free_port  # noqa: E402

CHAINMAIL = os.environ["CHAINMAIL"]
SOURCE = os.environ["CHAINMAIL_SOURCE_DIR"]


def health(cfg, *extra):
    return subprocess.run([CHAINMAIL, "health", "-c", cfg, *extra], capture_output=True,
                          text=True, timeout=30)


with tempfile.TemporaryDirectory(prefix="lab-health.") as tmp:
    port = free_port()
    cfg = os.path.join(tmp, "chainmail.yaml")
    with open(cfg, "w") as f:
        f.write(f"""hostname: relay.gemeente.test
listen:
  - address: "0.0.0.0:{port}"
spool: {tmp}/spool
control_socket: {tmp}/spool/control
dns:
  nameservers: ["{dead_resolver()}"]
""")
    # Nothing listens yet.
    r = health(cfg)
    check(r.returncode == 1 and f"127.0.0.1:{port}: cannot connect" in r.stderr,
          f"no server: exit {r.returncode}, {r.stderr!r}")

    with open(os.path.join(tmp, "serve.log"), "w") as log:
        proc = subprocess.Popen([CHAINMAIL, "serve", "--no-delivery", "-c", cfg],
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        r = health(cfg)
        while r.returncode != 0 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
            r = health(cfg)
        check(r.returncode == 0 and f"127.0.0.1:{port}: ok (250" in r.stdout,
              f"a running serve is healthy: exit {r.returncode}, {r.stdout!r} {r.stderr!r}")
    finally:
        proc.send_signal(signal.SIGTERM)
        check(proc.wait(timeout=40) == 0, "serve exits 0")
    r = health(cfg)
    check(r.returncode == 1, f"after serve stopped: exit {r.returncode}")

    # A listener that accepts and never greets: unhealthy within the timeout.
    mute = socket.socket()
    mute.bind(("127.0.0.1", port))
    mute.listen(4)
    started = time.monotonic()
    r = health(cfg, "--timeout", "1")
    check(r.returncode == 1 and "no greeting" in r.stderr,
          f"a mute listener: exit {r.returncode}, {r.stderr!r}")
    check(time.monotonic() - started < 10, "the timeout is kept")
    mute.close()

# The Dockerfile asks the running server with this very command.
with open(os.path.join(SOURCE, "Dockerfile")) as f:
    docker = f.read()
hc = re.search(r'^HEALTHCHECK .*?CMD \["/usr/bin/chainmail", "health"', docker, re.M | re.S)
check(hc is not None, "the Dockerfile's HEALTHCHECK runs chainmail health")
check('VOLUME ["/var/spool/chainmail", "/var/log/chainmail"]' in docker,
      "the spool and the log are volumes")
check("cmake -S . -B build -DCMAKE_BUILD_TYPE=Release" in docker, "built with the README's cmake")

exit_if_failed()
print("ok")
