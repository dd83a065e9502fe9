# SPDX-License-Identifier: MIT
"""Shared helpers for multi-node integration tests (test_gossip_*.py) and the overlay bench.

Builds on daemonlib (community, member keys, one node's files, the API client, Daemon) and
overlaylib (network key, roster with addresses, [overlay] section): a Cluster is N members of
one community, each a real `chatham run` on 127.0.0.1 with its own temp dir and an ephemeral
port, all linked by the overlay. Everything is synchronised by polling the API (status,
query) with a deadline; nothing sleeps as synchronisation.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import daemonlib  # noqa: E402
import overlaylib  # noqa: E402
from daemonlib import Community, Daemon  # noqa: E402

wait_for = overlaylib.wait_for

# Fast overlay timers so that tests notice dead links and redial within a second or two.
OVERLAY_FAST = overlaylib.OVERLAY_FAST


def member_names(n, prefix="Member"):
    return tuple(f"{prefix} {i:02d} CSIRT" for i in range(n))


class Cluster:
    """@n members of one community, one node each; @dial(i) -> member indices whose address
    node i's roster lists (who node i may dial; default: everyone). Rosters differ only in
    the addresses they list, which is how a test chooses the overlay's shape.
    @extra_config: config text appended to every node's file, or a function of the node
    index returning it. @directory: {member index: (poc map, constituency map)} put in the
    roster entries (proto/poc.h wire form; either may be None). @overlay: the [overlay]
    timing lines instead of OVERLAY_FAST (whose 3 s dead_after_ms a loaded machine can
    outlast)."""

    def __init__(self, n, degree=3, gossip="", dial=None, extra_config="", prefix="Member",
                 directory=None, overlay=OVERLAY_FAST):
        self.community = Community(members=member_names(n, prefix))
        for i, (poc, cons) in (directory or {}).items():
            self.community.members[i].poc = poc
            self.community.members[i].constituency = cons
        self.netkey = os.urandom(32)
        self.ports = [overlaylib.free_port() for _ in range(n)]
        names = [m.name for m in self.community.members]
        self.nodes = []
        for i in range(n):
            targets = range(n) if dial is None else dial(i)
            addrs = {names[j]: [f"127.0.0.1:{self.ports[j]}"] for j in targets}
            overlay_extra = f"degree = {degree}\n{overlay}"
            extra = extra_config(i) if callable(extra_config) else extra_config
            extra += f"[gossip]\n{gossip}" if gossip else ""
            self.nodes.append(overlaylib.overlay_node(self.community, i, self.netkey,
                                                      self.ports[i], addrs, overlay_extra,
                                                      extra_config=extra))
        self.daemons = [Daemon(node) for node in self.nodes]

    def start(self, which=None):
        for i in (range(len(self.nodes)) if which is None else which):
            if self.daemons[i].proc is None or self.daemons[i].proc.poll() is not None:
                self.daemons[i] = Daemon(self.nodes[i])
                self.daemons[i].start()
        return self

    def stop(self, i):
        """Clean stop (SIGTERM); asserts exit code 0."""
        d = self.daemons[i]
        code = d.stop()
        assert code == 0, f"node {i} exited with {code}:\n{d.log()}"

    def kill_all(self):
        for d in self.daemons:
            d.kill()

    def cleanup(self, failed=False):
        self.kill_all()
        if failed:
            for i, d in enumerate(self.daemons):
                print(f"--- log of node {i} ({self.nodes[i].root}):\n{d.log()[-6000:]}---",
                      flush=True)
        for n in self.nodes:
            n.cleanup()

    def member_id(self, i):
        return self.community.members[i].id.hex()

    def running(self):
        return [i for i, d in enumerate(self.daemons)
                if d.proc is not None and d.proc.poll() is None]


def status(d):
    r = d.call({"op": "status"})
    assert r.get("ok"), r
    return r


def gossip(d):
    return status(d).get("gossip", {})


def reports(d):
    return status(d)["store"]["reports"]


def links_up(d):
    return status(d).get("overlay", {}).get("links_up", 0)


def has_indicator(d, value):
    q = d.call({"op": "query", "value": value})
    assert q.get("ok"), q
    return q["found"]


def wait_links(daemons, n_min=1, timeout=30):
    wait_for(lambda: all(links_up(d) >= n_min for d in daemons), timeout=timeout,
             what=f"at least {n_min} link(s) up on every node")


def publish_batch(d, values, tlp="GREEN", recipients=None, type_="domain"):
    """Publishes one batch; returns the response (asserted ok and all accepted)."""
    items = []
    for v in values:
        it = {"value": v, "tlp": tlp, "type": type_}
        if recipients:
            it["recipients"] = recipients
        items.append(it)
    r = d.call({"op": "publish", "reports": items})
    assert r.get("ok") and r["accepted"] == len(values), r
    return r


def export_values(node):
    """Indicator values of every document in the node's SIEM export environment."""
    import json
    import lmdb
    if not os.path.exists(os.path.join(node.export, "data.mdb")):
        return set()
    env = lmdb.open(node.export, readonly=True, max_dbs=4, lock=True)
    try:
        db = env.open_db(b"feed", create=False)
        with env.begin(db=db) as t:
            return {json.loads(v)["chatham"]["value"] for _, v in t.cursor()}
    finally:
        env.close()


def store_has_value(node_root_state, value):
    """Whether the raw LMDB store (main environment) contains @value anywhere in a report:
    read with python3-lmdb from outside the daemon, so it also catches copies the API would
    not show."""
    import lmdb
    env = lmdb.open(node_root_state, readonly=True, max_dbs=16, lock=True)
    try:
        db = env.open_db(b"reports", create=False)
        needle = value.encode()
        with env.begin(db=db) as t:
            return any(needle in v for _, v in t.cursor())
    finally:
        env.close()


main = daemonlib.main
