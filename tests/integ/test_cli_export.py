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


def test_misp(tmp, d, docs, raw):
    out = os.path.join(tmp, "misp")
    run("export", "--format", "misp-feed", "--export-dir", d, "--out", out, check=0)
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    assert len(manifest) == 1
    uuid = next(iter(manifest))
    ev = json.load(open(os.path.join(out, uuid + ".json")))["Event"]
    assert ev["uuid"] == uuid and ev["Orgc"]["name"] == COMMUNITY
    assert manifest[uuid]["Orgc"]["name"] == COMMUNITY
    vals = {a["value"]: a for a in ev["Attribute"]}
    assert set(vals) == {"http://evil.example/a,b?q='x'", "198.51.100.7",
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}
    assert vals["198.51.100.7"]["type"] == "ip-dst" and vals["198.51.100.7"]["to_ids"] is True
    assert vals["198.51.100.7"]["Tag"][0]["name"] == "tlp:green"
    assert ev["Tag"][0]["name"] == "tlp:amber+strict"
    hashes = open(os.path.join(out, "hashes.csv")).read().splitlines()
    want = sorted("%s,%s" % (hashlib.md5(v.encode()).hexdigest(), uuid) for v in vals)
    assert sorted(hashes) == want, hashes
    # Same export again: same event, files unchanged in content.
    run("export", "--format", "misp-feed", "--export-dir", d, "--out", out, check=0)
    assert json.load(open(os.path.join(out, "manifest.json"))) == manifest
    assert sorted(open(os.path.join(out, "hashes.csv")).read().splitlines()) == want
    # An incremental batch is a second event.
    run("export", "--format", "misp-feed", "--export-dir", d, "--out", out, "--since", "4",
        check=0)
    manifest2 = json.load(open(os.path.join(out, "manifest.json")))
    assert len(manifest2) == 2
    files = sorted(f for f in os.listdir(out) if f.endswith(".json") and f != "manifest.json")
    assert len(files) == 2 and not [f for f in os.listdir(out) if f.startswith(".")]


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
