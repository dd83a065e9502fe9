#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench_overlay — dissemination figures from real daemons on loopback (DESIGN.md §5).

Starts N `chatham run` nodes (default 16, overlay degree 6) and measures:
  1. single-report latency: one GREEN report published on a random node at a time; every
     other node's API is polled until it holds the report. Figures: p50/p99 of the
     (publish answered -> seen at node) times over all (report, node) pairs. The polling
     loop itself takes ~1 ms per node, so this is an upper bound at that resolution.
  2. burst: B reports (default 100,000) published on one node in API batches; time until
     every node holds all of them; reports/s per node = B / that time.
  3. payload copies per node: report payloads received (PUSH and CATCHUP, from each node's
     status counters) divided by reports x (N - 1); how many were catch-up copies, and
     the reports refused by admission on any node (the rate limits among them); GRAFT,
     PRUNE and duplicate counts during the burst; links per node before it.
  4. catch-up: one node is stopped, M reports (default 10,000) are published elsewhere, the
     node restarts; reconciliation bytes (RECON + FETCH, both directions) per missing report.
Machine limits measured in the same run, so the figures can be judged: the raw Ed25519
verification rate of one core (every node verifies every report once) gives the bound
    reports/s per node <= cores x verify rate / N
when all N nodes share this machine's cores.

Usage: bench_overlay.py [--nodes N] [--degree D] [--burst B] [--missed M]
                        [--latency-reports R] [--graft-timeout-ms T]
