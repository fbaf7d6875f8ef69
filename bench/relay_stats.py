#!/usr/bin/python3
"""relay_stats: figures for bench/relay.sh from one run's files.

  relay_stats.py run REPORT ACKS START_NS
      REPORT is the sink's report (REPORT.arrivals beside it), ACKS the
      injector's "ID T250_NS" lines, START_NS when the load began (the
      injector's start, or the sink's release for a pre-queued run).
      Prints one line of "key value" pairs: delivered, missing, duplicates,
      steady (msg/s between 10% and 90% of the arrivals), wall (msg/s from
      START_NS to the last arrival), connections and full/resumed
      handshakes per message,
      connections, plain (messages that arrived without TLS), sink_cpu_s,
      p50_ms/p99_ms/max_ms (250 -> arrival, by X-Bench-Id).

Arrival and 250 times are both CLOCK_MONOTONIC on this machine.
"""
import sys


def read_pairs(path):
    out = []
    with open(path) as f:
        for line in f:
            a, b = line.split()
            out.append((int(a), int(b)))
    return out


def read_report(path):
    """The sink's "total ..." line as a dict of numbers."""
    with open(path) as f:
        for line in f:
            w = line.split()
            if w and w[0] == "total":
                return {w[i]: float(w[i + 1]) for i in range(1, len(w) - 1, 2)}
    raise SystemExit(f"no total line in {path}")


def percentile(sorted_v, p):
    if not sorted_v:
        return float("nan")
    i = min(len(sorted_v) - 1, int(p * (len(sorted_v) - 1) + 0.5))
    return sorted_v[i]


def run(report, acks_path, start_ns):
    tot = read_report(report)
    arrivals = read_pairs(report + ".arrivals")
    acks = dict(read_pairs(acks_path))
    first = {}
    dup = 0
    for i, t in arrivals:
        if i in first:
            dup += 1
        else:
            first[i] = t
    times = sorted(t for _, t in arrivals)
    n = len(times)
    steady = wall = float("nan")
    if n >= 10:
        a, b = n // 10, (9 * n + 9) // 10 - 1
        if times[b] > times[a]:
            steady = (b - a) / ((times[b] - times[a]) / 1e9)
    if n and times[-1] > start_ns:
        wall = n / ((times[-1] - start_ns) / 1e9)
    lat = sorted((first[i] - t) / 1e6 for i, t in acks.items() if i in first)
    missing = sum(1 for i in acks if i not in first)
    per = (lambda k: tot.get(k, 0) / n) if n else (lambda k: float("nan"))
    fields = [
        ("delivered", n), ("acked", len(acks)), ("missing", missing), ("duplicates", dup),
        ("steady", f"{steady:.1f}"), ("wall", f"{wall:.1f}"),
        ("conns_per_msg", f"{per('connections'):.4f}"),
        ("full_per_msg", f"{per('tls_full'):.4f}"), ("resumed_per_msg", f"{per('tls_resumed'):.4f}"),
        ("tls_full", int(tot.get("tls_full", 0))), ("tls_resumed", int(tot.get("tls_resumed", 0))),
        ("tls_failed", int(tot.get("tls_failed", 0))),
        ("connections", int(tot.get("connections", 0))), ("plain", int(tot.get("plain_messages", 0))),
        ("sink_cpu_s", f"{tot.get('cpu_s', 0):.2f}"),
        ("p50_ms", f"{percentile(lat, 0.50):.2f}"), ("p99_ms", f"{percentile(lat, 0.99):.2f}"),
        ("max_ms", f"{percentile(lat, 1.0):.2f}"),
    ]
    print(" ".join(f"{k} {v}" for k, v in fields))


def main(argv):
    if len(argv) == 5 and argv[1] == "run":
        run(argv[2], argv[3], int(argv[4]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
