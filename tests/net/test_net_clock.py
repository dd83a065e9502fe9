# SPDX-License-Identifier: MIT
"""Clock skew. Five members in a full mesh, each clock offset with libfaketime (Debian's
faketime package, preloaded into the daemon; the monotonic clock is left alone so timers are
not disturbed): 0, -2 h, -5 min, +5 min, +2 h. chatham has no test-only time offset, so this
is the real daemon reading a wrong wall clock.

The rule under test (policy/admit.c, [policy] max_clock_skew_s = 300 by default): a member
refuses a report created more than 300 s after its own clock says now, with reason
"future"; an old report is accepted (this community sets no maximum age). So member b holds
member a's report if and only if offset(a) - offset(b) <= 300 s, and counts every other one
under rejected.future. Both ±5 min against the correct clock are exactly at the limit, plus
the transit time, and are accepted. Catch-up sessions that keep meeting the refused reports
must not get a member disconnected for abuse.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import netbed as nb  # noqa: E402

OFFSETS_S = [0, -7200, -300, 300, 7200]
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
MAX_SKEW_S = 300


def faketime_env(offset_s):
    if not os.path.exists(LIBFAKETIME):
        raise AssertionError(f"{LIBFAKETIME} missing: apt-get install faketime "
                             "(deploy/install-deps.sh)")
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"LD_PRELOAD": LIBFAKETIME, "FAKETIME": f"{offset_s:+d}s",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            # libfaketime goes in front of the ASan runtime in a sanitizer build.
            "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0"}


def test_clock_skew():
    n = len(OFFSETS_S)
    bed = nb.Bed()
    members = None
    ok = False
    try:
        members = nb.Members(bed, n, lambda i, j: [nb.hostport(nb.v4(j), nb.PORT)],
                             degree=n - 1, gossip="recon_interval_s = 1\n")
        for i, off in enumerate(OFFSETS_S):
            if off:
                members.daemons[i].env.update(faketime_env(off))
        members.start()
        d = members.daemons
        nb.wait_for(lambda: all(nb.links_up(x) == n - 1 for x in d), timeout=30,
                    what="a full mesh")
        for i in range(n):
            nb.publish(d[i], [f"skew{i}.example"])

        def expected(a, b):
            return a == b or OFFSETS_S[a] - OFFSETS_S[b] <= MAX_SKEW_S

        want = [sum(expected(a, b) for a in range(n)) for b in range(n)]
        refused = [n - w for w in want]
        # Each refused report is counted at least once (a copy by push, then by catch-up).
        nb.wait_for(lambda: all(nb.reports(d[b]) == want[b] and
                                nb.status(d[b])["gossip"]["rejected"].get("future", 0)
                                >= refused[b] for b in range(n)),
                    timeout=30, what="each member's accepted set and its refusals")
        for b in range(n):
            for a in range(n):
                assert nb.has(d[b], f"skew{a}.example") == expected(a, b), (a, b)
            rej = nb.status(d[b])["gossip"]["rejected"]
            assert set(k for k, v in rej.items() if v) <= {"future"}, (b, rej)
            print(f"member {b} (clock {OFFSETS_S[b]:+d} s): holds "
                  f"{[OFFSETS_S[a] for a in range(n) if expected(a, b)]}, refused "
                  f"{rej.get('future', 0)} cop(ies) as future", flush=True)
        # Catch-up keeps finding the refused reports; that must not look like abuse.
        more = 30 if nb.long_run() else 5
        s0 = [nb.status(x)["gossip"]["recon"]["sessions"] for x in d]
        nb.wait_for(lambda: all(nb.status(x)["gossip"]["recon"]["sessions"] >= s0[b] + more
                                for b, x in enumerate(d)),
                    timeout=30 + 4 * more, what=f"{more} more catch-up sessions per member")
        for b in range(n):
            st = nb.status(d[b])
            assert st["gossip"]["links_closed_abusive"] == 0, (b, st["gossip"])
            assert nb.links_up(d[b]) == n - 1, (b, st.get("overlay"))
        for i in range(n):
            members.stop(i)
        ok = True
    finally:
        if members:
            members.cleanup(failed=not ok)
        bed.close()


if __name__ == "__main__":
    nb.main([test_clock_skew])
