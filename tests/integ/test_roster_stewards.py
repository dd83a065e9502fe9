# SPDX-License-Identifier: MIT
"""Steward changes on five nodes, and every shortcut around them refused.

The community file names one steward (k = 1). Epoch 2, signed by that steward, appoints three
stewards with k = 2; it spreads from node 0 to all five nodes. Then, one by one, each
forbidden shortcut is tried and refused on the node it is given to, and spreads nowhere:
epoch 3 signed by one steward (under k = 2), epoch 3 that appoints its own stewards and is
signed only by them, and epoch 3 signed by a steward key the community never had. Epoch 3
signed by two stewards in office, raising k to 3 and replacing steward 0, is adopted
everywhere; epoch 4 signed by two of the new set (under k = 3) is not.

Then the two attacks on history. A rollback: a member link replays the genuine epoch 2 after
epoch 3 (received, not adopted, epoch unchanged). A conflict: a second, differently-bodied epoch 3 that the stewards
of epoch 2 also signed, given to node 1 as its roster file and to node 2 over a member link:
both refuse it, log "ROSTER CONFLICT", count it in status and keep it as evidence in the
state directory; every node stays on the first epoch 3."""

import glob
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
import daemonlib  # noqa: E402
import overlaylib  # noqa: E402

ROSTER = 12


def epoch(d):
    return ct.status(d)["roster"]["epoch"]


def conflicts(d):
    return ct.status(d)["roster"]["conflicts"]


def steward():
    return daemonlib.sodium().ed25519_keypair()


def test_steward_changes():
    c = ct.Cluster(5, degree=3)
    ok = False
    try:
        c.start()
        ct.wait_links(c.daemons, 2)
        com = c.community
        addrs = {m.name: [f"127.0.0.1:{p}"] for m, p in zip(com.members, c.ports)}
        s = [(com.steward_pk, com.steward_sk)] + [steward() for _ in range(4)]
        pk = [k for k, _ in s]
        sk = [k for _, k in s]

        def roster(ep, stewards, k, signers, members=None):
            return overlaylib.signed_roster(com, addrs, ep, members, stewards, k, signers)

        def offer(i, data, expect_log):
            mark = len(c.daemons[i].log())
            daemonlib.write_file(c.nodes[i].roster, data)
            c.daemons[i].signal(signal.SIGHUP)
            ct.wait_for(lambda: expect_log in c.daemons[i].log()[mark:], timeout=20,
                        what=f"'{expect_log}' in the log of node {i}")

        # Epoch 2: stewards 0, 1, 2 with k = 2, signed by the one steward of the community.
        set2 = [pk[0], pk[1], pk[2]]
        good2 = roster(2, set2, 2, [(0, sk[0])])
        offer(0, good2, "adopted")
        ct.wait_for(lambda: all(epoch(d) == 2 for d in c.daemons), timeout=30,
                    what="epoch 2 on every node")

        # Shortcuts for epoch 3, each refused where it is offered and nowhere adopted.
        set3 = [pk[3], pk[1], pk[2]]
        offer(1, roster(3, set3, 3, [(0, sk[0])]), "does not verify")  # 1 of k = 2
        offer(2, roster(3, [pk[3], pk[4]], 1, [(0, sk[3])]), "does not verify")  # self-made
        outsider_pk, outsider_sk = steward()
        offer(3, roster(3, [outsider_pk], 1, [(0, outsider_sk)]), "does not verify")
        assert all(epoch(d) == 2 for d in c.daemons)

        # The real epoch 3: signed by stewards 1 and 2 of epoch 2; steward 3 replaces 0, k = 3.
        good3 = roster(3, set3, 3, [(1, sk[1]), (2, sk[2])])
        offer(4, good3, "adopted")
        ct.wait_for(lambda: all(epoch(d) == 3 for d in c.daemons), timeout=30,
                    what="epoch 3 on every node")
        # Under k = 3 two of the new stewards are not enough, and the removed one never counts.
        offer(0, roster(4, set3, 3, [(0, sk[3]), (1, sk[1])]), "does not verify")
        offer(0, roster(4, set3, 3, [(0, sk[0]), (1, sk[1]), (2, sk[2])]), "does not verify")
        assert all(epoch(d) == 3 for d in c.daemons)

        # A rollback over a member link: member 4 replays the genuine epoch 2 to node 3, which
        # takes it in and stays on epoch 3. Member 4's own node stops first so that the
        # test's link is the only one with that identity.
        c.stop(4)
        received = ct.gossip(c.daemons[3])["roster"]["received"]
        adopted = ct.gossip(c.daemons[3])["roster"]["adopted"]
        peer = overlaylib.NoisePeer.connect(c.ports[3], com, c.netkey, com.members[4].tx_sk)
        peer.handshake()
        peer.hello(com.members[4].id, epoch=3)
        peer.send_link([ROSTER, good2])
        ct.wait_for(lambda: ct.gossip(c.daemons[3])["roster"]["received"] > received,
                    what="the replayed epoch 2 received by node 3")
        assert epoch(c.daemons[3]) == 3
        assert ct.gossip(c.daemons[3])["roster"]["adopted"] == adopted

        # A conflict: a second epoch 3 (member 4 left out) signed by two stewards of epoch 2.
        rest = [m for m in com.members if m is not com.members[4]]
        evil3 = roster(3, set3, 3, [(0, sk[0]), (1, sk[1])], members=rest)
        peer.send_link([ROSTER, evil3])
        c.daemons[3].wait_log("ROSTER CONFLICT")
        peer.close()
        offer(1, evil3, "ROSTER CONFLICT")
        for i in (1, 3):
            # The error is logged where the roster is judged (a pool job for a file, and
            # for a link too); the count is kept on the loop when the job is done.
            ct.wait_for(lambda: conflicts(c.daemons[i]) >= 1, timeout=20,
                        what=f"the conflict counted on node {i}")
            assert conflicts(c.daemons[i]) == 1
            kept = glob.glob(os.path.join(c.nodes[i].state, "roster-conflict-3-*"))
            assert len(kept) == 1, kept
            with open(kept[0], "rb") as f:
                assert f.read() == evil3
        for d in c.daemons[:4]:
            assert epoch(d) == 3
            assert ct.status(d)["roster"]["members"] == 5
        assert conflicts(c.daemons[0]) == 0
        for i in range(4):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    daemonlib.main([test_steward_changes])
