# SPDX-License-Identifier: MIT
"""A compromised member key, retired from a given time, on five nodes.

Five nodes run; epoch 2 adds two members without nodes whose keys the test holds: "Laptop
CERT" (the victim: its key file is stolen) and "Relay CSIRT" (an honest member that passes
reports on). Before anything is known, the victim's key publishes report PRE (created
before the theft) over a link of its own; it spreads to every node.

Epoch 3, signed by the steward, retires the victim's member id from time T (a minute before
the test's "now") and names its successor (new keys, a new member). Every node adopts it;
the stolen key can no longer open a link (its transport key left the roster). The relay then
hands every node two more reports signed with the stolen key under epoch 2: LATE, created
after T, is refused on every node (admission reason "revoked"); OLD, created before T, is
kept on every node, and PRE stays."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
import daemonlib  # noqa: E402
import overlaylib  # noqa: E402
from test_hostile_member import PUSH, body_map, sign, signed  # noqa: E402


def now_ms():
    return int(time.time() * 1000)


def report(com, member, value, created, epoch):
    b = daemonlib.pack(body_map(com.id, member.id, value, created=created, epoch=epoch))
    return signed(b, sign(member.id_sk, b))


def revoked(d):
    return ct.status(d).get("gossip", {}).get("rejected", {}).get("revoked", 0)


class Link:
    """A member's link from the test to node @port."""

    def __init__(self, c, port, member, epoch):
        self.p = overlaylib.NoisePeer.connect(port, c.community, c.netkey, member.tx_sk)
        self.p.handshake()
        first = self.p.recv_link()
        assert first[0] == overlaylib.HELLO, first
        self.p.hello(member.id, epoch=epoch)

    def push(self, data):
        self.p.send_link([PUSH, data])

    def close(self):
        self.p.close()


def test_revoked_key():
    c = ct.Cluster(5, degree=3)
    ok = False
    try:
        c.start()
        ct.wait_links(c.daemons, 2)
        com = c.community
        addrs = {m.name: [f"127.0.0.1:{p}"] for m, p in zip(com.members, c.ports)}
        victim = daemonlib.Member("Laptop CERT")
        relay = daemonlib.Member("Relay CSIRT")
        successor = daemonlib.Member("Laptop CERT new keys")
        members2 = list(com.members) + [victim, relay]
        daemonlib.write_file(c.nodes[0].roster,
                             overlaylib.signed_roster(com, addrs, 2, members2))
        c.daemons[0].signal(signal.SIGHUP)
        ct.wait_for(lambda: all(ct.status(d)["roster"]["epoch"] == 2 for d in c.daemons),
                    timeout=30, what="epoch 2 on every node")

        t = now_ms() - 60000
        pre = "pre.laptop-feed.net"
        link = Link(c, c.ports[1], victim, 2)
        link.push(report(com, victim, pre, t - 60000, 2))
        ct.wait_for(lambda: all(ct.has_indicator(d, pre) for d in c.daemons), timeout=30,
                    what="PRE on every node")
        link.close()

        # Epoch 3 retires the victim from T; its successor joins.
        members3 = list(com.members) + [relay, successor]
        body3 = overlaylib.signed_roster(com, addrs, 3, members3)
        r3 = daemonlib.msgpack.unpackb(body3, raw=False, strict_map_key=False)
        body = daemonlib.msgpack.unpackb(r3[0], raw=False, strict_map_key=False)
        body[8] = [{0: victim.id, 1: t, 2: successor.id}]
        packed = daemonlib.pack(body)
        sig = daemonlib.sodium().ed25519_sign(com.steward_sk, b"chatham/roster/1" + packed)
        daemonlib.write_file(c.nodes[2].roster, daemonlib.pack([packed, [[0, sig]]]))
        c.daemons[2].signal(signal.SIGHUP)
        ct.wait_for(lambda: all(ct.status(d)["roster"]["epoch"] == 3 for d in c.daemons),
                    timeout=30, what="epoch 3 on every node")

        # The stolen key's transport key is no member's any more: no link.
        p = overlaylib.NoisePeer.connect(c.ports[3], com, c.netkey, victim.tx_sk)
        try:
            p.handshake()
            p.closed_by_peer()
        except (EOFError, ConnectionResetError, OSError):
            pass
        p.close()

        late, old = "late.laptop-feed.net", "old.laptop-feed.net"
        late_r = report(com, victim, late, t + 30000, 2)
        old_r = report(com, victim, old, t - 1000, 2)
        for i, d in enumerate(c.daemons):
            before = revoked(d)
            link = Link(c, c.ports[i], relay, 3)
            link.push(late_r)
            link.push(old_r)
            ct.wait_for(lambda: revoked(d) > before, timeout=20,
                        what=f"LATE refused as revoked by node {i}")
            ct.wait_for(lambda: ct.has_indicator(d, old), timeout=20,
                        what=f"OLD kept by node {i}")
            link.close()
        for d in c.daemons:
            assert not ct.has_indicator(d, late)
            assert ct.has_indicator(d, pre) and ct.has_indicator(d, old)
        for i in range(5):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    daemonlib.main([test_revoked_key])
