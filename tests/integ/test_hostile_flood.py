# SPDX-License-Identifier: MIT
"""Members flooding a node with valid link messages.

test_read_slice: one link must not hold the loop. libuv reads up to 32 buffers of 64 KiB from
one socket per loop iteration, so a member flooding PINGs (or any message) held the loop for
every frame of up to 2 MiB at a time (bench_ihave.py saw 33-490 ms). Now each link gets a read
slice per loop iteration (node/overlay/link.c, NODE_LINK_READ_SLICE_US) and resumes in the
next one from the bytes it had read (status overlay.reads_deferred counts the slices that ran
out). Node A (the daemon under test) runs alone; the Python member "Hostile Peer" writes
100,000 PINGs at once (2.8 MB, encrypted beforehand); while A reads them, a second member
("Gamma CSIRT", another Python peer) pushes a report and A's API answers; at the end A has
answered every PING with its PONG, in order, on a link still up (a frame lost or handled
twice across a slice would break the Noise nonces and close it), and reads_deferred > 0.

test_ack_flood: an ACK queued the deletion of an outbox entry for the next admission job,
whatever its id, so a member sending ACKs for ids it was never sent grew the queue without
bound (the allocator kept the freed arrays as heap: RssAnon +20 MB for 1 M ACKs). Now a link
owes only as many ACKs as DIRECT copies were queued on it; the rest are ignored (status
gossip.direct.ack_ignored). The Python member is sent one RED copy, acknowledges it (the
outbox empties), then sends 50,000 ACKs of random ids: every one is ignored.
"""

import hashlib
import os
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import daemonlib as dl  # noqa: E402
import msgpack  # noqa: E402
import overlaylib as ol  # noqa: E402
import test_hostile_member as hm  # noqa: E402

PUSH, DIRECT, ACK = 4, 8, 9
PINGS = 100_000
ACKS = 50_000


def encrypted(h, msgs):
    """@msgs as frames of @h's link, encrypted now (the caller holds h.lock until they are
    written: one Noise sending cipher)."""
    buf = bytearray()
    for m in msgs:
        ct = h.p.send_cs.encrypt_with_ad(b"", msgpack.packb(m, use_bin_type=True))
        buf += struct.pack(">H", len(ct)) + ct
    return bytes(buf)


def test_read_slice():
    with hm.AloneEnv("") as env:
        gamma = env.community.members[2]
        flooder, other = hm.Hostile(env), hm.Hostile(env, gamma)
        ol.wait_for(lambda: len(ol.links_up(env.a)) == 2, what="two links up")
        deferred0 = env.status()["overlay"]["reads_deferred"]  # 0 unless the set-up was slow
        nonces = list(range(1, PINGS + 1))
        flooder.lock.acquire()
        buf = encrypted(flooder, [[ol.PING, n] for n in nonces])

        def flood():
            try:
                flooder.p.sock.sendall(buf)
            finally:
                flooder.lock.release()

        t = threading.Thread(target=flood, daemon=True)
        t.start()
        # Meanwhile another member's report is stored and the API answers.
        v = "during-flood.gamma-feed.net"
        body = msgpack.packb(hm.body_map(env.community.id, gamma.id, v), use_bin_type=True)
        other.send([PUSH, hm.signed(body, hm.sign(gamma.id_sk, body))])
        ol.wait_for(lambda: env.a.call({"op": "query", "value": v}).get("found"),
                    timeout=120, what="the other member's report stored")
        env.alive()
        t.join(300 * dl.SLOW)
        assert not t.is_alive(), "the flood was not written in 300 s"
        flooder.sync(timeout=300)
        other.sync()
        pongs = [m[1] for m in flooder.received if m[0] == ol.PONG]
        assert pongs[:PINGS] == nonces, (len(pongs), pongs[:3])
        st = env.status()
        deferred = st["overlay"]["reads_deferred"] - deferred0
        assert deferred > 0, st["overlay"]
        assert len(ol.links_up(env.a)) == 2
        print(f"    {PINGS} PINGs ({len(buf)} bytes) answered in order; "
              f"{deferred} read slices ran out", flush=True)
        flooder.close()
        other.close()
        assert env.a.stop() == 0


def test_ack_flood():
    # No retry of the copy during the test: the link owes exactly one ACK.
    with hm.AloneEnv("[gossip]\ndirect_retry_min_ms = 600000\n"
                     "direct_retry_max_ms = 600000\n") as env:
        h = hm.Hostile(env)
        r = env.a.call({"op": "publish", "reports": [
            {"value": "red.ack-flood.example", "tlp": "RED", "recipients": [env.me.id.hex()]}]})
        assert r.get("ok"), r
        copy = ol.wait_for(lambda: next((m[1] for m in list(h.received) if m[0] == DIRECT),
                                        None), timeout=60, what="the RED copy sent")
        h.send([ACK, hashlib.blake2b(copy, digest_size=32).digest()])
        ol.wait_for(lambda: env.status()["store"]["outbox"] == 0, what="the copy acknowledged")
        d0 = env.status()["gossip"]["direct"]
        assert d0["acked"] == 1 and d0["ack_ignored"] == 0, d0
        # Normally 0: a scan that runs before the first send's reschedule is committed (a
        # slow admission job, e.g. under valgrind) sends the copy again, and the link owes
        # an ACK for each copy.
        owed = d0["sent"] - d0["acked"]
        with h.lock:
            h.p.sock.sendall(encrypted(h, [[ACK, os.urandom(32)] for _ in range(ACKS)]))
        h.sync(timeout=300)
        d = env.status()["gossip"]["direct"]
        assert d["acked"] == 1 + owed and d["ack_ignored"] == ACKS - owed, (d0, d)
        print(f"    {1 + owed} ACK(s) owed and taken, {ACKS - owed} ACKs of random ids "
              f"ignored", flush=True)
        h.close()
        assert env.a.stop() == 0


if __name__ == "__main__":
    dl.main([test_read_slice, test_ack_flood])
