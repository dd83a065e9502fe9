# SPDX-License-Identifier: MIT
"""Rosters and hostile members.

test_colluding_partials: colluding members that start rosters in parts and never finish
them must not keep an honest roster sent in parts from being adopted.

A roster too large for one link message travels as ROSTER_PART messages (proto/link.h); a
node holds every link's partial roster (up to 1 MiB each) and at most 4 MiB over all links
(NODE_DISSEM_PARTS_BYTES_MAX). Before this test, past that pool the NEWCOMER's parts were
dropped, so four members that each sent all but the last part of a 1 MiB "roster" (16 of
17 parts of 65,503 bytes: 4,192,192 bytes together) blocked every roster in parts from the
node for as long as their links stayed up: a roster change (new member, key rotation,
revocation) never reached it. Now the partial that started longest ago is dropped instead
(proto/parts.h proto_parts_trim()), and partials older than two minutes expire.

Node A (the daemon under test) runs alone. Four Python peers with real members' keys
(test_hostile_member.Hostile) each hold 16 of 17 parts; then a fifth member sends a valid
roster of epoch 2 (600 more members, over 64 KiB: two parts). A must adopt epoch 2, count
exactly one partial evicted (status gossip.roster.parts_evicted) and none expired, keep
every link, and ignore the rest of the evicted roster without charging its sender.

test_roster_chain_charged: the rosters a link up asks for are charged as catch-up work.

test_held_copies_charged: completing a roster is what renews a member's partial (its start
time), and a copy of a roster the node holds was taken without charge, so a member could
renew its partial for free as often as it liked. An honest peer sends each epoch at most once
a link, in ascending order; now a copy of an epoch at or below the newest its link brought is
charged like a refused roster (status gossip.roster.copies_charged,
gossip.abuse_charges.reject), and repeated copies close the link as abuse like any flood.
"""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import daemonlib as dl  # noqa: E402
import overlaylib as ol  # noqa: E402
import test_hostile_member as hm  # noqa: E402

ROSTER, ROSTER_PART = 12, 14  # link message types (proto/link.h)
PART_MAX = 65503  # PROTO_LINK_PART_MAX (65,519 - 16)
STALLED = 16      # parts each colluder sends, of 17


def roster_parts(env):
    members = list(env.community.members) + [dl.Member(f"Team {i:03d} CSIRT")
                                             for i in range(600)]
    big = ol.roster_file(env.community, {"Alpha CERT": [f"127.0.0.1:{env.port_a}"]},
                         epoch=2, members=members)
    assert PART_MAX < len(big) <= 2 * PART_MAX, len(big)
    return [big[i:i + PART_MAX] for i in range(0, len(big), PART_MAX)], len(members)


def test_colluding_partials():
    env = hm.AloneEnv("", members=("Alpha CERT", "Hostile One", "Hostile Two",
                                   "Hostile Three", "Hostile Four", "Courier CSIRT"))
    colluders, courier = env.community.members[1:5], env.community.members[5]
    parts, n_members = roster_parts(env)
    links = []
    with env:
        for m in colluders:
            h = hm.Hostile(env, m)
            links.append(h)
            for i in range(STALLED):
                h.send([ROSTER_PART, i, STALLED + 1, os.urandom(PART_MAX)])
            h.sync()
        h = hm.Hostile(env, courier)
        links.append(h)
        ol.wait_for(lambda: len(ol.links_up(env.a)) == 5, what="five links up")
        roster = env.status()["gossip"]["roster"]
        assert roster["parts_evicted"] == 0 and roster["parts_expired"] == 0, roster
        for i, p in enumerate(parts):
            h.send([ROSTER_PART, i, len(parts), p])
        h.sync()
        ol.wait_for(lambda: env.status()["roster"]["epoch"] == 2, timeout=60,
                    what="the roster sent in parts adopted")
        st = env.status()
        assert st["roster"]["members"] == n_members, st["roster"]
        assert st["gossip"]["roster"]["parts_evicted"] == 1, st["gossip"]["roster"]
        assert st["gossip"]["roster"]["parts_expired"] == 0, st["gossip"]["roster"]
        # The first colluder's partial went (it started first); its last part is ignored,
        # not charged as a part out of order.
        links[0].send([ROSTER_PART, STALLED, STALLED + 1, os.urandom(100)])
        links[0].sync()
        st = env.status()
        assert sum(x["rejected"] for x in st["gossip"]["links"]) == 0, st["gossip"]["links"]
        assert len(ol.links_up(env.a)) == 5
        assert st["gossip"]["links_closed_abusive"] == 0, st["gossip"]
        for h in links:
            h.close()
        assert env.a.stop() == 0


