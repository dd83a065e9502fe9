# SPDX-License-Identifier: MIT
"""A hostile member on the channels beside reports: sealed sightings, the OPRF and notices
(review finding 4: refused SEALED / OPRF / NOTICE traffic was never charged to the sender).

Node A (the daemon under test) runs alone in a community with sealed-sighting settings
(k = 2, one OPRF share of two needed; A holds none). The hostile member is a Python peer
with a real member's keys (python3-dissononce, test_hostile_member.Hostile). Each case
floods A with one kind of message no honest member sends; A must charge every refusal to
the member's abuse budget (200 refusals a minute), close its link as `abuse` past it, and
stay up; what is queued behind the offence costs no further verification:

  case_forged_sealed   1,000 SEALED submissions that pass every cheap check (community, k,
                       epoch, day, not held) but carry random ring signatures: A checks at
                       most the budget plus one of them (status sealed.counters.verified),
                       stores none, and drops the rest unverified (abuse_dropped).
  case_bad_oprf_eval   500 OPRF_EVAL requests that do not decode.
  case_bad_oprf_answer 500 OPRF_ANSWER messages that do not decode.
  case_forged_notices  1,500 NOTICEs with random Ed25519 signatures: A refuses at most the
                       budget plus one job's batch (NODE_NOTICES_PENDING_MAX = 1,024) of them
                       (status notices.refused) and drops the rest unread.

A runs with abuse_backoff_s = 1: after each close the member is refused 1, 2, 4 s; the
Hostile class reconnects until that ends.

case_quota_index (review finding 8): the member announces OPRF share 1 and, asked by A,
refuses "for quota" in the name of share 2 with a made-up figure. A must not record that
figure for share 2 (status sealed.quota_left) and must not ask that link again.
"""

import ctypes
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import daemonlib as dl  # noqa: E402
import msgpack  # noqa: E402
import overlaylib as ol  # noqa: E402
import test_hostile_member as hm  # noqa: E402

OPRF_EVAL, OPRF_ANSWER, SEALED, OPRF_HOLDER, NOTICE = 16, 17, 18, 19, 20
K, T, N_HOLDERS, QUOTA, WINDOW = 2, 1, 2, 100, 30
BUDGET = 200  # refused messages a minute before the offence (policy/abuse.h)
NOTICES_BATCH = 1024  # NODE_NOTICES_PENDING_MAX (node/daemon/notices.h)
STATUS_QUOTA = 2  # enum proto_sealed_status


def lib():
    return dl.sodium().lib


def scalar():
    s = ctypes.create_string_buffer(32)
    lib().crypto_core_ristretto255_scalar_random(s)
    return s.raw


def point():
    p = ctypes.create_string_buffer(32)
    lib().crypto_core_ristretto255_random(p)
    return p.raw


def deal(t, n):
    """Verification keys of a fresh t-of-n OPRF dealing (the shares are not needed: A holds
    none and the hostile member never answers correctly)."""
    coef = [scalar() for _ in range(t)]
    vks = []
    for j in range(1, n + 1):
        acc = ctypes.create_string_buffer(coef[0], 32)
        xp = (1).to_bytes(32, "little")
        for c in coef[1:]:
            nxp = ctypes.create_string_buffer(32)
            lib().crypto_core_ristretto255_scalar_mul(nxp, xp, j.to_bytes(32, "little"))
            xp = nxp.raw
            term = ctypes.create_string_buffer(32)
            lib().crypto_core_ristretto255_scalar_mul(term, c, xp)
            lib().crypto_core_ristretto255_scalar_add(acc, acc.raw, term.raw)
        vks.append(acc.raw)
    out = []
    for x in vks + [coef[0]]:
        p = ctypes.create_string_buffer(32)
        assert lib().crypto_scalarmult_ristretto255_base(p, x) == 0
        out.append(p.raw)
    return out[:-1], out[-1]


class Env(hm.AloneEnv):
    def __init__(self):
        # Gamma and Delta never run: they make a ring of 4. The overlay's default liveness
        # (dead_after_ms 60 s): a hostile peer slowed by a loaded machine must not lose its
        # link for silence instead of abuse.
        super().__init__("[gossip]\nrecon_interval_s = 0\nabuse_backoff_s = 1\n")
        vks, vk = deal(T, N_HOLDERS)
        c = self.community
        dl.write_file(self.node_a.community_path,
                      dl.pack({0: "chatham-community", 1: 1, 2: c.id, 3: c.name,
                               4: [c.steward_pk], 5: 1,
                               6: {0: K, 1: T, 2: QUOTA, 3: WINDOW, 4: vk, 5: vks}}))

    def sealed(self):
        return self.status()["sealed"]

    def notices(self):
        return self.status()["notices"]

    def forged_sealed(self):
        """A submission that passes A's cheap checks; its ring signature is random."""
        ring = list(range(len(self.community.members)))
        body = dl.pack({0: 1, 1: self.community.id, 2: 1, 3: K, 4: os.urandom(32),
                        5: os.urandom(32), 6: scalar(), 7: scalar(),
                        8: int(time.time() * 1000) // 86400000, 9: os.urandom(24),
                        10: os.urandom(48), 11: ring, 12: point()})
        sig = b"".join(scalar() for _ in range(len(ring) + 2))  # proto_ring_sig_size()
        return dl.pack([body, sig])

    def forged_notice(self):
        nid = os.urandom(16)
        body = dl.pack({0: 1, 1: self.community.id, 2: nid, 3: nid, 4: 0, 5: self.me.id,
                        6: self.alpha.id, 7: 3, 8: int(time.time() * 1000),
                        9: '{"form": "incident", "summary": "forged"}'})
        return dl.pack([body, os.urandom(64)])


