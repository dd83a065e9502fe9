# SPDX-License-Identifier: MIT
"""A member that replaces its keys still gets what was waiting for it, and still delivers
what it signed before (three nodes).

While member 2's node is down, member 1 publishes 3 AMBER reports for member 2 and sends it a
notice (they wait in node 1's outboxes), then node 1 goes down and node 2 comes back. Member 1's node is down while node 0 publishes 6 AMBER reports for members 1 and 2 and sends
member 1 a notice: member 2 gets the reports at once, the copies and the notice for member 1
wait in node 0's outboxes. Member 1 rotates its keys (`keygen --rotate`, `roster rotate`,
epoch 2 retires the old id with the new one as successor). When node 0 adopts epoch 2 it
drops nothing (status roster.outbox_dropped and notices.departed_dropped stay 0): every
waiting entry is addressed to the successor instead. Node 1 restarts with its new keys and
receives all 6 reports (each names the OLD id as recipient; the successor is accepted for
it) and the notice (re-signed by node 0 for the new id, same notice id); node 0's outboxes
empty. Node 1's status reply reaches node 0's thread. Node 1, now under its new id, delivers
the 3 reports its old id signed to member 2 (it is their origin; node 2 accepts them from
the old id's successor), and the notice its old id signed, whose status reply comes back
to the new id. A member that merely left (not rotated) still has its copies
dropped: test_departure.py."""

import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
import daemonlib  # noqa: E402

FORM = {"form": "incident", "purpose": "information", "what_happened": "rotated recipient",
        "affected": {"host": "192.0.2.1", "occurred_at": "2026-12-06T09:30:00Z"}}


def cli_json(node, *args):
    r = daemonlib.run_cli(*args, "--socket", node.socket, "--json")
    assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
    return json.loads(r.stdout)


def notices(node):
    return cli_json(node, "notices")["notices"]


