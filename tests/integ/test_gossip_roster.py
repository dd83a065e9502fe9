# SPDX-License-Identifier: MIT
"""Roster gossip. Three members link up on roster epoch 1. Node 0 alone is given epoch 2
(a new member joins) by SIGHUP; the others learn it over their links (ROSTER to a peer whose
HELLO named an older epoch) although their roster files still say epoch 1. Then epoch 3,
without member 2, reaches node 1 the same way and both close their links to the removed
member. A roster signed by a key that is not a steward is refused (at reload) and spreads
nowhere. Last, epoch 4 adds 600 members: at over 64 KiB it no longer fits one ROSTER
message and travels as ROSTER_PART messages, joined and adopted by node 1."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
import daemonlib  # noqa: E402
import overlaylib  # noqa: E402


def epoch(d):
    return ct.status(d)["roster"]["epoch"]


def test_roster_spreads():
    c = ct.Cluster(3, degree=2)
    ok = False
    try:
        c.start()
        ct.wait_links(c.daemons, 2)
        addrs = {m.name: [f"127.0.0.1:{p}"] for m, p in zip(c.community.members, c.ports)}
        joined = daemonlib.Member("Delta SOC")
        members2 = list(c.community.members) + [joined]

        # A roster signed by an outsider's key never gets adopted.
        forged = daemonlib.Community(name=c.community.name)
        forged.id = c.community.id
        daemonlib.write_file(c.nodes[0].roster,
                             overlaylib.roster_file(forged, addrs, epoch=5, members=members2))
        c.daemons[0].signal(signal.SIGHUP)
        c.daemons[0].wait_log("does not verify")
        assert all(epoch(d) == 1 for d in c.daemons)

        daemonlib.write_file(c.nodes[0].roster,
                             overlaylib.roster_file(c.community, addrs, epoch=2,
                                                    members=members2))
        c.daemons[0].signal(signal.SIGHUP)
        ct.wait_for(lambda: all(epoch(d) == 2 for d in c.daemons), timeout=20,
                    what="epoch 2 on every node")
        for d in c.daemons:
            assert ct.status(d)["roster"]["members"] == 4
        assert ct.gossip(c.daemons[0])["roster"]["sent"] >= 2
        c.daemons[1].wait_log("received from a member and adopted")

        members3 = [m for m in members2 if m is not c.community.members[2]]
        daemonlib.write_file(c.nodes[0].roster,
                             overlaylib.roster_file(c.community, addrs, epoch=3,
                                                    members=members3))
        c.daemons[0].signal(signal.SIGHUP)
        ct.wait_for(lambda: epoch(c.daemons[1]) == 3, timeout=20, what="epoch 3 on node 1")
        ct.wait_for(lambda: ct.links_up(c.daemons[0]) == 1 and ct.links_up(c.daemons[1]) == 1,
                    what="the links to the removed member closed")

        members4 = members3 + [daemonlib.Member(f"Team {i:03d} CSIRT") for i in range(600)]
        big = overlaylib.roster_file(c.community, addrs, epoch=4, members=members4)
        assert len(big) > 65514, len(big)
        sent = ct.gossip(c.daemons[0])["roster"]["sent"]
        daemonlib.write_file(c.nodes[0].roster, big)
        c.daemons[0].signal(signal.SIGHUP)
        ct.wait_for(lambda: epoch(c.daemons[1]) == 4, timeout=30, what="epoch 4 on node 1")
        assert ct.status(c.daemons[1])["roster"]["members"] == len(members4)
        assert ct.gossip(c.daemons[0])["roster"]["sent"] == sent + 1
        assert ct.links_up(c.daemons[0]) == 1 and ct.links_up(c.daemons[1]) == 1
        for i in range(3):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    ct.main([test_roster_spreads])
