# SPDX-License-Identifier: MIT
"""Departure with "withdraw reports of departed members" on (five nodes, real daemons).

Member 3 publishes w3-only.example and, with member 0, shared.example, and anon3.example
anonymously; member 4 publishes w4-only.example; member 1 stay.example. A steward builds
epoch 2 with the CLI: `roster remove` member 3 with --withdraw-departed, then `roster revoke`
member 4 (a compromised key, no successor) in the same draft, and signs it. It goes to
node 0 by SIGHUP and spreads to nodes 1 and 2 (nodes 3 and 4 are stopped). On each of them:
the departed members' votes are gone (w3-only and w4-only are WITHDRAWN with their reports
still stored, shared keeps member 0's vote), the anonymous report and member 1's stay
active; status roster.withdrawn counts exactly 3 votes and 3 reports; the SIEM export
retires w3-only (ECS event.type deletion, STIX revoked) and the plain blocklist drops it.
Without the setting, test_departure.py shows the reports staying."""

import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
import daemonlib  # noqa: E402
from test_anon_cluster import counted, publish_anon  # noqa: E402


def export(node, fmt):
    p = daemonlib.run_cli("export", "--format", fmt, "--quiet", "--config", node.config)
    assert p.returncode == 0, p.stderr
    return p.stdout


def ecs_doc(node, value):
    docs = [json.loads(line) for line in export(node, "jsonl").splitlines() if line]
    mine = [x for x in docs if x["chatham"]["value"] == value]
    return mine[-1] if mine else None


def stix_indicator(node, value):
    bundle = json.loads(export(node, "stix21"))
    mine = [o for o in bundle["objects"] if o.get("type") == "indicator" and
            value in o.get("pattern", "")]
    return mine[-1] if mine else None


def withdrawn(d):
    return ct.status(d)["roster"]["withdrawn"]


def test_withdraw_departed():
    c = ct.Cluster(5, degree=3)
    ok = False
    try:
        c.start()
        ct.wait_links(c.daemons, 2)
        com = c.community
        ct.publish_batch(c.daemons[3], ["w3-only.example", "shared.example"])
        ct.publish_batch(c.daemons[0], ["shared.example"])
        ct.publish_batch(c.daemons[4], ["w4-only.example"])
        ct.publish_batch(c.daemons[1], ["stay.example"])
        publish_anon(c.daemons[3], "anon3.example", 60)
        want = [("w3-only.example", 1, 1), ("shared.example", 2, 2),
                ("w4-only.example", 1, 1), ("stay.example", 1, 1), ("anon3.example", 1, 1)]
        ct.wait_for(lambda: all(counted(d, v, m, n) for d in c.daemons for v, m, n in want),
                    timeout=90, what="every report counted on every node")
        ct.wait_for(lambda: all("w3-only.example" in ct.export_values(n) for n in c.nodes),
                    timeout=90, what="w3-only.example exported everywhere")
        assert not withdrawn(c.daemons[0])["setting"]

        n0 = c.nodes[0]
        skey = os.path.join(n0.root, "steward.key")
        daemonlib.write_file(skey, daemonlib.pack({0: "chatham-steward-key", 1: 1,
                                                   2: com.steward_sk}), 0o600)
        r2 = os.path.join(n0.root, "roster-2")
        r = daemonlib.run_cli("roster", "remove", "--roster", n0.roster, "--member-id",
                              c.member_id(3), "--withdraw-departed", "--out", r2)
        assert r.returncode == 0, r.stderr
        r = daemonlib.run_cli("roster", "revoke", "--roster", r2, "--member-id",
                              c.member_id(4), "--from", "now", "--out", r2)
        assert r.returncode == 0, r.stderr
        r = daemonlib.run_cli("roster", "sign", "--roster", r2, "--steward-key", skey,
                              "--previous", n0.roster)
        assert r.returncode == 0, r.stderr
        shown = json.loads(daemonlib.run_cli("roster", "show", "--roster", r2,
                                             "--json").stdout)
        assert shown["settings"]["withdraw_departed"] is True, shown["settings"]
        assert shown["epoch"] == 2 and len(shown["members"]) == 3, shown

        c.stop(3)
        c.stop(4)
        with open(r2, "rb") as f:
            signed = f.read()
        daemonlib.write_file(n0.roster, signed)
        c.daemons[0].signal(signal.SIGHUP)
        live = c.daemons[:3]
        ct.wait_for(lambda: all(withdrawn(d)["epoch"] == 2 for d in live), timeout=90,
                    what="the withdrawal done on nodes 0-2")
        for i, d in enumerate(live):
            w = withdrawn(d)
            assert w["setting"] and not w["running"], (i, w)
            assert (w["votes"], w["reports"], w["indicators"]) == (3, 3, 3), (i, w)
            assert counted(d, "w3-only.example", 0, 1, state="withdrawn"), i
            assert counted(d, "w4-only.example", 0, 1, state="withdrawn"), i
            assert counted(d, "shared.example", 1, 2), i
            assert counted(d, "anon3.example", 1, 1), i  # anonymous: stays
            assert counted(d, "stay.example", 1, 1), i
            assert "reports of 2 departed member id(s) withdrawn" in d.log(), i
            q = d.call({"op": "query", "value": "shared.example"})
            assert sorted(bool(x.get("withdrawn")) for x in q["reports"]) == [False, True], q

        for i in range(3):
            node = c.nodes[i]
            ct.wait_for(lambda: (ecs_doc(node, "w3-only.example") or {}).get(
                "chatham", {}).get("state") == "withdrawn", timeout=90,
                what=f"w3-only.example retired in node {i}'s export")
            doc = ecs_doc(node, "w3-only.example")
            assert doc["event"]["type"] == ["deletion"], doc
            assert ecs_doc(node, "shared.example")["chatham"]["state"] == "active"
            assert stix_indicator(node, "w3-only.example").get("revoked") is True
            assert stix_indicator(node, "anon3.example").get("revoked") is None
            plain = export(node, "plain").split()
            assert "w3-only.example" not in plain and "w4-only.example" not in plain, plain
            assert "shared.example" in plain and "anon3.example" in plain, plain
        for i in range(3):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    daemonlib.main([test_withdraw_departed])
