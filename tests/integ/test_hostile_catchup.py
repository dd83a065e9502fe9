# SPDX-License-Identifier: MIT
"""A hostile member that follows the catch-up protocol and abuses its cost.

A range fingerprint (proto/recon.h) is a pass over the store's keys in that range, on the
node's loop: every RECON round a peer sends makes the node scan up to twice the keys the
round's ranges cover (the fingerprint, then the split into buckets), and a range the peer
claims to hold nothing of makes the node push every report in it. Sessions that complete
are charged only as sessions (600 a minute), so before this test one member could keep a
node's loop busy scanning for as long as it liked, and have its whole store pushed to it
every round.

Node A (the daemon under test) runs alone and holds REPORTS gossipable reports. The hostile
member is a Python peer with a real member's keys (test_hostile_member.Hostile):

  case_fetch_flood  FETCHes of random ids (32 keys of work each, like a report pushed). A
                    must close the link as `abuse` once the member's catch-up work passes
                    its budget (status gossip.recon.work: keys read, 32 per report pushed
                    or asked for; budget 1,024 passes a minute, a pass being max(stored
                    keys, 65,536)); the work counted before the close stays within the
                    budget plus one message.
  case_scan_rounds  a session of 60 rounds, each one FINGERPRINT range over the whole key
                    space that cannot match, then the done message: exactly two passes
                    over the store per round are charged (before: only the session).
  case_graft_flood  a GRAFT naming one report A holds 1,024 times: each id is a PUSH
                    (before: answered without limit); exactly 32 keys of work each.
  case_have_rounds  a round that claims to hold nothing makes A list its keys and push its
                    whole store (to a link that reads nothing, so the copies wait in A's
                    backlog): exactly that work is charged (at the budget: about 2 M
                    copies, which this test does not queue).
  case_reconnect_rest  work below a pass is counted on the link; its rest is charged as a
                    pass when the link goes down, so reconnecting does not shed it
                    (status gossip.abuse_charges.scan: exactly one per link).

A runs with abuse_backoff_s = 1 and the overlay's default liveness (a loaded machine must
not close the hostile link for silence instead of abuse).
"""

import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import daemonlib as dl  # noqa: E402
import overlaylib as ol  # noqa: E402
import test_hostile_member as hm  # noqa: E402

PUSH, GRAFT, RECON, FETCH = 4, 6, 11, 13
REPORTS = 8192
PASS_MIN = 65536  # NODE_DISSEM_SCAN_PASS_MIN (node/overlay/dissem_int.h)
PASSES = 1024  # the SCAN budget a minute (policy/abuse.h)
PUSH_KEYS = 32  # work of one report pushed, in keys (node/overlay/dissem_int.h)
ROUNDS = 60  # per session: under the session's rounds_max (64), so sessions complete


class Env(hm.AloneEnv):
    def __init__(self):
        super().__init__("[gossip]\nrecon_interval_s = 0\nabuse_backoff_s = 1\n")

    def recon(self):
        return self.status()["gossip"]["recon"]

    def fill(self):
        """REPORTS GREEN reports published on A."""
        self.publish_many([f"scan{i}.recon-test.example" for i in range(REPORTS)])


class Mute(hm.Hostile):
    """A hostile link that reads nothing after the handshake: what A pushes waits in its
    send queue and backlog (A's cost, the listing and the queueing, is the same), and the
    test does not spend minutes decrypting copies."""

    def _read(self):
        self.closed.wait()


def fetch_flood(env, max_messages):
    """FETCH messages of 1,024 random ids each (A holds none of them: it looks each up and
    sends nothing) until A closes the link or @max_messages were sent; a PING after every
    64 waits until A has read them. Returns the messages sent."""
    h = hm.Hostile(env)
    sent = 0
    try:
        while sent < max_messages and not h.closed.is_set():
            try:
                for _ in range(64):
                    h.send([FETCH, [os.urandom(32) for _ in range(1024)]])
                    sent += 1
            except OSError:
                break  # closed while we sent
            h.sync(allow_close=True)
            h.received.clear()
        h.closed.wait(60)
    finally:
        h.close()
    return sent


