#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`chatham export` against an export environment written with python3-lmdb (the document
shape of node/daemon/exporter.c): every format, --since, --type, newest state per indicator, the
MISP feed directory, atomic output files, and the errors an operator can meet."""
import csv
import hashlib
import io
import json
import os
import stat
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_exportenv import ExportEnv, make_doc, run, check_stix_bundle, chatham_bin  # noqa: E402

COMMUNITY = "Test Community"


def build(tmp):
    env = ExportEnv(os.path.join(tmp, "export"), COMMUNITY)
    docs = [
        make_doc(1, "ipv4", "198.51.100.7", "GREEN", description="seen twice"),
        make_doc(2, "domain", "evil.example", "AMBER", tags=["c2"]),
        make_doc(3, "url", "http://evil.example/a,b?q='x'", "CLEAR"),
        make_doc(4, "sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                 "AMBER+STRICT", valid_until=1900000000000),
        # seq 5: the domain again, now withdrawn; seq 6: the IPv4 again, more members
        make_doc(5, "domain", "evil.example", "AMBER", state="withdrawn", members=0),
        make_doc(6, "ipv4", "198.51.100.7", "GREEN", members=5),
        make_doc(8, "email", "x@observed.example", "GREEN", state="observed", members=0),
        make_doc(9, "ipv6", "2001:db8::/32", "RED", state="expired"),
    ]
    raw = [env.add(d) for d in docs]
    env.close()
    return env.path, docs, raw


def test_jsonl(tmp, d, docs, raw):
    p = run("export", "--format", "jsonl", "--export-dir", d, check=0)
    assert p.stdout.encode().splitlines() == raw, p.stdout
    assert "--since 9" in p.stderr, p.stderr
    p = run("export", "-F", "jsonl", "-e", d, "--since", "4", check=0)
    assert [json.loads(x)["chatham"]["seq"] for x in p.stdout.splitlines()] == [5, 6, 8, 9]
    p = run("export", "-F", "jsonl", "-e", d, "--type", "ipv4", check=0)
    assert [json.loads(x)["chatham"]["seq"] for x in p.stdout.splitlines()] == [1, 6]
    p = run("export", "-F", "jsonl", "-e", d, "--since", "9", check=0)
    assert p.stdout == "" and "--since 9" in p.stderr


def test_csv(tmp, d, docs, raw):
    out = os.path.join(tmp, "out.csv")
    p = run("export", "--format", "csv", "--export-dir", d, "--out", out, check=0)
    assert p.stdout == ""
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640
    assert not [f for f in os.listdir(tmp) if f.startswith(".chatham-export")]
    text = open(out, newline="").read()
    assert text.startswith("type,value,tlp,state,confidence,first_seen,last_seen,members,"
                           "sightings,false_positives,seq\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    # Newest state per indicator, in feed order of those newest documents.
    assert [r["seq"] for r in rows] == ["3", "4", "5", "6", "8", "9"], rows
    by = {r["value"]: r for r in rows}
    assert by["198.51.100.7"]["members"] == "5"
    assert by["evil.example"]["state"] == "withdrawn"
    assert by["http://evil.example/a,b?q='x'"]["tlp"] == "CLEAR"
    assert by["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]["tlp"] == \
        "AMBER+STRICT"
    assert "seen twice" not in text and "c2" not in text


def test_plain(tmp, d, docs, raw):
    p = run("export", "--format", "plain", "--export-dir", d, check=0)
    assert p.stdout.splitlines() == [
        "http://evil.example/a,b?q='x'",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "198.51.100.7"], p.stdout
    p = run("export", "--format", "plain", "--export-dir", d, "--type", "domain", check=0)
    assert p.stdout == ""


def test_stix(tmp, d, docs, raw):
    p = run("export", "--format", "stix21", "--export-dir", d, check=0)
    b = json.loads(p.stdout)
    check_stix_bundle(b, COMMUNITY)
    inds = [o for o in b["objects"] if o["type"] == "indicator" and not o.get("revoked")]
    assert sorted(o["pattern"] for o in inds) == sorted([
        "[url:value = 'http://evil.example/a,b?q=\\'x\\'']",
        "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
        "[ipv4-addr:value = '198.51.100.7']"]), [o["pattern"] for o in inds]
    # A full export carries retirements too: the withdrawn domain and the expired range.
    rev_full = sorted(o["pattern"] for o in b["objects"]
                      if o["type"] == "indicator" and o.get("revoked"))
    assert rev_full == ["[domain-name:value = 'evil.example']",
                        "[ipv6-addr:value = '2001:db8::/32']"], rev_full
    again = run("export", "--format", "stix21", "--export-dir", d, check=0)
    assert again.stdout == p.stdout, "not deterministic"
    # Incremental: the withdrawn domain and the expired range come as revoked versions.
    p = run("export", "--format", "stix21", "--export-dir", d, "--since", "4", check=0)
    b2 = json.loads(p.stdout)
    check_stix_bundle(b2, COMMUNITY)
    rev = sorted(o["pattern"] for o in b2["objects"]
                 if o["type"] == "indicator" and o.get("revoked"))
    assert rev == ["[domain-name:value = 'evil.example']",
                   "[ipv6-addr:value = '2001:db8::/32']"], rev
    ip = [o for o in b2["objects"] if o.get("pattern") == "[ipv4-addr:value = '198.51.100.7']"][0]
    ip_full = [o for o in inds if o["pattern"] == ip["pattern"]][0]
    assert ip["id"] == ip_full["id"], "indicator ids must be stable across exports"


class MispFetcher:
    """A MISP instance's feed pull, as MISP's Feed model does it: manifest.json first; an
    event is fetched when it is unknown ("add") or its manifest timestamp is newer than the
    local copy's ("edit"); an edit updates the attributes the copy holds by uuid only when
    the new timestamp is newer, and adds the others. One attribute uuid may live in one
    event only (MISP refuses a second). Feed filter rules read the manifest's Tag and Orgc."""

    def __init__(self):
        self.events = {}  # uuid -> {"timestamp": int, "attrs": {uuid: attribute}}
        self.where = {}   # attribute uuid -> event uuid

    def pull(self, feed):
        manifest = json.load(open(os.path.join(feed, "manifest.json")))
        fetched = []
        for uuid, entry in sorted(manifest.items()):
            assert set(entry) >= {"Orgc", "Tag", "info", "date", "analysis",
                                  "threat_level_id", "timestamp"}, entry
            local = self.events.get(uuid)
            if local and local["timestamp"] >= int(entry["timestamp"]):
                continue
            ev = json.load(open(os.path.join(feed, uuid + ".json")))["Event"]
            assert ev["uuid"] == uuid and int(ev["timestamp"]) == int(entry["timestamp"])
            assert ev["Tag"] == entry["Tag"] and ev["info"] == entry["info"]
            if local is None:
                local = self.events[uuid] = {"timestamp": 0, "attrs": {}}
            for a in ev["Attribute"]:
                assert self.where.setdefault(a["uuid"], uuid) == uuid, \
                    "attribute %s in two events" % a["uuid"]
                old = local["attrs"].get(a["uuid"])
                if old is None or int(a["timestamp"]) > int(old["timestamp"]):
                    local["attrs"][a["uuid"]] = a
            local["timestamp"] = int(ev["timestamp"])
            fetched.append(uuid)
        return fetched

    def attr(self, value):
        for uuid, ev in self.events.items():
            for a in ev["attrs"].values():
                if a["value"] == value:
                    return uuid, a
        raise AssertionError("%s is not in the MISP copy" % value)


