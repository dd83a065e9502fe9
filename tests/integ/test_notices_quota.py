# SPDX-License-Identifier: MIT
"""A member's notices take at most [notices] member_quota_bytes of a node's disk.

Notices are kept for good, and a member could make a node store any number of valid ones.
Now the signed bytes of the messages each member signed that a node holds are bounded by
member_quota_bytes; a notice over it is refused, not acknowledged (the sender retries),
counted (status notices.quota_refused) and logged. Node A runs alone with a quota of 64 KiB;
the Python members "Hostile Peer" and "Gamma CSIRT" send notices of ~33 KB each:

- Hostile Peer's first notice is stored and acknowledged, its second is refused (not
  acknowledged, quota_refused 1, a warning naming the option) and a copy of the first is
  still acknowledged (a duplicate takes no room);
- Gamma CSIRT's notice is stored: the quota is per member;
- the notice store holds each signer's total (database "signers"), so after a restart the
  second is refused again with nothing counted at start; a store of schema 1 (no totals,
  as an older chatham wrote it) gets them built once at the next start, and the second is
  still refused;
- after a reload with a 128 KiB quota, its retry is stored and acknowledged.
"""

import os
import signal
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import daemonlib as dl  # noqa: E402
import lmdb  # noqa: E402
import noticelib as nl  # noqa: E402
import overlaylib as ol  # noqa: E402
import test_hostile_member as hm  # noqa: E402

NOTICE, NOTICE_ACK = 20, 21


def big_notice(env, member):
    """A valid NOTICE (an incident form of ~33 KB) from @member to A: its id and bytes."""
    nid, signed = nl.signed(env, member, nl.incident("The quota is tested. " * 780,
                                                     "By sending large notices. " * 630))
    assert 32_000 < len(signed) < 34_000, len(signed)
    return nid, signed


def acks(h, nid):
    return sum(1 for m in list(h.received) if m == [NOTICE_ACK, nid])


def notices_status(env):
    return env.status()["notices"]


def sent_acked(h, notice, what, count=1):
    """@notice (id, bytes) sent on link @h (again); waits until A has acknowledged it
    @count times."""
    h.send([NOTICE, notice[1]])
    ol.wait_for(lambda: acks(h, notice[0]) >= count, timeout=60, what=what)


def refused(env, h, notice, count):
    """@notice sent on link @h; waits until A counts @count quota refusals and has handled
    everything @h sent, then checks that it was not acknowledged."""
    h.send([NOTICE, notice[1]])
    ol.wait_for(lambda: notices_status(env)["quota_refused"] == count, timeout=60,
                what=f"quota refusal {count}")
    h.sync()
    assert acks(h, notice[0]) == 0


def signers(env):
    """The stopped node A's notice store: its schema and its signers totals."""
    with lmdb.open(os.path.join(env.node_a.state, "notices"), max_dbs=8, readonly=True,
                   lock=False) as e:
        with e.begin() as t:
            schema = struct.unpack(">I", t.get(b"schema", db=e.open_db(b"meta", txn=t)))[0]
            if b"signers" not in {k for k, _ in t.cursor()}:
                return schema, None
            db = e.open_db(b"signers", txn=t)
            return schema, {k: struct.unpack(">Q", v)[0] for k, v in t.cursor(db=db)}


def downgrade(env):
    """Make the stopped node A's notice store one an older chatham wrote: schema 1, no
    signers database."""
    with lmdb.open(os.path.join(env.node_a.state, "notices"), max_dbs=8) as e:
        with e.begin(write=True) as t:
            t.drop(e.open_db(b"signers", txn=t), delete=True)
            t.put(b"schema", struct.pack(">I", 1), db=e.open_db(b"meta", txn=t))


def set_quota(env, quota):
    with open(env.node_a.config) as f:
        text = f.read()
    with open(env.node_a.config, "w") as f:
        f.write(text.replace("member_quota_bytes = 64k", f"member_quota_bytes = {quota}"))
    count = env.status()["reload"]["count"]
    env.a.signal(signal.SIGHUP)
    ol.wait_for(lambda: env.status()["reload"]["count"] > count, what="the reload")


def test_notices_quota():
    with hm.AloneEnv("[notices]\nmember_quota_bytes = 64k\n") as env:
        gamma = env.community.members[2]
        h, g = hm.Hostile(env), hm.Hostile(env, gamma)
        ol.wait_for(lambda: len(ol.links_up(env.a)) == 2, what="two links up")
        n1, n2, g1 = big_notice(env, env.me), big_notice(env, env.me), big_notice(env, gamma)

        sent_acked(h, n1, "the member's first notice acknowledged")
        refused(env, h, n2, 1)
        env.a.wait_log("[notices] member_quota_bytes")
        sent_acked(h, n1, "a copy of the first acknowledged again", count=2)
        sent_acked(g, g1, "another member's notice acknowledged")
        st = notices_status(env)
        assert st["stored"] == 2 and st["received"] == 2 and st["duplicates"] == 1, st
        assert st["refused"] == 1 and st["quota_refused"] == 1, st
        assert len(ol.links_up(env.a)) == 2  # not charged as abuse

        # The store holds each signer's total; it is what a restart reads.
        h.close()
        g.close()
        assert env.a.stop() == 0
        want = {env.me.id: len(n1[1]), gamma.id: len(g1[1])}
        assert signers(env) == (2, want), signers(env)
        env.a.start()
        h = hm.Hostile(env)
        ol.wait_for(lambda: len(ol.links_up(env.a)) == 1, what="the link up again")
        refused(env, h, n2, 1)

        # A store without totals (schema 1) gets them once, at the start that opens it.
        h.close()
        assert env.a.stop() == 0
        downgrade(env)
        assert signers(env) == (1, None)
        env.a.start()
        h = hm.Hostile(env)
        ol.wait_for(lambda: len(ol.links_up(env.a)) == 1, what="the link up again")
        refused(env, h, n2, 1)

        # A larger quota lets the retry in.
        set_quota(env, "128k")
        sent_acked(h, n2, "the retry acknowledged under the larger quota")
        st = notices_status(env)
        assert st["stored"] == 3 and st["quota_refused"] == 1, st
        print(f"    quota 64 KiB: a member's second notice of {len(n2[1])} "
              f"bytes refused (also after a restart, and after an upgrade from schema 1), "
              f"another member's stored; 128 KiB: the retry stored", flush=True)
        h.close()
        assert env.a.stop() == 0
        want[env.me.id] += len(n2[1])
        assert signers(env) == (2, want), signers(env)


if __name__ == "__main__":
    dl.main([test_notices_quota])
