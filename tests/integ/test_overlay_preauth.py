# SPDX-License-Identifier: MIT
"""Outsiders without the network key cannot keep a member out (node/overlay/overlay.h "Admission").

An outsider (preauth_flood.py) opens 10,000 idle TCP connections to a real `chatham run`
from 500 source addresses in 127.0.0.0/8 and keeps 10,000 open or opening from then on:
each one the node closes is reopened at once, up to 4,000 new connections a second. Meanwhile
a member links in on its first TCP connection, every time (20 times), within 2 s: handshake,
HELLO both ways and the PONG to its PING. The outsider never gets a byte, the node answers
`status`, and it never refuses a connection as `busy`.

  default limits              idle connections are closed at the 1 s pre-authentication
                              deadline (preauth_timeout)
  file descriptor limit 512   the pool shrinks to fit ((512 - 64 - 64) / 2 = 192), the oldest
                              connections are evicted, accepting waits for sockets to be
                              released instead of running out of descriptors. A
                              connection's window before eviction is pool / rate, so this
                              case opens 1,000 a second (0.19 s; at 4,000 a second 48 ms
                              is shorter than a loaded test machine's scheduling delays)

Before the pre-authentication pool, 64 idle connections took every handshake slot for 5 s
and the member was refused (closed with `busy`) on nearly every try.
"""

import json
import os
import resource
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import daemonlib  # noqa: E402
import overlaylib as ol  # noqa: E402
from daemonlib import Community, Daemon  # noqa: E402

HOLD = 10000
RATE = 4000         # new outsider connections per second, at most
LOW_FD_RATE = 1000  # with a pool of 192: 0.19 s before a connection can be evicted
ADDRS = 500         # outsider source addresses
TRIES = 20
LINK_WITHIN_S = 2.0


class Flood:
    """preauth_flood.py in its own process; .last holds its latest counters."""

    def __init__(self, port, rate):
        helper = os.path.join(os.path.dirname(os.path.abspath(__file__)), "preauth_flood.py")
        self.proc = subprocess.Popen([sys.executable, helper, str(port), str(HOLD), str(rate),
                                      str(ADDRS)], stdout=subprocess.PIPE, text=True)
        self.last = {}
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.last = json.loads(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(30)
        self.reader.join(10)
        return self.last


def link_in(port, community, netkey, peer, alpha):
    """One member link on one TCP connection; returns the seconds to its PONG."""
    t0 = time.monotonic()
    p = ol.NoisePeer.connect(port, community, netkey, peer.tx_sk)
    try:
        p.sock.settimeout(LINK_WITHIN_S + 1)
        assert p.handshake() == alpha.tx_pk
        assert p.recv_link()[0] == ol.HELLO
        p.hello(peer.id)
        p.send_link([ol.PING, 77])
        assert p.recv_until(lambda m: m[0] == ol.PONG, timeout=LINK_WITHIN_S + 1) == \
            [ol.PONG, 77]
        return time.monotonic() - t0
    finally:
        p.close()


def pool_cap(nofile):
    """The pool under a descriptor limit: half of what API clients (64) and the reserve
    (64) leave (node/daemon.h)."""
    return (nofile - 64 - 64) // 2


def flood_and_link(expect, nofile=None, rate=RATE):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard >= HOLD + 256, f"RLIMIT_NOFILE hard limit {hard} too low for the test"
    community = Community(members=("Alpha CERT", "Python Peer"))
    alpha, peer = community.members
    netkey = os.urandom(32)
    port = ol.free_port()
    node = ol.overlay_node(community, 0, netkey, port, {"Alpha CERT": [f"127.0.0.1:{port}"]},
                           ol.OVERLAY_FAST)
    d = Daemon(node)
    wrapper = os.environ.get("CHATHAM_DAEMON_WRAPPER", "")
    if nofile:
        # prlimit execs the next program in the same process, so signals reach the daemon.
        os.environ["CHATHAM_DAEMON_WRAPPER"] = f"prlimit --nofile={nofile}:{nofile} {wrapper}"
    flood = None
    try:
        with d:
            d.start()
            os.environ["CHATHAM_DAEMON_WRAPPER"] = wrapper
            flood = Flood(port, rate)
            ol.wait_for(lambda: flood.last.get("opened", 0) >= HOLD, timeout=60,
                        what=f"{HOLD} outsider connections opened")
            opened0, closed0 = flood.last["opened"], flood.last["closed"]
            times, pool = [], 0
            for _ in range(TRIES):
                times.append(link_in(port, community, netkey, peer, alpha))
                assert flood.proc.poll() is None, "flood helper died"
                pool = max(pool, ol.peers(d)["summary"]["preauth"])
            st = d.call({"op": "status"})
            assert st["ok"], st
            counters = flood.stop()
            print(f"  member link times (s): max {max(times):.3f}, "
                  f"median {sorted(times)[len(times) // 2]:.3f}; outsider {counters}; "
                  f"during the member links: opened {counters['opened'] - opened0}, "
                  f"closed {counters['closed'] - closed0}; node {ol.peers(d)['summary']} "
                  f"{ol.peers(d)['closed']}; largest pool seen {pool}", flush=True)
            assert counters["opened"] > opened0, "the outsider did not keep opening"
            assert counters["closed"] > closed0, "the node closed no outsider connection"
            assert max(times) <= LINK_WITHIN_S, times
            assert counters["bytes"] == 0, "an outsider got bytes back"
            closed = ol.peers(d)["closed"]
            assert closed[expect] > 0, closed
            assert pool > 0 and (not nofile or pool <= pool_cap(nofile)), pool
            assert closed["busy"] == 0, closed
            assert "Python Peer" not in d.log()
            assert d.stop() == 0, d.log()
    finally:
        if flood:
            flood.stop()
        node.cleanup()


def test_preauth_flood():
    flood_and_link("preauth_timeout")


def test_preauth_flood_low_fd_limit():
    flood_and_link("evicted", nofile=512, rate=LOW_FD_RATE)


if __name__ == "__main__":
    daemonlib.main([test_preauth_flood, test_preauth_flood_low_fd_limit])
