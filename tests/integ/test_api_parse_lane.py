#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Issue 14, the thread pool's lanes: request lines over 64 KiB are parsed in the pool, and
lines of 64-128 KiB need no large-request slot, so every connection can have one such
parse at once. The api's parse lane keeps at most one per CPU in the pool (the rest wait in
order): twelve connections each pipelining two padded 100 KiB requests and a small one get
every answer, in order, with its own id, and `status` shows the lane never ran more than
its cap while every large line went through it."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402

COMMUNITY = dl.Community()
CONNS = 12
PAD = 100 * 1024  # JSON whitespace: a valid status request of ~100 KiB


def large(rid):
    return b'{"op":"status",' + b" " * PAD + b'"id":"' + rid.encode() + b'"}\n'


def test_parse_lane():
    node = dl.Node(COMMUNITY)
    clients = []
    try:
        with dl.Daemon(node).start() as d:
            before = d.call({"op": "status"})["pool"]["parse"]
            cpus = len(os.sched_getaffinity(0))
            assert before["cap"] == cpus, (before, cpus)
            for i in range(CONNS):
                c = d.client(timeout=120)
                clients.append(c)
            # Every connection's lines are in its socket before any is answered, so the
            # node finds many large lines ready at once.
            for i, c in enumerate(clients):
                c.send_raw(large(f"c{i}-1") + large(f"c{i}-2") +
                           f'{{"op":"status","id":"c{i}-3"}}\n'.encode())
            for i, c in enumerate(clients):
                for k in (1, 2, 3):
                    r = c.recv_line()
                    assert r.get("ok") is True, r
                    assert r.get("id") == f"c{i}-{k}", (r.get("id"), i, k)
                    assert "pool" in r, r
            lane = d.call({"op": "status"})["pool"]["parse"]
            assert lane["jobs"] - before["jobs"] == 2 * CONNS, (before, lane)
            assert 1 <= lane["peak"] <= lane["cap"], lane
            assert lane["running"] == 0 and lane["waiting"] == 0, lane
            pool = d.call({"op": "status"})["pool"]
            assert pool["threads"] >= 4, pool
            for kind in ("sign", "reads"):
                assert pool[kind]["peak"] <= pool[kind]["cap"], pool
    finally:
        for c in clients:
            c.close()
        node.cleanup()


if __name__ == "__main__":
    dl.main([test_parse_lane])
