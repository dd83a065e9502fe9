#!/usr/bin/python3
"""Writes tests/data/store-v1/: a small main store written by the schema-1 release (the
layout before schema 2 re-keyed report records; git ff9a159). Run it with that release's
binary: CHATHAM_BIN=.../chatham /usr/bin/python3 make.py OUTDIR. It publishes a mix of
kinds, TLPs (AMBER with two recipients, so the outbox has entries), anonymous and expiring
reports, then copies data.mdb and writes ids.txt (the stored report ids, hex, one a line)
and counts.txt (the node's integer store status fields, name=value)."""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "integ"))
import daemonlib as dl  # noqa: E402

out = sys.argv[1]
community = dl.Community(members=("Alpha CERT", "Beta CSIRT", "Gamma CERT", "Delta CSIRT"))
node = dl.Node(community)
rcpt = [m.id.hex() for m in community.members[1:3]]
try:
    with dl.Daemon(node).start() as d:
        items = []
        for i in range(40):
            items.append({"value": f"v1-{i}.example", "tlp": "GREEN", "confidence": i})
        for i in range(10):
            items.append({"value": f"v1-{i}.example", "tlp": "CLEAR", "kind": "sighting"})
        for i in range(5):
            items.append({"value": f"198.51.100.{i}", "type": "ipv4", "tlp": "AMBER",
                          "recipients": rcpt})
        items.append({"value": "v1-0.example", "tlp": "GREEN", "kind": "false_positive"})
        items.append({"value": "expiring.example", "tlp": "GREEN", "ttl": 3600})
        r = d.call({"op": "publish", "reports": items})
        assert r.get("ok"), r
        for i in range(3):
            r = d.call({"op": "publish", "value": f"anon-{i}.example", "tlp": "GREEN",
                        "anonymous": True})
            assert r.get("ok"), r
        st = d.call({"op": "status"})["store"]
    os.makedirs(out, exist_ok=True)
    shutil.copy(os.path.join(node.state, "data.mdb"), os.path.join(out, "data.mdb"))
    import lmdb
    env = lmdb.open(node.state, readonly=True, max_dbs=16, lock=False)
    with env.begin(db=env.open_db(b"reports", create=False)) as t:
        ids = [bytes(k).hex() for k, _ in t.cursor()]
    env.close()
    with open(os.path.join(out, "ids.txt"), "w") as f:
        f.write("".join(i + "\n" for i in ids))
    with open(os.path.join(out, "counts.txt"), "w") as f:
        f.write(" ".join(f"{k}={st[k]}" for k in sorted(st) if isinstance(st[k], int)) + "\n")
    print(st)
finally:
    node.cleanup()
