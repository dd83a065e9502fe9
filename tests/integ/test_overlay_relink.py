# SPDX-License-Identifier: MIT
"""Three real `chatham run` daemons on 127.0.0.1 form a full mesh of overlay links (one
link per member pair), survive one of them being killed (SIGKILL) and restarted, and
re-link; a roster update without a member closes the links to it.
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import daemonlib  # noqa: E402
import overlaylib as ol  # noqa: E402
from daemonlib import Community, Daemon  # noqa: E402

NAMES = ("Alpha CERT", "Beta CSIRT", "Gamma SOC")


def up_count(d):
    return len(ol.links_up(d))


def wait_mesh(daemons, n, timeout=30):
    ol.wait_for(lambda: all(up_count(d) == n and ol.peers(d)["summary"]["wanted_up"] == n
                            for d in daemons),
                timeout=timeout, what=f"{n} links up on every node")


def test_three_daemons_relink():
    community = Community(members=NAMES)
    netkey = os.urandom(32)
    ports = [ol.free_port() for _ in NAMES]
    addrs = {name: [f"127.0.0.1:{p}"] for name, p in zip(NAMES, ports)}
    nodes = [ol.overlay_node(community, i, netkey, ports[i], addrs, ol.OVERLAY_FAST)
             for i in range(3)]
    daemons = [Daemon(n) for n in nodes]
    try:
        for d in daemons:
            d.start()
        wait_mesh(daemons, 2)
        # One link per pair: stays at exactly two for a while (no duplicate churn).
        t_end = time.monotonic() + 1.5
        while time.monotonic() < t_end:
            for d in daemons:
                assert up_count(d) == 2, ol.peers(d)
            time.sleep(0.1)

        # Kill Gamma hard: the others notice (EOF) and keep retrying with backoff.
        daemons[2].proc.send_signal(signal.SIGKILL)
        daemons[2].proc.wait()
        daemons[2].kill()
        ol.wait_for(lambda: all(up_count(d) == 1 for d in daemons[:2]), timeout=15,
                    what="the survivors drop their link to the killed node")
        ol.wait_for(lambda: all(ol.peers(d)["summary"]["dials"] > 0 for d in daemons[:2]),
                    what="redial attempts")

        # Restart it on the same state: everyone re-links.
        daemons[2] = Daemon(nodes[2])
        daemons[2].start()
        wait_mesh(daemons, 2)

        # Roster epoch 2 without Gamma, adopted by Alpha and Beta at SIGHUP: links to
        # Gamma close ("roster") and Gamma is refused as a non-member from then on.
        r2 = ol.roster_file(community, addrs, epoch=2, members=community.members[:2])
        for n, d in zip(nodes[:2], daemons[:2]):
            daemonlib.write_file(n.roster, r2)
            d.signal(signal.SIGHUP)
        ol.wait_for(lambda: all(ol.peers(d)["summary"]["roster_epoch"] == 2
                                for d in daemons[:2]), what="epoch 2 adopted")
        ol.wait_for(lambda: all(up_count(d) == 1 for d in daemons[:2]),
                    what="links to the removed member closed")
        assert sum(ol.closed_count(d, "roster") for d in daemons[:2]) == 2
        ol.wait_for(lambda: sum(ol.closed_count(d, "not_member") for d in daemons[:2]) >= 1,
                    what="the removed member refused")

        for d in daemons:
            assert d.stop() == 0, d.log()
        for d, name in zip(daemons, NAMES):
            others = [x for x in NAMES if x != name]
            assert not any(o in d.log() for o in others), "no member names in info logs"
    finally:
        for d in daemons:
            d.kill()
        for n in nodes:
            n.cleanup()


if __name__ == "__main__":
    daemonlib.main([test_three_daemons_relink])
