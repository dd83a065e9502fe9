# SPDX-License-Identifier: MIT
"""Members flooding a node with valid link messages.

test_read_slice: one link must not hold the loop. libuv reads up to 32 buffers of 64 KiB from
one socket per loop iteration, so a member flooding PINGs (or any message) held the loop for
every frame of up to 2 MiB at a time (bench_ihave.py saw 33-490 ms). Now a link's reading
stops when the loop iteration's read time is spent (a slice per link in session 7, a budget
all links share since session 8: node/overlay/link.c, NODE_LINK_READ_BUDGET_US) and resumes
in a later one from the bytes it had read (status overlay.reads_deferred counts the times a
link stopped). Node A (the daemon under test) runs alone; the Python member "Hostile Peer"
writes 100,000 PINGs at once (2.8 MB, encrypted beforehand); while A reads them, a second member
("Gamma CSIRT", another Python peer) pushes a report and A's API answers; at the end A has
answered every PING with its PONG, in order, on a link still up (a frame lost or handled
twice across a slice would break the Noise nonces and close it), and reads_deferred > 0.
Once the link reads again it holds no read buffer of its own (overlay.read_buffers_held 0;
until session 8's review a deferred link kept its 64 KiB buffer until it closed).

test_read_budget: the slice bounded each link, not the sum: N members flooding at once held
the loop for N slices per iteration. Now all links together get one read budget per loop
iteration (node/overlay/link.c, NODE_LINK_READ_BUDGET_US); a link whose turn comes after it
is spent stops reading and waits in a queue, oldest first, so none starves (status
overlay.reads_waited counts the loop iterations links waited without handling a frame: other
links had spent the budget). Node A runs alone with six members; four Python members write 40,000
PINGs each at once while a fifth ("Gamma CSIRT") pushes a report: the report is stored, A's
API answers `status` within 30 s, every flooder gets all its PONGs in order on a link still
up, reads_waited > 0, and afterwards no link holds a read buffer.

test_ack_flood: an ACK queued the deletion of an outbox entry for the next admission job,
whatever its id, so a member sending ACKs for ids it was never sent grew the queue without
bound (the allocator kept the freed arrays as heap: RssAnon +20 MB for 1 M ACKs). Now a link
owes only as many ACKs as DIRECT copies were queued on it; the rest are ignored (status
gossip.direct.ack_ignored). The Python member is sent one RED copy, acknowledges it (the
outbox empties), then sends 50,000 ACKs of random ids: every one is ignored.
test_notice_floods: every NOTICE_ACK (and NOTICE_REFUSED) was queued as an operation of the
notices engine, bounded at 1,024 waiting for a job, so one member's flood of them filled the
queue and other members' notices were dropped. Now a member's links may queue an answer
only for a NOTICE sent to it and not yet answered (status notices.ack_ignored counts the
rest), and at most 64 of its NOTICEs per job (notices.share_dropped counts the rest: an
honest sender retries). The Python member "Hostile Peer" writes 25,000 NOTICE_ACKs and
25,000 NOTICE_REFUSEDs of random ids at once, then 5,000 copies of a valid notice of its
own; during each flood "Gamma CSIRT" sends a valid notice, which A stores and acknowledges.
Every answer is ignored, every copy is a duplicate or over the share, nothing is dropped for
a full queue (notices.dropped 0).

test_answers_owed_cap: each copy of a notice sent to a member, a retry too, let it queue one
answer, so a member that stayed silent through many retries banked credit for an answer
flood of that size. Now a member is owed at most 64 answers (NODE_NOTICES_PEER_PENDING_MAX).
A notice retry interval of 100 ms ([notices] retry_min_ms, retry_max_ms) makes A send its
notice to the silent "Hostile Peer" 100 times; it then writes 1,000 NOTICE_ACKs of random ids
at once: at most 64 are taken, plus one for each copy A sent during the flood (each owes an
answer again); without the cap all 100+ would be. Afterwards its real ACK of the next copy
still ends the notice's delivery.
"""

import hashlib
import os
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import daemonlib as dl  # noqa: E402
import msgpack  # noqa: E402
import noticelib as nl  # noqa: E402
import overlaylib as ol  # noqa: E402
import test_hostile_member as hm  # noqa: E402

PUSH, DIRECT, ACK, NOTICE, NOTICE_ACK, NOTICE_REFUSED = 4, 8, 9, 20, 21, 22
OWED_MAX = 64  # NODE_NOTICES_PEER_PENDING_MAX
SILENT_COPIES = 100
PINGS = 100_000
ACKS = 50_000
FLOOD_PINGS = 40_000
NOTICE_COPIES = 5_000
FLOOD_FORM = nl.incident("A member floods the node.")
MEMBERS6 = ("Alpha CERT", "Hostile Peer", "Gamma CSIRT", "Delta CERT", "Epsilon CERT",
            "Zeta CSIRT")


