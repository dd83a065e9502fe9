# SPDX-License-Identifier: MIT
"""What an IHAVE id costs a node, against what its other costs and budgets are.

Node A (CHATHAM_BIN, build it with the release preset) runs alone with --reports GREEN
reports; a Python peer with a real member's keys (tests/integ/test_hostile_member.Hostile)
sends, one kind at a time, --messages messages and waits for A to have read them (PING):

  push_dup        PUSH of one report A holds (a duplicate: decrypt, decode, hash, seen check)
  push_dup_big    the same with a report of 8 KB (a description of 8,000 characters)
  ping            PING (A answers each with a PONG)
  prune           PRUNE (no payload, no answer: a frame's fixed cost)
  ihave_random    IHAVE of 1,024 random ids (A looks each up, awaits it, GRAFTs for it)
  ihave_stored    IHAVE of 1,024 ids of reports A holds (an LMDB lookup each, then dropped)
  ihave_prefix    IHAVE of 1,024 ids sharing their first 16 bytes with a stored report's (the
                  store's id hint names a candidate, the LMDB lookup misses; then as random)
  recon_scan      catch-up rounds of one FINGERPRINT range over the whole key space that
                  cannot match (two passes over the keys a round; status gossip.recon.work
                  counts the keys): the cost of the work the abuse budget counts in keys

The frames of a kind are encrypted first and written at once. With --flooders N, N members
(each on its own link) send them at the same time, each its own copy. For each kind: the
largest loop lag during it (status loop.hist_us), the largest of the loop's own lag (loop.own:
the time it waited for a CPU taken out, so what the flood itself held the loop), the times a
link stopped reading while it was read (overlay.reads_deferred: node/overlay/link.c stops
reading a link once the loop iteration's read budget is spent; before session 8 once the
link's own slice was), and A's CPU time (all
threads, /proc/PID/stat; the loop does all of this work), less what it spends idle in the
same wall time (measured first: its timers), per unit: per byte of link message for push_dup and ping, per id, per key. Figures are ratios of the same
run; the load average is printed beside them.

Usage: CHATHAM_BIN=build/release/node/chatham /usr/bin/python3 tests/bench/bench_ihave.py
       [--reports N] [--messages M] [--flooders N] [--kinds ping,prune,...] [--rounds R]
       (--rounds 0 leaves out recon_scan and the comparisons that need it)
"""

import argparse
import os
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integ"))

import msgpack  # noqa: E402
import overlaylib as ol  # noqa: E402
import test_hostile_member as hm  # noqa: E402

PUSH, IHAVE, RECON = 4, 5, 11
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def idle_rate(pid, seconds=5.0):
    """A's CPU seconds per wall second with nothing to do (its timers, the loop-lag probe)."""
    c0, t0 = cpu_s(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_s(pid) - c0) / (time.monotonic() - t0)


def hist(env):
    """The loop-lag histograms: all of the delay, and the loop's own (its run-queue wait taken
    out, status loop.own; None where the kernel does not say), and the times a link's reading
    waited for a later iteration (status overlay.reads_deferred; None before session 7)."""
    st = env.status()
    own = st["loop"].get("own")
    return ({e: c for e, c in st["loop"]["hist_us"]},
            {e: c for e, c in own["hist_us"]} if own else None,
            st["overlay"].get("reads_deferred"))


def lag_max_ms(before, after):
    """The largest loop-lag bucket (upper edge, ms) that grew between two readings."""
    if before is None or after is None:
        return float("nan")
    grew = [e for e, c in after.items() if c > before.get(e, 0)]
    return max(grew) / 1000 if grew else 0.0


def lag_text(h0, h1):
    """Loop lag while a kind was read: the largest delay, the loop's own largest delay (the
    flood's own cost: the machine's run-queue wait taken out), times a link's reading waited."""
    slices = "-" if h0[2] is None else f"{h1[2] - h0[2]}"
    return (f"loop lag up to {lag_max_ms(h0[0], h1[0]):6.1f} ms, own {lag_max_ms(h0[1], h1[1]):6.1f}"
            f" ms, reads deferred {slices:>5s}")


