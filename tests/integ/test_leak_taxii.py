# SPDX-License-Identifier: MIT
"""chatham-taxii's responses through the leak oracle (issue 12).

The corpus community (tests/data/leak-corpus/) runs two nodes linked by the overlay: member
"CERT Alpha" publishes the leak corpus as test_leak_corpus does (one report per line,
allow_names; the lines take the five TLP markings in turn, AMBER, AMBER+STRICT and RED ones
addressed to Delta), member "Delta CSIRT" receives it, exports it (with export_red, so every
collection has documents), and chatham-taxii serves Delta's export over HTTPS on 127.0.0.1
(an ephemeral port, a throw-away certificate). Every kind of request a SIEM makes is made: discovery, API root, collections,
each collection, every collection's objects page by page (with next, then with
added_after), the manifest, every indicator's object and versions endpoints, match[id],
match[type], match[version]=all; and every kind of error answer: 401 (no credentials, a
wrong secret), 403 (a collection above a consumer's TLP ceiling, a write), 404 (path,
collection, object), 400 (malformed parameters), 405, 406.

Every response's status, headers and raw body (and the body decoded from JSON, where it
escapes characters) is read with the leak oracle (leakoracle.py: no member skeleton in the
output skeleton): no member other than the serving node's own is named in any spelling
(name, alias, domain, point-of-contact host, network address, key in hex, base64 or raw
bytes) — the reporter "CERT Alpha" included. The indicators
served carry exactly the descriptions and labels of the node's jsonl export, so TAXII drops
and redacts what the other outputs do; the test prints how many fields were redacted and
how many dropped rather than redacted.
"""

import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402
import leakoracle  # noqa: E402
import overlaylib  # noqa: E402
import test_leak_corpus as lc  # noqa: E402
import test_leak_scan as ls  # noqa: E402
from taxiilib import TaxiiServer  # noqa: E402

ROOT = "/chatham/"
TLPS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
ALL = " ".join(TLPS)
OVERLAY = f"degree = 1\n{overlaylib.OVERLAY_FAST}"


def listed(d):
    """Every value in @d's feed (`list`, page by page)."""
    values, since = set(), 0
    while True:
        r = d.call({"op": "list", "since": since, "limit": 1000})
        assert r["ok"], r
        values |= {doc["chatham"]["value"] for doc in r["items"]}
        if not r["items"]:
            return values
        since = r["next"]


def walk(client, path, query, key="objects"):
    """Every item of a paged endpoint, following next."""
    items, q = [], query
    while True:
        st, _, b = client.get(f"{path}?{q}" if q else path)
        assert st == 200, (path, q, st, b)
        items += b.get(key, [])
        if not b["more"]:
            return items
        q = f"{query}&next={b['next']}" if query else f"next={b['next']}"


def walk_added_after(client, path, limit):
    """Every object, polled as an incremental reader does (added_after)."""
    items, q = [], f"limit={limit}"
    while True:
        st, h, b = client.get(f"{path}?{q}")
        assert st == 200, (path, q, st, b)
        items += b.get("objects", [])
        if not b.get("objects"):
            return items
        q = f"limit={limit}&added_after={h['x-taxii-date-added-last']}"


def exercise(srv):
    """Every endpoint and error answer; returns the indicators served (newest version).
    Every collection must serve some."""
    siem, partner = srv.client("siem"), srv.client("partner")
    st, _, b = siem.get("/taxii2/")
    assert st == 200 and b["api_roots"], (st, b)
    st, _, b = siem.get(ROOT)
    assert st == 200, (st, b)
    st, _, b = siem.get(ROOT + "collections/")
    assert st == 200, (st, b)
    colls = {c["alias"]: c["id"] for c in b["collections"]}
    assert len(colls) == 5, colls
    served = {}
    for alias, cid in colls.items():
        base = f"{ROOT}collections/{cid}/"
        st, _, b = siem.get(base)
        assert st == 200, (st, b)
        objs = walk(siem, base + "objects/", "limit=50")
        assert walk_added_after(siem, base + "objects/", 70) == objs, alias
        walk(siem, base + "objects/", "match[version]=all&limit=100")
        walk(siem, base + "manifest/", "limit=60")
        walk(siem, base + "objects/", "match[type]=identity,marking-definition")
        inds = [o for o in objs if o["type"] == "indicator"]
        assert inds, f"{alias} serves no indicator"
        for o in inds:
            served[o["id"]] = o
            st, _, b = siem.get(f"{base}objects/{o['id']}/")
            assert st == 200 and b["objects"] == [o], (st, b)
            st, _, b = siem.get(f"{base}objects/{o['id']}/versions/")
            assert st == 200 and b["versions"], (st, b)
        if objs:
            ids = ",".join(o["id"] for o in objs[:5])
            st, _, b = siem.get(f"{base}objects/?match[id]={ids}")
            assert st == 200, (st, b)
    green = f"{ROOT}collections/{colls['tlp-green']}/"
    # Error answers: every one is a TAXII error object (or the 401 body).
    errors = [
        (srv.client(), "/taxii2/", {}, 401),
        (srv.client("siem", "0" * 64), ROOT, {}, 401),
        (partner, f"{ROOT}collections/{colls['tlp-red']}/objects/", {}, 403),
        (siem, green + "objects/", {"method": "POST"}, 403),
        (siem, "/nowhere/", {}, 404),
        (siem, f"{ROOT}collections/00000000-0000-4000-8000-000000000000/", {}, 404),
        (siem, green + "objects/indicator--00000000-0000-4000-8000-000000000000/", {}, 404),
        (siem, green + "objects/?limit=abc", {}, 400),
        (siem, green + "objects/?added_after=yesterday", {}, 400),
        (siem, green + "objects/?next=99999999", {}, 400),
        (siem, green + "objects/?match[id]=notanid", {}, 400),
        (siem, ROOT, {"method": "PUT"}, 405),
        (siem, ROOT, {"accept": "text/html"}, 406),
    ]
    for client, path, kw, want in errors:
        st, _, b = client.get(path, **kw)
        assert st == want and b["http_status"] == str(want), (path, kw, st, b)
    return served