def encrypted(h, msgs):
    """@msgs as frames of @h's link, encrypted now (the caller holds h.lock until they are
    written: one Noise sending cipher)."""
    buf = bytearray()
    for m in msgs:
        ct = h.p.send_cs.encrypt_with_ad(b"", msgpack.packb(m, use_bin_type=True))
        buf += struct.pack(">H", len(ct)) + ct
    return bytes(buf)


def flood_thread(h, msgs):
    """A thread (not started) that writes @msgs at once on @h's link: encrypted now, h.lock
    held from now until they are written."""
    h.lock.acquire()
    buf = encrypted(h, msgs)

    def write():
        try:
            h.p.sock.sendall(buf)
        finally:
            h.lock.release()

    t = threading.Thread(target=write, daemon=True)
    t.nbytes = len(buf)
    return t


def start_flood(h, msgs):
    t = flood_thread(h, msgs)
    t.start()
    return t


def join_flood(t):
    t.join(300 * dl.SLOW)
    assert not t.is_alive(), "a flood was not written in 300 s"


def push_stored(env, h, member, value):
    """@member's report of @value pushed on link @h; waits until A has stored it."""
    body = msgpack.packb(hm.body_map(env.community.id, member.id, value), use_bin_type=True)
    h.send([PUSH, hm.signed(body, hm.sign(member.id_sk, body))])
    ol.wait_for(lambda: env.a.call({"op": "query", "value": value}).get("found"),
                timeout=120, what=f"the report of {value} stored during the flood")


def test_read_slice():
    with hm.AloneEnv("") as env:
        gamma = env.community.members[2]
        flooder, other = hm.Hostile(env), hm.Hostile(env, gamma)
        ol.wait_for(lambda: len(ol.links_up(env.a)) == 2, what="two links up")
        deferred0 = env.status()["overlay"]["reads_deferred"]  # 0 unless the set-up was slow
        nonces = list(range(1, PINGS + 1))
        t = start_flood(flooder, [[ol.PING, n] for n in nonces])
        # Meanwhile another member's report is stored and the API answers.
        push_stored(env, other, gamma, "during-flood.gamma-feed.net")
        env.alive()
        join_flood(t)
        flooder.sync(timeout=300)
        other.sync()
        pongs = [m[1] for m in flooder.received if m[0] == ol.PONG]
        assert pongs[:PINGS] == nonces, (len(pongs), pongs[:3])
        st = env.status()
        deferred = st["overlay"]["reads_deferred"] - deferred0
        assert deferred > 0, st["overlay"]
        assert st["overlay"]["read_buffers_held"] == 0, st["overlay"]
        assert len(ol.links_up(env.a)) == 2
        print(f"    {PINGS} PINGs ({t.nbytes} bytes) answered in order; "
              f"the link stopped reading {deferred} times (read budget spent)", flush=True)
        flooder.close()
        other.close()
        assert env.a.stop() == 0


def test_read_budget():
    with hm.AloneEnv("", members=MEMBERS6) as env:
        ms = env.community.members
        gamma = ms[2]
        flooders = [hm.Hostile(env, m) for m in (ms[1], ms[3], ms[4], ms[5])]
        other = hm.Hostile(env, gamma)
        ol.wait_for(lambda: len(ol.links_up(env.a)) == 5, what="five links up")
        waited0 = env.status()["overlay"]["reads_waited"]  # 0 unless the set-up was slow
        nonces = list(range(1, FLOOD_PINGS + 1))
        threads = [flood_thread(f, [[ol.PING, n] for n in nonces]) for f in flooders]
        for t in threads:  # encrypted first: the four floods come at once
            t.start()
        push_stored(env, other, gamma, "during-four-floods.gamma-feed.net")
        t0 = time.monotonic()
        with env.a.client(timeout=30) as c:
            r = c.call({"op": "status"})
        assert r.get("ok"), r
        status_s = time.monotonic() - t0
        for t in threads:
            join_flood(t)
        for f in flooders:
            f.sync(timeout=300)
        other.sync()
        for f in flooders:
            pongs = [m[1] for m in f.received if m[0] == ol.PONG]
            assert pongs[:FLOOD_PINGS] == nonces, (len(pongs), pongs[:3])
        ov = env.status()["overlay"]
        waited = ov["reads_waited"] - waited0
        assert waited > 0, ov
        assert ov["read_buffers_held"] == 0, ov
        assert len(ol.links_up(env.a)) == 5
        print(f"    4 x {FLOOD_PINGS} PINGs ({sum(t.nbytes for t in threads)} bytes) answered "
              f"in order; status answered in {status_s:.2f} s during the floods; links waited "
              f"{waited} loop iterations for their turn", flush=True)
        for f in flooders + [other]:
            f.close()
        assert env.a.stop() == 0


