#!/usr/bin/python3
"""Generates a delivery log in the writer's exact form, and knows what it wrote.

  loggen.py --out DIR [--lines N] [--days D] [--end 2026-11-30] [--seed S]
            [--rotate K] [--damage N] [--config FILE] [--totals FILE]

Writes DIR/delivery.jsonl (and with --rotate K the older days to
delivery.jsonl.1, .2.gz ... .K.gz, oldest in the highest number), a
configuration naming the partners (--config), and the totals a report must
find (--totals, JSON): per partner and domain the messages, recipients,
deliveries by authentication and TLS version, deferrals and bounces by
reason, would_fail counts, first and last time, and the regressions with
their day. --damage N adds N damaged lines: a line cut short on its own, a
line cut short with the next whole line glued on, and a line of garbage.
Deterministic for a given seed.
"""
import argparse
import datetime as dt
import gzip
import json
import os
import random
import time

# name, domains, policy, mode, {auth: weight}, versions {v: weight}
# auth "plain" is a delivery without TLS, "none" encrypted only.
PARTNERS = [
    ("ziekenhuis-west", ["ziekenhuis-west.nl"], "dane-only", "enforce",
     {"dane-ee": 1.0}, {"TLSv1.3": 1.0}),
    ("zorg-noord", ["zorg-noord.nl", "mail.zorg-noord.nl"], "verify", "enforce",
     {"pkix": 1.0}, {"TLSv1.3": 0.6, "TLSv1.2": 0.4}),
    ("ggd-regio", ["ggd-regio.nl"], "dane-only", "testing",
     {"dane-ta": 0.9, "none": 0.1}, {"TLSv1.3": 1.0}),
    ("huisartsen", ["huisarts-oost.nl", "huisarts-west.nl"], "may", "enforce",
     {"none": 0.7, "plain": 0.25, "pkix": 0.05}, {"TLSv1.2": 0.9, "TLSv1.0": 0.1}),
    ("gemeente-buur", ["gemeente-buur.nl"], "authenticated", "enforce",
     {"mta-sts": 1.0}, {"TLSv1.3": 1.0}),
    ("jeugdzorg", ["jeugdzorg.nl"], "fingerprint", "enforce",
     {"fingerprint": 1.0}, {"TLSv1.2": 1.0}),
    ("defaults", ["gmail.test", "outlook.test", "kpn.test"], "dane", "enforce",
     {"dane-ee": 0.3, "none": 0.6, "plain": 0.1}, {"TLSv1.3": 0.7, "TLSv1.2": 0.3}),
    # A small partner: its lines are about 1% of the log (the benchmarks' filter).
    ("tandarts-zuid", ["tandarts-zuid.nl"], "encrypt", "enforce",
     {"none": 1.0}, {"TLSv1.3": 1.0}),
]
WEIGHTS = [1, 1, 1, 1, 1, 1, 1, 0.1]
WEAKEST = {"plain": 1, "none": 2, "pkix": 3, "mta-sts": 3, "fingerprint": 3,
           "dane-ee": 4, "dane-ta": 4}
# Designed regressions: (partner, domain, day index, new auth / "fail").
REGRESS_DANE_DAY = 20  # ziekenhuis-west.nl: from this day 30% only encrypted
REGRESS_FP_DAY = 25    # jeugdzorg.nl: from this day 50% fingerprint mismatch (bounced)

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(ms, rnd):
    t = "".join(CROCKFORD[(ms >> (5 * (9 - k))) & 31] for k in range(10))
    return t + "%016X" % rnd.getrandbits(64)  # hex digits are Crockford digits too


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def pick(rnd, weights):
    x = rnd.random() * sum(weights.values())
    for k, w in weights.items():
        x -= w
        if x <= 0:
            return k
    return k