Needs CHATHAM_BIN (or CHATHAM_BUILD_DIR); a release build gives the meaningful figures.
"""

import argparse
import ctypes
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integ"))

import chathamtest as ct  # noqa: E402
import daemonlib  # noqa: E402

BATCH = 5000


def verify_rate(seconds=1.0):
    """Ed25519 verifications per second on one core (libsodium through ctypes)."""
    s = daemonlib.sodium()
    pk, sk = s.ed25519_keypair()
    msg = os.urandom(300)
    sig = s.ed25519_sign(sk, msg)
    lib = s.lib
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(200):
            assert lib.crypto_sign_verify_detached(sig, msg, ctypes.c_ulonglong(len(msg)), pk) == 0
        n += 200
    return n / (time.perf_counter() - t0)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def copies(c, idx):
    return sum(ct.gossip(c.daemons[i])["pushes_received"] for i in idx)


def control(c):
    """Sums of the tree-maintenance counters over all nodes."""
    keys = ("graft_sent", "prune_sent", "duplicates")
    out = dict.fromkeys(keys, 0)
    for d in c.daemons:
        g = ct.gossip(d)
        for k in keys:
            out[k] += g.get(k, 0)
    return out


def publish_many(d, prefix, n):
    for b in range(0, n, BATCH):
        k = min(BATCH, n - b)
        ct.publish_batch(d, [f"{prefix}{i}.bench.example" for i in range(b, b + k)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=16)
    ap.add_argument("--degree", type=int, default=6)
    ap.add_argument("--burst", type=int, default=100000)
    ap.add_argument("--missed", type=int, default=10000)
    ap.add_argument("--latency-reports", type=int, default=20)
    ap.add_argument("--graft-timeout-ms", type=int, default=0,
                    help="[gossip] graft_timeout_ms of every node (0: the default)")
    a = ap.parse_args()
    n = a.nodes
    cores = os.cpu_count() or 1
    vr = verify_rate()
    print(f"machine: {cores} cores, Ed25519 verify {vr:,.0f}/s per core; bound for {n} "
          f"nodes sharing them: {cores * vr / n:,.0f} reports/s per node", flush=True)

    # Periodic reconciliation on, as in production (default 30 s, here 5 s): it repairs what
    # gossip loses under load, and the figures say how much that was.
    gossip = "recon_interval_s = 5\n"
    if a.graft_timeout_ms:
        gossip += f"graft_timeout_ms = {a.graft_timeout_ms}\n"
    c = ct.Cluster(n, degree=a.degree, gossip=gossip,
                   extra_config="[store]\nmap_size_mb = 512\n")
    try:
        c.start()
        ct.wait_links(c.daemons, min(a.degree, n - 1) // 2, timeout=60)
        ct.wait_for(lambda: all(ct.links_up(d) >= min(a.degree, n - 1) for d in c.daemons),
                    timeout=60, what="overlay degree reached")

        links = [ct.links_up(d) for d in c.daemons]
        print(f"links per node (dialled up to --degree {a.degree}, plus those dialled in): "
              f"origin {links[0]}, mean {sum(links) / n:.1f}, max {max(links)}", flush=True)

        # 1. latency
        lat = []
        for r in range(a.latency_reports):
            origin = random.randrange(n)
            v = f"lat{r}.bench.example"
            ct.publish_batch(c.daemons[origin], [v])
            t0 = time.monotonic()
            waiting = set(range(n)) - {origin}
            while waiting:
                for i in list(waiting):
                    if ct.has_indicator(c.daemons[i], v):
                        lat.append((time.monotonic() - t0) * 1000)
                        waiting.discard(i)
                if time.monotonic() - t0 > 30:
                    raise SystemExit(f"report {v} not delivered to {sorted(waiting)}")
        base = a.latency_reports
        ct.wait_for(lambda: all(ct.reports(d) == base for d in c.daemons), timeout=30)
        cp0 = copies(c, range(n))
        ctl0 = control(c)
        print(f"single-report latency to all {n} nodes: p50 {pct(lat, 50):.1f} ms, "
              f"p99 {pct(lat, 99):.1f} ms ({len(lat)} samples, polled)", flush=True)

        # 2. burst
        t0 = time.monotonic()
        publish_many(c.daemons[0], "burst", a.burst)
        t_pub = time.monotonic() - t0
        total = base + a.burst
        ct.wait_for(lambda: all(ct.reports(d) == total for d in c.daemons),
                    timeout=3600, interval=0.5, what="the burst everywhere")
        t_all = time.monotonic() - t0
        print(f"burst of {a.burst:,} reports: published (signed, stored) in {t_pub:.1f} s, on "
              f"all {n} nodes after {t_all:.1f} s -> {a.burst / t_all:,.0f} reports/s per node "
              f"({a.burst / t_all / (cores * vr / n):.2f} of the machine bound)", flush=True)

        # 3. copies
        cp = copies(c, range(n)) - cp0
        repaired = sum(ct.gossip(d)["catchup_received"] for d in c.daemons)
        catchup_sent = sum(ct.gossip(d)["recon"]["pushed"] for d in c.daemons)
        print(f"payload copies per node per report: {cp / (a.burst * (n - 1)):.3f} "
              f"({cp:,} PUSH payloads received for {a.burst:,} reports x {n - 1} nodes; "
              f"{catchup_sent:,} of them catch-up copies, {repaired:,} of which were "
              f"deliveries)", flush=True)
        ctl = {k: v - ctl0[k] for k, v in control(c).items()}
        print(f"tree maintenance during the burst, all nodes: {ctl['graft_sent']:,} GRAFT ids, "
              f"{ctl['prune_sent']:,} PRUNE, {ctl['duplicates']:,} duplicate payloads",
              flush=True)
        refused = {}
        for d in c.daemons:
            for reason, k in ct.gossip(d).get("rejected", {}).items():
                refused[reason] = refused.get(reason, 0) + k
        print(f"reports refused by admission on all nodes: {refused or 'none'}", flush=True)
        lags = [ct.status(d).get("loop") for d in c.daemons]
        if all(lags):  # nodes that report their loop lag (node/daemon/looplag.h)
            print(f"loop lag since start-up (a 1 ms timer), worst node: p99 "
                  f"{max(x['lag_p99_ms'] for x in lags):.1f} ms, max "
                  f"{max(x['lag_max_ms'] for x in lags):.1f} ms; median node p99 "
                  f"{pct([x['lag_p99_ms'] for x in lags], 50):.1f} ms", flush=True)

        # 4. catch-up
        victim = n - 1
        c.stop(victim)
        publish_many(c.daemons[0], "missed", a.missed)
        total += a.missed
        ct.wait_for(lambda: all(ct.reports(c.daemons[i]) == total for i in range(n - 1)),
                    timeout=3600, interval=0.5)
        t0 = time.monotonic()
        c.start([victim])
        ct.wait_for(lambda: ct.reports(c.daemons[victim]) == total, timeout=3600,
                    interval=0.2)
        t_cu = time.monotonic() - t0
        g = ct.gossip(c.daemons[victim])
        # Includes any periodic session that ran meanwhile (every 5 s).
        rb = g["recon"]["bytes_sent"] + g["recon"]["bytes_received"]
        print(f"catch-up of {a.missed:,} missed reports: {rb:,} reconciliation bytes = "
              f"{rb / a.missed:.2f} bytes per missing report (+ the reports), "
              f"{g['pushes_received']:,} copies received, {t_cu:.1f} s after restart",
              flush=True)
        for i in range(n):
            c.stop(i)
    finally:
        c.cleanup()


if __name__ == "__main__":
    main()
