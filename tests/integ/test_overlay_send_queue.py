# SPDX-License-Identifier: MIT
"""A member that floods PINGs and never reads the PONGs costs the node at most
send_queue_max_bytes (+20 %) of memory before its link is closed (node/overlay/link.h "Send queue").
A member that sends copies of one DIRECT report and never reads the ACKs gets its link closed
the same way: the ACKs wait in the dissemination backlog once the link's queue is full, and
that backlog's link messages are bounded by 4 x send_queue_max_bytes (node/overlay/dissem.c
node_dissem_enqueue()).

The member links in with a 4 KiB receive buffer, then sends PINGs in batches and reads
nothing. The node answers each with a PONG that cannot leave; the link must close with
`send_queue`, and the daemon's anonymous memory (RssAnon from /proc, sampled every 5 ms
while the flood runs) may grow by at most 1.2 x send_queue_max_bytes over its value once
the link was up. Before frames were pooled each queued ~30-byte PONG cost a ~250-byte
allocation and the node grew by about ten times the bound.

Under ASan the quarantine is turned off for the daemon (freed PING buffers would otherwise
pile up in it and look like growth), and the bound allows for ASan's shadow memory, one
byte for every eight of heap; LeakSanitizer still checks the clean stop.
"""

import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import daemonlib  # noqa: E402
import overlaylib as ol  # noqa: E402
from daemonlib import Community, Daemon  # noqa: E402
from test_hostile_member import body_map, pack, sign, signed  # noqa: E402

QUEUE_MAX = 4 << 20
SLACK = 1.2
BATCH = 2000


def asan_build():
    """Is the chatham binary instrumented with ASan (the dev preset)?"""
    out = subprocess.run(["ldd", daemonlib.chatham_bin()], capture_output=True, text=True)
    return "libasan" in out.stdout


def rss_anon_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise AssertionError("no RssAnon in /proc/pid/status")


class Sampler:
    """Largest RssAnon of @pid seen until stop()."""

    def __init__(self, pid):
        self.pid, self.peak, self.running = pid, 0, True
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while self.running:
            self.peak = max(self.peak, rss_anon_kib(self.pid))
            time.sleep(0.005)

    def stop(self):
        self.running = False
        self.t.join(5)
        self.peak = max(self.peak, rss_anon_kib(self.pid))
        return self.peak


def link_slow_reader(d, community, netkey, port):
    """Link in to @d as the community's second member with a 4 KiB receive buffer; returns
    the socket and the Noise peer once the link is up."""
    alpha, peer = community.members
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    p = ol.NoisePeer(s, community, netkey, peer.tx_sk, True)
    assert p.handshake() == alpha.tx_pk
    assert p.recv_link()[0] == ol.HELLO
    p.hello(peer.id)
    ol.wait_for(lambda: ol.links_up(d), what="link up")
    return s, p


def test_ping_flood_bounded():
    community = Community(members=("Alpha CERT", "Python Peer"))
    netkey = os.urandom(32)
    port = ol.free_port()
    node = ol.overlay_node(community, 0, netkey, port, {"Alpha CERT": [f"127.0.0.1:{port}"]},
                           f"send_queue_max_bytes = {QUEUE_MAX}\nkeepalive_ms = 600000\n"
                           "dead_after_ms = 1200000\n")
    asan = os.environ.get("ASAN_OPTIONS", "")
    d = Daemon(node, env={"ASAN_OPTIONS": (asan + ":" if asan else "") +
                          "quarantine_size_mb=0:thread_local_quarantine_size_kb=0"})
    try:
        with d:
            d.start()
            s, p = link_slow_reader(d, community, netkey, port)
            base = rss_anon_kib(d.proc.pid)
            sampler = Sampler(d.proc.pid)
            sent = 0
            t0 = time.monotonic()
            try:
                while ol.closed_count(d, "send_queue") == 0:
                    assert time.monotonic() - t0 < 240, f"no send_queue close after {sent}"
                    frames = []
                    for _ in range(BATCH):
                        ct = p.send_cs.encrypt_with_ad(b"", ol.msgpack.packb([ol.PING, sent]))
                        frames.append(struct.pack(">H", len(ct)) + ct)
                        sent += 1
                    s.sendall(b"".join(frames))
            except (BrokenPipeError, ConnectionResetError):
                pass
            ol.wait_for(lambda: ol.closed_count(d, "send_queue") == 1, what="send_queue close")
            peak = sampler.stop()
            grown = (peak - base) * 1024
            print(f"  {sent} PINGs; RssAnon {base} KiB -> peak {peak} KiB: grew "
                  f"{grown / QUEUE_MAX:.2f} x send_queue_max_bytes ({QUEUE_MAX} bytes)",
                  flush=True)
            bound = SLACK * QUEUE_MAX * (1.125 if asan_build() else 1)
            assert grown <= bound, f"grew {grown} bytes, bound {bound:.0f}"
            s.close()
            assert d.call({"op": "status"})["ok"]
            assert d.stop() == 0, d.log()
    finally:
        node.cleanup()


DIRECT = 8  # link message type (proto/link.h)
DIRECT_QUEUE_MAX = 1 << 20


def test_direct_flood_closed():
    community = Community(members=("Alpha CERT", "Python Peer"))
    alpha, peer = community.members
    netkey = os.urandom(32)
    port = ol.free_port()
    node = ol.overlay_node(community, 0, netkey, port, {"Alpha CERT": [f"127.0.0.1:{port}"]},
                           f"send_queue_max_bytes = {DIRECT_QUEUE_MAX}\n"
                           "keepalive_ms = 600000\ndead_after_ms = 1200000\n")
    d = Daemon(node)
    try:
        with d:
            d.start()
            s, p = link_slow_reader(d, community, netkey, port)
            body = pack(body_map(community.id, peer.id, "direct.flood.example", tlp="AMBER",
                                 recipients=[alpha.id]))
            frame_ct = pack([DIRECT, signed(body, sign(peer.id_sk, body))])
            sent = 0
            t0 = time.monotonic()
            try:
                # Every copy is acknowledged; ACKs that cannot leave pile up behind the
                # full link until the backlog bound (4 x send_queue_max_bytes) closes it.
                while ol.closed_count(d, "send_queue") == 0:
                    assert time.monotonic() - t0 < 240 * daemonlib.SLOW, \
                        f"no send_queue close after {sent} DIRECT copies"
                    frames = []
                    for _ in range(500):
                        ct = p.send_cs.encrypt_with_ad(b"", frame_ct)
                        frames.append(struct.pack(">H", len(ct)) + ct)
                        sent += 1
                    s.sendall(b"".join(frames))
            except (BrokenPipeError, ConnectionResetError):
                pass
            ol.wait_for(lambda: ol.closed_count(d, "send_queue") == 1,
                        what="send_queue close")
            print(f"  link closed as send_queue after {sent} DIRECT copies", flush=True)
            s.close()
            st = d.call({"op": "status"})
            assert st["ok"] and st["gossip"]["direct"]["received"] >= 1, st["gossip"]
            assert d.stop() == 0, d.log()
    finally:
        node.cleanup()


if __name__ == "__main__":
    daemonlib.main([test_ping_flood_bounded, test_direct_flood_closed])
