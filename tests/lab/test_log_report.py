#!/usr/bin/python3
"""`chainmail log` and `chainmail report` on a generated month of log whose
totals the generator knows: rotated and gzipped files, damaged lines, every
log filter against the same filter done here in Python, --follow across
rotation, and report totals and regressions exactly as written."""
import datetime as dt
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from checks import check, failures  # noqa: E402

CHAINMAIL = os.environ["CHAINMAIL"]
SRC = os.environ["CHAINMAIL_SOURCE_DIR"]
LOGGEN = os.path.join(SRC, "tests/lab/lib/loggen.py")


def run(*args, ok=0):
    p = subprocess.run([CHAINMAIL, *args], capture_output=True, text=True, timeout=120)
    if p.returncode != ok:
        raise SystemExit("chainmail %s: exit %d, stderr: %s" % (" ".join(args), p.returncode,
                                                                 p.stderr))
    return p


def records(d):
    """Every whole line of the generated files, oldest file first."""
    out = []
    for name in ["delivery.jsonl.3.gz", "delivery.jsonl.2.gz", "delivery.jsonl.1",
                 "delivery.jsonl"]:
        path = os.path.join(d, name)
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                try:
                    rec = json.loads(line)
                except ValueError:
                    at = line.rfind('{"ts":"')
                    if at > 0:
                        try:
                            out.append((line[at:], json.loads(line[at:])))
                        except ValueError:
                            pass
                    continue
                if isinstance(rec, dict) and "ts" in rec:
                    out.append((line, rec))
    return out


def domain_match(addr, want):
    addr = addr.lower()
    want = want.lower()
    if "@" in want:
        return addr == want
    dom = addr.rsplit("@", 1)[-1]
    if want.startswith("."):
        return dom.endswith(want) and len(dom) > len(want)
    return dom == want


