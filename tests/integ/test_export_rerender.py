# SPDX-License-Identifier: MIT
"""Documents already in the SIEM export follow the rules (node/daemon/rerender.h).

A node of "Alpha CERT" exports reports whose text names "BetaSOC" and "BetaHunters", which
are not yet aliases of member "Beta CSIRT", so they leave as written; an incremental SIEM
(chatham-siem-pull and `chatham export --state`) has read them. Then:

  - roster epoch 2 gives Beta the alias "BetaSOC", adopted at SIGHUP: the next incremental
    pull of both readers receives the indicator again under a new sequence, with
    "[member]" where the alias was; a full pull (`chatham export` in every format, and the
    puller from scratch) holds "BetaSOC" nowhere (in any spelling: the leak oracle), while
    "BetaHunters" is still there;
  - the node is stopped, roster epoch 3 adds the alias "BetaHunters", the node starts: the
    export catches up at start (the rules it was rendered under are recorded), the next
    incremental pull has the corrected document and no full pull names Beta in any way
    (the leak oracle, leakoracle.py: name, aliases, domain, keys in any spelling);
  - an unchanged roster at a later SIGHUP corrects nothing;
  - export_red switched on (SIGHUP) rebuilds the export under a new env id with the RED
    indicator in it, both readers start over; switched off, it disappears from every pull.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402
import leakoracle  # noqa: E402

PULLER = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                       "deploy", "siem", "chatham-siem-pull"))
FORMATS = ("jsonl", "csv", "stix21", "plain", "misp-feed")


def with_aliases(member, aliases):
    base = member.roster_entry

    def entry():
        e = base()
        e[2] = list(aliases)
        return dict(sorted(e.items()))
    return entry


def wait_for(pred, what, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def export_status(d):
    r = d.call({"op": "status"})
    assert r["ok"], r
    return r


def caught_up(d):
    st = export_status(d)
    return st["export"]["last_seq"] >= st["store"]["feed_last"] and st


def puller(node, state):
    p = subprocess.run(["/usr/bin/python3", PULLER, "--export-dir", node.export, "--state",
                        state], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]


def cli_pull(node, state, fmt="jsonl"):
    args = ["export", "--export-dir", node.export, "--format", fmt, "--quiet"]
    out = os.path.join(tempfile.mkdtemp(prefix="chatham-rerender-"), "out")
    if state:
        args += ["--state", state]
    args += ["--out", out]
    p = dl.run_cli(*args)
    assert p.returncode == 0, p.stderr
    data = b""
    if os.path.isdir(out):
        for root, _, files in os.walk(out):
            for f in sorted(files):
                with open(os.path.join(root, f), "rb") as fh:
                    data += fh.read()
    elif os.path.exists(out):
        with open(out, "rb") as fh:
            data = fh.read()
    return data


def docs_of(data):
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def full_pulls(node):
    """Every full pull a SIEM could make, as one blob per reader."""
    out = {f"chatham export {fmt}": cli_pull(node, None, fmt) for fmt in FORMATS}
    st = os.path.join(tempfile.mkdtemp(prefix="chatham-rerender-"), "state")
    out["chatham-siem-pull"] = json.dumps(puller(node, st)).encode()
    return out


def assert_nowhere(node, pats):
    """No full pull holds any of @pats (leakoracle.py patterns: in any spelling)."""
    leaks = leakoracle.scan(full_pulls(node), pats)
    assert not leaks, "still in a full pull:\n" + "\n".join(leaks)


def name(text):
    return [("name", text, text)]


def test_rerender():
    c = dl.Community(name="Rerender CSIRTs", members=("Alpha CERT", "Beta CSIRT"))
    alpha, beta = c.members
    node = dl.Node(c, member_index=0)
    tmp = tempfile.mkdtemp(prefix="chatham-rerender-")
    st_pull, st_cli = os.path.join(tmp, "pull.state"), os.path.join(tmp, "cli.state")
    rcpt = beta.id.hex()
    d = dl.Daemon(node)
    try:
        d.start()
        r = d.call({"op": "publish", "reports": [
            {"value": "soc.rerender.example", "tlp": "GREEN", "tags": ["BetaSOC", "phishing"],
             "description": "first seen by BetaSOC at 09:00"},
            {"value": "hunt.rerender.example", "tlp": "GREEN",
             "description": "BetaHunters flagged it"},
            {"value": "plain.rerender.example", "tlp": "GREEN", "description": "nothing here"},
            {"value": "red.rerender.example", "tlp": "RED", "recipients": [rcpt]},
        ]})
        assert r["ok"] and r["accepted"] == 4, r
        wait_for(lambda: caught_up(d), "export caught up")
        first = puller(node, st_pull)
        first_cli = docs_of(cli_pull(node, st_cli))
        for docs in (first, first_cli):
            text = json.dumps(docs)
            assert "BetaSOC" in text and "BetaHunters" in text, text
            assert "red.rerender.example" not in text
        assert puller(node, st_pull) == [] and docs_of(cli_pull(node, st_cli)) == []
        st0 = export_status(d)["export"]

        # Epoch 2: alias BetaSOC, adopted at SIGHUP.
        beta.roster_entry = with_aliases(beta, ["BetaSOC"])
        dl.write_file(node.roster, c.roster_file(epoch=2))
        d.signal(signal.SIGHUP)
        wait_for(lambda: export_status(d)["roster"]["epoch"] == 2, "epoch 2")
        st1 = wait_for(lambda: (lambda s: s["export"]["rules_changes"] > st0["rules_changes"]
                                and caught_up(d) and s)(export_status(d)), "re-render")["export"]
        assert st1["corrected"] - st0["corrected"] == 1, (st0, st1)
        assert st1["rerendered"] - st0["rerendered"] == 1, (st0, st1)
        assert st1["resets"] == st0["resets"]
        for docs in (puller(node, st_pull), docs_of(cli_pull(node, st_cli))):
            assert [x["chatham"]["value"] for x in docs] == ["soc.rerender.example"], docs
            ch = docs[0]["chatham"]
            assert ch["description"] == "first seen by [member] at 09:00", ch
            assert ch["tags"] == ["phishing"], ch
            assert docs[0]["threat"]["indicator"]["description"] == ch["description"]
            assert ch["seq"] > max(x["chatham"]["seq"] for x in first), (ch, first)
        assert_nowhere(node, name("BetaSOC"))
        assert b"BetaHunters" in cli_pull(node, None)
        assert d.stop() == 0

        # Epoch 3 while the node is down: caught up at start.
        beta.roster_entry = with_aliases(beta, ["BetaSOC", "BetaHunters"])
        dl.write_file(node.roster, c.roster_file(epoch=3))
        d = dl.Daemon(node)
        d.start()
        st2 = wait_for(lambda: (lambda s: s["export"]["rules_changes"] == 1 and caught_up(d)
                                and s)(export_status(d)), "re-render at start")["export"]
        assert st2["corrected"] == 1 and st2["rerendered"] == 1, st2
        for docs in (puller(node, st_pull), docs_of(cli_pull(node, st_cli))):
            assert [x["chatham"]["value"] for x in docs] == ["hunt.rerender.example"], docs
            assert docs[0]["chatham"]["description"] == "[member] flagged it", docs
        assert_nowhere(node, leakoracle.patterns(beta))

        # Same rules at a SIGHUP: nothing to correct.
        d.signal(signal.SIGHUP)
        wait_for(lambda: export_status(d)["reload"]["count"] >= 1, "reload")
        wait_for(lambda: caught_up(d), "export caught up")
        assert export_status(d)["export"]["rules_changes"] == 1
        assert puller(node, st_pull) == []

        # export_red on: the export is rebuilt under a new env id, with the RED indicator.
        node.write_config("[policy]\nexport_red = true\n")
        d.signal(signal.SIGHUP)
        wait_for(lambda: export_status(d)["export"]["resets"] == 1 and caught_up(d),
                 "reset for export_red on")
        for docs in (puller(node, st_pull), docs_of(cli_pull(node, st_cli))):
            values = sorted(x["chatham"]["value"] for x in docs)
            assert values == ["hunt.rerender.example", "plain.rerender.example",
                              "red.rerender.example", "soc.rerender.example"], values
        # export_red off again: RED disappears from every pull.
        node.write_config("")
        d.signal(signal.SIGHUP)
        wait_for(lambda: export_status(d)["export"]["resets"] == 2 and caught_up(d),
                 "reset for export_red off")
        for docs in (puller(node, st_pull), docs_of(cli_pull(node, st_cli))):
            values = sorted(x["chatham"]["value"] for x in docs)
            assert values == ["hunt.rerender.example", "plain.rerender.example",
                              "soc.rerender.example"], values
        assert_nowhere(node, [("host", "RED indicator", "red.rerender.example")] +
                       leakoracle.patterns(beta))
        assert d.stop() == 0
    finally:
        d.kill()
        node.cleanup()


if __name__ == "__main__":
    dl.main([test_rerender])
