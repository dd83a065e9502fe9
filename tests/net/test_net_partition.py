# SPDX-License-Identifier: MIT
"""Partition and heal on the 16-member WAN (tests/net/wanlib.py): the relays between the halves
(members 0-7 and 8-15) go down - data dropped, new connections black-holed - while both
halves publish; the partition is checked to be real (neither half has a report of the
other). After healing, every member must hold the same set within HEAL_LIMIT_S. Prints the
convergence time and the catch-up bytes per missing (member, report) pair: counted on the
relays (everything on the wire: Noise frames, keepalives, reconciliation, the copies
themselves) and as the nodes' own reconciliation bytes (RECON and FETCH messages only).

CI: a 15 s partition; long variant (CHATHAM_NET_LONG=1 or --long): 60 s.
"""

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import netbed as nb  # noqa: E402
import wanlib  # noqa: E402

# Measured 16.5-30 s in most runs; one CI run on a quiet machine took over 60 s (cause
# not investigated: catch-up crosses the overlay one reconciliation round per hop).
HEAL_LIMIT_S = 120


def test_partition_and_heal():
    long = nb.long_run()
    split_s = 60 if long else 15
    wan = wanlib.Wan()
    n = wan.n
    A, B = list(range(0, n // 2)), list(range(n // 2, n))
    cross = [wanlib.link_id(i, j) for i in range(n) for j in range(n)
             if i != j and ((i in A) != (j in A))]
    ok = False
    try:
        wan.members.start()
        wan.wait_overlay(min_links=2)
        nb.publish(wan.daemons[0], ["pre.partition.example"])
        nb.wait_for(lambda: all(nb.reports(d) == 1 for d in wan.daemons), timeout=30,
                    what="the first report everywhere")

        wan.relay.call(op="state", ids=cross, state="down")
        nb.wait_for(lambda: not any((i in A) != (j in A)
                                    for i, j in wan.members.overlay_edges()),
                    timeout=30, what="the links between the halves to be declared dead")
        rng = random.Random(5)
        published = {"A": [], "B": []}
        t_end = time.monotonic() + split_s
        k = 0
        while time.monotonic() < t_end:
            for side, members in (("A", A), ("B", B)):
                v = f"{side.lower()}{k}.partition.example"
                nb.publish(wan.daemons[rng.choice(list(members))], [v])
                published[side].append(v)
            k += 1
            time.sleep(0.25)  # the publish rate, not synchronisation
        per_side = len(published["A"])
        nb.wait_for(lambda: all(nb.reports(wan.daemons[i]) == 1 + per_side for i in A + B),
                    timeout=30, what="each half to spread its own reports")
        for i in A:
            assert not nb.has(wan.daemons[i], published["B"][0])
        for i in B:
            assert not nb.has(wan.daemons[i], published["A"][0])

        missing = per_side * len(B) + per_side * len(A)
        bytes0 = wan.relay_bytes()
        recon0 = sum(nb.status(d)["gossip"]["recon"]["bytes_sent"] for d in wan.daemons)
        t_heal = time.monotonic()
        wan.relay.call(op="state", ids=cross, state="up")
        total = 1 + 2 * per_side
        nb.wait_for(lambda: any((i in A) != (j in A) for i, j in wan.members.overlay_edges()),
                    timeout=HEAL_LIMIT_S, what="a link between the halves")
        relinked_s = time.monotonic() - t_heal
        nb.wait_for(lambda: all(nb.reports(d) == total for d in wan.daemons),
                    timeout=HEAL_LIMIT_S, what=f"convergence within {HEAL_LIMIT_S} s")
        converged_s = time.monotonic() - t_heal
        catchup_bytes = wan.relay_bytes() - bytes0
        recon_bytes = sum(nb.status(d)["gossip"]["recon"]["bytes_sent"]
                          for d in wan.daemons) - recon0
        for d in wan.daemons:
            assert nb.has(d, published["A"][-1]) and nb.has(d, published["B"][-1])
            g = nb.status(d)["gossip"]
            assert not g["rejected"], g
        print(f"figures: partition n={n} split_s={split_s} reports_per_side={per_side}"
              f" missing_pairs={missing} first_cross_link_s={relinked_s:.1f}"
              f" converged_s={converged_s:.1f}"
              f" wire_bytes_after_heal={catchup_bytes}"
              f" wire_bytes_per_missing_pair={catchup_bytes / missing:.0f}"
              f" recon_bytes_per_missing_pair={recon_bytes / missing:.1f}", flush=True)
        for i in range(n):
            wan.members.stop(i)
        ok = True
    finally:
        wan.close(failed=not ok)


if __name__ == "__main__":
    nb.main([test_partition_and_heal])
