# SPDX-License-Identifier: MIT
"""Hostile connections against a real `chatham run`: each is refused as described in
node/overlay/overlay.h and node/overlay/link.h, the node stays up and keeps serving members.

  wrong network key          closed after message 1, not one byte sent back
  non-member static key      closed right after the handshake, no HELLO
  garbage after handshake    closed (transport message fails authentication)
  oversize frame             closed at the frame header, no byte back
  stalled message 1          closed after preauth_timeout_ms, no byte back
  1,000 half-open handshakes at most max_preauth_per_address (one address) wait, the
                             older ones are evicted; none holds a handshake slot; all gone
                             after the pre-authentication timeout; a member links

Each refusal is also checked in the node's `peers` counters ("closed": {reason: n}). After
every case a member (dissononce, see overlaylib) links and gets its PONG.
"""

import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import daemonlib  # noqa: E402
import overlaylib as ol  # noqa: E402
from daemonlib import Community, Daemon, Member  # noqa: E402

TIMEOUT_MS = 1000
PER_ADDRESS = 8
HALF_OPEN = 1000


class Env:
    def __init__(self):
        self.community = Community(members=("Alpha CERT", "Python Peer"))
        self.alpha, self.peer = self.community.members
        self.outsider = Member("Outsider")
        self.netkey = os.urandom(32)
        port = ol.free_port()
        self.node = ol.overlay_node(
            self.community, 0, self.netkey, port, {"Alpha CERT": [f"127.0.0.1:{port}"]},
            ol.OVERLAY_FAST + f"preauth_timeout_ms = {TIMEOUT_MS}\n"
            f"max_preauth_per_address = {PER_ADDRESS}\n")
        self.port = port
        self.d = Daemon(self.node)

    def member_session(self):
        """A member links and its PING is answered: the node still serves members."""
        assert self.d.proc.poll() is None, "daemon died:\n" + self.d.log()
        p = ol.NoisePeer.connect(self.port, self.community, self.netkey, self.peer.tx_sk)
        try:
            assert p.handshake() == self.alpha.tx_pk
            assert p.recv_link()[0] == ol.HELLO
            p.hello(self.peer.id)
            p.send_link([ol.PING, 4242])
            assert p.recv_until(lambda m: m[0] == ol.PONG) == [ol.PONG, 4242]
        finally:
            p.close()

    def closed(self, reason):
        return ol.closed_count(self.d, reason)

    def raw(self):
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


def case_wrong_network_key(e):
    before = e.closed("network_key")
    p = ol.NoisePeer.connect(e.port, e.community, os.urandom(32), e.peer.tx_sk)
    p._write()  # message 1 under the wrong PSK
    assert ol.expect_closed_without_bytes(p.sock) == 0, "no byte back without the network key"
    p.close()
    ol.wait_for(lambda: e.closed("network_key") == before + 1, what="network_key count")


def case_non_member(e):
    before = e.closed("not_member")
    p = ol.NoisePeer.connect(e.port, e.community, e.netkey, e.outsider.tx_sk)
    p._write()
    p._read()                 # message 2: the node has the network key, so it answers
    p._split(p._write())      # message 3 reveals our (non-member) static key
    assert p.closed_by_peer() == 0, "nothing after the handshake: no HELLO"
    p.close()
    ol.wait_for(lambda: e.closed("not_member") == before + 1, what="not_member count")


def case_garbage_after_handshake(e):
    before = e.closed("decrypt")
    p = ol.NoisePeer.connect(e.port, e.community, e.netkey, e.peer.tx_sk)
    p.handshake()
    p.send_frame(os.urandom(200))
    try:
        p.closed_by_peer()    # the node's HELLO may arrive before the close
    finally:
        p.close()
    ol.wait_for(lambda: e.closed("decrypt") == before + 1, what="decrypt count")


def case_oversize_frame(e):
    before = e.closed("frame")
    s = e.raw()
    s.sendall(b"\xff\xff" + os.urandom(1000))
    assert ol.expect_closed_without_bytes(s) == 0
    s.close()
    ol.wait_for(lambda: e.closed("frame") == before + 1, what="frame count")


def case_stalled_handshake(e):
    before = e.closed("preauth_timeout")
    s = e.raw()
    s.sendall(b"\x00\x30" + os.urandom(10))  # the start of message 1, never finished
    t0 = time.monotonic()
    assert ol.expect_closed_without_bytes(s, timeout=TIMEOUT_MS / 1000 + 5) == 0
    took = time.monotonic() - t0
    s.close()
    assert TIMEOUT_MS / 1000 - 0.2 <= took <= TIMEOUT_MS / 1000 + 2, took
    ol.wait_for(lambda: e.closed("preauth_timeout") == before + 1,
                what="preauth_timeout count")


def case_half_open_flood(e):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < HALF_OPEN + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, HALF_OPEN + 200), hard))
    evicted0, timeout0 = e.closed("evicted"), e.closed("preauth_timeout")
    socks = []
    try:
        for _ in range(HALF_OPEN):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", e.port))
            socks.append(s)
        # Half-open handshakes: half of message 1, then nothing.
        for s in socks:
            try:
                s.send(b"\x00\x30" + bytes(20))
            except OSError:
                pass
        r = ol.peers(e.d)
        assert r["summary"]["handshakes_in"] == 0, r["summary"]
        assert r["summary"]["preauth"] <= PER_ADDRESS, r["summary"]
        ol.wait_for(lambda: e.closed("evicted") - evicted0 + e.closed("preauth_timeout")
                    - timeout0 >= HALF_OPEN, timeout=60,
                    what="every half-open connection closed")
        assert e.closed("evicted") - evicted0 >= HALF_OPEN - PER_ADDRESS
        assert e.closed("busy") == 0
        # Every one was closed and none got a byte back.
        got = 0
        for s in socks:
            s.setblocking(True)
            got += ol.expect_closed_without_bytes(s, timeout=10)
        assert got == 0, f"{got} bytes sent to half-open connections"
        assert ol.peers(e.d)["summary"]["handshakes_in"] == 0
    finally:
        for s in socks:
            s.close()


def test_hostile_connections():
    e = Env()
    try:
        with e.d:
            e.d.start()
            e.member_session()
            for case in (case_wrong_network_key, case_non_member, case_garbage_after_handshake,
                         case_oversize_frame, case_stalled_handshake, case_half_open_flood):
                case(e)
                e.member_session()
                print(f"  ok {case.__name__}", flush=True)
            assert e.d.call({"op": "status"})["ok"]
            assert "Python Peer" not in e.d.log() and "Outsider" not in e.d.log()
            assert e.d.stop() == 0, e.d.log()
    finally:
        e.node.cleanup()


if __name__ == "__main__":
    daemonlib.main([test_hostile_connections])
