# SPDX-License-Identifier: MIT
"""Anonymous reports across five real daemons linked by the overlay and gossip.

Two members publish the same indicator anonymously: every node verifies both ring
signatures and counts two members. One member publishes another indicator anonymously
twice: every node counts one member, with the newer report's confidence; its anonymous
revoke withdraws the indicator everywhere. Nothing any node shows lets its operator tell
who published: every node's SIEM export (`chatham export --format jsonl`), `query` output
(API JSON and CLI text) and log, and the signed bytes of every stored report, are searched for each
publisher's member id, name, transport key and ring key, with zero hits (a publisher's own
node may know itself: its log and its reported_by_us are not searched for its own name)."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
import daemonlib as dl  # noqa: E402

TWO = "two.anon.example"  # published by members 1 and 3
ONE = "one.anon.example"  # published twice by member 2


def publish_anon(d, value, confidence, op="publish"):
    r = d.call({"op": op, "value": value, "type": "domain", "tlp": "GREEN",
                "confidence": confidence, "anonymous": True})
    assert r.get("ok") and r["result"] == "new", r
    return r


def view(d, value):
    """(chatham part of the indicator document, report list) or None when not found."""
    q = d.call({"op": "query", "value": value})
    assert q.get("ok"), q
    if not q["found"]:
        return None
    return q["indicator"]["chatham"], q["reports"]


def counted(d, value, members, n_reports, state="active", confidence=None):
    v = view(d, value)
    if v is None:
        return False
    ind, reps = v
    return (ind["members"] == members and len(reps) == n_reports and ind["state"] == state
            and (confidence is None or ind["confidence"] == confidence))


def export_jsonl(node):
    p = dl.run_cli("export", "--format", "jsonl", "--quiet", "--config", node.config)
    assert p.returncode == 0, p.stderr
    return p.stdout


def export_doc(node, value):
    docs = [json.loads(line) for line in export_jsonl(node).splitlines() if line]
    mine = [x for x in docs if x["chatham"]["value"] == value]
    return mine[-1]["chatham"] if mine else None


def identities(member):
    return {"member id": member.id.hex(), "name": member.name,
            "transport key": member.tx_pk.hex(), "ring key": member.ring_pk.hex()}


def stored_reports(state):
    """The signed bytes of every report in the main store (store/codec.h: a report record
    is a 76-byte head with the local envelope, then the signed encoding)."""
    import lmdb
    env = lmdb.open(state, readonly=True, max_dbs=16, lock=False)
    try:
        db = env.open_db(b"reports", create=False)
        with env.begin(db=db) as t:
            return [bytes(v[76:]) for _, v in t.cursor()]
    finally:
        env.close()


def test_five_nodes():
    c = ct.Cluster(5, degree=3)
    members = c.community.members
    publishers = (1, 2, 3)
    ok = False
    try:
        c.start()
        ct.wait_links(c.daemons, 2)

        publish_anon(c.daemons[1], TWO, 50)
        publish_anon(c.daemons[3], TWO, 70)
        publish_anon(c.daemons[2], ONE, 30)
        publish_anon(c.daemons[2], ONE, 60)
        ct.wait_for(lambda: all(counted(d, TWO, 2, 2, confidence=70) and
                                counted(d, ONE, 1, 2, confidence=60) for d in c.daemons),
                    timeout=30, what="both indicators counted on all five nodes")
        for i, d in enumerate(c.daemons):
            st = ct.status(d)
            assert not st["ingest"]["refused"], (i, st["ingest"])
            assert not ct.gossip(d).get("rejected"), (i, ct.gossip(d))
            # Only the publisher's own node knows the report is its own.
            ind, reps = view(d, TWO)
            assert ind["reported_by_us"] is (i in (1, 3)), (i, ind)
            assert sum(r["ours"] for r in reps) == (1 if i in (1, 3) else 0), (i, reps)
            for r in reps:
                assert r["anonymous"] is True and "signer" not in r, (i, r)
            ind, reps = view(d, ONE)
            assert ind["reported_by_us"] is (i == 2), (i, ind)

        # Every node's SIEM export catches up with the same counts.
        ct.wait_for(lambda: all((export_doc(n, TWO) or {}).get("members") == 2 and
                                (export_doc(n, ONE) or {}).get("members") == 1
                                for n in c.nodes), timeout=30,
                    what="the counts in every node's export")

        # Before the revoke: what every operator can see, searched for the publishers.
        seen = []
        for i, (n, d) in enumerate(zip(c.nodes, c.daemons)):
            out = {"export": export_jsonl(n)}
            for v in (TWO, ONE):
                out[f"query {v}"] = json.dumps(d.call({"op": "query", "value": v}))
                p = dl.run_cli("query", "--config", n.config, v)
                assert p.returncode == 0, p.stderr
                out[f"chatham query {v}"] = p.stdout + p.stderr
            seen.append(out)

        # The same member's anonymous revoke withdraws its vote on every node.
        publish_anon(c.daemons[2], ONE, 60, op="revoke")
        ct.wait_for(lambda: all(counted(d, ONE, 0, 3, state="withdrawn") for d in c.daemons),
                    timeout=30, what="the anonymous revoke on all five nodes")
        assert all(counted(d, TWO, 2, 2) for d in c.daemons)

        for i in range(5):
            c.stop(i)
        hits = []
        for i, n in enumerate(c.nodes):
            seen[i]["log"] = c.daemons[i].log()
            for p in publishers:
                for what, needle in identities(members[p]).items():
                    for where, text in seen[i].items():
                        if where == "log" and p == i:
                            continue  # a node's own log may name the node itself
                        if needle in text:
                            hits.append(f"node {i} {where}: {what} of publisher {p}")
            reports = stored_reports(n.state)
            assert len(reports) == 5, (i, len(reports))
            for b in reports:
                for m in members:
                    for key in (m.id, m.tx_pk, m.ring_pk):
                        if key in b:
                            hits.append(f"node {i} store: a key of {m.name} in a report")
        assert not hits, "\n".join(hits)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    ct.main([test_five_nodes])
