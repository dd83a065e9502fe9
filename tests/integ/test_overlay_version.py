# SPDX-License-Identifier: MIT
"""HELLO version negotiation (proto/link.h, compatibility rule) against a real node, with an
independent Noise peer (python3-dissononce, overlaylib.NoisePeer) playing nodes of other
releases:
  - a version-1 node (HELLO without key 3, as every release so far sends it) links; the
    link's version is 1;
  - a newer node that speaks 1-2 (HELLO version 2, oldest 1) links at version 1;
  - a node that speaks only 2-3 is refused: the node closes the link before it is up,
    counts it under closed.version in `peers`, and logs both ranges;
and the node's own HELLO is still the three-key map of version 1 (it speaks only 1).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import overlaylib as ol  # noqa: E402
from daemonlib import Community, Daemon  # noqa: E402


def setup():
    community = Community(members=("Alpha CERT", "Python Peer"))
    netkey = os.urandom(32)
    port = ol.free_port()
    node = ol.overlay_node(community, 0, netkey, port, {"Alpha CERT": [f"127.0.0.1:{port}"]},
                           ol.OVERLAY_FAST, "[policy]\nshow_attribution = true\n")
    return community, netkey, node


def session(node, community, netkey, peer, hello_body):
    p = ol.NoisePeer.connect(node.port, community, netkey, peer.tx_sk)
    p.handshake()
    theirs = p.recv_link()
    assert theirs[0] == ol.HELLO and sorted(theirs[1]) == [0, 1, 2], theirs
    assert theirs[1][0] == 1, theirs
    p.send_link([ol.HELLO, hello_body])
    return p


def test_versions():
    community, netkey, node = setup()
    _, peer = community.members
    with Daemon(node) as d:
        d.start()
        for body, want in (({0: 1, 1: peer.id, 2: 1}, 1),
                           ({0: 2, 1: peer.id, 2: 1, 3: 1}, 1)):
            p = session(node, community, netkey, peer, body)
            p.recv_until(lambda m: m[0] == ol.PING)  # the node went up and pings
            link = ol.wait_for(lambda: ol.links_up(d), what="the link up")[0]
            assert link["version"] == want, link
            p.close()
            ol.wait_for(lambda: not ol.links_up(d), what="the link down")

        p = session(node, community, netkey, peer, {0: 3, 1: peer.id, 2: 1, 3: 2})
        assert p.closed_by_peer() == 0, "the node sent something after a version refusal"
        ol.wait_for(lambda: ol.closed_count(d, "version") == 1, what="closed.version")
        assert not ol.links_up(d)
        d.wait_log('refused: the peer speaks link protocol versions 2-3, this node 1-1')
        assert d.stop() == 0


if __name__ == "__main__":
    from daemonlib import main
    main([test_versions])