def flood(env, make, n):
    """Sends @n messages from @make() on a new link until A closes it; returns the link
    (closed) and how many were sent."""
    abuse0 = env.closed("abuse")
    h = hm.Hostile(env)
    sent = 0
    try:
        for _ in range(n):
            if h.closed.is_set():
                break
            try:
                h.send(make())
            except OSError:
                break  # closed while we flooded
            sent += 1
        assert h.closed.wait(60), "a member flooding refused messages kept its link"
        ol.wait_for(lambda: env.closed("abuse") == abuse0 + 1, what="closed.abuse count")
    finally:
        h.close()
    env.alive()
    return sent


def case_forged_sealed(env):
    before = env.sealed()["counters"]
    sent = flood(env, lambda: [SEALED, env.forged_sealed()], 1000)
    # Everything A read is accounted for once its queue is empty.
    ol.wait_for(lambda: env.sealed()["counters"]["received"] - before["received"] ==
                sum(env.sealed()["counters"][k] - before[k]
                    for k in ("refused", "stored", "abuse_dropped", "duplicates")),
                what="every received submission refused or dropped")
    c = env.sealed()["counters"]
    verified = c["verified"] - before["verified"]
    assert 1 <= verified <= BUDGET + 1, (verified, sent, c)
    assert c["stored"] == before["stored"] and env.sealed()["held"] == 0, c
    assert c["refused"] - before["refused"] == verified, c
    print(f"    {sent} sent, {verified} verified, "
          f"{c['abuse_dropped'] - before['abuse_dropped']} dropped unverified", flush=True)


def case_bad_oprf_eval(env):
    before = env.sealed()["counters"]
    flood(env, lambda: [OPRF_EVAL, b"\x81\x00" + os.urandom(8)], 500)
    c = env.sealed()["counters"]
    assert c["evaluations_served"] == before["evaluations_served"], c


def case_bad_oprf_answer(env):
    flood(env, lambda: [OPRF_ANSWER, b"\x92" + os.urandom(8)], 500)


def case_forged_notices(env):
    before = env.notices()
    sent = flood(env, lambda: [NOTICE, env.forged_notice()], 1500)
    # The job in flight when the member went over its budget finishes; nothing after it.
    ol.wait_for(lambda: env.notices()["idle"], what="the notices engine idle")
    n = env.notices()
    refused = n["refused"] - before["refused"]
    assert refused <= BUDGET + NOTICES_BATCH, (refused, sent, n)
    assert n["received"] == before["received"] and n["stored"] == before["stored"], n
    print(f"    {sent} sent, {refused} refused, {n['dropped'] - before['dropped']} dropped",
          flush=True)


def case_quota_index(env):
    """The member claims share 1, then answers A's request in the name of share 2."""
    h = hm.Hostile(env)
    try:
        h.send([OPRF_HOLDER, dl.pack({0: 1})])
        ol.wait_for(lambda: env.sealed()["holders_linked"] == 1, what="the claimed holder")
        cheats0 = env.sealed()["counters"]["wrong_evaluations_caught"]
        answer = {}

        def answer_eval():
            for m in list(h.received):
                if m[0] == OPRF_EVAL:
                    req = msgpack.unpackb(m[1], strict_map_key=False)[0]
                    h.send([OPRF_ANSWER, dl.pack({0: req, 1: STATUS_QUOTA, 2: 2,
                                                  3: 12345})])
                    return True
            return False

        t = threading.Thread(target=lambda: answer.update(
            r=env.a.call({"op": "seal", "values": [{"value": "198.18.3.3"}]})))
        t.start()
        ol.wait_for(answer_eval, what="A's OPRF_EVAL")
        t.join(60)
        assert not t.is_alive(), "the seal request was not answered"
        r = answer["r"]
        assert not r.get("ok"), r
        st = env.sealed()
        assert "2" not in st["quota_left"], st
        assert st["counters"]["wrong_evaluations_caught"] == cheats0 + 1, st
        assert st["holders_linked"] == 0, st  # not asked again on this link
    finally:
        h.close()
    env.alive()


def test_hostile_channels():
    with Env() as env:
        for case in (case_quota_index, case_forged_sealed, case_bad_oprf_eval,
                     case_bad_oprf_answer, case_forged_notices):
            case(env)
            print(f"  ok {case.__name__}", flush=True)
        assert env.closed("abuse") == 4
        assert env.a.stop() == 0


if __name__ == "__main__":
    dl.main([test_hostile_channels])