def dump(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Totals:
    def __init__(self):
        self.rows = {}
        self.received = 0

    def row(self, partner, domain):
        key = partner + "|" + domain
        if key not in self.rows:
            self.rows[key] = {
                "partner": partner, "domain": domain, "messages": set(), "recipients": 0,
                "delivered": 0, "deferred": 0, "bounced": 0, "expired": 0, "would_fail": 0,
                "auth": {}, "versions": {}, "deferred_by_reason": {}, "bounced_by_reason": {},
                "would_fail_by_reason": {}, "first": None, "last": None}
        return self.rows[key]

    def add(self, rec):
        r = self.row(rec["partner"], rec["rcpt"].rsplit("@", 1)[1].lower())
        ts = rec["ts"]
        r["first"] = ts if r["first"] is None or ts < r["first"] else r["first"]
        r["last"] = ts if r["last"] is None or ts > r["last"] else r["last"]
        ev = rec["event"]
        if ev in ("delivered", "bounced", "expired"):
            r["recipients"] += 1
            r["messages"].add(rec["queue_id"])
        if ev == "delivered":
            r["delivered"] += 1
            tls = rec.get("tls")
            auth = "plaintext" if tls is None else (
                "encrypt-only" if tls["auth"] == "none" else tls["auth"])
            r["auth"][auth] = r["auth"].get(auth, 0) + 1
            v = "plaintext" if tls is None else tls["version"]
            r["versions"][v] = r["versions"].get(v, 0) + 1
            if "would_fail" in rec:
                r["would_fail"] += 1
                why = rec["would_fail"].split(":")[0]
                r["would_fail_by_reason"][why] = r["would_fail_by_reason"].get(why, 0) + 1
        elif ev in ("deferred", "bounced", "expired"):
            r[ev] += 1
            why = "expired" if ev == "expired" else rec.get("reason") or (
                "refused by server (%s)" % rec["dsn"])
            key = "deferred_by_reason" if ev == "deferred" else "bounced_by_reason"
            r[key][why] = r[key].get(why, 0) + 1

    def export(self):
        out = []
        for r in self.rows.values():
            r = dict(r)
            r["messages"] = len(r["messages"])
            out.append(r)
        return sorted(out, key=lambda r: (r["partner"], r["domain"]))


def delivery(rnd, ms, qid, sender, rcpt, partner, policy, mode, auth, version, attempt):
    dom = rcpt.rsplit("@", 1)[1]
    rec = {"ts": iso(ms), "event": "delivered", "queue_id": qid,
           "message_id": "<%s@gemeente-voorbeeld.nl>" % qid.lower(), "from": sender,
           "rcpt": rcpt, "partner": partner, "policy": policy, "host": "mx1." + dom,
           "ip": "192.0.2.%d" % (sum(dom.encode()) % 250 + 1), "port": 25}
    if auth != "plain":
        rec["tls"] = {"version": version, "cipher": "TLS_AES_256_GCM_SHA384"
                      if version == "TLSv1.3" else "ECDHE-RSA-AES256-GCM-SHA384", "auth": auth}
    rec["dsn"] = "2.0.0"
    rec["reply"] = "250 2.0.0 Ok: queued as %X" % rnd.getrandbits(40)
    rec["attempt"] = attempt
    rec["delay_s"] = round(rnd.random() * 3 + (attempt - 1) * 300, 3)
    if mode == "testing" and WEAKEST[auth] < 4:
        rec["would_fail"] = ("no-usable-tlsa: mx1.%s has no usable TLSA records" % dom)
    return rec


def failure(rnd, ms, qid, sender, rcpt, partner, policy, event, reason, dsn, reply, attempt):
    dom = rcpt.rsplit("@", 1)[1]
    rec = {"ts": iso(ms), "event": event, "queue_id": qid,
           "message_id": "<%s@gemeente-voorbeeld.nl>" % qid.lower(), "from": sender,
           "rcpt": rcpt, "partner": partner, "policy": policy, "host": "mx1." + dom,
           "ip": "192.0.2.%d" % (sum(dom.encode()) % 250 + 1), "port": 25, "dsn": dsn, "reply": reply}
    if reason:
        rec["reason"] = reason
    rec["attempt"] = attempt
    rec["delay_s"] = round(attempt * 300 + rnd.random(), 3)
    if event in ("bounced", "expired"):
        rec["ndr_queue_id"] = ulid(ms + 1, rnd)
    return rec


def generate(args):
    rnd = random.Random(args.seed)
    end = dt.datetime.strptime(args.end, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
    start_ms = int((end - dt.timedelta(days=args.days)).timestamp() * 1000)
    span = args.days * 86400 * 1000
    # About 4.3 lines per message: received, ~1.6 recipients, a few deferrals.
    messages = max(1, int(args.lines / 3.3))
    step = span / messages
    totals = Totals()
    seen_day = set()  # (partner, domain, day): first delivery of the day is the weakest kind
    lines_by_day = {}
    count = 0
    for m in range(messages):
        ms = start_ms + int(m * step) + rnd.randint(0, max(0, int(step) - 1))
        day = (ms - start_ms) // 86_400_000
        qid = ulid(ms, rnd)
        sender = "medewerker%d@gemeente-voorbeeld.nl" % rnd.randint(1, 400)
        p = rnd.choices(PARTNERS, WEIGHTS)[0]
        name, domains, policy, mode, auths, versions = p
        dom = domains[rnd.randrange(len(domains))]
        n_rcpt = 1 if rnd.random() < 0.6 else rnd.randint(2, 3)
        rcpts = ["client%d@%s" % (rnd.randint(1, 9999), dom) for _ in range(n_rcpt)]
        out = [{"ts": iso(ms), "event": "received", "queue_id": qid,
                "message_id": "<%s@gemeente-voorbeeld.nl>" % qid.lower(), "from": sender,
                "rcpts": rcpts, "size": rnd.randint(2000, 400000), "client_ip": "10.1.2.3",
                "client_helo": "exchange.gemeente-voorbeeld.nl"}]
        totals.received += 1
        t = ms + rnd.randint(50, 900)
        for rcpt in rcpts:
            attempt = 1
            # Non-TLS trouble now and then: a deferral, and rarely a final failure.
            if rnd.random() < 0.04:
                out.append(failure(rnd, t, qid, sender, rcpt, name, policy, "deferred",
                                   "connect-failed", "4.4.1",
                                   "connection to mx1.%s timed out" % dom, attempt))
                attempt += 1
                t += 300_000
            if rnd.random() < 0.01:
                out.append(failure(rnd, t, qid, sender, rcpt, name, policy, "bounced", "",
                                   "5.1.1", "550 5.1.1 <%s>: Recipient address rejected" % rcpt,
                                   attempt))
                continue
            if rnd.random() < 0.003:
                out.append(failure(rnd, t, qid, sender, rcpt, name, policy, "expired",
                                   "expired", "5.4.7", "queue lifetime of 5d exceeded",
                                   attempt))
                continue
            auth = pick(rnd, auths)
            key = (name, dom, day)
            if key not in seen_day:
                seen_day.add(key)
                auth = min(auths, key=lambda a: WEAKEST[a])
            if name == "ziekenhuis-west" and day >= REGRESS_DANE_DAY and (
                    rnd.random() < 0.3 or (name, dom, day, "r") not in seen_day):
                seen_day.add((name, dom, day, "r"))
                auth = "none"
            if name == "jeugdzorg" and day >= REGRESS_FP_DAY and (
                    rnd.random() < 0.5 or (name, dom, day, "r") not in seen_day):
                seen_day.add((name, dom, day, "r"))
                out.append(failure(rnd, t, qid, sender, rcpt, name, policy, "bounced",
                                   "fingerprint-mismatch", "5.7.5",
                                   "the certificate of mx1.%s is not one of the pinned "
                                   "fingerprints" % dom, attempt))
                continue
            out.append(delivery(rnd, t, qid, sender, rcpt, name, policy, mode, auth,
                                pick(rnd, versions), attempt))
        for rec in out:
            if rec["event"] != "received":
                totals.add(rec)
            lines_by_day.setdefault(day, []).append(dump(rec))
            count += 1
    return lines_by_day, totals


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--lines", type=int, default=10000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--end", default="2026-11-30")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rotate", type=int, default=0)
    ap.add_argument("--damage", type=int, default=0)
    ap.add_argument("--config")
    ap.add_argument("--totals")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lines_by_day, totals = generate(args)
    days = sorted(lines_by_day)
    # Files: the last days in the live file, older days spread over K rotations.
    groups = [days] if args.rotate == 0 else [
        days[i * len(days) // (args.rotate + 1):(i + 1) * len(days) // (args.rotate + 1)]
        for i in range(args.rotate + 1)]
    rnd = random.Random(args.seed + 7)
    damaged = 0
    written = 0
    for gi, group in enumerate(groups):
        number = len(groups) - 1 - gi  # 0 = live file
        path = os.path.join(args.out, "delivery.jsonl" + ("" if number == 0 else ".%d" % number))
        opener = open
        if number >= 2:
            path += ".gz"
            opener = gzip.open
        with opener(path, "wt", encoding="utf-8") as f:
            for d in group:
                for line in lines_by_day[d]:
                    if damaged < args.damage and rnd.random() < 0.001:
                        kind = damaged % 3
                        cut = line[: rnd.randint(5, len(line) - 5)]
                        if kind == 0:
                            f.write(cut + "\n")          # cut short on its own
                        elif kind == 1:
                            f.write(cut)                 # the next line glued on
                        else:
                            f.write("\x00\x00garbage }{\n")
                        damaged += 1
                    f.write(line + "\n")
                    written += 1
    if args.config:
        with open(args.config, "w") as f:
            f.write("hostname: relay.gemeente-voorbeeld.nl\nlisten:\n"
                    "  - address: \"127.0.0.1:2525\"\nrelay_from:\n"
                    "  networks: [\"127.0.0.0/8\"]\nspool: %s\nlog:\n  delivery_log: %s\n"
                    "defaults:\n  tls: dane\npartners:\n"
                    % (os.path.join(args.out, "spool"), os.path.join(args.out, "delivery.jsonl")))
            for name, domains, policy, mode, _, _ in PARTNERS:
                if name == "defaults":
                    continue
                f.write("  - name: %s\n    domains: [%s]\n    tls: %s\n    mode: %s\n"
                        % (name, ", ".join(domains), policy, mode))
                if policy == "fingerprint":
                    f.write("    fingerprints: [\"sha256:%s\"]\n" % ("ab" * 32))
    if args.totals:
        start = dt.datetime.strptime(args.end, "%Y-%m-%d") - dt.timedelta(days=args.days)
        day = lambda i: (start + dt.timedelta(days=i)).strftime("%Y-%m-%d")
        with open(args.totals, "w") as f:
            json.dump({"lines": written, "damaged": damaged, "received": totals.received,
                       "rows": totals.export(),
                       "regressions": [
                           {"partner": "ziekenhuis-west", "domain": "ziekenhuis-west.nl",
                            "date": day(REGRESS_DANE_DAY), "was": "dane", "now": "encrypted"},
                           {"partner": "jeugdzorg", "domain": "jeugdzorg.nl",
                            "date": day(REGRESS_FP_DAY), "was": "authenticated",
                            "now": "failing"}]}, f, indent=1)


if __name__ == "__main__":
    main()