def test_roster_chain_charged():
    """A peer whose HELLO names an older epoch is sent every epoch after it (up to 32, each up
    to 1 MiB) on each link up: at its own asking, for the price of a handshake. Before, that
    cost nothing against the member's budget however often it reconnected; now each chain is
    charged as catch-up work, one key per 16 roster bytes (status gossip.recon.work), and
    the rest below a pass at link down (gossip.abuse_charges.scan)."""
    with hm.AloneEnv("") as env:
        addrs = {"Alpha CERT": [f"127.0.0.1:{env.port_a}"]}
        sizes = []
        for epoch in (2, 3):
            members = list(env.community.members) + [dl.Member(f"Team {epoch}-{i:03d} CSIRT")
                                                     for i in range(300)]
            r = ol.roster_file(env.community, addrs, epoch=epoch, members=members)
            sizes.append(len(r))
            dl.write_file(env.node_a.roster, r)
            env.a.signal(signal.SIGHUP)
            ol.wait_for(lambda: env.status()["roster"]["epoch"] == epoch, timeout=60,
                        what=f"epoch {epoch} adopted")
        per_link = sum(sizes) // 16
        g0 = env.status()["gossip"]
        for i in range(3):
            h = hm.Hostile(env)  # its HELLO names epoch 1
            try:
                ol.wait_for(lambda: env.status()["gossip"]["roster"]["sent"] ==
                            g0["roster"]["sent"] + 2 * (i + 1), timeout=60,
                            what="epochs 2 and 3 sent")
            finally:
                h.close()
            ol.wait_for(lambda: not ol.links_up(env.a), what="the link down")
        g = env.status()["gossip"]
        assert g["roster"]["sent"] - g0["roster"]["sent"] == 6, g["roster"]
        assert g["recon"]["work"] - g0["recon"]["work"] == 3 * per_link, \
            (g["recon"]["work"] - g0["recon"]["work"], per_link)
        assert g["abuse_charges"]["scan"] - g0["abuse_charges"]["scan"] == 3, g
        print(f"    3 links up behind 2 epochs ({sum(sizes)} bytes): "
              f"{3 * per_link} keys of work, 3 passes charged", flush=True)
        assert env.a.stop() == 0


def adopt_big_epoch(env, epoch, n_more):
    """A adopts roster @epoch with @n_more extra members (by SIGHUP); its bytes."""
    addrs = {"Alpha CERT": [f"127.0.0.1:{env.port_a}"]}
    members = list(env.community.members) + [dl.Member(f"Team {epoch}-{i:03d} CSIRT")
                                             for i in range(n_more)]
    r = ol.roster_file(env.community, addrs, epoch=epoch, members=members)
    dl.write_file(env.node_a.roster, r)
    env.a.signal(signal.SIGHUP)
    ol.wait_for(lambda: env.status()["roster"]["epoch"] == epoch, timeout=60,
                what=f"epoch {epoch} adopted")
    return r


def send_parts(h, roster):
    parts = [roster[i:i + PART_MAX] for i in range(0, len(roster), PART_MAX)]
    for i, p in enumerate(parts):
        h.send([ROSTER_PART, i, len(parts), p])


def test_held_copies_charged():
    with hm.AloneEnv("") as env:
        with open(env.node_a.roster, "rb") as f:
            epoch1 = f.read()
        epoch2 = adopt_big_epoch(env, 2, 600)
        assert len(epoch2) > PART_MAX

        def counts():
            g = env.status()["gossip"]
            return (g["roster"]["copies"], g["roster"]["copies_charged"],
                    g["abuse_charges"]["reject"])

        # Honest: each epoch once a link, ascending, also again on a new link.
        gamma = env.community.members[2]
        for _ in range(2):
            h = hm.Hostile(env, gamma)
            c0 = counts()
            h.send([ROSTER, epoch1])
            send_parts(h, epoch2)
            h.sync()
            assert counts() == (c0[0] + 2, c0[1], c0[2]), (c0, counts())
            h.close()
            ol.wait_for(lambda: not ol.links_up(env.a), what="the link down")
        # Hostile: the same epoch again on one link, in parts or whole, is charged.
        h = hm.Hostile(env)
        c0 = counts()
        send_parts(h, epoch2)
        h.sync()
        assert counts() == (c0[0] + 1, c0[1], c0[2]), (c0, counts())
        send_parts(h, epoch2)
        h.send([ROSTER, epoch1])
        h.sync()
        assert counts() == (c0[0] + 3, c0[1] + 2, c0[2] + 2), (c0, counts())
        # Past the budget of 200 refusals a minute the link closes as abuse (enough copies
        # for a second window, should the first end during the flood on a slow machine).
        assert env.closed("abuse") == 0
        for _ in range(450):
            try:
                h.send([ROSTER, epoch1])
            except OSError:
                break
        ol.wait_for(lambda: env.closed("abuse") == 1, timeout=60,
                    what="the link closed for abuse")
        c = counts()
        assert c[1] - c0[1] >= 201 and c[1] - c[2] == c0[1] - c0[2], (c0, c)
        assert env.status()["gossip"]["links_closed_abusive"] == 1
        print(f"    {c[1] - c0[1]} copies of held rosters charged, then closed as abuse; "
              f"honest copies (once a link) free", flush=True)
        h.close()
        assert env.a.stop() == 0


if __name__ == "__main__":
    dl.main([test_colluding_partials, test_roster_chain_charged, test_held_copies_charged])
