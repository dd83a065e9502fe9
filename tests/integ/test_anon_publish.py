# SPDX-License-Identifier: MIT
"""Anonymous publishing on one real daemon: `chatham publish --anonymous` and the API field
"anonymous": true store a ring-signed report that counts as one member and names nobody;
the same member publishing again on the indicator still counts once; `revoke --anonymous`
withdraws it; AMBER/RED with "anonymous" is refused naming the field; a roster smaller
than its minimum ring size refuses anonymous reports with the numbers."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402

# Four members: the fixture rosters' min_ring_size is 4, so the whole roster is the ring.
COMMUNITY = dl.Community(members=("Alpha CERT", "Beta CSIRT", "Gamma CERT", "Delta CSIRT"))


def cli(node, *args):
    return dl.run_cli(*args, "--config", node.config)


def query(d, value):
    r = d.call({"op": "query", "value": value})
    assert r.get("ok") and r["found"], r
    return r


def identities(member):
    return [member.id.hex(), member.name, member.tx_pk.hex(), member.ring_pk.hex(),
            member.ring_sk.hex()]


def test_publish_update_revoke():
    node = dl.Node(COMMUNITY)
    me = COMMUNITY.members[0]
    try:
        with dl.Daemon(node).start() as d:
            p = cli(node, "publish", "--anonymous", "--tlp", "GREEN", "--confidence", "40",
                    "anon.example")
            assert p.returncode == 0, p.stderr
            assert p.stdout.startswith("new anonymous report "), p.stdout

            q = query(d, "anon.example")
            ind = q["indicator"]["chatham"]
            assert ind["members"] == 1 and ind["state"] == "active", ind
            assert ind["confidence"] == 40, ind
            assert ind["reported_by_us"] is True, ind     # our own, known only here
            (rep,) = q["reports"]
            assert rep["anonymous"] is True and "signer" not in rep, rep
            assert rep["ours"] is True, rep

            # The same member again, other confidence: a second report, still one member.
            r = d.call({"op": "publish", "value": "anon.example", "tlp": "GREEN",
                        "confidence": 90, "anonymous": True})
            assert r["ok"] and r["result"] == "new", r
            q = query(d, "anon.example")
            ind = q["indicator"]["chatham"]
            assert ind["members"] == 1 and ind["confidence"] == 90, ind
            assert len(q["reports"]) == 2, q

            # An attributed report by the same node is a separate vote: the community cannot
            # link it to the anonymous one, and neither does the count.
            r = d.call({"op": "publish", "value": "anon.example", "tlp": "GREEN"})
            assert r["ok"], r
            assert query(d, "anon.example")["indicator"]["chatham"]["members"] == 2

            # revoke --anonymous withdraws the anonymous vote (same linkability tag) only.
            p = cli(node, "revoke", "--anonymous", "--tlp", "GREEN", "anon.example")
            assert p.returncode == 0, p.stderr
            ind = query(d, "anon.example")["indicator"]["chatham"]
            assert ind["members"] == 1 and ind["state"] == "active", ind
            p = cli(node, "revoke", "--tlp", "GREEN", "anon.example")
            assert p.returncode == 0, p.stderr
            ind = query(d, "anon.example")["indicator"]["chatham"]
            assert ind["members"] == 0 and ind["state"] == "withdrawn", ind

            # AMBER and RED cannot be anonymous: refused before signing, naming the field.
            r = d.call({"op": "publish", "value": "amber.example", "tlp": "AMBER",
                        "anonymous": True, "recipients": [COMMUNITY.members[1].id.hex()]})
            assert not r["ok"], r
            assert r["error"]["field"] == "anonymous", r
            assert r["error"]["code"] == "PROTO_E_REPORT_PROVENANCE", r
            p = cli(node, "publish", "--anonymous", "--tlp", "RED", "--recipient",
                    COMMUNITY.members[1].id.hex(), "red.example")
            assert p.returncode != 0 and "anonymous" in p.stderr, (p.returncode, p.stderr)
            assert not d.call({"op": "query", "value": "red.example"})["found"]

            # The stored report itself: no member id or key of anyone in its bytes.
            st = d.call({"op": "status"})
            assert st["ingest"]["accepted"] == 5, st
            assert d.stop() == 0
        reports = stored_reports(node.state)
        assert len(reports) == 5, len(reports)
        anon = [b for b in reports if me.id not in b]
        assert len(anon) == 3, "three anonymous reports (two publishes and a revoke)"
        for b in anon:
            for m in COMMUNITY.members:
                for secret in (m.id, m.tx_pk, m.ring_pk):
                    assert secret not in b
        log = open(os.path.join(node.root, "daemon.log"), errors="replace").read()
        for m in COMMUNITY.members[1:]:
            for s in identities(m):
                assert s not in log, s
        assert me.ring_sk.hex() not in log
    finally:
        node.cleanup()


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


def test_ring_too_small():
    small = dl.Community(members=("Alpha CERT", "Beta CSIRT", "Gamma CERT"))
    node = dl.Node(small)
    try:
        with dl.Daemon(node).start() as d:
            r = d.call({"op": "publish", "value": "small.example", "tlp": "CLEAR",
                        "anonymous": True})
            assert not r["ok"], r
            e = r["error"]
            assert e["code"] == "PROTO_E_RING_SIZE" and e["field"] == "anonymous", e
            assert "4" in e["message"] and "3" in e["message"], e
            p = cli(node, "publish", "--anonymous", "--tlp", "CLEAR", "--json",
                    "small.example")
            assert json.loads(p.stdout)["error"]["code"] == "PROTO_E_RING_SIZE", p.stdout
            assert not d.call({"op": "query", "value": "small.example"})["found"]
    finally:
        node.cleanup()


if __name__ == "__main__":
    dl.main([test_publish_update_revoke, test_ring_too_small])