def measure(env, hs, msgs, idle):
    """CPU seconds A spent on @msgs sent by each peer of @hs, less its idle rate. The frames
    are encrypted first and written at once, by all peers at the same time (the Python peer
    would otherwise be the bottleneck), then a PING answered on each link says A has read
    them all."""
    pid = env.a.proc.pid
    bufs = []
    for h in hs:
        h.sync()
        h.received.clear()
        h.lock.acquire()
        buf = bytearray()
        for m in msgs:
            ct = h.p.send_cs.encrypt_with_ad(b"", msgpack.packb(m, use_bin_type=True))
            buf += struct.pack(">H", len(ct)) + ct
        bufs.append(bytes(buf))

    def write(h, buf):
        try:
            h.p.sock.sendall(buf)
        finally:
            h.lock.release()

    threads = [threading.Thread(target=write, args=hb, daemon=True) for hb in zip(hs, bufs)]
    c0, t0 = cpu_s(pid), time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for h in hs:
        h.sync(timeout=300)
    c = cpu_s(pid) - c0 - idle * (time.monotonic() - t0)
    for h in hs:
        h.received.clear()
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=65536)
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--flooders", type=int, default=1)
    ap.add_argument("--kinds", default="")
    a = ap.parse_args()
    members = ("Alpha CERT", "Hostile Peer", "Gamma CSIRT", "Delta CERT") + tuple(
        f"Flooder {i} CERT" for i in range(max(0, a.flooders - 3)))
    env = hm.AloneEnv("[gossip]\nrecon_interval_s = 0\n", members=members)
    try:
        env.a.start()
        ids = env.publish_many([f"b{i}.ihave-bench.example" for i in range(a.reports)])
        h = hm.Hostile(env)
        hs = [h] + [hm.Hostile(env, m) for m in env.community.members[2:a.flooders + 1]]
        own = env.me
        body = msgpack.packb(hm.body_map(env.community.id, own.id, "dup.ihave-bench.example"),
                             use_bin_type=True)
        rep = hm.signed(body, hm.sign(own.id_sk, body))
        h.send([PUSH, rep])
        m = hm.body_map(env.community.id, own.id, "bigdup.ihave-bench.example")
        m[10] = "d" * 8000
        body = msgpack.packb(dict(sorted(m.items())), use_bin_type=True)
        big = hm.signed(body, hm.sign(own.id_sk, body))
        h.send([PUSH, big])
        rnd = os.urandom
        n, k = a.messages, 1024
        stored = [[ids[(i * k + j) % len(ids)] for j in range(k)] for i in range(n)]
        kinds = {
            "push_dup": [[PUSH, rep]] * (n * 160),
            "push_dup_big": [[PUSH, big]] * (n * 4),
            "ping": [[ol.PING, i] for i in range(1, n * 320 + 1)],
            "prune": [[7]] * (n * 320),
            "ihave_random": [[IHAVE, [rnd(32) for _ in range(k)]] for _ in range(n)],
            "ihave_stored": [[IHAVE, s] for s in stored],
            "ihave_prefix": [[IHAVE, [x[:16] + rnd(16) for x in s]] for s in stored],
        }
        if a.kinds:
            kinds = {name: kinds[name] for name in a.kinds.split(",")}
        idle = idle_rate(env.a.proc.pid)
        print(f"idle: A's CPU {idle * 1000:.1f} ms a second, subtracted below; "
              f"{len(hs)} flooding link(s)")
        res = {}
        for name, msgs in kinds.items():
            t0, h0 = time.monotonic(), hist(env)
            cpu = measure(env, hs, msgs, idle)
            lag = lag_text(h0, hist(env))
            per_byte = not name.startswith("ihave")
            units = len(hs) * (sum(len(msgpack.packb(m, use_bin_type=True)) for m in msgs)
                               if per_byte else len(msgs) * k)
            res[name] = cpu / units
            print(f"{name:13s} {len(hs)} x {len(msgs):6d} messages, {units:9d} "
                  f"{'bytes' if per_byte else 'ids'}: A's CPU {cpu:6.2f} s "
                  f"({time.monotonic() - t0:5.1f} s wall): "
                  f"{res[name] * 1e9:8.1f} ns each, {lag}  "
                  f"[{os.getloadavg()[0]:.1f}]", flush=True)
        if a.rounds:
            # Catch-up work: keys read per CPU second.
            w0 = env.status()["gossip"]["recon"]["work"]
            pid = env.a.proc.pid
            c0, t0 = cpu_s(pid), time.monotonic()
            rounds = 0
            while rounds < a.rounds and not h.closed.is_set():
                n0 = len(h.received)
                h.send([RECON, msgpack.packb([1, 0, [1, rnd(16), 1000000]],
                                             use_bin_type=True)])
                dl_wait = time.monotonic() + 120
                while not any(m[0] == RECON for m in h.received[n0:]) and not h.closed.is_set():
                    assert time.monotonic() < dl_wait, "no RECON answer"
                    time.sleep(0.001)
                rounds += 1
            cpu = cpu_s(pid) - c0 - idle * (time.monotonic() - t0)
            keys = env.status()["gossip"]["recon"]["work"] - w0
            res["key"] = cpu / keys
            print(f"recon_scan    {rounds:6d} rounds,   {keys:9d} keys: A's CPU {cpu:6.2f} s: "
                  f"{res['key'] * 1e9:8.1f} ns each  [{os.getloadavg()[0]:.1f}]", flush=True)
        if a.rounds and not a.kinds:
            worst = max(res["ihave_random"], res["ihave_stored"], res["ihave_prefix"])
            print(f"per IHAVE id, worst kind: {worst * 1e9:.0f} ns = {worst / res['key']:.1f} keys "
                  f"of catch-up work; per byte of link message, IHAVE (worst) / other kinds: " +
                  ", ".join(f"{k} {worst / 32 / res[k]:.2f}" for k in
                            ("push_dup", "push_dup_big", "ping", "prune")))
            print(f"ids a second that take the whole loop: {1 / worst:,.0f} "
                  f"({32 / worst / 1e6:.1f} MB/s of IHAVE)")
        for x in hs:
            x.close()
        assert env.a.stop() == 0
    finally:
        env.a.kill()
        env.node_a.cleanup()


if __name__ == "__main__":
    main()
