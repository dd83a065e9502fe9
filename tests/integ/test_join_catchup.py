# SPDX-License-Identifier: MIT
"""A member joins a community whose whole history is a few thousand reports of ONE signer,
under a deliberately low member_rate_per_min (60 a minute, a burst of 20).

Node 0 publishes HISTORY reports while node 1 is not running; then node 1 starts empty and
links to node 0, the only member holding them, whose own reports they all are. Catch-up
copies that node 1's own reconciliation sessions asked node 0 for are exempt from the
per-member rate limit (node/overlay/catchup.c, proto_recon_invited()), so node 1 ends with
every report, refuses none as rate_limited, drops none at its admission queue and closes
no link as abusive. Before that exemption the joiner charged every copy over the limit to
node 0 (it signed them) and disconnected it after 200, again after each backoff.
Unsolicited CATCHUP copies are still limited and charged: test_hostile_member.py,
case_valid_catchup_flood.

test_two_histories: each node holds a history of its own signer that the other lacks, so a
session both pushes what the peer lacks and FETCHes what it lacks; the FETCH answers are
copies asked for too (node/overlay/catchup.c note_fetched()/take_fetched())."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402

HISTORY = 4000
BATCH = 1000


def rate_limited(g):
    return g.get("rejected", {}).get("rate_limited", 0)


def low_rate_pair():
    return ct.Cluster(2, degree=1,
                      gossip="recon_interval_s = 0\nmember_rate_per_min = 60\nmember_burst = 20\n",
                      overlay="keepalive_ms = 1000\ndead_after_ms = 60000\nbackoff_min_ms = 100\n"
                      "backoff_max_ms = 800\n")


def publish_history(d, tag, n):
    for b in range(0, n, BATCH):
        ct.publish_batch(d, [f"{tag}{i}.join.example" for i in range(b, b + BATCH)])


def test_join_one_signer_low_rate():
    c = low_rate_pair()
    ok = False
    try:
        c.start([0])
        publish_history(c.daemons[0], "h", HISTORY)
        assert ct.reports(c.daemons[0]) == HISTORY

        c.start([1])
        ct.wait_links(c.daemons, 1, timeout=60)
        ct.wait_for(lambda: ct.reports(c.daemons[1]) == HISTORY, timeout=240,
                    what="the joiner to hold the whole history")
        g = ct.gossip(c.daemons[1])
        print(f"joined {HISTORY} reports: {g['catchup_received']} catch-up copies, "
              f"{g['recon']['asked']} asked for, {g['pushes_received']} received, "
              f"sessions {g['recon']['sessions']}", flush=True)
        assert rate_limited(g) == 0, g
        assert g["links_closed_abusive"] == 0, g
        assert g["abuse_offences"] == 0, g
        assert g["inbound_dropped"] == 0, g
        # Every report came by catch-up, and as a copy node 1 asked for.
        assert g["catchup_received"] == HISTORY, g
        assert g["recon"]["asked"] == HISTORY, g
        g0 = ct.gossip(c.daemons[0])
        assert g0["links_closed_abusive"] == 0, g0
        assert ct.links_up(c.daemons[1]) == 1
        for i in range(2):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


def test_two_histories():
    c = low_rate_pair()
    ok = False
    try:
        c.start([0])
        publish_history(c.daemons[0], "a", HISTORY // 2)
        c.stop(0)
        c.start([1])
        publish_history(c.daemons[1], "b", HISTORY // 2)
        c.start([0])
        ct.wait_links(c.daemons, 1, timeout=60)
        for i in range(2):
            ct.wait_for(lambda: ct.reports(c.daemons[i]) == HISTORY, timeout=240,
                        what=f"node {i} to hold both histories")
        gs = [ct.gossip(d) for d in c.daemons]
        for g in gs:
            print(f"{g['catchup_received']} catch-up copies, {g['recon']['asked']} asked for, "
                  f"FETCH sent {g['recon']['fetch_sent']}", flush=True)
            assert rate_limited(g) == 0, g
            assert g["links_closed_abusive"] == 0, g
            assert g["abuse_offences"] == 0, g
            assert g["catchup_received"] == HISTORY // 2, g
            assert g["recon"]["asked"] == HISTORY // 2, g
        assert sum(g["recon"]["fetch_sent"] for g in gs) > 0, gs
        for i in range(2):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    ct.main([test_join_one_signer_low_rate, test_two_histories])
