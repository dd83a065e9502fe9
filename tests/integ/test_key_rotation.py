# SPDX-License-Identifier: MIT
"""A member replaces its keys and its history continues, on four nodes.

Members 0 and 1 publish rot.example (two votes) and member 0 publishes only.example. Member
0 runs `chatham keygen --rotate` (new keys and a statement signed by the old and the new
identity key); a steward accepts it with `chatham roster rotate` and signs epoch 2 (the old
id retired with the new one as successor), which goes to node 1 and spreads. Node 0
restarts with the new key and epoch 2. On every node the old id's votes now count for the new id:
rot.example still has two members, and when the new id publishes it again it stays at two
(not three); only.example keeps one. The new id's revoke withdraws the member's vote
everywhere, including the one it cast under its old id; the old reports stay in the store."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
import daemonlib  # noqa: E402
from test_anon_cluster import counted  # noqa: E402


def epoch(d):
    return ct.status(d)["roster"]["epoch"]


def test_member_key_rotation():
    c = ct.Cluster(4, degree=3)
    ok = False
    try:
        c.start()
        ct.wait_links(c.daemons, 2)
        com = c.community
        ct.publish_batch(c.daemons[0], ["rot.example", "only.example"])
        ct.publish_batch(c.daemons[1], ["rot.example"])
        ct.wait_for(lambda: all(counted(d, "rot.example", 2, 2) and
                                counted(d, "only.example", 1, 1) for d in c.daemons),
                    timeout=30, what="two votes on rot.example everywhere")

        n0 = c.nodes[0]
        new_key = os.path.join(n0.root, "member-2.key")
        r = daemonlib.run_cli("keygen", "--rotate", n0.key, "--community", n0.community_path,
                              "--out", new_key)
        assert r.returncode == 0, r.stderr
        statement = new_key + ".rotation"
        assert os.path.exists(statement)
        assert oct(os.stat(new_key).st_mode & 0o777) == "0o600"
        skey = os.path.join(n0.root, "steward.key")
        daemonlib.write_file(skey, daemonlib.pack({0: "chatham-steward-key", 1: 1,
                                                   2: com.steward_sk}), 0o600)
        r2 = os.path.join(n0.root, "roster-2")
        r = daemonlib.run_cli("roster", "rotate", "--roster", n0.roster, "--statement",
                              statement, "--out", r2)
        assert r.returncode == 0, r.stderr
        r = daemonlib.run_cli("roster", "sign", "--roster", r2, "--steward-key", skey,
                              "--previous", n0.roster)
        assert r.returncode == 0, r.stderr
        r = daemonlib.run_cli("roster", "show", "--roster", r2, "--json")
        assert r.returncode == 0, r.stderr
        shown = daemonlib.json.loads(r.stdout)
        old_id = com.members[0].id.hex()
        assert old_id not in [m["member_id"] for m in shown["members"]]
        retired = shown["retired"]
        assert len(retired) == 1 and retired[0]["member_id"] == old_id, retired
        new_id = retired[0]["successor"]

        # Epoch 2 goes out through node 1 and spreads; then node 0 restarts with its new
        # keys (its old transport key is no member of epoch 2, so it cannot carry it).
        with open(r2, "rb") as f:
            signed = f.read()
        daemonlib.write_file(c.nodes[1].roster, signed)
        c.daemons[1].signal(signal.SIGHUP)
        ct.wait_for(lambda: all(epoch(d) == 2 for d in c.daemons[1:]), timeout=30,
                    what="epoch 2 on nodes 1-3")
        c.stop(0)
        daemonlib.write_file(n0.roster, signed)
        with open(n0.config) as f:
            text = f.read()
        n0.write_config(text=text.replace(f"key_file = {n0.key}\n",
                                          f"key_file = {new_key}\n", 1))
        c.start([0])
        assert ct.status(c.daemons[0])["member"]["id"] == new_id
        assert epoch(c.daemons[0]) == 2
        ct.wait_links([c.daemons[0]], 2)
        ct.wait_for(lambda: all("now count for their successors" in d.log()
                                for d in c.daemons), timeout=30,
                    what="the old id's votes moved on every node")
        assert all(counted(d, "rot.example", 2, 2) for d in c.daemons)

        # The new id votes again on rot.example: still two members, not three.
        ct.publish_batch(c.daemons[0], ["rot.example"])
        ct.wait_for(lambda: all(counted(d, "rot.example", 2, 3) for d in c.daemons),
                    timeout=30, what="the new id's report on every node")
        assert all(counted(d, "only.example", 1, 1) for d in c.daemons)

        # Its revoke withdraws the member's vote, the one cast under the old id included.
        rv = c.daemons[0].call({"op": "revoke", "value": "only.example", "type": "domain",
                                "tlp": "GREEN"})
        assert rv.get("ok"), rv
        ct.wait_for(lambda: all(counted(d, "only.example", 0, 2, state="withdrawn")
                                for d in c.daemons),
                    timeout=30, what="only.example withdrawn by the new id everywhere")
        for i in range(4):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    daemonlib.main([test_member_key_rotation])
