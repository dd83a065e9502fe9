# SPDX-License-Identifier: MIT
"""The notices a node received, as an incremental feed of its SIEM export.

Three real daemons; member 0 notifies member 1 (no export_red) three times: AMBER, then
AMBER+STRICT and RED, and once more through member 2 as coordinator. `chatham export --feed notices` on member 1's export directory
(read-only, the node need not be asked): the first incremental pull (--state) holds the
first notice, the second pull exactly the second one, the third nothing, the fourth the
relayed one (which the coordinator's feed does not hold); the RED notice never appears; the pulls add up to the full pull, document for document. The full pull as
STIX 2.1 validates against the OASIS schemas (ajv, tests/data/stix21) and names no member
(the form's free text is redacted like descriptions); as MISP it holds three events.
"""

import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
from cli_exportenv import StixValidator, check_stix_bundle  # noqa: E402
from daemonlib import run_cli  # noqa: E402
import leakoracle  # noqa: E402
from test_notices_export import FORMS, cli  # noqa: E402


def pull(node, fmt, *args):
    r = run_cli("export", "--feed", "notices", "--format", fmt, "--export-dir", node.export,
                "--quiet", *args)
    assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
    return r.stdout


def lines(text):
    return [json.loads(x) for x in text.splitlines() if x.strip()]


def received(node):
    return [n for n in json.loads(cli(node, "notices", "--json"))["notices"]
            if n["direction"] == "in"]


def test_notices_feed():
    v = StixValidator()
    c = ct.Cluster(3, degree=2)  # member 2 exists so that the forms can name it
    ok = False
    tmp = tempfile.mkdtemp(prefix="chatham-notices-feed-")
    try:
        c.start()
        ct.wait_links(c.daemons, 2, timeout=60)
        a, b = c.nodes[0], c.nodes[1]
        state = os.path.join(tmp, "notices.state")
        paths = []
        for i, form in enumerate(FORMS):
            paths.append(os.path.join(tmp, f"f{i}.json"))
            with open(paths[-1], "w") as f:
                json.dump(form, f)

        def notify(i, tlp):
            out = cli(a, "notify", "--form", FORMS[i]["form"], "--file", paths[i],
                      "--to", c.member_id(1)[:12], "--tlp", tlp, "--json")
            return json.loads(out)["notice"]

        # The feed is written in the job that stores a notice, before it is listed.
        n1 = notify(0, "AMBER")
        ct.wait_for(lambda: len(received(b)) == 1, timeout=60, what="the first notice")
        p1 = lines(pull(b, "jsonl", "--state", state))
        assert [d["id"] for d in p1] == [n1], p1
        assert p1[0]["tlp"] == "AMBER" and p1[0]["form"]["form"] == "incident", p1
        assert "[member]" in json.dumps(p1), p1
        # No member but b itself, in any spelling (the leak oracle, leakoracle.py).
        leakoracle.assert_clean({"feed": json.dumps(p1)},
                                leakoracle.others(c.community.members, 1))

        n2 = notify(1, "AMBER+STRICT")
        n3 = notify(2, "RED")
        ct.wait_for(lambda: len(received(b)) == 3, timeout=60, what="three notices")
        p2 = lines(pull(b, "jsonl", "--state", state))
        assert [d["id"] for d in p2] == [n2], p2
        assert lines(pull(b, "jsonl", "--state", state)) == []

        # Relayed by a coordinator (member 2): in the recipient's feed, not the coordinator's.
        out = cli(a, "notify", "--form", "incident", "--file", paths[0], "--to",
                  c.member_id(1)[:12], "--via", c.member_id(2)[:12], "--tlp", "AMBER",
                  "--json")
        n4 = json.loads(out)["notice"]
        ct.wait_for(lambda: len(received(b)) == 4, timeout=60, what="the relayed notice")
        p3 = lines(pull(b, "jsonl", "--state", state))
        assert len(p3) == 1 and p3[0]["id"] not in (n1, n2, n3, n4), p3
        assert p3[0]["form"] == p1[0]["form"], p3
        assert lines(pull(c.nodes[2], "jsonl")) == []
        full = lines(pull(b, "jsonl"))
        assert full == p1 + p2 + p3, (full, p1, p2, p3)
        assert n3 not in json.dumps(full)

        bundle = os.path.join(tmp, "notices.stix.json")
        pull(b, "stix21", "--out", bundle)
        with open(bundle) as f:
            stix = json.load(f)
        check_stix_bundle(stix, c.community.name)
        kinds = sorted(o["type"] for o in stix["objects"])
        assert kinds == ["identity", "incident", "incident", "marking-definition",
                         "marking-definition", "note", "note", "note", "vulnerability"], kinds
        leakoracle.assert_clean({"stix21": json.dumps(stix)},
                                leakoracle.others(c.community.members, 1))
        good, out = v.validate(bundle)
        assert good, out
        misp = json.loads(pull(b, "misp"))["response"]
        assert sorted(e["Event"]["Tag"][0]["name"] for e in misp) == ["tlp:amber", "tlp:amber",
                                                                      "tlp:amber+strict"]
        # Nothing at the notifier: it received none.
        assert lines(pull(a, "jsonl")) == []
        for i in range(3):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    ct.main([test_notices_feed])
