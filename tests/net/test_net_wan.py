# SPDX-License-Identifier: MIT
"""WAN: 16 members, each in its own namespace, linked only through relays with a one-way delay
of 20-80 ms per pair, +-5 ms jitter, and loss episodes (stalls of 0.2-1.5 s, and resets).
Reports are published one at a time from random members; every report must reach every
member, and no member may have it sooner than the shortest path over the relay delays
allows (which proves the bed delays what it claims). Prints p50/p99 delivery latency against
the flooding bound computed over the overlay's own links at that moment, and PUSH copies per
node per report.

CI: 20 reports, one loss episode per link per 60 s on average. Long variant
(CHATHAM_NET_LONG=1 or --long): 100 reports, one per link per 20 s.
"""

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import netbed as nb  # noqa: E402
import wanlib  # noqa: E402


def test_wan_delivery_and_latency():
    long = nb.long_run()
    reports = 100 if long else 20
    wan = wanlib.Wan()
    ok = False
    try:
        wan.members.start()
        wan.wait_overlay(min_links=2)
        wan.relay.call(op="episodes", mean_interval_s=20 if long else 60, stall_ms=[200, 1500],
                       reset_percent=20, seed=7)
        rng = random.Random(3)
        before = [nb.status(d)["gossip"] for d in wan.daemons]
        lat, ratio, excess = [], [], []
        for k in range(reports):
            src = rng.randrange(wan.n)
            value = f"r{k}.wan.example"
            edges = wan.members.overlay_edges()
            overlay_bound = wan.bounds(src, edges)
            lower = wan.bounds(src, slack=wan.jitter)
            watch = wanlib.ArrivalWatch(wan.daemons, value, skip=(src,))
            t0 = time.monotonic()
            nb.publish(wan.daemons[src], [value])
            arrival = watch.wait(timeout=60)
            missing = [i for i in range(wan.n) if i != src and i not in arrival]
            assert not missing, f"report {k} from node {src} never reached nodes {missing}"
            for i, t in arrival.items():
                ms = (t - t0) * 1000.0
                # No copy can beat the shortest path over the relay delays (less jitter).
                assert ms >= lower[i], (f"report {k}: node {i} had it after {ms:.1f} ms, "
                                         f"under the {lower[i]} ms lower bound: relay not delaying")
                lat.append(ms)
                b = overlay_bound[i]
                if b != float("inf"):
                    ratio.append(ms / b)
                    excess.append(ms - b)
        after = [nb.status(d)["gossip"] for d in wan.daemons]
        pushes = sum(a["pushes_received"] - b["pushes_received"] for a, b in zip(after, before))
        copies = pushes / (reports * (wan.n - 1))
        rs = wan.relay_stats()
        print(f"figures: wan n={wan.n} reports={reports} latency_ms p50={nb.percentile(lat, 50):.0f}"
              f" p99={nb.percentile(lat, 99):.0f} max={max(lat):.0f};"
              f" latency/overlay-bound p50={nb.percentile(ratio, 50):.2f}"
              f" p99={nb.percentile(ratio, 99):.2f};"
              f" excess_ms p50={nb.percentile(excess, 50):.0f}"
              f" p99={nb.percentile(excess, 99):.0f};"
              f" push copies/node/report={copies:.2f};"
              f" relay conns={rs['conns']} stalls={rs['stalls']} resets={rs['resets']}",
              flush=True)
        for d in wan.daemons:
            g = nb.status(d)["gossip"]
            assert not g["rejected"], g
        for i in range(wan.n):
            wan.members.stop(i)
        ok = True
    finally:
        wan.close(failed=not ok)


if __name__ == "__main__":
    nb.main([test_wan_delivery_and_latency])
