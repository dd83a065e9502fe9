# SPDX-License-Identifier: MIT
"""Received notices for the recipient's own tools: `chatham notices --format stix21|misp`.
Three members; member 0 sends member 1 an incident, a product and a web-site vulnerability
notice whose free text names member 2. The STIX 2.1 bundle validates against the OASIS
schemas (ajv, tests/data/stix21) and holds an incident, two vulnerabilities and a note per
notice, marked with the notice's TLP; the MISP rendering has one event per notice with the
form's fields as typed attributes. In both, member 2's name is redacted as in descriptions
([member]), while `chatham notices` (inside the node) shows the text as received; with
[policy] descriptions = drop the free text is gone. A tampered bundle fails the validator."""

import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
from cli_exportenv import StixValidator, check_stix_bundle  # noqa: E402
from daemonlib import run_cli  # noqa: E402
import leakoracle  # noqa: E402

NAMED = "Member 02 CSIRT"
FORMS = [
    {"form": "incident", "purpose": "information", "source": {"ip": ["198.51.100.7"],
                                                              "hostname": ["c2.evil.example"]},
     "what_happened": f"Beacon to c2.evil.example, first seen by {NAMED}.",
     "affected": {"host": "www.victim.example", "occurred_at": "2026-12-06T09:30:00+09:00"}},
    {"form": "vuln-product", "product": "ExampleCMS", "version": "4.2",
     "vuln_type": "sql-injection",
     "reproduction": f"POST /search with a quote; {NAMED} confirmed it."},
    {"form": "vuln-web", "url": "https://shop.victim.example/login",
     "vuln_type": "xss", "why_vulnerable": "The q parameter is echoed unescaped."},
]


def cli(node, *args):
    r = run_cli(*args, "--socket", node.socket)
    assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
    return r.stdout


def extra(i):
    return {1: "[policy]\nexport_red = true\n", 2: "[policy]\ndescriptions = drop\n"}.get(i, "")


def test_notices_export():
    v = StixValidator()
    c = ct.Cluster(3, degree=2, extra_config=extra)
    ok = False
    tmp = tempfile.mkdtemp(prefix="chatham-notices-export-")
    try:
        c.start()
        ct.wait_links(c.daemons, 2)
        rcpt = c.nodes[1]
        for i, form in enumerate(FORMS):
            path = os.path.join(tmp, f"f{i}.json")
            with open(path, "w") as f:
                json.dump(form, f)
            cli(c.nodes[0], "notify", "--form", form["form"], "--file", path,
                "--to", c.member_id(1)[:12], "--tlp", ["AMBER", "AMBER+STRICT", "RED"][i])
            # And the same to member 2, whose policy drops free text from renderings.
            cli(c.nodes[0], "notify", "--form", form["form"], "--file", path,
                "--to", c.member_id(2)[:12], "--tlp", "AMBER")
        for n in (rcpt, c.nodes[2]):
            ct.wait_for(lambda: len(json.loads(cli(n, "notices", "--json"))["notices"]) == 3,
                        what="three notices at the recipient")
        listed = json.loads(cli(rcpt, "notices", "--json"))["notices"]
        assert any(NAMED in json.dumps(n["form"]) for n in listed)  # verbatim inside the node

        stix = json.loads(cli(rcpt, "notices", "--format", "stix21"))
        check_stix_bundle(stix, c.community.name)
        kinds = sorted(o["type"] for o in stix["objects"])
        assert kinds == ["identity", "incident", "marking-definition", "marking-definition",
                         "marking-definition", "note", "note", "note", "vulnerability",
                         "vulnerability"], kinds
        text = json.dumps(stix)
        assert "[member]" in text, text
        # No member but the recipient itself, in any spelling (the leak oracle).
        leakoracle.assert_clean({"stix21": text}, leakoracle.others(c.community.members, 1))
        inc = next(o for o in stix["objects"] if o["type"] == "incident")
        assert inc["description"].startswith("Beacon to c2.evil.example"), inc
        names = {o["name"] for o in stix["objects"] if o["type"] == "vulnerability"}
        assert names == {"ExampleCMS 4.2", "https://shop.victim.example/login"}, names
        for o in stix["objects"]:
            if o["type"] == "note":
                assert o["object_refs"][0] in {x["id"] for x in stix["objects"]}, o
        path = os.path.join(tmp, "bundle.json")
        with open(path, "w") as f:
            json.dump(stix, f)
        good, out = v.validate(path)
        assert good, out
        # Renderings are stable: the same ids again.
        again = json.loads(cli(rcpt, "notices", "--format", "stix21"))
        assert again == stix
        # The validator can fail: a note without object_refs is not STIX.
        bad = json.loads(json.dumps(stix))
        next(o for o in bad["objects"] if o["type"] == "note").pop("object_refs")
        with open(path, "w") as f:
            json.dump(bad, f)
        good, out = v.validate(path)
        assert not good, out

        misp = json.loads(cli(rcpt, "notices", "--format", "misp"))["response"]
        assert len(misp) == 3
        tags = sorted(e["Event"]["Tag"][0]["name"] for e in misp)
        assert tags == ["tlp:amber", "tlp:amber+strict", "tlp:red"], tags
        inc = next(e["Event"] for e in misp if e["Event"]["Object"][0]["name"] == "incident")
        attrs = {(a["object_relation"], a["type"]): a["value"]
                 for a in inc["Object"][0]["Attribute"]}
        assert attrs[("source.ip", "ip-src")] == "198.51.100.7", attrs
        assert attrs[("source.hostname", "hostname")] == "c2.evil.example", attrs
        assert attrs[("affected.occurred_at", "datetime")] == "2026-12-06T09:30:00+09:00"
        assert inc["distribution"] == 0 and not inc["published"], inc
        assert "[member]" in json.dumps(misp)
        leakoracle.assert_clean({"misp": json.dumps(misp)},
                                leakoracle.others(c.community.members, 1))

        # Without export_red a RED notice is not rendered (member 2 gets one RED one more).
        cli(c.nodes[0], "notify", "--form", "incident", "--file", os.path.join(tmp, "f0.json"),
            "--to", c.member_id(2)[:12], "--tlp", "RED")
        ct.wait_for(lambda: len(json.loads(cli(c.nodes[2], "notices", "--json"))["notices"])
                    == 4, what="the RED notice at member 2")
        # descriptions = drop: no free text leaves; enums, addresses and names of things stay.
        dropped = json.loads(cli(c.nodes[2], "notices", "--format", "misp"))["response"]
        assert sorted(e["Event"]["Tag"][0]["name"] for e in dropped) == ["tlp:amber"] * 3
        rels = {a["object_relation"] for e in dropped for a in e["Event"]["Object"][0]["Attribute"]}
        assert "what_happened" not in rels and "reproduction" not in rels, rels
        assert {"purpose", "vuln_type", "source.ip", "url", "product"} <= rels, rels
        for i in range(3):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    ct.main([test_notices_export])
