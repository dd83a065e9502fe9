# SPDX-License-Identifier: MIT
"""Backup while publishing, the disk dies, restore on a fresh machine directory (five nodes).

Five nodes run. Node 0 publishes batch A; it reaches everyone. While node 1 publishes batch B
in a thread, `chatham backup --keys` copies node 2's store (the node keeps running): the
backup holds A and some prefix of B, consistently. Nodes 0 and 1 then publish batch C.
Node 2's SIEM has pulled its export (chatham-siem-pull with a state file) up to then.

Node 2 is killed: its machine is gone. A fresh directory gets only the configuration, the
community and roster files (no keys, no state, no export); `chatham restore --keys` puts the
backed-up store and keys in place (files 0600) and the node starts. It catches up from its
peers: it ends with exactly A, B and C, received as catch-up copies, and it re-announces none
of the reports it restored (no gossip pushes, nothing forwarded). Its export environment is
rebuilt with a new env id; the SIEM's puller, given its old state file, says so, starts from
the first document, and then holds every indicator exactly once.

Also: restore refuses while the node runs, refuses to replace an existing store without
--force, and backup refuses to overwrite a backup."""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
import daemonlib  # noqa: E402
import overlaylib  # noqa: E402

PULLER = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                       "deploy", "siem", "chatham-siem-pull"))


def values(prefix, n):
    return [f"{prefix}{i:04d}.backup-test.net" for i in range(n)]


def pull(node, state):
    p = subprocess.run(["/usr/bin/python3", PULLER, "--export-dir", node.export,
                        "--state", state], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    docs = [json.loads(line) for line in p.stdout.splitlines()]
    return [d["chatham"]["value"] for d in docs], p.stderr


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_backup_restore():
    c = ct.Cluster(5, degree=3)
    ok = False
    backup = tempfile.mkdtemp(prefix="chatham-backup-")
    siem = tempfile.mkdtemp(prefix="chatham-siem-")
    fresh = None
    try:
        c.start()
        ct.wait_links(c.daemons, 2)
        a, b, cc = values("a", 200), values("b", 400), values("c", 200)
        for i in range(0, len(a), 50):
            ct.publish_batch(c.daemons[0], a[i:i + 50])
        ct.wait_for(lambda: ct.has_indicator(c.daemons[2], a[-1]), timeout=60,
                    what="A on node 2")

        def publish_b():
            for i in range(0, len(b), 20):
                ct.publish_batch(c.daemons[1], b[i:i + 20])

        # A notice for node 2, so the backup holds its notice store too.
        form = {"form": "incident", "purpose": "information", "what_happened": "restore me",
                "affected": {"host": "192.0.2.1", "occurred_at": "2026-12-06T09:30:00Z"}}
        r = c.daemons[0].call({"op": "notify", "form": form, "tlp": "AMBER",
                               "to": c.member_id(2)})
        assert r["ok"], r
        ct.wait_for(lambda: ct.status(c.daemons[2])["notices"]["stored"] == 1,
                    what="the notice at node 2")

        t = threading.Thread(target=publish_b)
        t.start()
        out = os.path.join(backup, "node2")
        p = daemonlib.run_cli("backup", "--config", c.nodes[2].config, "--out", out, "--keys")
        t.join(120)
        assert p.returncode == 0, p.stderr
        assert mode(out) == 0o700
        for f in ("data.mdb", "notices.mdb", "member.key", "network.key"):
            assert mode(os.path.join(out, f)) == 0o600, f
        p = daemonlib.run_cli("backup", "--config", c.nodes[2].config, "--out", out)
        assert p.returncode == 1 and "a backup is there already" in p.stderr, p.stderr

        for i in range(0, len(cc), 50):
            ct.publish_batch(c.daemons[i // 50 % 2], cc[i:i + 50])
        everything = set(a) | set(b) | set(cc)
        ct.wait_for(lambda: set(ct.export_values(c.nodes[2])) >= everything, timeout=90,
                    what="A, B and C in node 2's export")
        state = os.path.join(siem, "pull.state")
        pulled, _ = pull(c.nodes[2], state)
        assert set(pulled) == everything and len(pulled) == len(everything)

        # Restore refuses while the node runs.
        p = daemonlib.run_cli("restore", "--config", c.nodes[2].config, "--from", out,
                              "--force")
        assert p.returncode == 1 and "stop the node first" in p.stderr, p.stderr

        # The machine dies. A fresh directory with configuration, community and roster only.
        c.daemons[2].kill()
        old = c.nodes[2]
        fresh = overlaylib.overlay_node(c.community, 2, c.netkey, c.ports[2],
                                        {m.name: [f"127.0.0.1:{port}"] for m, port in
                                         zip(c.community.members, c.ports)},
                                        f"degree = 3\n{ct.OVERLAY_FAST}")
        os.unlink(fresh.key)
        os.unlink(fresh.netkey)
        p = daemonlib.run_cli("restore", "--config", fresh.config, "--from", out, "--keys")
        assert p.returncode == 0, p.stderr
        assert open(fresh.key, "rb").read() == open(old.key, "rb").read()
        assert mode(fresh.key) == 0o600 and mode(fresh.netkey) == 0o600
        assert mode(os.path.join(fresh.state, "data.mdb")) == 0o600
        p = daemonlib.run_cli("restore", "--config", fresh.config, "--from", out)
        assert p.returncode == 1 and "--force" in p.stderr, p.stderr

        c.nodes[2] = fresh
        c.daemons[2] = daemonlib.Daemon(fresh)
        c.daemons[2].start()
        d = c.daemons[2]
        got = d.call({"op": "notices"})["notices"]
        assert [n["form"]["what_happened"] for n in got] == ["restore me"], got
        restored = ct.reports(d)
        assert len(a) <= restored < len(a) + len(b) + len(cc), restored
        ct.wait_for(lambda: ct.reports(d) == len(everything), timeout=120,
                    what="node 2 caught up with A, B and C")
        g = ct.gossip(d)
        assert g["catchup_received"] > 0, g
        assert g["push_sent"] == 0 and g["forwarded"] == 0 and g["published"] == 0, g

        # The export is rebuilt (new env id); the SIEM notices and reads it once.
        ct.wait_for(lambda: set(ct.export_values(fresh)) >= everything, timeout=90,
                    what="the rebuilt export")
        pulled, err = pull(fresh, state)
        assert "rebuilt" in err, err
        assert sorted(pulled) == sorted(everything), (len(pulled), len(everything))
        for i in range(5):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)
        if fresh is not None:
            old.cleanup()
        shutil.rmtree(backup, ignore_errors=True)
        shutil.rmtree(siem, ignore_errors=True)


if __name__ == "__main__":
    daemonlib.main([test_backup_restore])
