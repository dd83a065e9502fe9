#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench_join — a new member joins a community that already holds N reports (issue 17).

Two real `chatham run` nodes on loopback, members of one community:
  1. node 0 runs alone; N GREEN reports (default 1,000,000) are published on it through its
     API in batches (each signed by the node and committed durably, as any publish); the
     bench waits until its exporter has rendered them too, so node 0 is idle afterwards;
  2. node 1, a member with an empty store, is started with node 0's address in its roster,
     with the default catch-up settings (a session at link-up, then one every
     recon_interval_s); the bench polls node 1's status until it holds all N reports.
Figures: time from node 1's start to its first link up, and from that link to holding all N
(the join time); reports/s over the join; catch-up bytes per report: node 1's overlay bytes
read and written (all link traffic: reports, reconciliation, FETCH, keepalive) per report,
the reconciliation messages alone per report, and the mean signed report size to compare
with; sessions and copies received; CPU seconds of each daemon over the join; node 1's
anonymous RSS (RssAnon: without LMDB's file pages) at most during the join, at its end and
once node 1's exporter has rendered what it caught up.
Machine limits measured in the same run, to state what bounds the join:
  - Ed25519: verifications per second on one core (libsodium through ctypes), times the
    cores: node 1 verifies every report once;
  - storage: `bench_store N DIR ingest` (same build; durable ingest of N distinct reports in
    batches of 1,000 and the raw random-key put rate), run after the join, when the
    daemons are gone;
and the join rate as a ratio to each.

usage: CHATHAM_BIN=build/release/node/chatham /usr/bin/python3 tests/bench/bench_join.py \\
           [--reports N] [--bench-store build/release/tests/bench_store] [--dir DIR]
           [--join-timeout S] [--member-rate-per-min R]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integ"))

import chathamtest as ct  # noqa: E402
import daemonlib  # noqa: E402
from bench_overlay import proc_cpu_s, verify_rate  # noqa: E402

BATCH = 5000


def proc_status_mib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def link_bytes(d, seen):
    """Overlay bytes (read, written) over node @d's links: @seen {link id: (in, out)} keeps
    each link's last reading, so a link that closed counts up to the poll before it did.
    Also how many links node @d has closed."""
    r = d.call({"op": "peers"})
    assert r.get("ok"), r
    for p in r.get("peers", []):
        seen[p["id"]] = (p.get("bytes_in", 0), p.get("bytes_out", 0))
    return (sum(v[0] for v in seen.values()), sum(v[1] for v in seen.values()),
            sum(r.get("closed", {}).values()))


def exported(d):
    """The export sequence node @d's exporter has reached, and the store's feed sequence."""
    st = ct.status(d)
    return st["export"]["last_seq"], st["store"]["feed_last"]


def report_bytes(state):
    """The mean signed report size in store @state (python3-lmdb, read-only, 1,000 records)."""
    import lmdb
    env = lmdb.open(state, readonly=True, max_dbs=16, lock=True)
    try:
        with env.begin(db=env.open_db(b"reports", create=False)) as t:
            sizes = []
            for _, v in t.cursor():
                sizes.append(len(v) - 76)  # store/codec.h: 76-byte head, then the signed bytes
                if len(sizes) == 1000:
                    break
    finally:
        env.close()
    return sum(sizes) / len(sizes)


def store_rates(bench_store, n, base):
    """bench_store's durable ingest and raw put rates at @n reports, in @base/store."""
    os.mkdir(os.path.join(base, "store"))
    out = subprocess.run([bench_store, str(n), os.path.join(base, "store"), "ingest"],
                         check=True, capture_output=True, text=True).stdout
    print("  " + out.strip().replace("\n", "\n  "), flush=True)
    ingest = float(re.search(r"^ingest:\s+(\d+) reports/s", out, re.M).group(1))
    raw = float(re.search(r"^raw put:\s+(\d+) puts/s", out, re.M).group(1))
    return ingest, raw


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=1000000)
    ap.add_argument("--bench-store", default="",
                    help="the bench_store binary (default: next to CHATHAM_BIN's build)")
    ap.add_argument("--dir", default="", help="scratch directory (default: under /var/tmp)")
    ap.add_argument("--timeout", type=int, default=7200, help="seconds for the fill")
    ap.add_argument("--join-timeout", type=int, default=1800,
                    help="seconds node 1 gets to hold every report; past it the bench prints "
                    "what it holds and why (its counters) and fails")
    ap.add_argument("--member-rate-per-min", type=int, default=-1,
                    help="[gossip] member_rate_per_min of node 1 (default: the node's "
                    "default; 0 turns the limit off)")
    a = ap.parse_args()
    n = a.reports
    bench_store = a.bench_store or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(daemonlib.chatham_bin()))), "tests",
        "bench_store")
    if not os.access(bench_store, os.X_OK):
        raise SystemExit(f"bench_store not found at {bench_store!r} (--bench-store)")
    base = tempfile.mkdtemp(prefix="bench_join-", dir=a.dir or "/var/tmp")
    cores = os.cpu_count() or 1
    print(f"bench_join: {n:,} reports, {cores} cores, load average {os.getloadavg()}",
          flush=True)

    gossip = (lambda i: f"member_rate_per_min = {a.member_rate_per_min}\n"
              if i == 1 and a.member_rate_per_min >= 0 else "")
    c = ct.Cluster(2, degree=1,
                   extra_config=lambda i: "[store]\nmap_size_mb = 1024\n" + (
                       f"[gossip]\n{gossip(i)}" if gossip(i) else ""),
                   overlay="keepalive_ms = 1000\ndead_after_ms = 60000\nbackoff_min_ms = 100\n"
                   "backoff_max_ms = 800\n")
    ok = False
    try:
        # 1. node 0 alone, filled through its API
        c.start([0])
        t0 = time.monotonic()
        for b in range(0, n, BATCH):
            k = min(BATCH, n - b)
            ct.publish_batch(c.daemons[0], [f"j{i}.join.example" for i in range(b, b + k)])
        t_fill = time.monotonic() - t0
        print(f"fill: {n:,} reports published (signed, stored) on node 0 in {t_fill:.1f} s = "
              f"{n / t_fill:,.0f}/s", flush=True)
        ct.wait_for(lambda: ct.reports(c.daemons[0]) == n, timeout=a.timeout, interval=1,
                    what="node 0 to hold every report")
        ct.wait_for(lambda: exported(c.daemons[0])[0] >= exported(c.daemons[0])[1],
                    timeout=a.timeout, interval=1, what="node 0's exporter to catch up")
        size = report_bytes(c.nodes[0].state)
        print(f"fill: node 0 idle after {time.monotonic() - t0:.1f} s (export rendered); mean "
              f"signed report {size:.0f} bytes", flush=True)

        # 2. node 1 joins
        vr = verify_rate(seconds=2.0)
        cpu0 = proc_cpu_s(c.daemons[0].proc.pid)
        t0 = time.monotonic()
        c.start([1])
        d1 = c.daemons[1]
        ct.wait_for(lambda: ct.links_up(d1) >= 1, timeout=a.timeout, interval=0.05,
                    what="node 1's first link")
        t_link = time.monotonic()
        peak = [0.0]
        seen = {}

        def holds_all():
            peak[0] = max(peak[0], proc_status_mib(d1.proc.pid, "RssAnon"))
            link_bytes(d1, seen)
            return ct.reports(d1) == n

        try:
            ct.wait_for(holds_all, timeout=a.join_timeout, interval=0.5,
                        what="node 1 to hold every report")
        except AssertionError:
            g = ct.gossip(d1)
            keys = ("catchup_received", "inbound_dropped", "links_closed_abusive",
                    "abuse_offences", "abuse_dropped", "rejected", "recon")
            print(f"join: NOT done after {a.join_timeout} s: node 1 holds {ct.reports(d1):,} of "
                  f"{n:,}, {ct.links_up(d1)} link(s) up; RssAnon at most {peak[0]:.1f} MiB; "
                  f"node 1's counters: { {k: g.get(k) for k in keys} }", flush=True)
            raise
        t_done = time.monotonic()
        join = t_done - t_link
        bi, bo, closed = link_bytes(d1, seen)
        g = ct.gossip(d1)
        rc = g["recon"]
        recon_b = rc["bytes_sent"] + rc["bytes_received"]
        cpu = [proc_cpu_s(c.daemons[0].proc.pid) - cpu0, proc_cpu_s(d1.proc.pid)]
        anon = proc_status_mib(d1.proc.pid, "RssAnon")
        load = os.getloadavg()
        # Node 1's exporter renders what it caught up; its memory once that is done too.
        ct.wait_for(lambda: exported(d1)[0] >= exported(d1)[1], timeout=a.timeout, interval=1,
                    what="node 1's exporter to catch up")
        t_export = time.monotonic() - t_done
        anon_idle = proc_status_mib(d1.proc.pid, "RssAnon")
        for i in range(2):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)

    rate = n / join
    print(f"join: first link {t_link - t0:.1f} s after node 1 started; all {n:,} reports "
          f"{join:.1f} s after it = {rate:,.0f} reports/s (load average {load})", flush=True)
    print(f"join: node 1 link bytes read {bi:,} + written {bo:,} = "
          f"{(bi + bo) / n:.1f} bytes per report (mean signed report {size:.0f} bytes: "
          f"{(bi + bo) / n / size:.3f} x; node 1 closed {closed} links or connections meanwhile, "
          f"their bytes counted up to the last poll, 0.5 s apart); reconciliation messages "
          f"{recon_b:,} bytes = "
          f"{recon_b / n:.2f} per report; sessions {rc['sessions']}, failed {rc['failed']}; "
          f"copies received: catch-up {g['catchup_received']:,} (asked for "
          f"{rc.get('asked', 0):,}), gossip {g['received']:,}, payload copies in all "
          f"{g['pushes_received']:,} = {g['pushes_received'] / n:.3f} per stored report, dropped "
          f"at node 1's full admission queue {g['inbound_dropped']:,}; refused "
          f"{g.get('rejected') or 'none'}; links closed as abusive {g['links_closed_abusive']}",
          flush=True)
    print(f"join: CPU {cpu[0]:.1f} s on node 0, {cpu[1]:.1f} s on node 1 "
          f"({cpu[1] * 1e6 / n:.0f} us per report)", flush=True)
    print(f"join: node 1 RssAnon (no LMDB file pages; sampled every 0.5 s) at most {peak[0]:.1f} "
          f"MiB during the join, {anon:.1f} MiB when it held every report, {anon_idle:.1f} MiB "
          f"once its exporter had rendered them too ({t_export:.1f} s later)", flush=True)

    # 3. the machine's limits (the daemons are gone)
    print(f"limits: Ed25519 verify {vr:,.0f}/s per core, x {cores} cores = {vr * cores:,.0f}/s "
          f"(measured just before the join)", flush=True)
    ingest, raw = store_rates(bench_store, n, base)
    bound = 1 / (1 / ingest + 1 / (vr * cores))
    print(f"ratio: join / bench_store durable ingest = {rate / ingest:.3f}; join / raw put = "
          f"{rate / raw:.3f}; join / Ed25519 verify on all cores = {rate / (vr * cores):.3f}; "
          f"join / (verify then store, one after the other: {bound:,.0f}/s) = "
          f"{rate / bound:.3f}", flush=True)
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
