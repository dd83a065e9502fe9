# SPDX-License-Identifier: MIT
"""Direct delivery of AMBER and RED. Four members, full mesh, reconciliation every second.
An AMBER report to two named recipients is stored by exactly those two: it is in no other
node's store, never gossiped nor reconciled (the third node runs several reconciliation
sessions afterwards and still lacks it). RED reaches its recipients and is exported only by
the one configured with export_red. A recipient that is down gets its copy after it comes
back, even though the origin restarted in between (the outbox is durable), and the origin's
outbox empties once every recipient acknowledged."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402


def extra(i):
    return "[policy]\nexport_red = true\n" if i == 2 else ""


def test_amber_and_red_direct():
    # Links must not die of a stalled loop (OVERLAY_FAST's 3 s dead_after_ms did at load 50+):
    # a stopped node's link still closes at once (its socket closes) and redials are fast.
    c = ct.Cluster(4, degree=3, gossip="recon_interval_s = 1\ndirect_retry_min_ms = 200\n"
                   "direct_retry_max_ms = 1000\n", extra_config=extra,
                   overlay="keepalive_ms = 1000\ndead_after_ms = 60000\nbackoff_min_ms = 100\n"
                   "backoff_max_ms = 800\n")
    ok = False
    try:
        c.start()
        ct.wait_links(c.daemons, 3)
        o = c.daemons[0]
        r1, r2, r3 = c.member_id(1), c.member_id(2), c.member_id(3)
        ct.publish_batch(o, ["amber.direct.example"], tlp="AMBER", recipients=[r1, r2])
        ct.publish_batch(o, ["red.direct.example"], tlp="RED", recipients=[r1, r2])
        ct.publish_batch(o, ["green.direct.example"], tlp="GREEN")
        ct.wait_for(lambda: all(ct.has_indicator(c.daemons[i], "amber.direct.example") and
                                ct.has_indicator(c.daemons[i], "red.direct.example")
                                for i in (1, 2)), what="AMBER and RED at both recipients")
        ct.wait_for(lambda: ct.status(o)["store"]["outbox"] == 0, what="every copy acknowledged")
        ct.wait_for(lambda: ct.has_indicator(c.daemons[3], "green.direct.example"),
                    what="the GREEN report at the non-recipient")
        # Let node 3 reconcile with its peers a few more times, then look at its raw store.
        done = ct.gossip(c.daemons[3])["recon"]["completed"]
        ct.wait_for(lambda: ct.gossip(c.daemons[3])["recon"]["completed"] >= done + 3,
                    what="more reconciliation sessions on node 3")
        d3 = c.daemons[3]
        assert not ct.has_indicator(d3, "amber.direct.example")
        assert not ct.has_indicator(d3, "red.direct.example")
        assert ct.store_has_value(c.nodes[1].state, "amber.direct.example")  # the probe works
        assert not ct.store_has_value(c.nodes[3].state, "amber.direct.example")
        assert not ct.store_has_value(c.nodes[3].state, "red.direct.example")
        for i in (1, 2):
            g = ct.gossip(c.daemons[i])
            # At least once: a copy whose ACK was lost with a closed link (a tie-break while
            # the links come up) is sent again. Each report is acknowledged at least once (the
            # origin's outbox emptied); a copy whose commit ends while no link to its sender
            # is up gets no ACK (the sender's retry gets one), so ack_sent may trail received.
            assert g["direct"]["received"] >= 2, g
            assert 2 <= g["direct"]["ack_sent"] <= g["direct"]["received"], g
            assert not g["rejected"], g
        # Exports: AMBER marked at both recipients; RED only where export_red is on.
        ct.wait_for(lambda: "amber.direct.example" in ct.export_values(c.nodes[1]) and
                    "red.direct.example" in ct.export_values(c.nodes[2]),
                    what="exports of the recipients")
        assert "red.direct.example" not in ct.export_values(c.nodes[1])
        assert not ({"amber.direct.example", "red.direct.example"} &
                    ct.export_values(c.nodes[3]))

        # Durable retries: recipient 3 is down, the origin restarts, then 3 comes back.
        c.stop(3)
        ct.wait_for(lambda: ct.links_up(o) == 2, what="the origin's link to node 3 down")
        ct.publish_batch(o, ["late.direct.example"], tlp="AMBER", recipients=[r1, r3])
        ct.wait_for(lambda: ct.has_indicator(c.daemons[1], "late.direct.example"),
                    what="the late report at the recipient that is up")
        ct.wait_for(lambda: ct.status(o)["store"]["outbox"] == 1,
                    what="one copy left in the outbox")
        c.stop(0)
        c.start([0])
        assert ct.status(c.daemons[0])["store"]["outbox"] == 1
        c.start([3])
        ct.wait_for(lambda: ct.has_indicator(c.daemons[3], "late.direct.example"),
                    timeout=30, what="the late report at the returning recipient")
        ct.wait_for(lambda: ct.status(c.daemons[0])["store"]["outbox"] == 0,
                    what="the outbox empty")
        assert not ct.store_has_value(c.nodes[2].state, "late.direct.example")
        for i in range(4):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    ct.main([test_amber_and_red_direct])
