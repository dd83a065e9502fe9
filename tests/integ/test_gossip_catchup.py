# SPDX-License-Identifier: MIT
"""Catch-up: a node stopped while 10,000 reports are published elsewhere fetches exactly
what it missed after its restart, at a few bytes of reconciliation traffic per missing
report (the reports themselves aside), and ends with the same set as everyone else.

Four members, full mesh (degree 3); periodic reconciliation is off so that only the sessions
run when links come up are measured."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402

MISSED = 10000
BEFORE = 100
BATCH = 1000
BYTES_PER_ID = 40  # DESIGN.md §5 target: catch-up costs close to the size of the missing ids


def quiet(g):
    return g["received"] == g["forwarded"] and g["backlog"] == 0


def test_catch_up_after_restart():
    # Links must not die of a scheduling stall: each new link starts another catch-up
    # session, and sessions racing each other push copies twice (a run at load ~30, with
    # 3 s dead_after_ms, lost links every few seconds and pushed 87,324 copies for 10,000).
    c = ct.Cluster(4, degree=3, gossip="recon_interval_s = 0\n",
                   overlay="keepalive_ms = 1000\ndead_after_ms = 60000\nbackoff_min_ms = 100\n"
                   "backoff_max_ms = 800\n")
    ok = False
    try:
        c.start()
        ct.wait_links(c.daemons, 3)
        ct.publish_batch(c.daemons[0], [f"before{i}.catchup.example" for i in range(BEFORE)])
        ct.wait_for(lambda: all(ct.reports(d) == BEFORE for d in c.daemons),
                    what="the first reports everywhere")
        c.stop(3)

        for b in range(0, MISSED, BATCH):
            ct.publish_batch(c.daemons[b // BATCH % 3],
                             [f"m{i}.catchup.example" for i in range(b, b + BATCH)])
        total = BEFORE + MISSED
        ct.wait_for(lambda: all(ct.reports(d) == total for d in c.daemons[:3]), timeout=120,
                    what="the running nodes to hold every report")
        # A report counts as stored before the loop that stored it forwards it (the commit
        # runs in the pool, the forwarding in the loop's completion): wait until every
        # running node has forwarded what it received, or a late gossip push to the
        # restarted node would race its catch-up session and count twice.
        ct.wait_for(lambda: all(quiet(ct.gossip(d)) for d in c.daemons[:3]), timeout=120,
                    what="the running nodes to forward everything")
        pushed_before = sum(ct.gossip(d)["recon"]["pushed"] for d in c.daemons[:3])

        c.start([3])
        ct.wait_for(lambda: ct.reports(c.daemons[3]) == total, timeout=120,
                    what="the restarted node to catch up")
        g = ct.gossip(c.daemons[3])
        # Fetched only what it missed: at most a few copies more than the missing reports
        # reached it (the running nodes are quiet, but their lazy announcements may still
        # be on a timer); the store holds each once (the wait above).
        new = g["received"] + g["catchup_received"]
        assert MISSED <= new <= MISSED * 1.02, g
        assert g["pushes_received"] <= MISSED * 1.02, g
        pushed = sum(ct.gossip(d)["recon"]["pushed"] for d in c.daemons[:3]) - pushed_before
        assert pushed <= MISSED * 1.02, pushed
        recon = g["recon"]
        overhead = recon["bytes_sent"] + recon["bytes_received"]
        per_id = overhead / MISSED
        print(f"catch-up of {MISSED} reports: {overhead} bytes of reconciliation traffic "
              f"({per_id:.2f} bytes per missing report), {g['pushes_received']} copies "
              f"received, sessions {recon['sessions']}", flush=True)
        assert per_id <= BYTES_PER_ID, recon
        assert recon["failed"] == 0, recon
        for i in range(4):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    ct.main([test_catch_up_after_restart])