def check_hashes(feed):
    """hashes.csv: md5(value),event uuid for every attribute of every event."""
    manifest = json.load(open(os.path.join(feed, "manifest.json")))
    want = set()
    for uuid in manifest:
        for a in json.load(open(os.path.join(feed, uuid + ".json")))["Event"]["Attribute"]:
            want.add("%s,%s" % (hashlib.md5(a["value"].encode()).hexdigest(), uuid))
    lines = open(os.path.join(feed, "hashes.csv")).read().splitlines()
    assert len(lines) == len(set(lines)) and set(lines) == want, (lines, want)


def test_misp(tmp, d, docs, raw):
    """The MISP feed read the way MISP's feed fetcher reads it: stable events per TLP and
    first-seen day, TLP per attribute, and a revoke that sets to_ids false in the event the
    attribute already lives in, picked up by an incremental pull."""
    env = ExportEnv(os.path.join(tmp, "export-misp"), COMMUNITY)
    day2 = 1700000000000 + 86400000
    for doc in [make_doc(1, "ipv4", "198.51.100.7", "GREEN", description="seen twice"),
                make_doc(2, "domain", "evil.example", "AMBER", tags=["c2"]),
                make_doc(3, "url", "http://evil.example/a,b?q='x'", "CLEAR"),
                make_doc(4, "domain", "other.example", "AMBER"),
                make_doc(5, "ipv4", "198.51.100.8", "GREEN", first=day2, last=day2),
                make_doc(6, "email", "x@observed.example", "GREEN", state="observed"),
                make_doc(7, "ipv6", "2001:db8::/32", "RED", state="expired")]:
        env.add(doc)
    out, cursor = os.path.join(tmp, "misp"), os.path.join(tmp, "misp-cursor.json")
    p = run("export", "--format", "misp-feed", "--export-dir", env.path, "--out", out,
            "--state", cursor, check=0)
    assert "6 new, 0 changed" in p.stderr, p.stderr
    misp = MispFetcher()
    assert len(misp.pull(out)) == 5  # GREEN x 2 days, AMBER, CLEAR, RED
    check_hashes(out)
    for f in os.listdir(out):
        assert stat.S_IMODE(os.stat(os.path.join(out, f)).st_mode) == 0o640, f
    want_tlp = {"198.51.100.7": "tlp:green", "evil.example": "tlp:amber",
                "other.example": "tlp:amber", "http://evil.example/a,b?q='x'": "tlp:clear",
                "198.51.100.8": "tlp:green", "2001:db8::/32": "tlp:red"}
    for value, tag in want_tlp.items():
        ev, a = misp.attr(value)
        assert a["Tag"][0]["name"] == tag, (value, a["Tag"])
        assert json.load(open(os.path.join(out, "manifest.json")))[ev]["Tag"] == \
            [{"name": tag, "colour": a["Tag"][0]["colour"]}]
        assert a["to_ids"] is (value != "2001:db8::/32"), a
    assert misp.attr("evil.example")[0] == misp.attr("other.example")[0]
    assert misp.attr("198.51.100.7")[0] != misp.attr("198.51.100.8")[0]  # another day
    assert {"name": 'chatham:state="expired"', "colour": "#808080"} in \
        misp.attr("2001:db8::/32")[1]["Tag"]
    ev_before, a_before = misp.attr("evil.example")
    ts_before = misp.events[ev_before]["timestamp"]

    # Nothing new: nothing is written, and MISP fetches nothing.
    before = {f: open(os.path.join(out, f), "rb").read() for f in os.listdir(out)}
    p = run("export", "--format", "misp-feed", "--export-dir", env.path, "--out", out,
            "--state", cursor, check=0)
    assert {f: open(os.path.join(out, f), "rb").read() for f in os.listdir(out)} == before
    assert misp.pull(out) == []

    # A revoke: the incremental export rewrites the event the attribute lives in.
    env.add(make_doc(8, "domain", "evil.example", "AMBER", state="withdrawn", members=0))
    p = run("export", "--format", "misp-feed", "--export-dir", env.path, "--out", out,
            "--state", cursor, check=0)
    assert "0 new, 1 changed" in p.stderr and "1 event written" in p.stderr, p.stderr
    assert misp.pull(out) == [ev_before]
    ev_after, a_after = misp.attr("evil.example")
    assert ev_after == ev_before and a_after["uuid"] == a_before["uuid"]
    assert a_before["to_ids"] is True and a_after["to_ids"] is False
    assert {"name": 'chatham:state="withdrawn"', "colour": "#808080"} in a_after["Tag"]
    assert int(a_after["timestamp"]) > int(a_before["timestamp"])
    assert misp.events[ev_after]["timestamp"] > ts_before
    assert misp.attr("other.example")[1]["to_ids"] is True
    check_hashes(out)
    assert len(json.load(open(os.path.join(out, "manifest.json")))) == 5

    # A full export into a new directory gives the same events and attributes.
    full = os.path.join(tmp, "misp-full")
    run("export", "--format", "misp-feed", "--export-dir", env.path, "--out", full, check=0)
    misp2 = MispFetcher()
    misp2.pull(full)
    assert misp2.where == misp.where
    assert misp2.attr("evil.example")[1]["to_ids"] is False
    env.close()
    assert not [f for f in os.listdir(out) if f.startswith(".")]


