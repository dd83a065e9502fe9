#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Issue 13, "one bad report", against real daemons:
- export poison: a valid_until past year 9999 is refused at the API, and the largest
  accepted time exports and reads back in every format; a stored report this version can no
  longer decode does not stop the daemon's export;
- blocklist poison: with the shipped warninglists, 0.0.0.0/0, ::/0, RFC 1918, public
  resolvers and top sites are refused at publish unless allow_warninglisted (API field, CLI
  flag); such a value received from another member is admitted, flagged
  (chatham.warninglist), withheld from ECS threat.indicator and the plain export unless
  export_warninglisted is on; check-config names a bad warninglist line;
- indicators that should merge: four spellings of one URL are one indicator, and userinfo
  is never signed."""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chathamtest as ct  # noqa: E402
import daemonlib as dl  # noqa: E402

COMMUNITY = dl.Community()


def shipped_lists():
    src = os.environ.get("CHATHAM_SOURCE_DIR")
    assert src, "CHATHAM_SOURCE_DIR is not set"
    d = os.path.join(src, "deploy", "warninglists")
    assert os.path.isfile(os.path.join(d, "special-ipv4.txt")), "shipped warninglists missing: " + d
    return d


def lists_config(export_warninglisted=False):
    return "[policy]\nwarninglist_dir = %s\nexport_warninglisted = %s\n" % (
        shipped_lists(), "true" if export_warninglisted else "false")


def export_docs(node):
    import lmdb
    env = lmdb.open(node.export, readonly=True, max_dbs=4, lock=True)
    try:
        db = env.open_db(b"feed", create=False)
        with env.begin(db=db) as t:
            return [json.loads(v) for _, v in t.cursor()]
    finally:
        env.close()


def doc_of(node, value):
    docs = [d for d in export_docs(node) if d["chatham"]["value"] == value]
    return docs[-1] if docs else None


def cli(*args, check=None):
    p = subprocess.run([dl.chatham_bin()] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=120)
    if check is not None:
        assert p.returncode == check, (args, p.returncode, p.stdout, p.stderr)
    return p


def test_time_range():
    node = dl.Node(COMMUNITY)
    try:
        with dl.Daemon(node).start() as d:
            for bad in (2**63 - 1, 253402300800000, "9999-12-31T23:59:59.999-00:01",
                        "10000-01-01T00:00:00Z"):
                r = d.call({"op": "publish", "value": "poison.example", "tlp": "GREEN",
                            "valid_until": bad})
                assert not r["ok"] and r["error"]["code"] == "PROTO_E_REPORT_TIME", (bad, r)
                assert r["error"]["field"] == "valid_until"
            r = d.call({"op": "publish", "value": "last.example", "tlp": "GREEN",
                        "valid_until": "9999-12-31T23:59:59.999Z"})
            assert r["ok"], r
            ct.wait_for(lambda: os.path.exists(os.path.join(node.export, "data.mdb")) and
                        doc_of(node, "last.example") is not None, what="the export")
        assert doc_of(node, "last.example")["chatham"]["valid_until"] == \
            "9999-12-31T23:59:59.999Z"
        for fmt in ("jsonl", "csv", "stix21", "plain"):
            p = cli("export", "--format", fmt, "--export-dir", node.export, check=0)
            assert "last.example" in p.stdout and "skipped" not in p.stderr, (fmt, p.stderr)
    finally:
        node.cleanup()


def plant_undecodable(state, value, spelling):
    """Rewrites, in a stopped node's main store, the stored report bytes of @value to
    @spelling (same length): what a report stored by an older version whose rules this
    version no longer accepts looks like. Returns how many records were changed."""
    import lmdb
    assert len(spelling) == len(value)
    env = lmdb.open(state, max_dbs=16, lock=True)
    n = 0
    try:
        db = env.open_db(b"reports", create=False)
        with env.begin(db=db, write=True) as t:
            for k, v in list(t.cursor()):
                if value in v:
                    t.put(k, v.replace(value, spelling))
                    n += 1
    finally:
        env.close()
    return n


def test_undecodable_stored_report():
    """One stored report that this version's decoder refuses (here a URL whose host is no
    longer canonical) must not stop the daemon's export: after the export environment is
    rebuilt from the whole feed, the exporter skips it (it no longer votes, logged) and
    every other indicator, before and after it in the feed, is exported; the node still
    answers a query of it, and `list` lists the others."""
    node = dl.Node(COMMUNITY)
    try:
        with dl.Daemon(node).start() as d:
            for v in ("http://planted.example/", "first.example"):
                r = d.call({"op": "publish", "value": v, "tlp": "GREEN"})
                assert r["ok"], r
            ct.wait_for(lambda: os.path.exists(os.path.join(node.export, "data.mdb")) and
                        doc_of(node, "first.example") is not None, what="the export")
        assert plant_undecodable(node.state, b"http://planted.example/",
                                 b"http://PLANTED.example/") == 1
        for f in os.listdir(node.export):  # rebuilt from the start of the feed at start-up
            os.unlink(os.path.join(node.export, f))
        daemon = dl.Daemon(node)
        with daemon.start() as d:
            r = d.call({"op": "publish", "value": "second.example", "tlp": "GREEN"})
            assert r["ok"], r
            ct.wait_for(lambda: os.path.exists(os.path.join(node.export, "data.mdb")) and
                        doc_of(node, "second.example") is not None and
                        doc_of(node, "first.example") is not None,
                        timeout=30, what="the other indicators exported")
            q = d.call({"op": "query", "value": "http://planted.example/"})
            assert q["ok"] and q["reports_undecodable"] == 1 and q["reports"] == [], q
            lst = d.call({"op": "list"})
            assert lst["ok"], lst
            listed = {i["chatham"]["value"] for i in lst["items"]}
            assert {"first.example", "second.example"} <= listed, listed
            st = d.call({"op": "status"})
            assert st["ok"] and not st["export"]["errors"], st["export"]
        assert "no longer decode" in daemon.log(), daemon.log()[-3000:]
        p = cli("export", "--format", "plain", "--export-dir", node.export, check=0)
        assert "first.example" in p.stdout and "second.example" in p.stdout, p.stdout
    finally:
        node.cleanup()


def test_urls_merge():
    node = dl.Node(COMMUNITY)
    try:
        with dl.Daemon(node).start() as d:
            ids = set()
            for v in ("http://evil.example/", "http://evil.example:80/",
                      "http://evil.example./", "http://evil.example",
                      "http://user:pass@EVIL.example/"):
                r = d.call({"op": "publish", "value": v, "tlp": "GREEN"})
                assert r["ok"], r
                assert r["value"] == "http://evil.example/", r
                ids.add(r["indicator_id"])
            assert len(ids) == 1, ids
            q = d.call({"op": "query", "value": "http://evil.example"})
            assert q["ok"] and q["found"], q
            assert "pass" not in json.dumps(q)
            # A 31-hex-digit value is a mangled hash, and the error says so.
            r = d.call({"op": "publish", "value": "d41d8cd98f00b204e9800998ecf8427",
                        "tlp": "GREEN"})
            assert not r["ok"] and "no hash length" in r["error"]["message"], r
    finally:
        node.cleanup()


POISON = [("ipv4", "0.0.0.0/0", "min_prefix"), ("ipv6", "::/0", "min_prefix"),
          ("ipv4", "10.0.0.0/8", "min_prefix"), ("ipv4", "10.1.0.0/16", "special-ipv4"), ("ipv4", "192.168.1.1", "special-ipv4"),
          ("ipv4", "8.8.8.8", "public-resolvers"), ("ipv6", "::1", "special-ipv6"),
          ("domain", "google.com", "top-domains"), ("url", "https://www.google.com:443",
                                                    "top-domains")]


def test_warninglist_publish_and_export():
    node = dl.Node(COMMUNITY, extra_config=lists_config())
    try:
        with dl.Daemon(node).start() as d:
            r = d.call({"op": "publish", "reports": [
                {"type": t, "value": v, "tlp": "GREEN"} for t, v, _ in POISON] +
                [{"value": "45.33.32.156", "tlp": "GREEN"}]})
            assert r["ok"] and r["accepted"] == 1, r
            for (t, v, lst), item in zip(POISON, r["results"]):
                assert item["error"]["code"] == "NODE_E_WARNINGLISTED", (v, item)
                assert lst in item["error"]["message"] and item["error"]["field"].endswith(
                    "value"), (v, item)
            # Sightings and false positives of a listed value are not blocklist entries.
            r = d.call({"op": "false_positive", "value": "8.8.4.4", "tlp": "GREEN"})
            assert r["ok"], r
            # The explicit override publishes it; the export flags and withholds it.
            r = d.call({"op": "publish", "value": "8.8.8.8", "tlp": "GREEN",
                        "allow_warninglisted": True})
            assert r["ok"], r
            p = cli("publish", "--socket", node.socket, "--tlp", "green", "1.1.1.1")
            assert p.returncode == 65 and "warninglist" in p.stderr, (p.stdout, p.stderr)
            cli("publish", "--socket", node.socket, "--tlp", "green", "--allow-warninglisted",
                "1.1.1.1", check=0)
            ct.wait_for(lambda: os.path.exists(os.path.join(node.export, "data.mdb")) and
                        doc_of(node, "1.1.1.1") is not None, what="the export")
        for v in ("8.8.8.8", "1.1.1.1"):
            doc = doc_of(node, v)
            assert doc["chatham"]["warninglist"] == "public-resolvers", doc
            assert doc["chatham"]["withheld"] is True, doc
            assert "ip" not in doc["threat"]["indicator"], doc
        doc = doc_of(node, "45.33.32.156")
        assert "warninglist" not in doc["chatham"] and doc["threat"]["indicator"]["ip"]
        p = cli("export", "--format", "plain", "--export-dir", node.export, check=0)
        assert p.stdout.split() == ["45.33.32.156"], p.stdout
        p = cli("export", "--format", "csv", "--export-dir", node.export, check=0)
        assert "8.8.8.8" in p.stdout  # the record keeps it; only blocklists leave it out
    finally:
        node.cleanup()


def test_warninglist_received_and_configured():
    """A listed value published (with the override) by one member reaches another: there it
    is admitted, flagged and withheld; a member with export_warninglisted exports it."""
    c = ct.Cluster(3, degree=2, gossip="recon_interval_s = 1\n",
                   extra_config=lambda i: lists_config(export_warninglisted=(i == 2)))
    ok = False
    try:
        c.start()
        ct.wait_links(c.daemons, 2)
        r = c.daemons[0].call({"op": "publish", "value": "9.9.9.9", "tlp": "GREEN",
                               "allow_warninglisted": True})
        assert r["ok"], r
        ct.wait_for(lambda: all(ct.has_indicator(c.daemons[i], "9.9.9.9") for i in (1, 2)),
                    what="the report at both other members")
        ct.wait_for(lambda: all("9.9.9.9" in ct.export_values(c.nodes[i]) for i in (1, 2)),
                    what="both exports")
        doc = doc_of(c.nodes[1], "9.9.9.9")
        assert doc["chatham"]["warninglist"] == "public-resolvers" and \
            doc["chatham"]["withheld"] is True and "ip" not in doc["threat"]["indicator"], doc
        doc = doc_of(c.nodes[2], "9.9.9.9")
        assert doc["chatham"]["warninglist"] == "public-resolvers" and \
            doc["chatham"]["withheld"] is False and \
            doc["threat"]["indicator"]["ip"] == "9.9.9.9", doc
        assert cli("export", "-F", "plain", "-e", c.nodes[1].export, check=0).stdout == ""
        assert cli("export", "-F", "plain", "-e", c.nodes[2].export,
                   check=0).stdout.split() == ["9.9.9.9"]
        assert not ct.gossip(c.daemons[1])["rejected"]
        ok = True
    finally:
        c.kill_all()
        c.cleanup(failed=not ok)


def test_check_config_warninglists():
    with tempfile.TemporaryDirectory() as tmp:
        lists = os.path.join(tmp, "lists")
        os.mkdir(lists)
        with open(os.path.join(lists, "mine.txt"), "w") as f:
            f.write("# ours\n10.0.0.0/8\n\n192.0.2.300\n")
        node = dl.Node(COMMUNITY, root=tmp, extra_config="[policy]\nwarninglist_dir = %s\n"
                       % lists)
        p = cli("check-config", node.config)
        assert p.returncode == 78 and "mine.txt:4:" in p.stderr, p.stderr
        with open(os.path.join(lists, "mine.txt"), "w") as f:
            f.write("10.0.0.0/8\n")
        p = cli("check-config", node.config, check=0)
        node.write_config(extra="[policy]\nwarninglist_dir = %s\n" % os.path.join(tmp, "none"))
        p = cli("check-config", node.config, check=0)
        assert "does not exist" in p.stderr, p.stderr


if __name__ == "__main__":
    dl.main([test_time_range, test_undecodable_stored_report, test_urls_merge, test_warninglist_publish_and_export,
             test_warninglist_received_and_configured, test_check_config_warninglists])
