# SPDX-License-Identifier: MIT
"""Partition and heal. Nine members: side A (nodes 0-3) and side B (nodes 4-7) each form a
full mesh, and node 8 is the only bridge: A's rosters list the addresses of A and of the
bridge, B's those of B and of the bridge, the bridge's none (it only accepts), so no A node
ever dials a B node. Killing the bridge cuts every link between the sides (the partition);
both sides keep publishing; restarting the bridge on its old state heals it, and
reconciliation (on link up, then every second with a random peer) brings all nine nodes to
the same set."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402

A = range(0, 4)
B = range(4, 8)
BRIDGE = 8
PER_SIDE = 300


def dial(i):
    if i in A:
        return list(A) + [BRIDGE]
    if i in B:
        return list(B) + [BRIDGE]
    return []


def test_partition_and_heal():
    c = ct.Cluster(9, degree=6, dial=dial, gossip="recon_interval_s = 1\n")
    ok = False
    try:
        c.start()
        ct.wait_for(lambda: all(ct.links_up(c.daemons[i]) == 4 for i in list(A) + list(B)),
                    timeout=30, what="each side meshed and linked to the bridge")
        ct.publish_batch(c.daemons[0], ["pre.partition.example"])
        ct.wait_for(lambda: all(ct.reports(d) == 1 for d in c.daemons),
                    what="the first report on both sides")

        c.daemons[BRIDGE].kill()  # SIGKILL: the links between the sides are cut
        ct.wait_for(lambda: all(ct.links_up(c.daemons[i]) == 3 for i in list(A) + list(B)),
                    timeout=20, what="the links to the bridge down")
        va = [f"a{i}.partition.example" for i in range(PER_SIDE)]
        vb = [f"b{i}.partition.example" for i in range(PER_SIDE)]
        ct.publish_batch(c.daemons[1], va)
        ct.publish_batch(c.daemons[6], vb)
        ct.wait_for(lambda: all(ct.reports(c.daemons[i]) == 1 + PER_SIDE
                                for i in list(A) + list(B)),
                    timeout=30, what="each side to spread its own reports")
        # The partition is real: neither side has the other's reports.
        for i in A:
            assert not ct.has_indicator(c.daemons[i], vb[0])
        for i in B:
            assert not ct.has_indicator(c.daemons[i], va[0])

        c.start([BRIDGE])
        total = 1 + 2 * PER_SIDE
        ct.wait_for(lambda: all(ct.reports(d) == total for d in c.daemons), timeout=90,
                    what="both sides to converge through the bridge")
        for d in c.daemons:
            assert ct.has_indicator(d, va[-1]) and ct.has_indicator(d, vb[-1])
            g = ct.gossip(d)
            assert not g["rejected"], g
        for i in range(9):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    ct.main([test_partition_and_heal])
