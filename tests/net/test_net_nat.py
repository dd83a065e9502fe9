# SPDX-License-Identifier: MIT
"""A member behind NAT. Members 0-3 are on the bridge; member 4 sits behind a router
namespace that masquerades (nftables) everything it sends and lets nothing in. The rosters
list member 4 at its inside address, which no other member can reach. Member 4 wants two
links (degree 2) and dials out; members 0-3 want everyone (degree 4).

Asserted: member 4's links arrive from the router's public address (the NAT is real); it
publishes to everyone and receives everyone's reports; members it did not link to keep
failing to dial it and back off - `peers` shows the failures and a retry delay, and their
dial count over a window stays within what the backoff allows, not a dial per tick.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import netbed as nb  # noqa: E402
import overlaylib  # noqa: E402

NAT = 4
PUBLIC = [0, 1, 2, 3]
ROUTER4 = "198.18.2.1"
INSIDE4 = "198.19.0.2"
BACKOFF_MAX_MS = 2000  # netbed.OVERLAY_BED


def addr(j):
    return INSIDE4 if j == NAT else nb.v4(j)


def nat_entry(d, members):
    """Member 4's entry in `peers` "members" of daemon @d (None when it is not wanted)."""
    want = members.community.members[NAT].id.hex()
    for m in overlaylib.peers(d).get("members", []):
        if m["id"] == want:
            return m
    return None


def test_member_behind_nat():
    bed = nb.Bed()
    members = None
    ok = False
    try:
        def host(i):
            if i == NAT:
                return bed.add_nat_host("m4", ROUTER4, inside4=INSIDE4)
            return bed.add_host(f"m{i}", [nb.v4(i)])
        members = nb.Members(bed, 5, lambda i, j: [nb.hostport(addr(j), nb.PORT)],
                             degree=4, host=host, listen=lambda i: nb.hostport(addr(i), nb.PORT),
                             extra=lambda i: "")
        # Member 4 wants two links only, so two public members never get one from it.
        n4 = members.nodes[NAT]
        with open(n4.config) as f:
            text = f.read()
        n4.write_config(text=text.replace("degree = 4", "degree = 2"))
        members.start()
        d = members.daemons
        nb.wait_for(lambda: nb.links_up(d[NAT]) == 2, timeout=30,
                    what="member 4's two outbound links")
        # Its links arrive from the router's public address: the NAT is real.
        for i in PUBLIC:
            for p in overlaylib.peers(d[i])["peers"]:
                if p["state"] == "up" and p.get("member", {}).get("id") == \
                        members.community.members[NAT].id.hex():
                    assert p["direction"] == "inbound", p
                    assert p["address"].startswith(ROUTER4 + ":"), p

        nb.publish(d[NAT], ["from.nat.example"])
        for i in PUBLIC:
            nb.publish(d[i], [f"to.nat{i}.example"])
        nb.wait_for(lambda: all(nb.reports(x) == 5 for x in d), timeout=30,
                    what="every report on every member, member 4 included")
        for i in PUBLIC:
            assert nb.has(d[i], "from.nat.example")
        for i in PUBLIC:
            assert nb.has(d[NAT], f"to.nat{i}.example")

        # The members member 4 did not link to: they fail to dial it and back off.
        unlinked = [i for i in PUBLIC if not nat_entry(d[i], members)["linked"]]
        assert len(unlinked) == 2, [nat_entry(d[i], members) for i in PUBLIC]
        for i in unlinked:
            nb.wait_for(lambda: nat_entry(d[i], members)["failures"] >= 4, timeout=30,
                        what=f"member {i} to count failed dials to member 4")
        window_s = 6.0
        dials0 = {i: overlaylib.peers(d[i])["summary"]["dials"] for i in unlinked}
        t0 = time.monotonic()
        retry_seen = {i: 0 for i in unlinked}
        while time.monotonic() - t0 < window_s:
            for i in unlinked:
                e = nat_entry(d[i], members)
                assert not e["linked"], e
                retry_seen[i] = max(retry_seen[i], e["retry_in_ms"])
            time.sleep(0.1)  # sampling the backoff, not synchronisation
        elapsed = time.monotonic() - t0
        for i in unlinked:
            dials = overlaylib.peers(d[i])["summary"]["dials"] - dials0[i]
            # Backoff is uniform in [max/2, max] once saturated: at most one dial per
            # max/2, plus the one in flight when the window opened.
            allowed = int(elapsed * 1000 / (BACKOFF_MAX_MS / 2)) + 1
            print(f"member {i}: {dials} dial(s) to member 4 in {elapsed:.1f} s"
                  f" (allowed {allowed}), largest retry_in_ms seen {retry_seen[i]}", flush=True)
            assert dials <= allowed, (i, dials, allowed)
            assert retry_seen[i] > BACKOFF_MAX_MS / 4, retry_seen
        for i in range(5):
            members.stop(i)
        ok = True
    finally:
        if members:
            members.cleanup(failed=not ok)
        bed.close()


if __name__ == "__main__":
    nb.main([test_member_behind_nat])