def test_rotation_delivery():
    c = ct.Cluster(3, degree=2)
    ok = False
    try:
        c.start()
        ct.wait_links(c.daemons, 2)
        com = c.community
        n0, n1 = c.nodes[0], c.nodes[1]
        own = [f"o{i}.rotated-origin.net" for i in range(3)]
        c.stop(2)
        ct.publish_batch(c.daemons[1], own, tlp="AMBER", recipients=[c.member_id(2)])
        ct.wait_for(lambda: ct.status(c.daemons[1])["store"]["outbox"] == 3, timeout=60,
                    what="3 copies for member 2 waiting in node 1's outbox")
        sent1 = c.daemons[1].call({"op": "notify", "form": FORM, "tlp": "AMBER",
                                   "to": c.member_id(2)})
        assert sent1["ok"], sent1
        ct.wait_for(lambda: ct.status(c.daemons[1])["notices"]["outbox"] == 1,
                    what="member 1's notice for member 2 waiting")
        c.stop(1)
        c.start([2])
        ct.wait_links([c.daemons[2]], 1)

        amber = [f"r{i}.rotated-recipient.net" for i in range(6)]
        ct.publish_batch(c.daemons[0], amber, tlp="AMBER",
                         recipients=[c.member_id(1), c.member_id(2)])
        ct.wait_for(lambda: all(ct.has_indicator(c.daemons[2], v) for v in amber),
                    timeout=60, what="the AMBER reports at member 2")
        ct.wait_for(lambda: ct.status(c.daemons[0])["store"]["outbox"] == 6, timeout=60,
                    what="6 copies for member 1 waiting in node 0's outbox")
        sent = c.daemons[0].call({"op": "notify", "form": FORM, "tlp": "AMBER",
                                  "to": c.member_id(1)})
        assert sent["ok"], sent
        nid = sent["notice"]
        ct.wait_for(lambda: ct.status(c.daemons[0])["notices"]["outbox"] == 1,
                    what="the notice for member 1 waiting")

        # Member 1 rotates its keys; a steward signs epoch 2.
        new_key = os.path.join(n1.root, "member-2.key")
        r = daemonlib.run_cli("keygen", "--rotate", n1.key, "--community", n1.community_path,
                              "--out", new_key)
        assert r.returncode == 0, r.stderr
        skey = os.path.join(n0.root, "steward.key")
        daemonlib.write_file(skey, daemonlib.pack({0: "chatham-steward-key", 1: 1,
                                                   2: com.steward_sk}), 0o600)
        r2 = os.path.join(n0.root, "roster-2")
        r = daemonlib.run_cli("roster", "rotate", "--roster", n0.roster, "--statement",
                              new_key + ".rotation", "--out", r2)
        assert r.returncode == 0, r.stderr
        r = daemonlib.run_cli("roster", "sign", "--roster", r2, "--steward-key", skey,
                              "--previous", n0.roster)
        assert r.returncode == 0, r.stderr
        shown = json.loads(daemonlib.run_cli("roster", "show", "--roster", r2,
                                             "--json").stdout)
        new_id = shown["retired"][0]["successor"]
        assert shown["retired"][0]["member_id"] == c.member_id(1)

        with open(r2, "rb") as f:
            signed = f.read()
        daemonlib.write_file(n0.roster, signed)
        c.daemons[0].signal(signal.SIGHUP)
        ct.wait_for(lambda: all(ct.status(c.daemons[i])["roster"]["epoch"] == 2
                                for i in (0, 2)), timeout=60, what="epoch 2 on nodes 0, 2")
        ct.wait_for(lambda: "now addressed to the successors" in c.daemons[0].log(),
                    timeout=60, what="node 0 re-addressed the waiting copies")
        s0 = ct.status(c.daemons[0])
        assert s0["roster"]["outbox_dropped"] == 0, s0["roster"]
        assert s0["notices"]["departed_dropped"] == 0, s0["notices"]
        assert s0["store"]["outbox"] == 6, s0["store"]
        ct.wait_for(lambda: ct.status(c.daemons[0])["notices"]["readdressed"] == 1,
                    timeout=60, what="the notice re-issued to the successor")
        assert ct.status(c.daemons[0])["notices"]["outbox"] == 1

        # Node 1 comes back with its new keys and gets everything.
        daemonlib.write_file(n1.roster, signed)
        with open(n1.config) as f:
            text = f.read()
        n1.write_config(text=text.replace(f"key_file = {n1.key}\n",
                                          f"key_file = {new_key}\n", 1))
        c.start([1])
        assert ct.status(c.daemons[1])["member"]["id"] == new_id
        ct.wait_for(lambda: all(ct.has_indicator(c.daemons[1], v) for v in amber),
                    timeout=90, what="the 6 AMBER reports at the rotated member")
        ct.wait_for(lambda: any(n["id"] == nid for n in notices(n1)), timeout=90,
                    what="the notice at the rotated member")
        got = next(n for n in notices(n1) if n["id"] == nid)
        assert got["direction"] == "in" and got["from"]["member_id"] == c.member_id(0), got
        assert got["form"] == FORM, got
        ct.wait_for(lambda: ct.status(c.daemons[0])["store"]["outbox"] == 0, timeout=90,
                    what="node 0's report outbox empty")
        ct.wait_for(lambda: ct.status(c.daemons[0])["notices"]["outbox"] == 0, timeout=90,
                    what="node 0's notice outbox empty")
        assert ct.status(c.daemons[1])["notices"]["refused"] == 0

        # What the old id signed still reaches member 2, from the successor.
        ct.wait_for(lambda: all(ct.has_indicator(c.daemons[2], v) for v in own), timeout=90,
                    what="member 1's pre-rotation AMBER reports at member 2")
        ct.wait_for(lambda: ct.status(c.daemons[1])["store"]["outbox"] == 0, timeout=90,
                    what="node 1's report outbox empty")
        # So does the notice the old id signed; member 2's reply reaches node 1's thread.
        n2 = c.nodes[2]
        ct.wait_for(lambda: any(n["id"] == sent1["notice"] for n in notices(n2)), timeout=90,
                    what="member 1's pre-rotation notice at member 2")
        ct.wait_for(lambda: ct.status(c.daemons[1])["notices"]["outbox"] == 0, timeout=90,
                    what="node 1's notice outbox empty")
        assert ct.status(c.daemons[2])["notices"]["refused"] == 0
        rep2 = cli_json(n2, "notices", "reply", sent1["notice"][:12], "--status", "received")
        assert rep2["to"]["member_id"] == new_id, rep2
        ct.wait_for(lambda: any(n["kind"] == "status" and n["thread"] == sent1["notice"]
                                for n in notices(n1)), timeout=90,
                    what="member 2's status at the rotated member")

        # The successor's status reply is accepted into node 0's thread.
        rep = cli_json(n1, "notices", "reply", nid[:12], "--status", "investigating")
        assert rep["to"]["member_id"] == c.member_id(0), rep
        ct.wait_for(lambda: any(n["kind"] == "status" and n["thread"] == nid
                                for n in notices(n0)), timeout=90,
                    what="the successor's status at node 0")
        assert ct.status(c.daemons[0])["notices"]["refused"] == 0
        for i in range(3):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    daemonlib.main([test_rotation_delivery])
