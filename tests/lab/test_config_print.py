#!/usr/bin/python3
"""test_config_print: `chainmail config` prints the effective configuration
with every default filled in. Its output is accepted again by check-config
(with the file checks on, when the files exist), every key of the shipped
example appears in it (a key without a value as a commented line), and a bad
file is refused with FILE:LINE:COL and nothing on stdout."""

import os
import re
import subprocess
import sys
import tempfile

import yaml
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from checks import check, exit_if_failed  # noqa: E402

CHAINMAIL = os.environ["CHAINMAIL"]
SOURCE = os.environ["CHAINMAIL_SOURCE_DIR"]
EXAMPLE = os.path.join(SOURCE, "config", "chainmail.example.yaml")


def run(*args, env=None):
    return subprocess.run([CHAINMAIL, *args], capture_output=True, text=True, timeout=30, env=env)


def key_paths(node, prefix=""):
    """Every key path of a YAML tree; list items share "[]"; the header
    names under sensitive.headers are data, not keys."""
    paths = set()
    if isinstance(node, dict):
        for k, v in node.items():
            p = f"{prefix}.{k}" if prefix else str(k)
            paths.add(p)
            if p != "sensitive.headers":
                paths |= key_paths(v, p)
    elif isinstance(node, list):
        for item in node:
            paths |= key_paths(item, prefix + "[]")
    return paths


def with_unset_keys(text):
    """The printed YAML with each '# key:   (not set: …)' line made a key."""
    return re.sub(r"^(\s*)# ([a-z_]+):   \(not set: [^)]*\)$", r"\1\2: null", text, flags=re.M)


with tempfile.TemporaryDirectory(prefix="lab-config.") as tmp:
    # 1. The example, printed, is accepted again and names every key.
    r = run("config", "--no-file-checks", "-c", EXAMPLE)
    check(r.returncode == 0, f"config of the example: exit {r.returncode}: {r.stderr}")
    printed = os.path.join(tmp, "printed.yaml")
    with open(printed, "w") as f:
        f.write(r.stdout)
    r2 = run("check-config", "--no-file-checks", "-c", printed)
    check(r2.returncode == 0 and f"{printed}: ok" in r2.stdout,
          f"check-config of the printed example: exit {r2.returncode}: {r2.stdout}{r2.stderr}")
    r3 = run("config", "--no-file-checks", "-c", printed)
    check(r3.stdout.split("\n", 1)[1] == r.stdout.split("\n", 1)[1],
          "printing the printed file gives the same configuration")

    with open(EXAMPLE) as f:
        example_keys = key_paths(yaml.safe_load(f))
    printed_keys = key_paths(yaml.safe_load(with_unset_keys(r.stdout)))
    missing = sorted(example_keys - printed_keys)
    check(not missing, f"keys of the example missing from `chainmail config`: {missing}")
    check(len(example_keys) > 50, f"the example's keys were read ({len(example_keys)})")

    # Defaults that the example does not spell out are filled in.
    for line in ["  max_errors: 10\n", "  data_timeout: 3m\n", "  mode: testing\n",
                 "    on_tls_failure: bounce\n", "  # templates:   (not set: "]:
        check(line in r.stdout, f"the printed example has {line!r}")

    # 2. With the files it names present, the file checks pass as well.
    # A real pair: the loader checks that the key belongs to the certificate.
    certs = os.path.join(SOURCE, "tests/lab/lib/certs.sh")
    subprocess.run(["bash", certs, "selfsigned", tmp, "relay", "relay.gemeente.test"],
                   check=True, capture_output=True)
    os.replace(os.path.join(tmp, "relay.crt"), os.path.join(tmp, "cert.pem"))
    os.replace(os.path.join(tmp, "relay.key"), os.path.join(tmp, "key.pem"))
    with open(os.path.join(tmp, "users"), "w") as f:
        f.write("x\n")
    own = os.path.join(tmp, "own.yaml")
    with open(own, "w") as f:
        f.write(f"""hostname: relay.gemeente.test
listen:
  - address: "127.0.0.1:2525"
  - address: "[::1]:587"
    auth: true
tls:
  certificate: {tmp}/cert.pem
  private_key: {tmp}/key.pem
auth:
  users_file: {tmp}/users
spool: {tmp}/spool
control_socket: {tmp}/spool/control
partners:
  - name: zorg-noord
    domains: [zorg-noord.test]
    tls: verify
""")
    r = run("config", "-c", own)
    check(r.returncode == 0, f"config with file checks: exit {r.returncode}: {r.stderr}")
    with open(printed, "w") as f:
        f.write(r.stdout)
    r2 = run("check-config", "-c", printed)
    check(r2.returncode == 0, f"check-config of the printed file: {r2.stdout}{r2.stderr}")
    check(f"  spool: {tmp}/spool\n" not in r.stdout and f"spool: {tmp}/spool\n" in r.stdout,
          "spool printed at the top level")
    check(f"  delivery_log: {tmp}/spool/delivery.jsonl\n" in r.stdout,
          "the delivery log default follows the spool")

    # CHAINMAIL_CONFIG names the file when -c does not.
    r = run("config", env={**os.environ, "CHAINMAIL_CONFIG": own})
    check(r.returncode == 0 and "zorg-noord" in r.stdout, "CHAINMAIL_CONFIG is honoured")

    # 3. A bad file: FILE:LINE:COL on stderr, exit 1, nothing on stdout.
    bad = os.path.join(tmp, "bad.yaml")
    with open(bad, "w") as f:
        f.write("queue:\n  max_lifetime: 5 days\n")
    r = run("config", "-c", bad)
    check(r.returncode == 1, f"a bad file exits 1, not {r.returncode}")
    check(r.stdout == "", f"nothing on stdout for a bad file: {r.stdout!r}")
    check(f"{bad}:2:17: " in r.stderr, f"FILE:LINE:COL for a bad file: {r.stderr!r}")

    # 4. The embedded default and --help.
    r = run("config", "--default-config")
    check(r.returncode == 0 and "  - address: \"127.0.0.1:2525\"\n" in r.stdout,
          f"config --default-config: {r.stdout}{r.stderr}")
    r = run("config", "--help")
    check(r.returncode == 0 and "effective configuration" in r.stdout, "config --help")

exit_if_failed()
print("ok")