def main():
    tmp = tempfile.mkdtemp(prefix="lab-logreport.")
    try:
        d = os.path.join(tmp, "log")
        cfg = os.path.join(tmp, "chainmail.yaml")
        totals_path = os.path.join(tmp, "totals.json")
        subprocess.run([sys.executable, LOGGEN, "--out", d, "--lines", "30000", "--rotate", "3",
                        "--damage", "6", "--config", cfg, "--totals", totals_path, "--seed", "3"],
                       check=True, timeout=120)
        totals = json.load(open(totals_path))
        recs = records(d)
        check(len(recs) == totals["lines"], "python reads back %d of %d lines" % (
            len(recs), totals["lines"]))

        # --- chainmail log: every line, every filter ---------------------------------
        p = run("log", "-c", cfg, "--json")
        lines = p.stdout.splitlines()
        check(lines == [l for l, _ in recs], "log --json gives every whole line, oldest first")
        check("6 damaged lines skipped" in p.stderr, "damaged lines counted: " + p.stderr)
        table = run("log", "-c", cfg).stdout.splitlines()
        check(len(table) == len(recs) + 1 and table[0].startswith("time (local)"),
              "the table has a header and a row per line")

        some = next(r for _, r in recs if r["event"] == "bounced" and "ndr_queue_id" in r)
        rcpt = some["rcpt"]
        tls_rec = next(r for _, r in recs if r.get("partner") == "ggd-regio")
        filters = [
            (["--status", "delivered"], lambda r: r["event"] == "delivered"),
            (["--status", "bounced"], lambda r: r["event"] == "bounced"),
            (["--status", "expired"], lambda r: r["event"] == "expired"),
            (["--partner", "zorg-noord"], lambda r: r.get("partner") == "zorg-noord"),
            (["--rcpt", rcpt.upper()], lambda r: any(
                domain_match(a, rcpt) for a in ([r["rcpt"]] if "rcpt" in r else r["rcpts"]))),
            (["--rcpt", "zorg-noord.nl"], lambda r: any(
                domain_match(a, "zorg-noord.nl")
                for a in ([r["rcpt"]] if "rcpt" in r else r["rcpts"]))),
            (["--rcpt", ".zorg-noord.nl"], lambda r: any(
                domain_match(a, ".zorg-noord.nl")
                for a in ([r["rcpt"]] if "rcpt" in r else r["rcpts"]))),
            (["--from", some["from"]], lambda r: r["from"] == some["from"]),
            (["--queue-id", some["queue_id"].lower()], lambda r: r["queue_id"] == some["queue_id"]),
            (["--queue-id", some["ndr_queue_id"]], lambda r: r.get("ndr_queue_id") == some[
                "ndr_queue_id"]),
            (["--since", "2026-11-20T00:00:00Z", "--until", "2026-11-20T23:59:59.999Z"],
             lambda r: "2026-11-20T" <= r["ts"] < "2026-11-21T"),
            (["--since", "2026-11-25", "--partner", "jeugdzorg", "--status", "bounced"],
             lambda r: r["ts"] >= "2026-11-25T" and r.get("partner") == "jeugdzorg" and
             r["event"] == "bounced"),
            (["--partner", tls_rec["partner"], "--rcpt", tls_rec["rcpt"]],
             lambda r: r.get("rcpt") == tls_rec["rcpt"]),
        ]
        os.environ["TZ"] = "UTC"  # --since 2026-11-25 (no zone) is local time
        for args, pred in filters:
            want = [l for l, r in recs if pred(r)]
            got = run("log", "-c", cfg, "--json", *args).stdout.splitlines()
            check(got == want and len(want) > 0,
                  "log %s: %d lines, expected %d" % (" ".join(args), len(got), len(want)))
        # A duration: everything from N days before now, with N chosen so that the
        # threshold falls on 2026-11-27 (inside the data, which ends 2026-11-30)
        # whatever day this runs. chainmail reads the clock a moment after we do,
        # so a line is checked only when it is clearly on one side: at or after
        # the later threshold it must be shown, before the earlier one it must not.
        day0 = dt.datetime(2026, 11, 27, tzinfo=dt.timezone.utc)
        n = (dt.datetime.now(dt.timezone.utc) - day0).days
        iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)
        early = iso(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=n))
        got = run("log", "-c", cfg, "--json", "--since", "%dd" % n).stdout.splitlines()
        late = iso(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=n))
        must = [l for l, r in recs if r["ts"] >= late]
        may = [l for l, r in recs if r["ts"] >= early]
        shown = set(got)
        check("2026-11-27T" <= early < "2026-11-28T" and 0 < len(must) < len(recs),
              "--since %dd: the threshold %s is inside the data" % (n, early))
        check([l for l in may if l in shown] == got and all(l in shown for l in must),
              "log --since %dd: %d lines, expected %d to %d" % (n, len(got), len(must),
                                                                  len(may)))
        p = run("log", "-c", cfg, "--since", "yesterdayish", ok=2)
        check("neither a duration" in p.stderr, "a bad --since is explained: " + p.stderr)

        # --- report: the generator's totals, exactly ---------------------------------
        p = run("report", "-c", cfg, "--json", "--since", "2026-10-01T00:00:00Z",
                "--until", "2026-12-01T00:00:00Z")
        rep = json.loads(p.stdout)
        check(rep["damaged"] == 6, "report counts 6 damaged lines: %d" % rep["damaged"])
        check(rep["received"] == totals["received"], "received %d, expected %d" % (
            rep["received"], totals["received"]))
        rows = {(pp["partner"], dd["domain"]): dd for pp in rep["partners"] for dd in pp["domains"]}
        check(len(rows) == len(totals["rows"]), "report has %d rows, expected %d" % (
            len(rows), len(totals["rows"])))
        for t in totals["rows"]:
            r = rows.get((t["partner"], t["domain"]))
            if r is None:
                check(False, "row %s/%s missing" % (t["partner"], t["domain"]))
                continue
            for key in ["messages", "recipients", "delivered", "deferred", "bounced", "expired",
                        "would_fail", "deferred_by_reason", "bounced_by_reason",
                        "would_fail_by_reason"]:
                check(r[key] == t[key], "%s/%s %s: %r, expected %r" % (
                    t["partner"], t["domain"], key, r[key], t[key]))
            nonzero = {k: v for k, v in r["auth"].items() if v}
            check(nonzero == t["auth"], "%s/%s auth: %r, expected %r" % (
                t["partner"], t["domain"], nonzero, t["auth"]))
            check(r["versions"] == t["versions"], "%s/%s versions" % (t["partner"], t["domain"]))
            check(r["first"] == t["first"] and r["last"] == t["last"], "%s/%s first/last" % (
                t["partner"], t["domain"]))
        got_regs = [{k: g[k] for k in ("partner", "domain", "date", "was", "now")}
                    for g in rep["regressions"]]
        check(sorted(got_regs, key=str) == sorted(totals["regressions"], key=str),
              "regressions %r, expected %r" % (got_regs, totals["regressions"]))
        plain = [x["domain"] for x in rep["plaintext_domains"]]
        check(set(plain) == {t["domain"] for t in totals["rows"] if t["auth"].get("plaintext")},
              "plaintext domains on top: %r" % plain)
        ggd = rows[("ggd-regio", "ggd-regio.nl")]
        check(ggd["mode"] == "testing" and "would have failed under dane-only" in
              ggd["advice"][0]["text"], "testing-mode advice: %r" % ggd["advice"])
        zw = rows[("ziekenhuis-west", "ziekenhuis-west.nl")]
        check("weaker on" in zw["advice"][0]["text"], "regression advice first: %r" % zw["advice"])

        # --partner, and the text form names the same numbers.
        p = run("report", "-c", cfg, "--json", "--partner", "zorg-noord", "--since",
                "2026-10-01T00:00:00Z", "--until", "2026-12-01T00:00:00Z")
        only = json.loads(p.stdout)
        check([x["partner"] for x in only["partners"]] == ["zorg-noord"], "report --partner")
        text = run("report", "-c", cfg, "--since", "2026-10-01T00:00:00Z", "--until",
                   "2026-12-01T00:00:00Z").stdout
        zn = rows[("zorg-noord", "zorg-noord.nl")]
        check("{:,}".format(zn["delivered"]) in text and "Regressions" in text,
              "text report shows the numbers")
        check("UTC (61 days)" in text, "the span in days: " + text.splitlines()[0])
        one = run("report", "-c", cfg, "--since", "2026-11-30T00:00:00Z", "--until",
                  "2026-12-01T00:00:00Z").stdout
        check("UTC (1 day)" in one, "one day is a day, not 1 days: " + one.splitlines()[0])

        # --- a gzip file cut short, and a file that cannot be read ------------------
        cut = os.path.join(d, "delivery.jsonl.2.gz")
        size = os.path.getsize(cut)
        with open(cut, "r+b") as f:
            f.truncate(size // 2)
        p = run("log", "-c", cfg, "--json")
        check("cut short" in p.stderr and "delivery.jsonl.2.gz" in p.stderr,
              "a cut gzip file is named: " + p.stderr)
        check(p.stdout.splitlines()[-1] == recs[-1][0], "reading goes on after a cut gzip file")
        p = run("log", os.path.join(d, "nonexistent"), ok=1)
        check("cannot open" in p.stderr, "a missing file is named: " + p.stderr)

        # --- --follow: new lines, across rotation ------------------------------------
        fd = os.path.join(tmp, "follow")
        os.mkdir(fd)
        live = os.path.join(fd, "delivery.jsonl")
        base = [l for l, _ in recs[:6]]
        open(live, "w").write(base[0] + "\n")
        fcfg = os.path.join(tmp, "follow.yaml")
        open(fcfg, "w").write(open(cfg).read().replace(os.path.join(d, "delivery.jsonl"), live))
        out = open(os.path.join(tmp, "follow.out"), "w+")
        proc = subprocess.Popen([CHAINMAIL, "log", "-c", fcfg, "--json", "--follow"], stdout=out,
                                stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(0.8)
            open(live, "a").write(base[1] + "\n" + base[2] + "\n")
            time.sleep(0.6)
            os.rename(live, live + ".1")
            open(live + ".1", "a").write(base[3] + "\n")
            open(live, "w").write(base[4] + "\n")
            deadline = time.time() + 10
            while time.time() < deadline:
                out.seek(0)
                if len(out.read().splitlines()) >= 4:
                    break
                time.sleep(0.2)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
        out.seek(0)
        got = out.read().splitlines()
        check(got == base[1:5], "follow shows new lines across rotation: %r" % got)
        check(proc.returncode == 0, "follow ends cleanly on SIGTERM: %d" % proc.returncode)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d checks failed" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