def test_notice_floods():
    with hm.AloneEnv("") as env:
        gamma = env.community.members[2]
        h, honest = hm.Hostile(env), hm.Hostile(env, gamma)
        ol.wait_for(lambda: len(ol.links_up(env.a)) == 2, what="two links up")
        own_nid, own = nl.signed(env, env.me, FLOOD_FORM)
        floods = [("answers", [[NOTICE_ACK, os.urandom(16)] for _ in range(ACKS // 2)] +
                   [[NOTICE_REFUSED, os.urandom(16), 1] for _ in range(ACKS // 2)]),
                  ("copies", [[NOTICE, own]] * NOTICE_COPIES)]
        for what, msgs in floods:
            t = start_flood(h, msgs)
            nid, honest_notice = nl.signed(env, gamma, FLOOD_FORM)
            honest.send([NOTICE, honest_notice])
            ol.wait_for(lambda: [NOTICE_ACK, nid] in honest.received, timeout=120,
                        what=f"the honest notice acknowledged during the {what} flood")
            join_flood(t)
            h.sync(timeout=300)
            env.alive()
        ol.wait_for(lambda: env.status()["notices"]["idle"], what="the notices engine idle")
        n = env.status()["notices"]
        assert n["ack_ignored"] == ACKS and n["acked"] == 0, n
        assert n["dropped"] == 0 and n["received"] == 3 and n["stored"] == 3, n
        assert n["duplicates"] + n["share_dropped"] == NOTICE_COPIES - 1, n
        assert [NOTICE_ACK, own_nid] in h.received
        print(f"    {ACKS} answers of random ids ignored; {NOTICE_COPIES} copies of a notice: "
              f"{n['duplicates']} acknowledged again, {n['share_dropped']} over the member's "
              f"share; the other member's notices stored and acknowledged", flush=True)
        h.close()
        honest.close()
        assert env.a.stop() == 0


def test_answers_owed_cap():
    with hm.AloneEnv("[notices]\nretry_min_ms = 100\nretry_max_ms = 100\n") as env:
        h = hm.Hostile(env)
        ol.wait_for(lambda: len(ol.links_up(env.a)) == 1, what="the link up")
        form = {"form": "incident", "purpose": "information",
                "what_happened": "A member never answers.",
                "affected": {"host": "www.victim.example",
                             "occurred_at": "2026-12-06T09:30:00+09:00"}}
        r = env.a.call({"op": "notify", "form": form, "tlp": "AMBER", "to": env.me.id.hex()})
        assert r.get("ok"), r
        nid = bytes.fromhex(r["notice"])
        ol.wait_for(lambda: env.status()["notices"]["sent"] >= SILENT_COPIES, timeout=120,
                    what=f"{SILENT_COPIES} copies of the notice sent to the silent member")
        n0 = env.status()["notices"]
        with h.lock:
            h.p.sock.sendall(encrypted(h, [[NOTICE_ACK, os.urandom(16)] for _ in range(1000)]))
        h.sync(timeout=300)
        n1 = env.status()["notices"]
        taken, ignored = n1["acked"] - n0["acked"], n1["ack_ignored"] - n0["ack_ignored"]
        during = n1["sent"] - n0["sent"]
        assert taken + ignored == 1000, (n0, n1)
        assert n0["sent"] >= SILENT_COPIES and taken <= OWED_MAX + during, (n0, n1)
        assert n1["outbox"] == 1, n1  # answers of other ids end nothing
        # A copy sent after the flood is owed its answer, and the real ACK ends the delivery.
        ol.wait_for(lambda: env.status()["notices"]["sent"] > n1["sent"], timeout=60,
                    what="a copy sent after the flood")
        h.send([NOTICE_ACK, nid])
        ol.wait_for(lambda: env.status()["notices"]["outbox"] == 0, timeout=60,
                    what="the notice acknowledged")
        print(f"    {n0['sent']} copies to a silent member, then 1000 answers of random ids: "
              f"{taken} taken ({during} copies sent meanwhile), {ignored} ignored", flush=True)
        h.close()
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
    dl.main([test_read_slice, test_read_budget, test_ack_flood, test_notice_floods,
             test_answers_owed_cap])
