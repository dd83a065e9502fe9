# SPDX-License-Identifier: MIT
"""A node offline across two steward changes catches up on its own.

Five nodes; node 4 stops. Epoch 2 hands the stewardship from the community's steward s0 to
s1 (signed by s0), epoch 3 from s1 to s2 (signed by s1); both reach nodes 0-3. Node 4 comes
back holding only epoch 1, whose steward is s0: epoch 3 alone does not verify there (s2 is no
steward it knows), so the node needs epoch 2 first. Its peers send every epoch after the one
its HELLO names, oldest first; node 4 adopts 2, then 3, from members, with no conflict and no
refusal, and links again under epoch 3."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
import daemonlib  # noqa: E402
import overlaylib  # noqa: E402


def epoch(d):
    return ct.status(d)["roster"]["epoch"]


def test_missed_steward_changes():
    c = ct.Cluster(5, degree=3)
    ok = False
    try:
        c.start()
        ct.wait_links(c.daemons, 2)
        com = c.community
        addrs = {m.name: [f"127.0.0.1:{p}"] for m, p in zip(com.members, c.ports)}
        s1 = daemonlib.sodium().ed25519_keypair()
        s2 = daemonlib.sodium().ed25519_keypair()
        c.stop(4)

        def offer(data, ep):
            mark = len(c.daemons[0].log())
            daemonlib.write_file(c.nodes[0].roster, data)
            c.daemons[0].signal(signal.SIGHUP)
            ct.wait_for(lambda: "adopted" in c.daemons[0].log()[mark:], timeout=20,
                        what=f"epoch {ep} adopted by node 0")
            ct.wait_for(lambda: all(epoch(d) == ep for d in c.daemons[:4]), timeout=30,
                        what=f"epoch {ep} on nodes 0-3")

        offer(overlaylib.signed_roster(com, addrs, 2, stewards=[s1[0]], threshold=1,
                                       signers=[(0, com.steward_sk)]), 2)
        offer(overlaylib.signed_roster(com, addrs, 3, stewards=[s2[0]], threshold=1,
                                       signers=[(0, s1[1])]), 3)

        c.start([4])
        d4 = c.daemons[4]
        ct.wait_for(lambda: epoch(d4) == 3, timeout=30, what="epoch 3 on the returning node")
        log = d4.log()
        two = log.find("roster epoch 2 received from a member and adopted")
        three = log.find("roster epoch 3 received from a member and adopted")
        assert 0 <= two < three, log[-4000:]
        assert ct.status(d4)["roster"]["conflicts"] == 0
        assert "does not verify" not in log
        ct.wait_links([d4], 2)
        for i in range(5):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    daemonlib.main([test_missed_steward_changes])
