# SPDX-License-Identifier: MIT
"""Churn. Eight members on the bridge publish steadily (one report about every 50 ms, each to a
random running member) while members are stopped at random - alternately SIGKILL and
SIGTERM, at most two down at once - and started again on their old state. A report counts as
acknowledged when its publish call answered ok. At the end every member runs again, and all
must converge to the same set, which holds every acknowledged report: a SIGKILL right after
the answer must not lose the report, even if it had not left the node yet.

CI: 20 s of churn; long variant (CHATHAM_NET_LONG=1 or --long): 120 s.
"""

import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import netbed as nb  # noqa: E402

N = 8


def test_churn():
    churn_s = 120 if nb.long_run() else 20
    bed = nb.Bed()
    members = None
    ok = False
    rng = random.Random(11)
    try:
        members = nb.Members(bed, N, lambda i, j: [nb.hostport(nb.v4(j), nb.PORT)], degree=3,
                             gossip="recon_interval_s = 1\n")
        members.start()
        d = members.daemons
        nb.wait_for(lambda: all(nb.links_up(x) >= 2 for x in d), timeout=30,
                    what="the overlay")
        acked = []
        down = []
        kills = terms = 0
        k = 0
        t_end = time.monotonic() + churn_s
        next_churn = time.monotonic() + 1.0
        while time.monotonic() < t_end:
            up = [i for i in range(N) if i not in down]
            target = rng.choice(up)
            value = f"c{k}.churn.example"
            k += 1
            try:
                r = members.daemons[target].call(
                    {"op": "publish", "reports": [{"value": value, "tlp": "GREEN",
                                                   "type": "domain"}]})
                if r.get("ok") and r.get("accepted") == 1:
                    acked.append(value)
            except (OSError, ConnectionError, ValueError):
                pass  # a member still starting: not acknowledged, not required
            if time.monotonic() >= next_churn:
                next_churn = time.monotonic() + rng.uniform(0.5, 1.5)
                if len(down) < 2:
                    victim = rng.choice([i for i in range(N) if i not in down])
                    if (kills + terms) % 2 == 0:
                        members.kill(victim)
                        kills += 1
                    else:
                        members.daemons[victim].signal(signal.SIGTERM)
                        code = members.daemons[victim].proc.wait(60)
                        assert code == 0, (victim, code, members.daemons[victim].log()[-3000:])
                        terms += 1
                    down.append(victim)
                if len(down) == 2 or (down and rng.random() < 0.5):
                    back = down.pop(0)
                    members.start([back], wait=False)
            time.sleep(0.05)  # the publish rate, not synchronisation
        members.start()
        nb.wait_for(lambda: all(nb.links_up(x) >= 1 for x in members.daemons), timeout=30,
                    what="every member linked again")
        nb.wait_for(lambda: len({nb.reports(x) for x in members.daemons}) == 1 and
                    nb.reports(members.daemons[0]) >= len(acked),
                    timeout=90, what="all members to converge")
        for x in members.daemons:
            for v in acked:
                assert nb.has(x, v), f"acknowledged report {v} lost on {x.node.root}"
        print(f"figures: churn n={N} churn_s={churn_s} acknowledged={len(acked)}"
              f" sigkill={kills} sigterm={terms}"
              f" final_reports={nb.reports(members.daemons[0])}", flush=True)
        assert kills >= 3 and terms >= 3, (kills, terms)
        for i in range(N):
            members.stop(i)
        ok = True
    finally:
        if members:
            members.cleanup(failed=not ok)
        bed.close()


if __name__ == "__main__":
    nb.main([test_churn])