def test_leak_taxii():
    community, me = lc.corpus_community()
    members = community.members
    cases = lc.read_corpus(members)
    netkey = os.urandom(32)
    ports = {0: overlaylib.free_port(), me: overlaylib.free_port()}
    addrs = {members[i].name: [f"127.0.0.1:{p}"] for i, p in ports.items()}
    nodes = [overlaylib.overlay_node(community, i, netkey, p, addrs, OVERLAY,
                                     extra_config="[policy]\nexport_red = true\n" if i else "")
             for i, p in ports.items()]
    daemons = [dl.Daemon(n) for n in nodes]
    node, d = nodes[1], daemons[1]   # Delta: receives, exports, serves
    tmp = tempfile.mkdtemp(prefix="chatham-leak-taxii-")
    srv = None
    ok = False
    try:
        for x in daemons:
            x.start()
        overlaylib.wait_for(lambda: all(overlaylib.links_up(x) for x in daemons), timeout=60,
                            what="the link")
        delta = members[me].id.hex()
        held = lc.publish_corpus(daemons[0], cases, lambda i: {
            "tlp": TLPS[i % 5], **({"recipients": [delta]} if i % 5 >= 2 else {})})
        overlaylib.wait_for(lambda: set(held) <= listed(d), timeout=120,
                            what="the corpus at Delta")
        ls.wait_exports([d])
        srv = TaxiiServer(tmp, node.export, {"siem": ("RED", ALL), "partner": ("GREEN", ALL)})
        srv.start()
        record = []
        real_client = srv.client

        def recording_client(*a, **kw):
            c = real_client(*a, **kw)
            c.record = record
            return c
        srv.client = recording_client
        served = exercise(srv)

        outputs = {}
        for i, (method, path, status, headers, body) in enumerate(record):
            outputs[f"response {i} ({method} {path} -> {status})"] = (
                f"HTTP {status}\n{headers}\n".encode() + body)
        leaks = leakoracle.scan(outputs, leakoracle.others(members, me, addrs,
                                                           ("127.0.0.1",)))
        assert not leaks, "\n".join(leaks)

        # Not vacuous: every corpus indicator was served, redacted where it named a member,
        # with the jsonl export's description and tags.
        by_value = {o["name"]: (o.get("description"), o.get("labels", []))
                    for o in served.values()}
        assert set(held) <= set(by_value), sorted(set(held) - set(by_value))[:5]
        p = dl.run_cli("export", "--format", "jsonl", "--export-dir", node.export, "--quiet")
        assert p.returncode == 0, p.stderr
        exported = {}
        for line in p.stdout.splitlines():
            if line.strip():
                ch = json.loads(line)["chatham"]
                exported[ch["value"]] = (ch.get("description"), ch.get("tags", []))
        differ = [v for v in held if by_value[v] != exported[v]]
        assert not differ, [(v, by_value[v], exported[v]) for v in differ[:5]]
        n, bad = lc.count_fields(cases, by_value)
        assert not bad, "\n".join(bad)
        assert any("[member]" in (desc or "") for desc, _ in by_value.values())
        print(f"leak corpus through chatham-taxii: {len(cases)} lines, {lc.counts_text(n)}; "
              f"{len(record)} responses scanned", flush=True)
        assert srv.alive()
        for x in daemons:
            assert x.stop() == 0
        ok = True
    finally:
        if srv:
            srv.stop()
            if not ok:
                print(f"--- taxii log:\n{open(srv.log_path).read()[-4000:]}---", flush=True)
        for x, n in zip(daemons, nodes):
            x.kill()
            if not ok:
                print(f"--- log of {n.root}:\n{x.log()[-4000:]}---", flush=True)
            n.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    dl.main([test_leak_taxii])
