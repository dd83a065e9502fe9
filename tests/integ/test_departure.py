# SPDX-License-Identifier: MIT
"""A member departs (five nodes).

Member 4's node is down while node 0 publishes 12 AMBER reports for members 1 and 4: member 1
gets them at once, the copies for member 4 wait in node 0's outbox. Epoch 2 leaves member 4
out. When node 0 adopts it (by SIGHUP) the 12 waiting copies, and a notice waiting for
member 4, are dropped and counted (status roster.outbox_dropped, notices.departed_dropped),
its outboxes are empty, and the reports stay in node 0's and
member 1's stores. Node 3 adopts epoch 2 from a member link and drops nothing (it had
nothing for member 4). Earlier CLEAR reports by member 4 stay on every node."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
import daemonlib  # noqa: E402
import overlaylib  # noqa: E402


def test_departure():
    c = ct.Cluster(5, degree=3)
    ok = False
    try:
        c.start()
        ct.wait_links(c.daemons, 2)
        com = c.community
        mine = [f"m{i}.departing-member.net" for i in range(5)]
        ct.publish_batch(c.daemons[4], mine)
        ct.wait_for(lambda: all(ct.has_indicator(d, mine[-1]) for d in c.daemons),
                    timeout=30, what="member 4's reports everywhere")
        c.stop(4)

        amber = [f"a{i}.amber-for-two.net" for i in range(12)]
        ct.publish_batch(c.daemons[0], amber, tlp="AMBER",
                         recipients=[c.member_id(1), c.member_id(4)])
        ct.wait_for(lambda: all(ct.has_indicator(c.daemons[1], v) for v in amber),
                    timeout=30, what="the AMBER reports at member 1")
        ct.wait_for(lambda: ct.status(c.daemons[0])["store"]["outbox"] == 12, timeout=30,
                    what="12 copies for member 4 waiting in node 0's outbox")
        form = {"form": "incident", "purpose": "information", "what_happened": "x",
                "affected": {"host": "192.0.2.1", "occurred_at": "2026-12-06T09:30:00Z"}}
        r = c.daemons[0].call({"op": "notify", "form": form, "tlp": "AMBER",
                               "to": c.member_id(4)})
        assert r["ok"], r
        ct.wait_for(lambda: ct.status(c.daemons[0])["notices"]["outbox"] == 1,
                    what="a notice for member 4 waiting")

        addrs = {m.name: [f"127.0.0.1:{p}"] for m, p in zip(com.members, c.ports)}
        daemonlib.write_file(c.nodes[0].roster,
                             overlaylib.signed_roster(com, addrs, 2, com.members[:4]))
        c.daemons[0].signal(signal.SIGHUP)
        ct.wait_for(lambda: all(ct.status(d)["roster"]["epoch"] == 2 for d in c.daemons[:4]),
                    timeout=30, what="epoch 2 on nodes 0-3")
        # The notices job drops the notice's entry after its own commit.
        ct.wait_for(lambda: ct.status(c.daemons[0])["notices"]["departed_dropped"] == 1,
                    timeout=60, what="the notice for member 4 dropped")
        s0 = ct.status(c.daemons[0])
        assert s0["store"]["outbox"] == 0, s0["store"]
        assert s0["roster"]["outbox_dropped"] == 12, s0["roster"]
        assert s0["notices"]["outbox"] == 0 and s0["notices"]["departed_dropped"] == 1, s0
        assert s0["notices"]["stored"] == 1, s0  # the notice itself stays
        assert "dropped 12 undelivered AMBER/RED copies" in c.daemons[0].log()
        assert ct.status(c.daemons[3])["roster"]["outbox_dropped"] == 0
        for v in amber:
            assert ct.has_indicator(c.daemons[0], v) and ct.has_indicator(c.daemons[1], v)
        for d in c.daemons[:4]:
            assert all(ct.has_indicator(d, v) for v in mine)
        for i in range(4):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    daemonlib.main([test_departure])