def test_errors(tmp, d, docs, raw):
    p = run("export", "--export-dir", d)
    assert p.returncode == 2 and "--format" in p.stderr
    p = run("export", "--format", "xml", "--export-dir", d)
    assert p.returncode == 2
    p = run("export", "--format", "misp-feed", "--export-dir", d)
    assert p.returncode == 2 and "--out DIR" in p.stderr
    p = run("export", "--format", "csv", "--export-dir", os.path.join(tmp, "nothing"))
    assert p.returncode == 1 and "cannot open the export" in p.stderr, p.stderr
    p = run("export", "--format", "csv", "--export-dir", d, "--type", "ipv7")
    assert p.returncode == 2
    p = run("export", "--format", "csv", "--export-dir", d, "--since", "-1")
    assert p.returncode == 2
    p = run("export", "--help", check=0)
    assert "misp-feed" in p.stdout
    # An output directory that does not exist: nothing written, a clear error.
    p = run("export", "--format", "csv", "--export-dir", d, "--out",
            os.path.join(tmp, "no", "such", "dir", "x.csv"))
    assert p.returncode == 1 and "cannot write" in p.stderr, p.stderr


def test_bad_document(tmp, d, docs, raw):
    """One unreadable document never stops an export (issue 13, "export poison"): it is
    skipped, counted and named, and its indicator is left out rather than shown in an older
    state."""
    env = ExportEnv(os.path.join(tmp, "bad"), COMMUNITY)
    env.add(make_doc(1, "ipv4", "192.0.2.1"))
    bad = make_doc(2, "ipv4", "192.0.2.2")
    del bad["chatham"]["state"]
    env.add(bad)
    # A report stored with valid_until in year 10000 (accepted by versions before the
    # time range): the exporter printed a 5-digit year, which no reader accepts.
    env.add(make_doc(3, "domain", "poison.example"))
    poison = make_doc(4, "domain", "poison.example")
    poison["chatham"]["valid_until"] = "10000-01-01T00:00:00.000Z"
    env.add(poison)
    env.add(make_doc(5, "sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"))
    env.close()
    for fmt in ("csv", "plain", "stix21", "jsonl"):
        out = os.path.join(tmp, "bad." + fmt)
        p = run("export", "--format", fmt, "--export-dir", env.path, "--out", out)
        assert p.returncode == 0, (fmt, p.stderr)
        assert "sequence 2: chatham.state" in p.stderr, p.stderr
        assert "sequence 4: chatham.valid_until" in p.stderr, p.stderr
        assert "2 unreadable documents skipped" in p.stderr, p.stderr
        text = open(out).read()
        assert "192.0.2.1" in text and "da39a3ee5e6b4b0d3255bfef95601890afd80709" in text, \
            (fmt, text)
        assert "192.0.2.2" not in text, (fmt, text)
        if fmt != "jsonl":  # the change log keeps seq 3; snapshots leave poison out
            assert "poison.example" not in text, (fmt, text)
    p = run("export", "--format", "plain", "--export-dir", env.path, "--type", "sha1",
            check=0)
    assert p.stdout.split() == ["da39a3ee5e6b4b0d3255bfef95601890afd80709"], p.stdout