def check_work(env, work0, t0, sent, per_round):
    """The work A counted must be past the budget, and past it by at most one round. The
    budget is per minute (a window starts at the first charge): on a machine slow enough
    to need more than a window, each window started adds one budget to the bound."""
    pass_keys = max(REPORTS, PASS_MIN)
    offence = (PASSES + 1) * pass_keys  # the charge past the budget
    windows = int((time.monotonic() - t0) // 60) + 1
    work = env.recon()["work"] - work0
    bound = (PASSES * windows + 1) * pass_keys + per_round
    assert offence <= work <= bound, (work, offence, bound, sent)
    print(f"    {sent} sent, work {work} keys (offence at {offence})", flush=True)


def case_fetch_flood(env):
    """Each FETCH id is charged as a report pushed (32 keys) whether A holds it or not: the
    cheapest way for the test to reach the budget (the scans below reach it the same way,
    at 4,100 rounds of two passes: more CPU than a loaded machine gives A in a minute)."""
    per_message = 1024 * PUSH_KEYS
    abuse0, work0, t0 = env.closed("abuse"), env.recon()["work"], time.monotonic()
    sent = fetch_flood(env, 10 * PASSES * PASS_MIN // per_message)
    ol.wait_for(lambda: env.closed("abuse") == abuse0 + 1, what="closed.abuse count")
    check_work(env, work0, t0, sent, per_message)
    env.alive()


def work_of(env, send, done):
    """The catch-up work A counts for what @send() sends on a link that reads nothing,
    once @done(status before) holds."""
    h = Mute(env)
    try:
        before = env.status()
        work0 = before["gossip"]["recon"]["work"]
        send(h)
        ol.wait_for(lambda: done(before), timeout=120, what="A's answer")
        return env.recon()["work"] - work0
    finally:
        h.closed.set()
        h.close()


def case_scan_rounds(env):
    """A round of one FINGERPRINT range over the whole key space that cannot match: A reads
    every key for the fingerprint and again for the split into buckets, and exactly that
    is charged; 60 such rounds and the done message make a session that completes."""
    def send(h):
        for _ in range(ROUNDS):
            h.send([RECON, dl.pack([1, 0, [1, os.urandom(16), 1]])])
        h.send([RECON, dl.pack([1, 0])])

    work = work_of(env, send,
                   lambda b: env.recon()["completed"] > b["gossip"]["recon"]["completed"])
    assert work == ROUNDS * 2 * REPORTS, work
    print(f"    {ROUNDS} rounds: work {work} keys", flush=True)
    env.alive()


def case_have_rounds(env):
    """One round that claims to hold nothing is a whole session: A reads every key for the
    fingerprint, lists every key and pushes every report (32 keys each). Exactly that is
    charged (the budget is reached the same way as in case_scan_rounds)."""
    work = work_of(env, lambda h: h.send([RECON, dl.pack([1, 0, [1, os.urandom(16), 0]])]),
                   lambda b: env.recon()["completed"] > b["gossip"]["recon"]["completed"])
    assert work == REPORTS + REPORTS + REPORTS * PUSH_KEYS, work
    print(f"    one empty-range claim: work {work} keys ({REPORTS} pushed)", flush=True)
    env.alive()


def case_graft_flood(env):
    """A GRAFT that names one report A holds 1,024 times is answered with 1,024 PUSHes (a
    store read and an encryption each when sent): 32 keys of work each."""
    value = "grafted.recon-test.example"
    body = hm.pack(hm.body_map(env.community.id, env.me.id, value))
    report = hm.signed(body, hm.sign(env.me.id_sk, body))
    rid = hashlib.blake2b(report, digest_size=32).digest()
    h = hm.Hostile(env)
    try:
        h.send([PUSH, report])
        ol.wait_for(lambda: env.a.call({"op": "query", "value": value})["found"],
                    what="the member's report stored")
    finally:
        h.close()
    work = work_of(env, lambda h: h.send([GRAFT, [rid] * 1024]),
                   lambda b: env.status()["gossip"]["push_sent"] >=
                   b["gossip"]["push_sent"] + 1024)
    assert work == 1024 * PUSH_KEYS, work
    print(f"    one GRAFT naming a report 1,024 times: work {work} keys", flush=True)
    env.alive()


def case_reconnect_rest(env):
    """Work is charged in whole passes, and a link counts what it caused below one: before,
    a member that reconnected before a pass filled up was never charged (here 10 links of
    FETCHes for 2,047 ids each, 65,504 keys, just under a pass: 0 charges). Now the rest
    is charged as one pass when the link goes down: exactly 10 charges."""
    def charges():
        return env.status()["gossip"]["abuse_charges"]["scan"]

    scan0, work0 = charges(), env.recon()["work"]
    for _ in range(10):
        h = hm.Hostile(env)
        try:
            h.send([FETCH, [os.urandom(32) for _ in range(1024)]])
            h.send([FETCH, [os.urandom(32) for _ in range(1023)]])
            h.sync()
        finally:
            h.close()
        ol.wait_for(lambda: not ol.links_up(env.a), what="the link down")
    assert env.recon()["work"] - work0 == 10 * 2047 * PUSH_KEYS
    assert charges() - scan0 == 10, charges() - scan0
    print(f"    10 links of 2,047 FETCH ids: {charges() - scan0} pass(es) charged", flush=True)
    env.alive()


def test_hostile_catchup():
    with Env() as env:
        env.fill()
        for case in (case_fetch_flood, case_scan_rounds, case_have_rounds, case_graft_flood,
                     case_reconnect_rest):
            t0 = time.monotonic()
            case(env)
            print(f"  ok {case.__name__} ({time.monotonic() - t0:.1f} s)", flush=True)
        assert env.a.stop() == 0


if __name__ == "__main__":
    dl.main([test_hostile_catchup])
