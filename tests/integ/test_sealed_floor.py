#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The ring floor of sealed sightings (docs/SEALED.md §5) on five real daemons: OPRF 2-of-3
on nodes 0-2, k = 2.

A ring tag is one per ring key and value, so a member that changes its ring key could count
twice toward k (once under each key's epoch), and one that left could keep counting with
the submissions it made before. Under roster epoch 1, member 3 seals V and member 4 seals W.
Epoch 2 gives member 3 a new ring key and removes member 4. Then:

  - every node's ring floor becomes 2 and the two epoch-1 submissions are deleted;
  - member 3 seals V again under epoch 2 (new key): held everywhere, opened nowhere;
  - member 0 seals W under epoch 2: held everywhere, opened nowhere (member 4's old
    submission does not count);
  - member 1 seals W: it opens on every node with exactly 2 members;
  - W, which no report is behind, is found by `query` and listed by `list` like any
    indicator (TLP GREEN, 2 members, no reports, no member named), and when the export
    rules change (export_red switched on) the rebuilt export renders it again.
Nothing is slept on: every step polls the nodes' status (after each submission, until it
is stored and no group waits for evaluation)."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
import daemonlib as dl  # noqa: E402
import leakoracle  # noqa: E402
import overlaylib  # noqa: E402
from test_sealed import deal, export_doc, give_share  # noqa: E402

K, T, QUOTA, WINDOW = 2, 2, 100, 30
V = "198.18.8.8"
W = "floor.sealed.example"


def community_file(c, vks, vk):
    return dl.pack({0: "chatham-community", 1: 1, 2: c.id, 3: c.name, 4: [c.steward_pk], 5: 1,
                    6: {0: K, 1: T, 2: QUOTA, 3: WINDOW, 4: vk, 5: vks}})


def sealed(d):
    return ct.status(d)["sealed"]


def epoch(d):
    return ct.status(d)["roster"]["epoch"]


def opened(d, value):
    q = d.call({"op": "query", "value": value})
    assert q.get("ok"), q
    return q.get("sealed")


def seal(d, value):
    r = d.call({"op": "seal", "values": [{"value": value}]})
    assert r.get("ok") and r["new"] == 1, r
    return r


def arrived(d):
    """Submissions this node stored: its own and received ones."""
    cnt = sealed(d)["counters"]
    return cnt["sealed_here"] + cnt["stored"]


def settled(daemons, held, base):
    """Every node holds @held submissions, stored one more than @base[i] and has no group
    waiting for evaluation (the counters and the queue change in one loop callback)."""
    def ok():
        for i, d in daemons.items():
            st = sealed(d)
            cnt = st["counters"]
            if (st["held"] != held or st["groups_pending"] != 0 or
                    cnt["sealed_here"] + cnt["stored"] < base[i] + 1):
                return False
        return True
    return ok


