# SPDX-License-Identifier: MIT
"""Interop of a chatham node's overlay with an independent Noise implementation.

Debian's python3-dissononce runs Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b over a real TCP socket
against a `chatham run` daemon, once as initiator (it dials the node) and once as responder
(the node dials the roster address of the Python member). In both directions the first
transport messages decrypt on both sides (the node's HELLO names the node's member id and
roster epoch; the node accepts the Python HELLO and goes up), a PING gets its PONG with the
same nonce both ways, and the node's `peers` shows the link with its RTT. Member identities
appear in `peers` and `chatham peers` only with [policy] show_attribution = true.
"""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import daemonlib  # noqa: E402
import leakoracle  # noqa: E402
import overlaylib as ol  # noqa: E402
from daemonlib import Community, Daemon  # noqa: E402


def setup(listen_peer, attribution=False):
    community = Community(members=("Alpha CERT", "Python Peer"))
    netkey = os.urandom(32)
    port, peer_port = ol.free_port(), ol.free_port()
    addrs = {"Alpha CERT": [f"127.0.0.1:{port}"]}
    if listen_peer:
        addrs["Python Peer"] = [f"127.0.0.1:{peer_port}"]
    extra = "[policy]\nshow_attribution = true\n" if attribution else ""
    node = ol.overlay_node(community, 0, netkey, port, addrs, ol.OVERLAY_FAST, extra)
    return community, netkey, node, peer_port


def check_session(p, community, peer, alpha):
    """The first transport messages decrypt both ways; PING/PONG both ways."""
    hello = p.recv_link()
    assert hello[0] == ol.HELLO, hello
    assert hello[1][0] == 1, hello               # version
    assert hello[1][1] == alpha.id, "HELLO carries the node's member id"
    assert hello[1][2] == 1, "HELLO carries the node's roster epoch"
    p.hello(peer.id)
    nonce = int.from_bytes(os.urandom(8), "big")
    p.send_link([ol.PING, nonce])
    pong = p.recv_until(lambda m: m[0] == ol.PONG)
    assert pong == [ol.PONG, nonce], pong
    # The node pings on its own once the link is up; answer it (recv_until does).
    p.recv_until(lambda m: m[0] == ol.PING)


def check_peers(d, direction, attribution, peer_name):
    link = ol.wait_for(lambda: [x for x in ol.links_up(d) if x["rtt_ms"] is not None],
                       what="an up link with an RTT")[0]
    assert link["direction"] == direction, link
    assert link["bytes_in"] > 0 and link["bytes_out"] > 0, link
    assert link["rtt_ms"] >= 0, link
    assert "uptime_s" in link
    r = ol.peers(d)
    assert r["summary"]["links_up"] == 1, r
    cli = daemonlib.run_cli("peers", "--config", d.node.config)
    assert cli.returncode == 0, cli.stderr
    if attribution:
        assert link["member"]["name"] == peer_name, link
        assert link["address"].startswith("127.0.0.1:"), link
        assert peer_name in cli.stdout, cli.stdout
    else:
        assert "member" not in link and "address" not in link, link
        assert "127.0.0.1" not in cli.stdout, cli.stdout
        # The peer's name in no spelling (the leak oracle, leakoracle.py).
        leakoracle.assert_clean({"api peers": str(r), "cli peers": cli.stdout},
                                leakoracle.literal("name", peer_name))
        assert "up" in cli.stdout, cli.stdout


def test_dissononce_initiator():
    community, netkey, node, _ = setup(listen_peer=False)
    alpha, peer = community.members
    try:
        with Daemon(node) as d:
            d.start()
            p = ol.NoisePeer.connect(node.port, community, netkey, peer.tx_sk)
            try:
                assert p.handshake() == alpha.tx_pk, "responder static is the node's key"
                check_session(p, community, peer, alpha)
                check_peers(d, "inbound", False, "Python Peer")
            finally:
                p.close()
            # Member names stay out of info logs, in any spelling.
            leakoracle.assert_clean({"log": d.log()}, leakoracle.literal("name", "Python Peer"))
    finally:
        node.cleanup()


def test_dissononce_responder():
    community, netkey, node, peer_port = setup(listen_peer=True, attribution=True)
    alpha, peer = community.members
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", peer_port))
    ls.listen(4)
    ls.settimeout(30)
    try:
        with Daemon(node) as d:
            d.start()
            conn, _ = ls.accept()  # the node dials the roster address of "Python Peer"
            p = ol.NoisePeer(conn, community, netkey, peer.tx_sk, initiator=False)
            try:
                assert p.handshake() == alpha.tx_pk, "initiator static is the node's key"
                check_session(p, community, peer, alpha)
                check_peers(d, "outbound", True, "Python Peer")
            finally:
                p.close()
    finally:
        ls.close()
        node.cleanup()


if __name__ == "__main__":
    daemonlib.main([test_dissononce_initiator, test_dissononce_responder])
