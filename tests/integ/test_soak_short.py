# SPDX-License-Identifier: MIT
"""The CI version of tests/bench/soak.py: 8 real daemons, 60 seconds, 20 reports per second
published round-robin, one overlay link cut every 2 seconds by the proxies in front of the
listeners. Then:

  - every report reached every node (completeness 100 % after a drain of at most 60 s);
  - gossip, not only catch-up, carried them: median latency under a second (the periodic
    reconciliation runs every 5 s);
  - after a 20-second warm-up, no daemon's anonymous memory (RssAnon: heap and stacks; the
    LMDB map is a file mapping and counts in RssFile) grew by more than ANON_GROWTH_MAX_KIB.
    Measured on this machine over 40 s once warm (ASan build, as CI runs it): 2.3-4.0 MiB
    at load 1-10, 2.5-7.9 MiB at load 25-37 (the same with the session's loop-memory
    commits reverted: load, not code); the 10-minute release soak stays flat. So the bound
    catches a leak of ~13 KiB or more per report (~800 reach each node in the window) or
    ~500 KiB per link drop, not malloc's arena growth under load; smaller leaks of
    unreachable memory are LeakSanitizer's. Under ASan the quarantine is limited to 1 MiB for the run (it would
    otherwise fill its 256 MiB and look like growth); LeakSanitizer still runs at exit
    and a daemon that reports a leak fails its clean stop.

Environment: CHATHAM_SOAK_SECONDS (default 60).
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "bench"))

import daemonlib as dl  # noqa: E402
import soak  # noqa: E402

SECONDS = float(os.environ.get("CHATHAM_SOAK_SECONDS", "60"))
ANON_GROWTH_MAX_KIB = 10 * 1024


def test_soak_short():
    asan = os.environ.get("ASAN_OPTIONS", "")
    env = {"ASAN_OPTIONS": (asan + ":" if asan else "") +
           "quarantine_size_mb=1:thread_local_quarantine_size_kb=64"}
    r = soak.run(nodes=8, duration=SECONDS, rate=20, drop_every=2, warmup=SECONDS / 3,
                 sample=5, drain=60, daemon_env=env)
    soak.report(r)
    # The publisher's own pace is a precondition, not what is tested: on a machine loaded
    # by other work it falls behind 20/s (seen: 951 of 1,200), which still soaks the nodes.
    assert r["published"] >= 0.5 * 20 * SECONDS, r["published"]
    assert r["link_drops"] >= SECONDS / 2 * 0.9, r["link_drops"]
    assert r["completeness"] == 1.0, f"{r['expected'] - r['delivered']} deliveries missing"
    assert r["latency_ms"]["p50"] < 1000, r["latency_ms"]
    grown = [g for g in r["anon_growth_kib"] if g > ANON_GROWTH_MAX_KIB]
    assert not grown, f"anonymous memory grew by {r['anon_growth_kib']} KiB after warm-up"


if __name__ == "__main__":
    dl.main([test_soak_short])