def test_config_lookup(tmp, d, docs, raw):
    conf = os.path.join(tmp, "chatham.conf")
    with open(conf, "w") as f:
        f.write("[node]\nstate_dir = %s\nexport_dir = %s\n" % (os.path.join(tmp, "state"), d))
    p = run("export", "--format", "plain", "--config", conf)
    assert p.returncode == 0, p.stderr
    assert "198.51.100.7" in p.stdout


def test_state_cursor(tmp, d, docs, raw):
    """--state: every format gives its next cursor in a file; runs add up to the full export."""
    for fmt in ("jsonl", "csv", "stix21", "plain"):
        st = os.path.join(tmp, "cursor-%s.json" % fmt)
        p = run("export", "--format", fmt, "--export-dir", d, "--state", st, "--quiet", check=0)
        cur = json.load(open(st))
        assert cur["seq"] == 9 and len(cur["env_id"]) == 32, cur
        assert stat.S_IMODE(os.stat(st).st_mode) == 0o640
        # Nothing new: the next run is empty and keeps the cursor.
        p = run("export", "--format", fmt, "--export-dir", d, "--state", st, check=0)
        assert json.load(open(st))["seq"] == 9
        if fmt in ("jsonl", "plain"):
            assert p.stdout == "", p.stdout
    # A partial cursor continues where it stopped.
    st = os.path.join(tmp, "cursor-part.json")
    with open(st, "w") as f:
        json.dump({"env_id": json.load(open(os.path.join(tmp, "cursor-jsonl.json")))["env_id"],
                   "seq": 4}, f)
    p = run("export", "--format", "jsonl", "--export-dir", d, "--state", st, check=0)
    assert [json.loads(x)["chatham"]["seq"] for x in p.stdout.splitlines()] == [5, 6, 8, 9]
    # A cursor of another (rebuilt) export starts from the beginning, and says so.
    with open(st, "w") as f:
        json.dump({"env_id": "00" * 16, "seq": 8}, f)
    p = run("export", "--format", "jsonl", "--export-dir", d, "--state", st, check=0)
    assert len(p.stdout.splitlines()) == len(raw) and "rebuilt" in p.stderr, p.stderr
    with open(st, "w") as f:
        f.write("not json")
    p = run("export", "--format", "jsonl", "--export-dir", d, "--state", st, check=1)
    assert "cursor" in p.stderr, p.stderr
    p = run("export", "--format", "jsonl", "--export-dir", d, "--state", st, "--since", "1",
            check=2)


