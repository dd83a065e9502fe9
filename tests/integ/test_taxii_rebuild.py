#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""chatham-taxii across an export rebuild, without a restart.

After a restore the node discards the export (store_export_discard(): data.mdb and lock.mdb
removed) and writes a new one under a new env id, re-rendering every indicator under the
same feed sequences. The test does exactly that to the directory a running chatham-taxii
serves (the export written with python3-lmdb in the node's document shape), and checks what
a TAXII client sees:
  - while the export is gone, the old one is still answered (200, same objects);
  - the server notices the new one by itself (same process) and logs both env ids;
  - collection ids are unchanged;
  - a client polling with added_after = its last X-TAXII-Date-Added-Last gets exactly the
    changes made after its last poll (a retirement and a new indicator), not the whole
    re-rendered export again;
  - a `next` token given before the rebuild is refused with a 400 TAXII error object;
  - a full walk of the new generation with `next` ends and holds every indicator.
Then the other kind of rebuild, store_export_reset() (export_red switched): the same data
file emptied in place under a new env id and rendered again without some documents; the
server switches too, and the documents that disappeared are no longer served."""
import os
import re
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_exportenv import ExportEnv, chatham_bin, make_doc  # noqa: E402
from taxiilib import TaxiiServer  # noqa: E402

COMMUNITY = "Rebuild Community"
ROOT = "/chatham/"
N = 30


def docs_before():
    return [make_doc(i, "ipv4", "198.51.100.%d" % i, "GREEN", community=COMMUNITY)
            for i in range(1, N + 1)]


def page(c, coll, **q):
    st, h, b = c.get(ROOT + "collections/%s/objects/?%s" % (coll, urllib.parse.urlencode(q)))
    return st, h, b


def walk(c, coll):
    """Every object of a collection with `next`; returns the objects and the last date."""
    objs, q, last = [], {"limit": "7"}, None
    for _ in range(1000):
        st, h, b = page(c, coll, **q)
        assert st == 200, (st, b)
        objs += b.get("objects", [])
        last = h.get("x-taxii-date-added-last", last)
        if not b["more"]:
            return objs, last
        q["next"] = b["next"]
    raise AssertionError("walk did not end")


def main():
    chatham_bin()
    with tempfile.TemporaryDirectory() as tmp:
        exp = os.path.join(tmp, "export")
        env = ExportEnv(exp, COMMUNITY, env_id=b"\x11" * 16)
        for d in docs_before():
            env.add(d)
        srv = TaxiiServer(tmp, exp, {"soc": ("GREEN", "CLEAR GREEN")}, max_page=1000)
        srv.start()
        try:
            c = srv.client("soc")
            st, _, b = c.get(ROOT + "collections/")
            colls = {x["alias"]: x["id"] for x in b["collections"]}
            green = colls["tlp-green"]
            objs, cursor = walk(c, green)
            inds = [o for o in objs if o["type"] == "indicator"]
            assert len(inds) == N, len(inds)
            st, _, b = page(c, green, limit="7")
            stale_next = b["next"]

            # The node discards the export (as store_export_discard() does) ...
            env.close()
            for f in ("data.mdb", "lock.mdb"):
                os.unlink(os.path.join(exp, f))
            st, _, b = page(c, green, limit="1000")
            assert st == 200 and len([o for o in b["objects"] if o["type"] == "indicator"]) \
                == N, (st, b)
            print("ok   the old export is answered while the new one is missing")

            # ... and rebuilds it under a new env id: the same documents re-rendered, then
            # the changes after the restore (a retirement and a new indicator).
            env = ExportEnv(exp, COMMUNITY, env_id=b"\x22" * 16)
            for d in docs_before():
                env.add(d)
            env.add(make_doc(N + 1, "ipv4", "198.51.100.3", "GREEN", state="withdrawn",
                             community=COMMUNITY))
            env.add(make_doc(N + 2, "domain", "new.example", "GREEN", community=COMMUNITY))

            deadline = time.monotonic() + 60
            while "export was rebuilt" not in open(srv.log_path).read():
                assert srv.alive(), open(srv.log_path).read()
                assert time.monotonic() < deadline, open(srv.log_path).read()
                time.sleep(0.05)  # polling the log for the switch, not synchronisation
            log = open(srv.log_path).read()
            assert re.search(r"env id 2{32}, was 1{32}", log), log
            assert srv.alive()
            print("ok   the server switched to the rebuilt export by itself")

            st, _, b = c.get(ROOT + "collections/")
            assert {x["alias"]: x["id"] for x in b["collections"]} == colls, b
            print("ok   collection ids are unchanged")

            st, h, b = page(c, green, added_after=cursor)
            assert st == 200, (st, b)
            got = {(o["name"], bool(o.get("revoked"))) for o in b.get("objects", [])
                   if o["type"] == "indicator"}
            assert got == {("198.51.100.3", True), ("new.example", False)}, got
            print("ok   added_after from before the rebuild gives exactly the later changes")

            st, _, b = page(c, green, limit="7", next=stale_next)
            assert st == 400 and b["http_status"] == "400" and "rebuilt" in b["description"], \
                (st, b)
            print("ok   a next token from before the rebuild -> 400 error object")

            objs, _ = walk(c, green)
            names = {o["name"] for o in objs if o["type"] == "indicator"}
            assert len(names) == N + 1 and "new.example" in names, names
            print("ok   a full walk of the rebuilt export holds every indicator")

            # store_export_reset(): the same file, a new env id, rendered again without
            # the first five indicators (as RED documents leave when export_red goes off).
            st, _, b = page(c, green, limit="7")
            stale_next = b["next"]
            env.reset(b"\x33" * 16)
            for d in docs_before()[5:]:
                env.add(d)
            deadline = time.monotonic() + 60
            while not re.search(r"env id 3{32}, was 2{32}", open(srv.log_path).read()):
                assert srv.alive(), open(srv.log_path).read()
                assert time.monotonic() < deadline, open(srv.log_path).read()
                time.sleep(0.05)  # polling the log for the switch, not synchronisation
            objs, _ = walk(c, green)
            names = {o["name"] for o in objs if o["type"] == "indicator"}
            assert names == {"198.51.100.%d" % i for i in range(6, N + 1)}, names
            st, _, b = page(c, green, limit="7", next=stale_next)
            assert st == 400 and "rebuilt" in b["description"], (st, b)
            print("ok   a reset in place is followed too; its removed documents are gone")
        finally:
            rc = srv.stop()
            env.close()
        assert rc == 0, rc
    print("7 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
