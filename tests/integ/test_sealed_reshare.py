#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Re-sharing the sealed sightings' OPRF key among real daemons (docs/SEALED.md §1): five
nodes, k = 3, the key shared 2-of-3 among nodes 0, 1 and 2 (indices 1-3). The stewards
re-share it 2-of-3 to nodes 0, 1 and 3: node 2's steward is replaced by node 3's.

  - before: members 3 and 4 seal a value (k - 1 = 2, held everywhere, opened nowhere);
  - old holders 1 and 2 deal piece files (`community reshare-oprf deal`), a steward
    publishes the new keys in the epoch 2 draft (`publish`), each new holder writes its new
    share file (`accept`); a piece a dealer falsified is refused, naming its dealer, and
    nothing is written;
  - the signed roster spreads from node 0; every node switches to generation 1's keys, the
    new holders answer, node 2's old share is superseded and no longer announced or used;
  - after: member 1 seals the value, which opens on every node with 3 members (the OPRF
    key did not change, so the group is the same), and node 2 seals a new value.
Nothing is slept on: every step polls the nodes' status or query answers."""

import ctypes
import os
import signal
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import msgpack  # noqa: E402

import chathamtest as ct  # noqa: E402
import daemonlib as dl  # noqa: E402
from test_sealed import (K, T, deal, opened, seal, sealed,  # noqa: E402
                         share_file)

QUOTA, WINDOW = 100, 30
VALUE = "198.18.8.8"
AFTER = "after.reshare.example"


def community_file(c, vks, vk):
    return dl.pack({0: "chatham-community", 1: 1, 2: c.id, 3: c.name, 4: [c.steward_pk], 5: 1,
                    6: {0: K, 1: T, 2: QUOTA, 3: WINDOW, 4: vk, 5: vks}})


def cli_ok(*args):
    p = dl.run_cli(*args)
    assert p.returncode == 0, (args, p.stdout, p.stderr)
    return p.stdout


def share_path(node):
    return os.path.join(node.root, "oprf-share.key")


def read_share(node):
    st = os.stat(share_path(node))
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    with open(share_path(node), "rb") as f:
        return msgpack.unpackb(f.read(), raw=False, strict_map_key=False)


def forge(piece_path, out_path, tx_pk):
    """The piece file with another scalar sealed in its place (a cheating dealer)."""
    lib = dl.sodium().lib
    with open(piece_path, "rb") as f:
        p = msgpack.unpackb(f.read(), raw=False, strict_map_key=False)
    s = ctypes.create_string_buffer(32)
    lib.crypto_core_ristretto255_scalar_random(s)
    box = ctypes.create_string_buffer(80)
    assert lib.crypto_box_seal(box, s.raw, ctypes.c_ulonglong(32), tx_pk) == 0
    p[11] = box.raw
    dl.write_file(out_path, dl.pack(p))


