# SPDX-License-Identifier: MIT
"""Network key rotation on five nodes, with a departed member trying to connect.

Member 4 leaves: the epoch 2 draft lists members 0-3 only. `chatham community
rotate-network-key` seals a new network key to each of them (an overlap of OVERLAP_S for the
old key), `chatham roster sign` signs it, and node 0 adopts it from its roster file; it
spreads to nodes 1-3. Each of them rewrites its network key file (0600) with the new key and
the old one until the overlap ends, and `status` names both.

During the overlap a connection under the old key still passes message 1 (the node answers
with message 2), and node 3 restarts and links again. After the overlap the node answers
message 1 under the old key with nothing (the departed member, who holds it, cannot complete
message 1), under the new one as before; every key file drops the old key; node 2 restarts
after the overlap and links under the new key. Nothing ever carried the new key in clear:
the roster file holds it only sealed."""

import json
import os
import signal
import socket
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import msgpack  # noqa: E402

import chathamtest as ct  # noqa: E402
import daemonlib  # noqa: E402
import overlaylib  # noqa: E402

OVERLAP_S = 20


def key_file(node):
    st = os.stat(node.netkey)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    with open(node.netkey, "rb") as f:
        return msgpack.unpackb(f.read(), raw=False, strict_map_key=False)


def answers_message1(port, com, key, tx_sk):
    """True when the node at @port answers a message 1 under @key with message 2."""
    p = overlaylib.NoisePeer.connect(port, com, key, tx_sk)
    try:
        p.sock.settimeout(5)
        p._write()
        p._read()
        return True
    except (EOFError, ConnectionResetError, socket.timeout):
        return False
    finally:
        p.close()


def netkey(d):
    return ct.status(d)["network_key"]


def test_rotation():
    c = ct.Cluster(5, degree=3)
    ok = False
    try:
        c.start()
        ct.wait_links(c.daemons, 2)
        com = c.community
        old = c.netkey
        gone = com.members[4]
        stay = com.members[:4]
        old_id = netkey(c.daemons[0])["id"]
        assert all(netkey(d)["id"] == old_id for d in c.daemons)
        assert "previous" not in netkey(c.daemons[0])

        work = c.nodes[0].root
        draft = os.path.join(work, "roster-2.draft")
        skey = os.path.join(work, "steward.key")
        addrs = {m.name: [f"127.0.0.1:{p}"] for m, p in zip(com.members, c.ports)}
        daemonlib.write_file(draft, overlaylib.signed_roster(com, addrs, 2, members=stay,
                                                             signers=[]))
        daemonlib.write_file(skey, daemonlib.pack({0: "chatham-steward-key", 1: 1,
                                                   2: com.steward_sk}), 0o600)
        r = daemonlib.run_cli("community", "rotate-network-key", "--roster", draft,
                              "--overlap", f"{OVERLAP_S}s", "--json")
        assert r.returncode == 0, r.stderr
        until_ms = json.loads(r.stdout)["old_key_until_ms"]
        r = daemonlib.run_cli("roster", "sign", "--roster", draft, "--steward-key", skey,
                              "--previous", c.nodes[0].roster)
        assert r.returncode == 0, r.stderr
        with open(draft, "rb") as f:
            signed = f.read()
        assert old not in signed

        start = time.time()
        daemonlib.write_file(c.nodes[0].roster, signed)
        c.daemons[0].signal(signal.SIGHUP)
        ct.wait_for(lambda: all("previous" in netkey(d) for d in c.daemons[:4]), timeout=20,
                    what="the new network key on nodes 0-3")
        new_id = netkey(c.daemons[0])["id"]
        assert new_id != old_id
        files = [key_file(n) for n in c.nodes[:4]]
        new = files[0][2]
        assert new != old
        for d, f in zip(c.daemons[:4], files):
            nk = netkey(d)
            assert nk["id"] == new_id and nk["epoch"] == 2, nk
            assert nk["previous"]["id"] == old_id and nk["previous"]["until_ms"] == until_ms
            assert f[2] == new and f[3] == 2 and f[4] == old and f[5] == until_ms, f
        # The departed member never gets it: its node keeps the old key and epoch 1.
        assert key_file(c.nodes[4])[2] == old
        assert ct.status(c.daemons[4])["roster"]["epoch"] == 1

        # Within the overlap: the old key passes message 1, and a member relinks.
        assert answers_message1(c.ports[1], com, old, gone.tx_sk)
        assert answers_message1(c.ports[1], com, new, gone.tx_sk)
        c.stop(3)
        c.start([3])
        ct.wait_links([c.daemons[3]], 2)
        assert time.time() * 1000 < until_ms, "the overlap ended before the checks within it"

        # After the overlap: only the new key.
        ct.wait_for(lambda: time.time() * 1000 >= until_ms + 100, timeout=OVERLAP_S + 5,
                    interval=0.2, what="the end of the overlap")
        for i in range(4):
            assert not answers_message1(c.ports[i], com, old, gone.tx_sk), \
                (i, netkey(c.daemons[i]), key_file(c.nodes[i]), time.time() * 1000, until_ms)
            assert answers_message1(c.ports[i], com, new, gone.tx_sk), i
        ct.wait_for(lambda: all(4 not in key_file(n) for n in c.nodes[:4]), timeout=20,
                    what="the old key dropped from every key file")
        for n, d in zip(c.nodes[:4], c.daemons[:4]):
            f = key_file(n)
            assert f[2] == new and 5 not in f, f
            assert "previous" not in netkey(d)
        c.stop(2)
        c.start([2])
        ct.wait_links([c.daemons[2]], 2)
        assert time.time() - start > OVERLAP_S
        for i in range(5):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    daemonlib.main([test_rotation])
