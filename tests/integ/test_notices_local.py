# SPDX-License-Identifier: MIT
"""Local notices: a member learns that its networks appear in shared intelligence. Three
members; member 2's constituency (in the signed roster) is 198.51.100.0/24 and victim.example.
A CLEAR/GREEN report of another member on a value in it raises one local notice per
indicator at member 2 only, with the aggregates (updated as a second member reports) and
never who reported; AMBER reports, values outside the constituency and member 2's own
reports raise none; a restart neither loses nor repeats one."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
from daemonlib import run_cli  # noqa: E402

DIRECTORY = {2: (None, {0: ["198.51.100.0/24"], 2: ["victim.example"]})}


def local(node):
    r = run_cli("notices", "--socket", node.socket, "--json")
    assert r.returncode == 0, r
    return [n for n in json.loads(r.stdout)["notices"] if n["kind"] == "local"]


def by_value(node):
    return {n["indicator"]["value"]: n for n in local(node)}


def publish(d, value, type_, tlp="GREEN", recipients=None):
    it = {"value": value, "type": type_, "tlp": tlp}
    if recipients:
        it["recipients"] = recipients
    r = d.call({"op": "publish", **it})
    assert r.get("ok"), r


def test_local_notices():
    c = ct.Cluster(3, degree=2, directory=DIRECTORY)
    ok = False
    try:
        c.start()
        ct.wait_links(c.daemons, 2)
        owner = c.nodes[2]
        ids = [c.member_id(i) for i in range(3)]
        names = [m.name for m in c.community.members]

        publish(c.daemons[0], "198.51.100.23", "ipv4")
        publish(c.daemons[0], "unrelated.example", "domain")
        ct.wait_for(lambda: "198.51.100.23" in by_value(owner),
                    what="a local notice at the constituency's owner")
        n = by_value(owner)["198.51.100.23"]
        ind = n["indicator"]
        assert ind["members"] == 1 and ind["tlp"] == "GREEN" and ind["state"] == "active", n
        assert n["direction"] == "in" and "from" not in n, n
        text = json.dumps(n)
        assert not any(i in text for i in ids) and not any(nm in text for nm in names), n
        ct.wait_for(lambda: ct.has_indicator(c.daemons[2], "unrelated.example"),
                    what="the unrelated report at the owner")

        # A second member's report updates the same notice.
        publish(c.daemons[1], "198.51.100.23", "ipv4")
        ct.wait_for(lambda: by_value(owner)["198.51.100.23"]["indicator"]["members"] == 2,
                    what="the local notice updated")
        assert by_value(owner)["198.51.100.23"]["id"] == n["id"]

        # None for AMBER, for the owner's own report, nor outside the constituency.
        publish(c.daemons[0], "198.51.100.24", "ipv4", tlp="AMBER", recipients=[ids[2]])
        publish(c.daemons[2], "198.51.100.25", "ipv4")
        ct.wait_for(lambda: ct.has_indicator(c.daemons[2], "198.51.100.24"),
                    what="the AMBER report at the owner")
        publish(c.daemons[1], "www.victim.example", "domain")
        ct.wait_for(lambda: "www.victim.example" in by_value(owner),
                    what="a local notice for a name under the constituency's domain")
        assert set(by_value(owner)) == {"198.51.100.23", "www.victim.example"}, by_value(owner)
        for i in (0, 1):
            assert local(c.nodes[i]) == [], i
        t = run_cli("notices", "--socket", owner.socket)
        assert t.returncode == 0 and "ipv4 198.51.100.23 is in this node's constituency" \
            in t.stdout and "2 member(s)" in t.stdout, t
        raised = ct.status(c.daemons[2])["notices"]["raised"]
        assert raised >= 3, raised

        # A restart neither loses nor repeats them.
        before = local(owner)
        c.stop(2)
        c.start([2])
        after = local(owner)
        assert [x["id"] for x in after] == [x["id"] for x in before]
        assert ct.status(c.daemons[2])["notices"]["raised"] == 0
        assert ct.status(c.daemons[2])["notices"]["stored"] == len(before)
        for i in range(3):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    ct.main([test_local_notices])