def test_reshare():
    c = ct.Cluster(5, degree=4)
    shares, vks, vk = deal(T, 3)
    for i, n in enumerate(c.nodes):
        dl.write_file(n.community_path, community_file(c.community, vks, vk))
        if i <= 2:
            dl.write_file(share_path(n), share_file(c.community, i + 1, shares[i]), 0o600)
        if i <= 3:  # node 3 names a share file it does not hold yet
            text = open(n.config).read().replace(
                "[node]\n", f"[node]\noprf_share_file = {share_path(n)}\n", 1)
            n.write_config(text=text)
    ok = False
    try:
        c.start()
        ct.wait_links(c.daemons, 4)
        ct.wait_for(lambda: all(sealed(d)["holders_linked"] >= (2 if i <= 2 else 3)
                                for i, d in enumerate(c.daemons)), timeout=60,
                    what="every node linked to the share holders")
        assert [sealed(d)["holder_index"] for d in c.daemons] == [1, 2, 3, None, None]
        assert all(sealed(d)["oprf_generation"] == 0 for d in c.daemons)

        # Before: k - 1 members.
        seal(c.daemons[3], VALUE)
        seal(c.daemons[4], VALUE)
        ct.wait_for(lambda: all(sealed(d)["held"] == 2 for d in c.daemons), timeout=30,
                    what="both submissions on every node")
        assert all(opened(d, VALUE) is None for d in c.daemons)

        # Old holders 1 and 2 deal to nodes 0, 1 and 3.
        n0 = c.nodes[0]
        work = os.path.join(n0.root, "reshare")
        to = [a for i in (0, 1, 3) for a in ("--to", c.member_id(i))]
        for i in (0, 1):
            out = cli_ok("community", "reshare-oprf", "deal", "--community", n0.community_path,
                         "--roster", n0.roster, "--share", share_path(c.nodes[i]),
                         "--old-set", "1,2", *to, "--out-dir", work)
            assert f"old holder {i + 1} dealt generation 1 pieces to 3" in out, out
        pieces = sorted(os.listdir(work))
        assert pieces == [f"oprf-piece-{i}-{j}.bin" for i in (1, 2) for j in (1, 2, 3)]
        piece = {(i, j): os.path.join(work, f"oprf-piece-{i}-{j}.bin")
                 for i in (1, 2) for j in (1, 2, 3)}
        draft = os.path.join(n0.root, "roster-2.draft")
        out = cli_ok("community", "reshare-oprf", "publish", "--community", n0.community_path,
                     "--roster", n0.roster, "--out", draft, *piece.values())
        assert "generation 1, 2 of 3 holders" in out, out
        out = cli_ok("roster", "show", "--roster", draft)
        assert "OPRF key holders (sealed sightings): generation 1, 2 of 3" in out, out

        # A falsified piece for node 3 is refused with its dealer named; nothing written.
        bad = os.path.join(n0.root, "forged-2-3.bin")
        forge(piece[(2, 3)], bad, c.community.members[3].tx_pk)
        n3 = c.nodes[3]
        p = dl.run_cli("community", "reshare-oprf", "accept", "--community",
                       n3.community_path, "--roster", draft, "--key", n3.key, "--out",
                       share_path(n3), piece[(1, 3)], bad)
        assert p.returncode == 65, (p.returncode, p.stderr)
        assert "old holder 2" in p.stderr and "does not match" in p.stderr, p.stderr
        assert not os.path.exists(share_path(n3))
        # A piece for another holder is not this member's.
        p = dl.run_cli("community", "reshare-oprf", "accept", "--community",
                       n3.community_path, "--roster", draft, "--key", n3.key, "--out",
                       share_path(n3), piece[(1, 1)], piece[(2, 1)])
        assert p.returncode != 0 and "another new holder" in p.stderr, p.stderr

        # Each new holder accepts its pieces.
        for node_i, j in ((0, 1), (1, 2), (3, 3)):
            n = c.nodes[node_i]
            args = ["community", "reshare-oprf", "accept", "--community", n.community_path,
                    "--roster", draft, "--key", n.key, "--out", share_path(n),
                    piece[(1, j)], piece[(2, j)]]
            if node_i != 3:
                args.append("--force")
            out = cli_ok(*args)
            assert f"OPRF share {j} of generation 1" in out, out
            f = read_share(n)
            assert f[3] == j and f[5] == 1, f
            assert f[4] != shares[node_i] if node_i < 3 else True

        # The steward signs; node 0 adopts the roster and it spreads.
        skey = os.path.join(n0.root, "steward.key")
        dl.write_file(skey, dl.pack({0: "chatham-steward-key", 1: 1,
                                     2: c.community.steward_sk}), 0o600)
        cli_ok("roster", "sign", "--roster", draft, "--steward-key", skey, "--previous",
               n0.roster)
        with open(draft, "rb") as f:
            dl.write_file(n0.roster, f.read())
        c.daemons[0].signal(signal.SIGHUP)
        ct.wait_for(lambda: all(sealed(d)["oprf_generation"] == 1 for d in c.daemons),
                    timeout=60, what="every node on OPRF key generation 1")
        assert [sealed(d)["holder_index"] for d in c.daemons] == [1, 2, None, 3, None]
        assert all(sealed(d)["oprf_threshold"] == 2 for d in c.daemons)
        assert "superseded by generation 1" in c.daemons[2].log()
        ct.wait_for(lambda: all(sealed(d)["holders_linked"] >= (1 if i in (0, 1, 3) else 2)
                                for i, d in enumerate(c.daemons)), timeout=60,
                    what="every node linked to generation 1's holders")
        # Node 2's old share is not announced: only nodes 0, 1 and 3 count as holders.
        for i in (0, 1, 3):
            assert sealed(c.daemons[i])["holders_linked"] == 2, i
        for i in (2, 4):
            assert sealed(c.daemons[i])["holders_linked"] == 3, i

        # After: the k-th member seals the same value, and it opens everywhere.
        seal(c.daemons[1], VALUE)
        ct.wait_for(lambda: all((opened(d, VALUE) or {}).get("members") == K
                                for d in c.daemons), timeout=30,
                    what="the value opened on every node with 3 members")
        # The replaced steward's node is a member like any other and seals with the new
        # holders; no answer failed its proof on any node.
        seal(c.daemons[2], AFTER)
        ct.wait_for(lambda: all(sealed(d)["held"] == 4 for d in c.daemons), timeout=30,
                    what="the new value on every node")
        for i, d in enumerate(c.daemons):
            cnt = sealed(d)["counters"]
            assert cnt["wrong_evaluations_caught"] == 0 and cnt["refused"] == 0, (i, cnt)

        # Node 2 restarts with its old share: it starts, as a member that holds no share.
        c.stop(2)
        c.start([2])
        ct.wait_for(lambda: sealed(c.daemons[2])["oprf_generation"] == 1, timeout=30,
                    what="node 2 back on generation 1")
        assert sealed(c.daemons[2])["holder_index"] is None
        assert "superseded by generation 1" in c.daemons[2].log()
        for i in range(5):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    ct.main([test_reshare])
