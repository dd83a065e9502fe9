#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`chatham publish --file --dry-run`: the import path without a node. Every format (and
format detection), the counts of the summary, per-item messages with their line or
position, the TLP and recipient rules applied before anything is sent, standard input, a
large plain file streamed in bounded memory, and the usage errors. Publishing through a
running node is covered by test_cli_e2e.py."""
import json
import os
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_exportenv import chatham_bin, run  # noqa: E402

PLAIN = """# blocklist
1.2.3.4
evil.example   # c2
example[.]com
two words
http://Evil.Example/x
"""

CSV = """value,type,tlp,confidence,tags
1.2.3.4,ipv4,amber,80,c2;botnet
evil.example,,green,,
"http://a.example/?q=1,2",url,clear,5,
bad..example,,green,,
5.6.7.8,ipv4,purple,,
"""

STIX = {
    "type": "bundle", "id": "bundle--6b6f1a5e-0a7e-4f8c-9c55-2b9a1f3d9e10",
    "objects": [
        {"type": "indicator", "spec_version": "2.1", "pattern_type": "stix",
         "id": "indicator--0e5b2a55-9d1c-4a55-8d0c-9c1b9e7e2b01",
         "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
         "pattern": "[ipv4-addr:value = '198.51.100.1' OR domain-name:value = 'c2.example']"},
        {"type": "indicator", "spec_version": "2.1", "pattern_type": "stix",
         "id": "indicator--0e5b2a55-9d1c-4a55-8d0c-9c1b9e7e2b02",
         "pattern": "[ipv4-addr:value = '198.51.100.2' AND ipv4-addr:value = '198.51.100.3']"},
        {"type": "indicator", "spec_version": "2.1", "pattern_type": "stix",
         "id": "indicator--0e5b2a55-9d1c-4a55-8d0c-9c1b9e7e2b03",
         "pattern": "[url:value = 'hxxp://bad']"},
        {"type": "malware", "spec_version": "2.1", "name": "x",
         "id": "malware--0e5b2a55-9d1c-4a55-8d0c-9c1b9e7e2b04"},
        {"type": "indicator", "spec_version": "2.1", "pattern_type": "stix",
         "id": "indicator--0e5b2a55-9d1c-4a55-8d0c-9c1b9e7e2b05",
         "pattern": "[ipv4-addr:value = '198.51.100.9']"},
    ]}

MISP = {"Event": {"info": "t", "Tag": [{"name": "tlp:green"}], "Attribute": [
    {"type": "ip-dst", "value": "203.0.113.5", "to_ids": True},
    {"type": "domain|ip", "value": "x.example|203.0.113.6", "to_ids": True},
    {"type": "comment", "value": "text", "to_ids": False},
    {"type": "url", "value": "http://y.example/", "to_ids": False},
]}}

RCPT = "ab" * 32


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text if isinstance(text, str) else json.dumps(text))
    return path


def dry(path, *args, want=None):
    p = run("publish", "--file", path, "--dry-run", "--json", *args)
    s = json.loads(p.stdout.strip().splitlines()[-1])
    if want is not None:
        got = {k: s[k] for k in want}
        assert got == want, (path, args, got, p.stderr)
    return p, s


def test_plain(tmp):
    f = write(tmp, "list.txt", PLAIN)
    p, s = dry(f, "--tlp", "green", want={"format": "plain", "valid": 3, "invalid": 2,
                                           "skipped": 0})
    assert p.returncode == 65
    assert "list.txt: line 4: invalid:" in p.stderr and "refang" in p.stderr, p.stderr
    assert "line 5: invalid:" in p.stderr
    # Without --tlp a plain list is a usage error when the format is given...
    p = run("publish", "--file", f, "--format", "plain", "--dry-run")
    assert p.returncode == 2 and "--tlp" in p.stderr
    # ...and with detection each item is invalid, reported once with a total.
    p, s = dry(f, want={"valid": 0, "invalid": 5})
    assert p.stderr.count("no TLP") == 2, p.stderr  # once, plus the closing total


def test_csv(tmp):
    f = write(tmp, "list.csv", CSV)
    p, s = dry(f, "--recipient", RCPT, want={"format": "csv", "valid": 3, "invalid": 2})
    assert "line 5: invalid:" in p.stderr and "line 6: invalid: unknown TLP" in p.stderr
    # AMBER needs recipients: line 2 becomes invalid without them.
    p, s = dry(f, want={"valid": 2, "invalid": 3})
    assert "line 2: invalid: TLP:AMBER" in p.stderr, p.stderr
    # --tlp raises a marking but never lowers one: CLEAR -> AMBER, AMBER stays.
    p, s = dry(f, "--tlp", "amber", "--recipient", RCPT, want={"valid": 3})


def test_stix(tmp):
    f = write(tmp, "bundle.json", STIX)
    p, s = dry(f, "--tlp", "clear", "--verbose",
               want={"format": "stix21", "valid": 3, "invalid": 1, "skipped": 1})
    assert "objects[2]: invalid:" in p.stderr and "refang" in p.stderr
    assert "objects[1]: skipped: pattern uses AND" in p.stderr, p.stderr
    assert "ignored 1 object" in p.stderr
    # Without --tlp only the marked indicator is publishable.
    p, s = dry(f, want={"valid": 2, "invalid": 2, "skipped": 1})
    assert "objects[4]: invalid: no TLP" in p.stderr, p.stderr


def test_misp(tmp):
    f = write(tmp, "event.json", MISP)
    dry(f, want={"format": "misp", "valid": 3, "invalid": 0, "skipped": 2})
    dry(f, "--include-non-ids", want={"valid": 4, "skipped": 1})
    p, _ = dry(f, "--format", "stix21", want={"valid": 0})
    assert p.returncode == 1 and "not a STIX 2.1 bundle" in p.stderr


def test_stdin_and_errors(tmp):
    p = run("publish", "--file", "-", "--dry-run", "--tlp", "green", stdin="1.1.1.1\n2.2.2.2\n",
            check=0)
    assert "2 valid, 0 invalid" in p.stdout, p.stdout
    p = run("publish", "--file", os.path.join(tmp, "missing.txt"), "--dry-run", "--tlp", "red")
    assert p.returncode == 1 and "cannot open" in p.stderr
    p = run("publish", "--file", write(tmp, "x.txt", "1.1.1.1\n"), "--tlp", "green",
            "--socket", os.path.join(tmp, "no.sock"))
    assert p.returncode == 69 and "cannot connect" in p.stderr and "--dry-run" in p.stderr
    for args in (["--tlp", "purple"], ["--format", "xml"], ["--batch-size", "0"],
                 ["--batch-size", "10001"], ["--confidence", "101"], ["--kind", "x"],
                 ["--ttl", "1d", "--valid-until", "2030-01-01T00:00:00Z"], ["extra-arg"]):
        p = run("publish", "--file", os.path.join(tmp, "x.txt"), "--dry-run", *args)
        assert p.returncode == 2, (args, p.stderr)
    p = run("publish", "--file", os.path.join(tmp, "x.txt"), "--help", check=0)
    assert "--dry-run" in p.stdout and "--keep-text" in p.stdout


def test_large_plain(tmp):
    # 200,000 lines (about 3 MB) pass through the streaming parser in batches.
    path = os.path.join(tmp, "big.txt")
    with open(path, "w") as f:
        for i in range(200000):
            f.write("10.%d.%d.%d\n" % (i >> 16, (i >> 8) & 255, i & 255))
        f.write("not an indicator!\n")
    p, s = dry(path, "--tlp", "green", "--batch-size", "5000",
               want={"valid": 200000, "invalid": 1})
    assert "line 200001: invalid" in p.stderr


def main():
    chatham_bin()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for t in (test_plain, test_csv, test_stix, test_misp, test_stdin_and_errors,
                  test_large_plain):
            try:
                t(tmp)
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