def test_ring_floor():
    c = ct.Cluster(5, degree=4)
    shares, vks, vk = deal(T, 3)
    for i, n in enumerate(c.nodes):
        dl.write_file(n.community_path, community_file(c.community, vks, vk))
        if i <= 2:
            give_share(n, c.community, i + 1, shares[i])
    ok = False
    try:
        c.start()
        ct.wait_links(c.daemons, 3)
        ct.wait_for(lambda: all(sealed(d)["holders_linked"] >= (2 if i <= 2 else 3)
                                for i, d in enumerate(c.daemons)), timeout=60,
                    what="every node linked to the other share holders")
        assert all(sealed(d)["ring_floor"] == 1 for d in c.daemons)

        # Epoch 1: member 3 seals V, member 4 seals W.
        seal(c.daemons[3], V)
        seal(c.daemons[4], W)
        ct.wait_for(lambda: all(sealed(d)["held"] == 2 for d in c.daemons), timeout=60,
                    what="both epoch-1 submissions on every node")

        # Epoch 2: member 3 has a new ring key, member 4 is removed.
        com = c.community
        m3 = com.members[3]
        m3.ring_pk, m3.ring_sk = dl.sodium().ristretto_keypair()
        addrs = {m.name: [f"127.0.0.1:{c.ports[i]}"] for i, m in enumerate(com.members)}
        r2 = overlaylib.signed_roster(com, addrs, epoch=2, members=com.members[:4])
        c.stop(4)
        c.stop(3)
        dl.write_file(c.nodes[0].roster, r2)
        c.daemons[0].signal(signal.SIGHUP)
        live = {i: c.daemons[i] for i in range(3)}
        ct.wait_for(lambda: all(epoch(d) == 2 for d in live.values()), timeout=60,
                    what="epoch 2 on nodes 0-2")
        ct.wait_for(lambda: all(sealed(d)["ring_floor"] == 2 and sealed(d)["held"] == 0 and
                                sealed(d)["groups_pending"] == 0 for d in live.values()),
                    timeout=60, what="floor 2 and the epoch-1 submissions deleted on nodes 0-2")
        for i, d in live.items():
            assert sealed(d)["counters"]["below_floor_deleted"] == 2, i

        # Member 3 restarts with its new key and epoch 2; its own old copies go at start.
        dl.write_file(c.nodes[3].key, m3.key_bundle(), 0o600)
        dl.write_file(c.nodes[3].roster, r2)
        c.start([3])
        live[3] = c.daemons[3]
        assert epoch(c.daemons[3]) == 2
        ct.wait_for(lambda: sealed(c.daemons[3])["held"] == 0 and
                    sealed(c.daemons[3])["groups_pending"] == 0, timeout=60,
                    what="node 3 deleted its epoch-1 copies")
        assert sealed(c.daemons[3])["ring_floor"] == 2
        assert sealed(c.daemons[3])["counters"]["below_floor_deleted"] == 2
        ct.wait_links([c.daemons[3]], 3)
        ct.wait_for(lambda: sealed(c.daemons[3])["holders_linked"] >= 2, timeout=60,
                    what="node 3 linked to two share holders")

        # V again under the new key: one member, so no opening.
        base = {i: arrived(d) for i, d in live.items()}
        seal(c.daemons[3], V)
        ct.wait_for(settled(live, 1, base), timeout=60, what="V (epoch 2) evaluated everywhere")
        for i, d in live.items():
            assert opened(d, V) is None and sealed(d)["opened"] == 0, i
        # Node 3 (no share) asked 2 holders since its restart: 2 round trips measured.
        rtt = sealed(c.daemons[3])["oprf_rtt_ms"]
        assert rtt["samples"] == 2 and 0 <= rtt["p50"] <= rtt["p99"], rtt

        # W by member 0: member 4's epoch-1 submission does not count.
        base = {i: arrived(d) for i, d in live.items()}
        seal(c.daemons[0], W)
        ct.wait_for(settled(live, 2, base), timeout=60, what="W (member 0) evaluated everywhere")
        for i, d in live.items():
            assert opened(d, W) is None and sealed(d)["opened"] == 0, i

        # A second current member: W opens with exactly 2 members; V stays sealed.
        seal(c.daemons[1], W)
        ct.wait_for(lambda: all((opened(d, W) or {}).get("members") == K
                                for d in live.values()), timeout=60,
                    what="W opened on every node with 2 members")
        for i, d in live.items():
            assert opened(d, V) is None and sealed(d)["opened"] == 1, i

        # `query` and `list` show W like any indicator, naming nobody.
        n2 = c.nodes[2]
        q = c.daemons[2].call({"op": "query", "value": W})
        assert q["ok"] and q["found"] is True and q["reports"] == [], q
        ch = q["indicator"]["chatham"]
        assert ch["members"] == K and ch["sealed"]["members"] == K, q
        assert q["indicator"]["threat"]["indicator"]["marking"]["tlp"] == "GREEN", q
        p = dl.run_cli("query", "--config", n2.config, W)
        assert p.returncode == 0, p.stderr
        assert W in p.stdout and "2 members sealed it" in p.stdout, p.stdout
        p = dl.run_cli("list", "--json", "--limit", "1000", "--config", n2.config)
        assert p.returncode == 0, p.stderr
        items = [x for x in dl.json.loads(p.stdout)["items"]
                 if x["chatham"]["value"] == W]
        assert len(items) == 1 and items[0]["chatham"]["members"] == K, items
        assert items[0]["chatham"]["sealed"]["members"] == K, items
        assert not any(x["chatham"]["value"] == V
                       for x in dl.json.loads(p.stdout)["items"]), p.stdout
        p = dl.run_cli("list", "--limit", "1000", "--config", n2.config)
        assert p.returncode == 0 and W in p.stdout, p.stdout + p.stderr
        # No member in any spelling (the leak oracle, leakoracle.py).
        leakoracle.assert_clean({"query --json": dl.json.dumps(q), "list": p.stdout},
                                [x for m in com.members for x in leakoracle.patterns(m)])

        # An export rules change: export_red on rebuilds node 2's export under a new env
        # id, and W is rendered again from the main feed.
        ct.wait_for(lambda: export_doc(n2, W) is not None, timeout=60,
                    what="W in node 2's export")
        resets = ct.status(c.daemons[2])["export"]["resets"]
        with open(n2.config) as f:
            text = f.read()
        n2.write_config(text=text + "[policy]\nexport_red = true\n")
        c.daemons[2].signal(signal.SIGHUP)
        ct.wait_for(lambda: ct.status(c.daemons[2])["export"]["resets"] == resets + 1,
                    timeout=60, what="node 2's export reset for export_red")
        ct.wait_for(lambda: export_doc(n2, W) is not None, timeout=60,
                    what="W rendered again in node 2's rebuilt export")
        doc = export_doc(n2, W)
        assert doc["chatham"]["members"] == K and doc["chatham"]["sealed"]["members"] == K, doc
        assert export_doc(n2, V) is None

        for i in range(4):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    ct.main([test_ring_floor])
