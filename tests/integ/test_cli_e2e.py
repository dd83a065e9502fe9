#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The operator's path end to end with a real node: community init, two member keys, a
roster signed by a 2-of-3 steward quorum, `chatham run`, `publish --file` in every import
format, and `export` in every format from the node's export directory, with the STIX
bundle checked against the OASIS schemas (ajv; the test fails when npm cannot install it).

The node is started through daemonlib (daemon_command(): under the valgrind suite it runs
under memcheck) and stopped with SIGTERM at the end: it must exit 0, so a memcheck error or a
definitely lost block (valgrind's exit 99) fails the test. Synchronisation is by polling
state (the socket, the export's contents), never by sleeping a fixed time; under a wrapper
the waits stretch by daemonlib.SLOW."""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_exportenv  # noqa: E402
from cli_exportenv import StixValidator, check_stix_bundle, chatham_bin  # noqa: E402
import daemonlib as dl  # noqa: E402
import leakoracle  # noqa: E402

COMMUNITY = "E2E Community"


def run(*args, **kw):
    """cli_exportenv.run(), its timeout stretched as the node is slowed (a wrapper)."""
    kw.setdefault("timeout", 120 * dl.SLOW)
    return cli_exportenv.run(*args, **kw)


def poll(what, fn, timeout=30.0):
    end = time.monotonic() + timeout * dl.SLOW
    last = None
    while time.monotonic() < end:
        last = fn()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what + " (last: %r)" % (last,))


class Node:
    """The node's files, made by the CLI as an operator makes them (setup()); config, socket,
    export and root are the attributes daemonlib.Daemon reads."""

    def __init__(self, tmp):
        self.root = tmp
        self.config = os.path.join(tmp, "chatham.conf")
        self.socket = os.path.join(tmp, "api.sock")
        self.export = os.path.join(tmp, "export")
        self.daemon = None

    def setup(self):
        t = self.root
        comm = os.path.join(t, "comm")
        run("community", "init", "--name", COMMUNITY, "--stewards", "3", "--threshold", "2",
            "--out-dir", comm, check=0)
        run("keygen", "--out", os.path.join(t, "alpha.key"), "--name", "Alpha CERT", check=0)
        run("keygen", "--out", os.path.join(t, "bravo.key"), "--name", "Bravo CSIRT", check=0)
        roster = os.path.join(t, "roster")
        run("roster", "add", "--roster", roster, "--community", os.path.join(comm, "community"),
            "--key", os.path.join(t, "alpha.key.pub"), "--domain", "alpha.example",
            "--address", "127.0.0.1:1", check=0)
        run("roster", "add", "--roster", roster, "--key", os.path.join(t, "bravo.key.pub"),
            "--domain", "bravo.example", "--address", "127.0.0.1:2", check=0)
        for k in ("steward-1.key", "steward-2.key"):
            run("roster", "sign", "--roster", roster, "--community",
                os.path.join(comm, "community"), "--steward-key", os.path.join(comm, k),
                check=0)
        run("roster", "verify", "--roster", roster, "--community",
            os.path.join(comm, "community"), check=0)
        self.bravo_id = json.load(open(os.path.join(t, "bravo.key.pub")))["member_id"]
        with open(self.config, "w") as f:
            f.write("[node]\nstate_dir = %s\nexport_dir = %s\nkey_file = %s\n"
                    "community_file = %s\nroster_file = %s\n[api]\nsocket = %s\n" % (
                        os.path.join(t, "state"), self.export, os.path.join(t, "alpha.key"),
                        os.path.join(comm, "community"), roster, self.socket))
        run("check-config", self.config, check=0)

    def start(self):
        """`chatham run` through daemonlib (its wrapper, if any), ready when the socket
        answers `status`; then `chatham status` answers too."""
        self.daemon = dl.Daemon(self)
        self.daemon.start(timeout=30)
        run("status", "--socket", self.socket, "--json", check=0)

    def stop(self):
        """SIGTERM; returns the exit status, None if it never started, or "no exit in N s"
        (then the node is killed)."""
        if not self.daemon or not self.daemon.proc:
            return None
        try:
            return self.daemon.stop(timeout=60)
        except subprocess.TimeoutExpired:
            return "no exit in %d s" % (60 * dl.SLOW)
        finally:
            self.daemon.kill()

    def log(self):
        return self.daemon.log() if self.daemon else ""


def publish(node, path, *args, want):
    p = run("publish", "--file", path, "--socket", node.socket, "--json", *args)
    s = json.loads(p.stdout.strip().splitlines()[-1])
    got = {k: s[k] for k in want}
    assert got == want, (path, got, want, p.stderr)
    return p


def export(node, fmt, *args):
    return run("export", "--format", fmt, "--export-dir", node.export, *args, check=0)


def test_flow(node, tmp):
    files = {}

    def w(name, text):
        files[name] = os.path.join(tmp, name)
        with open(files[name], "w") as f:
            f.write(text if isinstance(text, str) else json.dumps(text))

    w("list.txt", "# plain\n198.51.100.1\nevil-one.example\nexample[.]com\n")
    w("list.csv", "value,type,tlp,confidence,tags\n198.51.100.2,ipv4,clear,90,c2;scan\n"
                  "http://evil-two.example/x,url,green,,\nbad..example,,green,,\n")
    w("bundle.json", {"type": "bundle", "id": "bundle--6b6f1a5e-0a7e-4f8c-9c55-2b9a1f3d9e10",
                      "objects": [{"type": "indicator", "spec_version": "2.1",
                                   "id": "indicator--0e5b2a55-9d1c-4a55-8d0c-9c1b9e7e2b01",
                                   "pattern_type": "stix", "confidence": 70,
                                   "object_marking_refs": [
                                       "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
                                   "pattern": "[domain-name:value = 'evil-three.example' OR "
                                              "file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c"
                                              "8996fb92427ae41e4649b934ca495991b7852b855']"}]})
    w("event.json", {"Event": {"info": "e2e", "Tag": [{"name": "tlp:amber"}], "Attribute": [
        {"type": "ip-dst", "value": "203.0.113.9", "to_ids": True},
        {"type": "email-src", "value": "phish@evil-four.example", "to_ids": True}]}})

    publish(node, files["list.txt"], "--tlp", "green", want={"new": 2, "invalid": 1})
    publish(node, files["list.csv"], want={"new": 2, "invalid": 1})
    publish(node, files["bundle.json"], want={"new": 2, "invalid": 0})
    # AMBER from the MISP tags: delivered to the named recipient.
    publish(node, files["event.json"], "--recipient", node.bravo_id,
            want={"new": 2, "invalid": 0})
    # The same file again: every report is a duplicate... or new with a new timestamp; the
    # indicators stay the same either way, which is what the export shows.
    values = {"198.51.100.1", "evil-one.example", "198.51.100.2", "http://evil-two.example/x",
              "evil-three.example",
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
              "203.0.113.9", "phish@evil-four.example"}

    def exported():
        p = export(node, "plain")
        got = set(p.stdout.split())
        return got if got == values else None
    poll("all eight indicators in the export", exported)

    rows = list(csv.DictReader(io.StringIO(export(node, "csv").stdout, newline="")))
    assert {r["value"] for r in rows} == values
    tlp = {r["value"]: r["tlp"] for r in rows}
    assert tlp["198.51.100.2"] == "CLEAR" and tlp["203.0.113.9"] == "AMBER", tlp
    jl = [json.loads(x) for x in export(node, "jsonl").stdout.splitlines()]
    assert {d["chatham"]["value"] for d in jl} == values
    # No member in any spelling (the leak oracle, leakoracle.py).
    leakoracle.assert_clean({"export jsonl": export(node, "jsonl").stdout},
                            leakoracle.literal("name", "Alpha CERT", "Bravo CSIRT") +
                            leakoracle.literal("host", "alpha.example", "bravo.example") +
                            leakoracle.literal("hex", node.bravo_id))

    out = os.path.join(tmp, "bundle-out.json")
    export(node, "stix21", "--out", out)
    b = json.load(open(out))
    check_stix_bundle(b, COMMUNITY)
    assert len([o for o in b["objects"] if o["type"] == "indicator"]) == 8
    ok, msg = StixValidator().validate(out)
    assert ok, msg
    print("     STIX bundle of the node's export is valid against the OASIS schemas")

    misp = os.path.join(tmp, "misp")
    export(node, "misp-feed", "--out", misp)
    man = json.load(open(os.path.join(misp, "manifest.json")))
    attrs = [a for uuid in man
             for a in json.load(open(os.path.join(misp, uuid + ".json")))["Event"]["Attribute"]]
    assert {a["value"] for a in attrs} == values and len(attrs) == len(values)
    assert len(open(os.path.join(misp, "hashes.csv")).read().splitlines()) == 8

    # The node's own CSV export imports back as is (unknown columns ignored).
    back = os.path.join(tmp, "back.csv")
    export(node, "csv", "--out", back)
    p = run("publish", "--file", back, "--dry-run", "--json", "--recipient", node.bravo_id)
    s = json.loads(p.stdout)
    assert s["format"] == "csv" and s["valid"] == 8 and s["invalid"] == 0, (s, p.stderr)

    # status in words: the loop lag, and its own part (run-queue wait taken out)
    st = run("status", "--socket", node.socket, check=0).stdout
    assert "\nloop lag   p50 " in st and "\n  own      p50 " in st, st
    assert "\n  asleep   p50 " in st, st


def test_cli_conventions(node, tmp):
    """Every command: --help on stdout with exit 0 and its own usage line; a bad option named
    with the `chatham: CMD:` prefix and exit 2. Then one failure of each class, with the exit
    status chatham(1) EXIT STATUS gives it."""
    p = run("--help", check=0)
    listed = p.stdout.split("Commands:\n", 1)[1]
    cmds = [ln.split()[0] for ln in listed.splitlines() if ln.startswith("  ")]
    assert len(cmds) >= 18 and "publish" in cmds and "roster" in cmds, cmds
    for c in cmds:
        h = run(c, "--help", check=0)
        assert h.stdout.startswith("usage: chatham " + c), (c, h.stdout[:200])
        if c in ("community", "roster", "form", "poc"):
            sub = {"community": "init", "roster": "add", "form": "", "poc": "show"}[c]
            args = [c] + ([sub] if sub else []) + ["--no-such-option"]
        else:
            args = [c, "--no-such-option"]
        e = run(*args, check=2)
        assert e.stderr.startswith("chatham: " + c) and \
            "--no-such-option" in e.stderr and "--help" in e.stderr, (args, e.stderr)
    e = run("keygen", "--out", check=2)
    assert e.stderr.startswith("chatham: keygen: option '--out' needs a value"), e.stderr
    # 65: the node refuses the input (an AMBER report names no recipient).
    e = run("publish", "--socket", node.socket, "--tlp", "AMBER", "x.example", check=65)
    assert "PROTO_E_REPORT_RECIPIENTS" in e.stderr, e.stderr
    # 65: a form that fails its schema.
    run("form", "check", "-", stdin="{}", check=65)
    # 69: no node on the socket.
    e = run("status", "--socket", os.path.join(tmp, "nothing.sock"), check=69)
    assert "cannot connect" in e.stderr, e.stderr
    # 78: a configuration the node would not start with.
    bad = os.path.join(tmp, "bad.conf")
    with open(bad, "w") as f:
        f.write("[node]\nstate_dir = relative\n")
    e = run("check-config", bad, check=78)
    assert "state_dir" in e.stderr, e.stderr


def main():
    chatham_bin()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        node = Node(tmp)
        try:
            node.setup()
            node.start()
            for t in (test_flow, test_cli_conventions):
                try:
                    t(node, tmp)
                    passed += 1
                    print("ok   " + t.__name__)
                except Exception:
                    failed += 1
                    print("FAIL " + t.__name__)
                    traceback.print_exc()
        finally:
            code = node.stop()
        # SIGTERM stops the node with exit 0; under the valgrind suite a memcheck error or a
        # definitely lost block makes it 99 (--error-exitcode).
        if code == 0:
            passed += 1
            print("ok   the node stops on SIGTERM with exit 0")
        else:
            failed += 1
            print("FAIL the node on SIGTERM: %s" % (code if isinstance(code, str)
                                                     else "exit %r" % (code,)))
        if failed:
            print("--- node log ---\n" + node.log()[-4000:])
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
