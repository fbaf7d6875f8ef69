#!/usr/bin/python3
"""`chainmail report --html` renders in Debian's headless Chromium: the page is
one self-contained file (nothing fetched, no script), and the printed page
shows the numbers the JSON report gives (checked in Chromium's PDF, read back
with pdftotext), with the partner table, the charts, advice and regressions."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

CHAINMAIL = os.environ["CHAINMAIL"]
SRC = os.environ["CHAINMAIL_SOURCE_DIR"]
CHROMIUM = shutil.which("chromium")
PDFTOTEXT = shutil.which("pdftotext")


def chromium(tmp, *args):
    profile = tempfile.mkdtemp(prefix="chromium.", dir=tmp)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--user-data-dir=" + profile, *args]
    subprocess.run(cmd, check=True, timeout=120, capture_output=True)


def main():
    if not CHROMIUM or not PDFTOTEXT:
        sys.exit("FAIL: needs chromium and pdftotext (poppler-utils): run .ci/deps.sh test")
    tmp = tempfile.mkdtemp(prefix="lab-reporthtml.")
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("FAIL:", what, file=sys.stderr)

    try:
        d = os.path.join(tmp, "log")
        cfg = os.path.join(tmp, "chainmail.yaml")
        subprocess.run([sys.executable, os.path.join(SRC, "tests/lab/lib/loggen.py"), "--out", d,
                        "--lines", "8000", "--rotate", "1", "--config", cfg, "--seed", "5"],
                       check=True, timeout=120)
        html = os.path.join(tmp, "report.html")
        period = ["--since", "2026-10-31T00:00:00Z", "--until", "2026-11-30T00:00:00Z"]
        p = subprocess.run([CHAINMAIL, "report", "-c", cfg, "--json", "--html", html, *period],
                           capture_output=True, text=True, timeout=60, check=True)
        rep = json.loads(p.stdout)
        page = open(html, encoding="utf-8").read()
        check("<script" not in page.lower(), "no script in the page")
        for bad in ("src=\"http", "src='http", "href=\"http", "href='http", "url(", "@import"):
            check(bad not in page, "nothing fetched: %s" % bad)
        check(page.count("<svg") >= 10, "one chart per domain")

        png = os.path.join(tmp, "report.png")
        chromium(tmp, "--window-size=1280,1600", "--screenshot=" + png, "file://" + html)
        check(os.path.getsize(png) > 30000, "the screenshot shows a page (%d bytes)" %
              os.path.getsize(png))
        pdf = os.path.join(tmp, "report.pdf")
        chromium(tmp, "--no-pdf-header-footer", "--print-to-pdf=" + pdf, "file://" + html)
        text = subprocess.run([PDFTOTEXT, pdf, "-"], capture_output=True, text=True,
                              check=True).stdout
        words = " ".join(text.split())

        def fmt(n):
            return "{:,}".format(n)

        delivered = sum(x["delivered"] for x in rep["partners"])
        check(fmt(delivered) in words and "deliveries" in words,
              "total deliveries %s on the page" % fmt(delivered))
        messages = sum(x["messages"] for x in rep["partners"])
        check(fmt(messages) in words, "total messages %s on the page" % fmt(messages))
        for part in rep["partners"]:
            for dom in part["domains"]:
                check(dom["domain"] in words, "domain %s on the page" % dom["domain"])
        zw = next(x for x in rep["partners"] if x["partner"] == "ziekenhuis-west")["domains"][0]
        check("%s · ziekenhuis-west · %s deliveries" % (zw["domain"], fmt(zw["delivered"]))
              in words, "the chart caption names ziekenhuis-west.nl's deliveries")
        for g in rep["regressions"]:
            check(g["date"] in words and g["domain"] in words, "regression %r printed" % g)
        check(len(rep["regressions"]) == 2, "two regressions in the generated month")
        for x in rep["plaintext_domains"]:
            check("%s (%s): %s of %s deliveries in plaintext" % (
                x["domain"], x["partner"], fmt(x["plaintext"]), fmt(x["delivered"])) in words,
                "plaintext line for %s" % x["domain"])
        first_advice = rep["partners"][0]["domains"][0]["advice"][0]["text"]
        check(" ".join(first_advice.split()[:6]) in words, "advice printed: " + first_advice)
        if os.environ.get("KEEP_REPORT_PNG"):
            shutil.copy(png, os.environ["KEEP_REPORT_PNG"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        sys.exit("%d checks failed" % len(failures))
    print("ok")


if __name__ == "__main__":
    main()