def test_csv_formula(tmp, d, docs, raw):
    """A value a spreadsheet would run is neutralised, and imports back unchanged."""
    env = ExportEnv(os.path.join(tmp, "export-formula"), COMMUNITY)
    env.add(make_doc(1, "email", "=1+2@x.example", "GREEN"))
    env.add(make_doc(2, "email", "-x@evil.example", "GREEN"))
    env.add(make_doc(3, "domain", "plain.example", "GREEN"))
    env.close()
    out = os.path.join(tmp, "formula.csv")
    run("export", "--format", "csv", "--export-dir", env.path, "--out", out, check=0)
    text = open(out, newline="").read()
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    vals = [r["value"] for r in rows]
    assert vals == ["'=1+2@x.example", "'-x@evil.example", "plain.example"], vals
    for line in text.splitlines()[1:]:
        assert line.split(",")[1][:1] not in "=+-@", line
    # publish --dry-run reads the file as an import would: every row valid, apostrophe gone.
    p = run("publish", "--file", out, "--format", "csv", "--dry-run", "--json", check=0)
    assert "'=" not in p.stdout, p.stdout


def main():
    chatham_bin()
    try:
        import lmdb  # noqa: F401
    except ImportError:
        print("FAIL: python3-lmdb is not installed (deploy/install-deps.sh installs it)")
        return 1
    tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        d, docs, raw = build(tmp)
        for t in tests:
            try:
                t(tmp, d, docs, raw)
                passed += 1
                print("ok   " + t.__name__)
            except Exception:
                failed += 1
                print("FAIL " + t.__name__)
                traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
