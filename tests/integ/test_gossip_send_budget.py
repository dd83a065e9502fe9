# SPDX-License-Identifier: MIT
"""Link sends are budgeted per loop iteration (node/overlay/dissem.c flush(),
NODE_DISSEM_FLUSH_SLICE_US): a node that must send thousands of reports at once (here the
catch-up of a member that was down while 3,000 were published) sends a slice, leaves the
rest queued and resumes it in the next loop iterations, and everything arrives, once.

3,000 catch-up copies cost far more than the 2 ms budget in any build (each is a store
read, a decode and an encryption; FETCH asks for up to 1,024 ids a message), so the pushing
node must report resumed sends; a resumption that lost or stalled a queue would leave the
restarted node short of reports."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402

MISSED = 3000
BATCH = 1000


def test_budgeted_catch_up():
    c = ct.Cluster(2, degree=1, gossip="recon_interval_s = 0\n",
                   overlay="keepalive_ms = 1000\ndead_after_ms = 60000\nbackoff_min_ms = 100\n"
                   "backoff_max_ms = 800\n")
    ok = False
    try:
        c.start()
        ct.wait_links(c.daemons, 1)
        c.stop(1)
        for b in range(0, MISSED, BATCH):
            ct.publish_batch(c.daemons[0], [f"m{i}.budget.example" for i in range(b, b + BATCH)])
        assert ct.reports(c.daemons[0]) == MISSED
        resumed_before = ct.gossip(c.daemons[0])["sends_resumed"]

        c.start([1])
        ct.wait_for(lambda: ct.reports(c.daemons[1]) == MISSED, timeout=180,
                    what="the restarted node to catch up")
        g0, g1 = ct.gossip(c.daemons[0]), ct.gossip(c.daemons[1])
        assert g0["sends_resumed"] > resumed_before, g0
        # Each missing report came about once (as test_gossip_catchup allows, a copy pushed
        # and fetched in one session may cross): a queue resumed twice would send it again.
        assert g1["pushes_received"] <= MISSED * 1.02, g1
        ct.wait_for(lambda: ct.gossip(c.daemons[0])["backlog"] == 0, timeout=60,
                    what="the pushing node's queues to drain")
        print(f"catch-up of {MISSED}: sends resumed in a later loop iteration "
              f"{g0['sends_resumed'] - resumed_before} times", flush=True)
        for i in range(2):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    ct.main([test_budgeted_catch_up])
