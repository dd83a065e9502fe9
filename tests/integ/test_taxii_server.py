#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""chatham-taxii, end to end over TLS with a real HTTP client (http.client + ssl, trusting
only a self-signed certificate the test makes).

An export environment is written directly (the node's document shape) with every TLP, every
state, indicators with several versions, observed-only ones and a batch of documents that
share one millisecond. Then, as a SIEM would: discovery -> API root -> collections -> every
collection's objects page by page with `next` until more is false; the newest version of
each object must equal `chatham export --format stix21` object for object, and the same
walk with `added_after` = X-TAXII-Date-Added-Last must give the same versions. Also:
manifest, versions and single-object endpoints, match[id|type|version|spec_version],
authentication refusals (none, wrong secret, wrong user, Bearer), TLP-ceiling refusals
(403, and the collection list hides them), malformed parameters answered with TAXII error
objects (400) while the server stays up, 404/405/406, and a document added while the server
runs appearing in the next poll. The STIX objects served are validated with the OASIS
schemas (as test_stix_schema does; a validator that cannot run fails the test)."""
import json
import os
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_exportenv import ExportEnv, StixValidator, chatham_bin, iso, make_doc, run  # noqa: E402
from taxiilib import TaxiiServer  # noqa: E402

COMMUNITY = "TAXII Test Community"
TLPS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
MEDIA = "application/taxii+json;version=2.1"
ROOT = "/chatham/"

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   " + name)
    else:
        failed += 1
        print("FAIL %s %s" % (name, detail))


def build_env(path):
    env = ExportEnv(path, COMMUNITY)
    seq = 0
    docs = []

    def add(d):
        env.add(d)
        docs.append(d)

    # 120 indicators over every TLP and a few types.
    for i in range(120):
        seq += 1
        typ, value = [("ipv4", "198.51.100.%d" % i), ("domain", "host%d.evil.example" % i),
                      ("sha256", "%064x" % (i + 1)), ("url", "https://u%d.example/p" % i)][i % 4]
        add(make_doc(seq, typ, value, TLPS[i % 5], "active", community=COMMUNITY,
                     tags=["t%d" % i] if i % 3 == 0 else []))
    # A batch that shares one millisecond (one ingest commit): 60 documents.
    batch_ms = 1700000000000 + 1000 * (seq + 1)
    for i in range(120, 180):
        seq += 1
        d = make_doc(seq, "ipv4", "203.0.113.%d" % (i - 120), TLPS[i % 5], "active",
                     community=COMMUNITY)
        d["@timestamp"] = iso(batch_ms)
        d["threat"]["indicator"]["modified"] = iso(batch_ms)
        add(d)
    # New versions: 20 withdrawn, 10 expired, 10 re-scored, of the first 40 indicators.
    for i in range(40):
        seq += 1
        typ, value = [("ipv4", "198.51.100.%d" % i), ("domain", "host%d.evil.example" % i),
                      ("sha256", "%064x" % (i + 1)), ("url", "https://u%d.example/p" % i)][i % 4]
        state = "withdrawn" if i < 20 else "expired" if i < 30 else "active"
        add(make_doc(seq, typ, value, TLPS[i % 5], state, community=COMMUNITY, confidence=90))
    # Observed only (sightings, never reported): never an object.
    for i in range(5):
        seq += 1
        add(make_doc(seq, "ipv4", "192.0.2.%d" % i, TLPS[i % 5], "observed",
                     community=COMMUNITY))
    return env, docs, seq


def walk(c, coll, params=None, use_added_after=False, limit=17):
    """Every page of a collection's objects; returns (objects, [date_added ranges])."""
    objs, pages = [], []
    q = dict(params or {})
    q["limit"] = str(limit)
    for _ in range(10000):
        st, h, b = c.get(ROOT + "collections/%s/objects/?%s" % (coll, urllib.parse.urlencode(q)))
        assert st == 200, (st, b)
        assert h.get("content-type") == MEDIA, h
        got = b.get("objects", [])
        objs += got
        if got:
            pages.append((h["x-taxii-date-added-first"], h["x-taxii-date-added-last"]))
        if not b["more"]:
            return objs, pages
        if use_added_after:
            q["added_after"] = h["x-taxii-date-added-last"]
        else:
            q["next"] = b["next"]
    raise AssertionError("walk did not end")


def newest(objs):
    best = {}
    for o in objs:
        v = o.get("modified", o.get("created"))
        if o["id"] not in best or v >= best[o["id"]].get("modified", v):
            best[o["id"]] = o
    return best


def main():
    chatham_bin()
    with tempfile.TemporaryDirectory() as tmp:
        exp = os.path.join(tmp, "export")
        env, docs, seq = build_env(exp)
        srv = TaxiiServer(tmp, exp, {
            "soc": ("RED", "CLEAR GREEN AMBER AMBER+STRICT RED"),
            "partner": ("GREEN", "CLEAR GREEN AMBER"),
        }, max_page=40)
        srv.start()
        try:
            run_checks(srv, env, exp, docs, seq, tmp)
        finally:
            rc = srv.stop()
            env.close()
        check("server exits 0 on SIGTERM", rc == 0, rc)
        log = open(srv.log_path).read()
        check("no secret in the log", not any(s in log for s in srv.secrets.values()))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def run_checks(srv, env, exp, docs, seq, tmp):
    soc, partner = srv.client("soc"), srv.client("partner")

    # --- authentication: nothing is served without it
    for path in ("/taxii2/", ROOT, ROOT + "collections/", "/nowhere"):
        st, h, b = srv.client().get(path)
        check("unauthenticated %s -> 401 error object" % path,
              st == 401 and "basic" in h.get("www-authenticate", "").lower() and
              b["http_status"] == "401" and b["title"], (st, h, b))
    st, _, _ = srv.client("soc", "0" * 64).get("/taxii2/")
    check("wrong secret -> 401", st == 401, st)
    st, _, _ = srv.client("partner", srv.secrets["soc"]).get("/taxii2/")
    check("another consumer's secret under this name -> 401", st == 401, st)
    st, _, _ = srv.client("soc", srv.secrets["soc"], bearer=True).get("/taxii2/")
    check("Bearer secret -> 200", st == 200, st)

    # --- discovery, API root, collections
    st, h, b = soc.get("/taxii2/")
    check("discovery", st == 200 and h["content-type"] == MEDIA and
          b["api_roots"] == ["https://127.0.0.1:%d%s" % (srv.port, ROOT)], (st, b))
    st, _, b = soc.get(b["api_roots"][0].split(str(srv.port), 1)[1])
    check("API root lists TAXII 2.1", st == 200 and b["versions"] == [MEDIA], b)
    st, _, b = soc.get(ROOT + "collections/")
    colls = {c["alias"]: c for c in b["collections"]}
    check("soc sees one collection per TLP", sorted(colls) == sorted(
        ["tlp-clear", "tlp-green", "tlp-amber", "tlp-amber-strict", "tlp-red"]), colls)
    check("collections are read-only STIX 2.1",
          all(c["can_read"] and not c["can_write"] and
              c["media_types"] == ["application/stix+json;version=2.1"]
              for c in colls.values()))
    st, _, b = partner.get(ROOT + "collections/")
    check("partner sees only CLEAR and GREEN (ceiling GREEN)",
          sorted(c["alias"] for c in b["collections"]) == ["tlp-clear", "tlp-green"], b)
    for alias in ("tlp-amber", "tlp-red"):
        st, _, b = partner.get(ROOT + "collections/%s/objects/" % colls[alias]["id"])
        check("partner reading %s -> 403 error object" % alias,
              st == 403 and b["http_status"] == "403", (st, b))
    st, _, b = soc.get(ROOT + "collections/%s/" % colls["tlp-green"]["id"])
    check("one collection", st == 200 and b["id"] == colls["tlp-green"]["id"], b)
    st, _, b = soc.get(ROOT + "collections/00000000-0000-4000-8000-000000000000/objects/")
    check("unknown collection -> 404", st == 404 and b["http_status"] == "404", (st, b))

    # --- every collection, page by page, equals the stix21 export
    all_objs, by_coll = [], {}
    for alias, c in colls.items():
        objs, pages = walk(soc, c["id"])
        by_coll[alias] = objs
        all_objs += objs
        check("%s: pages are in date_added order" % alias,
              all(a <= b for a, b in pages) and
              all(pages[i][1] < pages[i + 1][0] for i in range(len(pages) - 1)), pages)
    p = run("export", "--format", "stix21", "--export-dir", exp, check=0)
    bundle = json.loads(p.stdout)
    exported = {o["id"]: o for o in bundle["objects"]}
    served = newest(all_objs)
    check("walk = stix21 export (%d objects)" % len(exported),
          served == exported,
          "only served: %s, only exported: %s, differ: %s" % (
              sorted(set(served) - set(exported))[:3], sorted(set(exported) - set(served))[:3],
              [k for k in served if k in exported and served[k] != exported[k]][:3]))
    inds = [o for o in all_objs if o["type"] == "indicator"]
    check("default match[version] is last: one version per indicator",
          len(inds) == len({o["id"] for o in inds}) == 180, len(inds))
    check("retirements are revoked versions (20 withdrawn + 10 expired)",
          sum(1 for o in inds if o.get("revoked")) == 30)
    check("observed-only indicators are not served",
          not any("192.0.2." in o.get("pattern", "") for o in inds))
    check("partner's GREEN collection = soc's", walk(partner, colls["tlp-green"]["id"])[0] ==
          by_coll["tlp-green"])

    # --- added_after pagination (through the 60 documents of one millisecond)
    for alias in ("tlp-green", "tlp-red"):
        objs, _ = walk(soc, colls[alias]["id"], use_added_after=True, limit=5)
        check("%s: added_after walk = next walk" % alias, objs == by_coll[alias],
              (len(objs), len(by_coll[alias])))

    # --- all versions, manifest, versions endpoint, one object
    green = colls["tlp-green"]["id"]
    allv, _ = walk(soc, green, {"match[version]": "all"})
    grn = [d for d in docs if d["threat"]["indicator"]["marking"]["tlp"] == "GREEN" and
           d["chatham"]["state"] != "observed"]
    check("match[version]=all: one version per document (%d)" % len(grn),
          sum(1 for o in allv if o["type"] == "indicator") == len(grn))
    man, q = [], "limit=13&match[version]=all"
    while True:
        st, h, b = soc.get(ROOT + "collections/%s/manifest/?%s" % (green, q))
        man += b.get("objects", [])
        if st != 200 or not b["more"]:
            break
        q = "limit=13&match[version]=all&next=" + b["next"]
    check("manifest: same versions as objects",
          st == 200 and [(m["id"], m["version"]) for m in man] ==
          [(o["id"], o.get("modified", o["created"])) for o in allv], st)
    dates = [m["date_added"] for m in man]
    check("manifest date_added strictly increasing (microseconds)",
          all(dates[i] < dates[i + 1] for i in range(len(dates) - 1)) and
          all(len(d) == 27 for d in dates), dates[:3])
    multi = [o for o in allv if o["type"] == "indicator"]
    ids = {}
    for o in multi:
        ids.setdefault(o["id"], []).append(o["modified"])
    oid = next(k for k, v in ids.items() if len(v) == 2)
    st, _, b = soc.get(ROOT + "collections/%s/objects/%s/versions/" % (green, oid))
    check("versions endpoint", st == 200 and b["versions"] == ids[oid], (st, b))
    st, h, b = soc.get(ROOT + "collections/%s/objects/%s/" % (green, oid))
    check("object endpoint: the last version", st == 200 and len(b["objects"]) == 1 and
          b["objects"][0]["modified"] == ids[oid][1] and "x-taxii-date-added-last" in h, b)
    st, _, b = soc.get(ROOT + "collections/%s/objects/%s/?match[version]=first" % (green, oid))
    check("object endpoint: match[version]=first",
          st == 200 and b["objects"][0]["modified"] == ids[oid][0], b)
    st, _, b = soc.get(ROOT + "collections/%s/objects/%s/?match[version]=%s" %
                       (green, oid, ids[oid][0]))
    check("match[version]=<timestamp>", st == 200 and len(b["objects"]) == 1 and
          b["objects"][0]["modified"] == ids[oid][0], b)
    missing = "indicator--00000000-0000-4000-8000-000000000000"
    st, _, b = soc.get(ROOT + "collections/%s/objects/%s/" % (green, missing))
    check("unknown object -> 404", st == 404 and b["http_status"] == "404", (st, b))
    st, _, b = soc.get(ROOT + "collections/%s/objects/?match[id]=%s,%s&match[version]=all" %
                       (green, oid, missing))
    check("match[id]", st == 200 and [o["id"] for o in b["objects"]] == [oid, oid], b)
    st, _, b = soc.get(ROOT + "collections/%s/objects/?match[type]=identity,marking-definition"
                       % green)
    check("match[type]", st == 200 and sorted(o["type"] for o in b["objects"]) ==
          ["identity", "marking-definition"], b)
    st, _, b = soc.get(ROOT + "collections/%s/objects/?match[type]=malware" % green)
    check("match[type] of a type not held: empty, more false",
          st == 200 and b == {"more": False}, b)
    st, _, b = soc.get(ROOT + "collections/%s/objects/?match[spec_version]=2.0" % green)
    check("match[spec_version]=2.0: nothing", st == 200 and b == {"more": False}, b)
    st, _, b = soc.get(ROOT + "collections/%s/objects/?match[spec_version]=2.0,2.1&limit=3" %
                       green)
    check("limit=3 gives 3 and a next", st == 200 and len(b["objects"]) == 3 and b["more"] and
          b["next"], b)
    st, _, b = soc.get(ROOT + "collections/%s/objects/?limit=100000&match[version]=all" % green)
    check("limit above max_page is clamped", st == 200 and len(b["objects"]) == 40, len(
        b.get("objects", [])))

    # --- malformed parameters: TAXII error objects, the server stays up
    bad = ["added_after=yesterday", "added_after=2024-13-01T00:00:00Z", "limit=0",
           "limit=-1", "limit=abc", "limit=99999999999999999999", "next=zzz",
           "next=99999999", "match[version]=bogus", "match[version]=", "match[foo]=1",
           "match[id]=notanid", "match[id]=indicator--XYZ", "match[type]=a%20b",
           "match[spec_version]=3.0", "limit=1&limit=2", "added_after=2024-01-01T00:00:00"]
    for q in bad:
        st, h, b = soc.get(ROOT + "collections/%s/objects/?%s" % (green, q))
        check("?%s -> 400 error object" % q,
              st == 400 and h["content-type"] == MEDIA and b["http_status"] == "400" and
              b["title"] and b["description"], (st, b))
    check("server alive after malformed requests", srv.alive())
    st, _, b = soc.get(ROOT + "collections/%s/objects/" % green, method="POST")
    check("POST objects -> 403 read-only", st == 403, (st, b))
    st, _, b = soc.get(ROOT, method="PUT")
    check("PUT -> 405", st == 405, (st, b))
    st, _, b = soc.get(ROOT, accept="text/html")
    check("Accept: text/html -> 406", st == 406 and b["http_status"] == "406", (st, b))
    st, _, b = soc.get(ROOT, accept="application/taxii+json")
    check("Accept without version -> 200", st == 200, st)
    st, _, b = soc.get(ROOT + "collections/%s/nothing/" % green)
    check("unknown path -> 404", st == 404, st)

    # --- a document added while the server runs appears in the next poll
    st, h, _ = soc.get(ROOT + "collections/%s/objects/?limit=1000&match[version]=all" % green)
    last = h["x-taxii-date-added-last"]
    seq += 1
    env.add(make_doc(seq, "domain", "late.evil.example", "GREEN", "active",
                     community=COMMUNITY))
    deadline = time.monotonic() + 30
    got = []
    while time.monotonic() < deadline and not got:
        st, _, b = soc.get(ROOT + "collections/%s/objects/?added_after=%s" % (green, last))
        got = [o for o in b.get("objects", []) if "late.evil.example" in o["pattern"]]
        if not got:
            time.sleep(0.1)  # polling for state
    check("new document served after added_after", len(got) == 1, got)

    # --- schema validation of everything served
    v = StixValidator()  # fails the test itself when it cannot run
    path = os.path.join(tmp, "served.json")
    with open(path, "w") as f:
        json.dump({"type": "bundle", "id": "bundle--6f1e7d4c-2d1a-4b6e-9c1a-1f2e3d4c5b6a",
                   "objects": list(newest(allv + all_objs).values())}, f)
    ok, text = v.validate(path)
    check("served objects validate against the OASIS STIX 2.1 schemas", ok, text[-2000:])


if __name__ == "__main__":
    sys.exit(main())
