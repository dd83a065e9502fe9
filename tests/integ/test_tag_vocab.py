# SPDX-License-Identifier: MIT
"""The tag vocabulary ([policy] tag_vocab_dir, tag_vocab_files).

  - the vocabulary chatham ships (deploy/tags, installed to /usr/share/chatham/tags) parses
    (`chatham check-config` with tag_vocab_dir pointing at it says ok);
  - a listed file that is missing, or a bad line in one, is a problem for check-config
    (naming the file and line) and stops the node at start; at a reload it keeps the running
    configuration;
  - the shipped vocabulary's tags leave unchanged; other tags are redacted as text: tags
    "Beta" + "SOC" spell another member's alias "BetaSOC" and both go, "Beta CSIRT
    watchers" leaves as "[member] watchers";
  - with the community's file (it lists "SOC" and "Beta CSIRT watchers"), a vocabulary tag
    is never rewritten: "Beta CSIRT watchers" is dropped, and "SOC" with "Beta" still
    completes the alias and is dropped;
  - adding a community file at a reload changes the rules the export was rendered under:
    the export is read again (status export.rules_changes), and nothing needs correcting;
  - no export format names Beta in any spelling (the leak oracle, leakoracle.py).
"""

import json
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402
import leakoracle  # noqa: E402
from test_export_rerender import (caught_up, export_status as status, full_pulls,  # noqa: E402
                                  wait_for)

SRC = os.environ.get("CHATHAM_SOURCE_DIR",
                     os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SHIPPED = os.path.join(SRC, "deploy", "tags")


def check_config(node):
    return subprocess.run([dl.chatham_bin(), "check-config", node.config], capture_output=True,
                          timeout=60)


def exported_tags(node):
    p = dl.run_cli("export", "--export-dir", node.export, "--format", "jsonl", "--quiet")
    assert p.returncode == 0, p.stderr
    out = {}
    for line in p.stdout.splitlines():
        if line.strip():
            ch = json.loads(line)["chatham"]
            out[ch["value"]] = ch["tags"]
    return out


def test_tag_vocab():
    assert os.path.isfile(os.path.join(SHIPPED, "chatham.txt")), "deploy/tags/chatham.txt missing"
    c = dl.Community(name="Vocab CSIRTs", members=("Alpha CERT", "Beta CSIRT"))
    beta = c.members[1]
    base = beta.roster_entry

    def entry():
        e = base()
        e[2] = ["BetaSOC"]
        return dict(sorted(e.items()))
    beta.roster_entry = entry
    node = dl.Node(c, member_index=0)
    tmp = tempfile.mkdtemp(prefix="chatham-vocab-")
    ours = os.path.join(tmp, "community.txt")
    with open(ours, "w") as f:
        f.write("# our community's words\nSOC\nsector:energy\nBeta CSIRT watchers\n")
    bad = os.path.join(tmp, "bad.txt")
    with open(bad, "w") as f:
        f.write("fine\nbroken:\"open\n")
    d = None
    try:
        dl.write_file(node.roster, c.roster_file())
        node.write_config(f"[policy]\ntag_vocab_dir = {SHIPPED}\n")
        p = check_config(node)
        assert p.returncode == 0, p.stderr

        node.write_config(f"[policy]\ntag_vocab_dir = {SHIPPED}\n"
                          f"tag_vocab_files = {ours}, {tmp}/missing.txt\n")
        p = check_config(node)
        assert p.returncode == 78 and b"missing.txt" in p.stderr, p.stderr
        node.write_config(f"[policy]\ntag_vocab_dir = {SHIPPED}\ntag_vocab_files = {bad}\n")
        p = check_config(node)
        assert p.returncode == 78 and f"{bad}:2:".encode() in p.stderr, p.stderr
        dd = dl.Daemon(node, stderr_path=os.path.join(tmp, "refused.log"))
        dd.start(wait=False)
        assert dd.proc.wait(60) != 0
        assert f"{bad}:2:" in dd.log(), dd.log()
        dd.kill()

        node.write_config(f"[policy]\ntag_vocab_dir = {SHIPPED}\n")
        d = dl.Daemon(node)
        d.start()
        ransomware = 'ecsirt:malicious-code="ransomware"'
        r = d.call({"op": "publish", "reports": [
            {"value": "shipped.vocab.example", "tlp": "GREEN",
             "tags": ["phishing", ransomware, "TLP:Amber"], "allow_names": True},
            {"value": "pair.vocab.example", "tlp": "GREEN", "tags": ["Beta", "SOC"],
             "allow_names": True},
            {"value": "text.vocab.example", "tlp": "GREEN", "tags": ["Beta CSIRT watchers"],
             "allow_names": True},
        ]})
        assert r["ok"] and r["accepted"] == 3, r
        wait_for(lambda: caught_up(d), "export")
        tags = exported_tags(node)
        assert sorted(tags["shipped.vocab.example"]) == sorted(
            ["phishing", ransomware, "TLP:Amber"]), tags
        # Not in the vocabulary: "Beta" + "SOC" is the alias; both are only "[member]".
        assert tags["pair.vocab.example"] == [], tags
        assert tags["text.vocab.example"] == ["[member] watchers"], tags
        st0 = status(d)["export"]

        # A bad community file at reload: the running configuration stays.
        node.write_config(f"[policy]\ntag_vocab_dir = {SHIPPED}\ntag_vocab_files = {bad}\n")
        d.signal(signal.SIGHUP)
        wait_for(lambda: status(d)["reload"]["failures"] >= 1, "reload refused")
        d.wait_log(f"{bad}:2:")

        # The community's file at reload: the rules change, nothing needs correcting.
        node.write_config(f"[policy]\ntag_vocab_dir = {SHIPPED}\ntag_vocab_files = {ours}\n")
        d.signal(signal.SIGHUP)
        wait_for(lambda: status(d)["reload"]["count"] >= 1, "reload")
        st1 = wait_for(lambda: (lambda s: s["export"]["rules_changes"] > st0["rules_changes"]
                                and caught_up(d) and s)(status(d)), "rules change")["export"]
        assert st1["corrected"] == st0["corrected"], (st0, st1)
        r = d.call({"op": "publish", "reports": [
            {"value": "ours.vocab.example", "tlp": "GREEN",
             "tags": ["sector:Energy", "Beta", "SOC", "Beta CSIRT watchers"],
             "allow_names": True}]})
        assert r["ok"] and r["accepted"] == 1, r
        wait_for(lambda: caught_up(d), "export")
        tags = exported_tags(node)
        # "SOC" is a vocabulary word now, but with "Beta" it completes the alias: dropped.
        assert tags["ours.vocab.example"] == ["sector:Energy"], tags
        # No export format names Beta in any spelling (the leak oracle, leakoracle.py).
        leaks = leakoracle.scan(full_pulls(node), leakoracle.patterns(beta))
        assert not leaks, "\n".join(leaks)
        assert d.stop() == 0
    finally:
        if d:
            d.kill()
        node.cleanup()


if __name__ == "__main__":
    dl.main([test_tag_vocab])
