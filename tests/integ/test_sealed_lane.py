#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Issue 14, the thread pool's lanes: a `seal` request runs two pool jobs (blinding, then
verifying, sealing and storing), and before the lane each request's jobs went straight to
the pool, bounded only by [api] max_connections. One node holding the only OPRF share
(1-of-1, so it answers its own requests and needs no link) gets sixteen `seal` requests of
distinct values at once, one per connection: every request is answered with all of its
values sealed and new, and `status` shows the sealed lane ran exactly two jobs per request
and never more than its cap (one per CPU) at once."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
import daemonlib as dl  # noqa: E402
from test_sealed import deal, give_share  # noqa: E402

K, T, QUOTA, WINDOW = 2, 1, 10, 30
CONNS = 16
VALUES = 20  # per request


def community_file(c, vks, vk):
    return dl.pack({0: "chatham-community", 1: 1, 2: c.id, 3: c.name, 4: [c.steward_pk], 5: 1,
                    6: {0: K, 1: T, 2: QUOTA, 3: WINDOW, 4: vk, 5: vks}})


def seal_line(i):
    values = [{"value": f"v{v}.lane{i}.sealed.example"} for v in range(VALUES)]
    return json.dumps({"op": "seal", "values": values, "id": f"c{i}"}).encode() + b"\n"


def test_sealed_lane():
    c = ct.Cluster(1, degree=1)
    shares, vks, vk = deal(T, 1)
    node = c.nodes[0]
    dl.write_file(node.community_path, community_file(c.community, vks, vk))
    give_share(node, c.community, 1, shares[0])
    clients = []
    ok = False
    try:
        c.start()
        d = c.daemons[0]
        ct.wait_for(lambda: ct.status(d).get("sealed", {}).get("holder_index") == 1,
                    timeout=30, what="the node holds OPRF share 1")
        before = ct.status(d)["pool"]["sealed"]
        cpus = len(os.sched_getaffinity(0))
        assert before["cap"] == cpus, (before, cpus)
        for i in range(CONNS):
            clients.append(d.client(timeout=120))
        # Every request is in its socket before any is answered.
        for i, cl in enumerate(clients):
            cl.send_raw(seal_line(i))
        for i, cl in enumerate(clients):
            r = cl.recv_line()
            assert r.get("ok") is True and r.get("id") == f"c{i}", r
            assert r["sealed"] == VALUES and r["new"] == VALUES, r
        lane = ct.status(d)["pool"]["sealed"]
        assert lane["jobs"] - before["jobs"] == 2 * CONNS, (before, lane)
        assert 1 <= lane["peak"] <= lane["cap"], lane
        assert lane["running"] == 0 and lane["waiting"] == 0, lane
        st = ct.status(d)["sealed"]
        assert st["held"] == CONNS * VALUES, st
        assert st["counters"]["sealed_here"] == CONNS * VALUES, st
        ok = True
    finally:
        for cl in clients:
            cl.close()
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    dl.main([test_sealed_lane])
