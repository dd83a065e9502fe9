#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Direct delivery does not depend on the overlay's random links. Five members; node 0's
roster lists every address and it wants one link (degree 1); the others list each other
but not node 0, so none of them ever dials it. Node 0 sends an AMBER report to members 1-4
and a notice to each of them: both wait in outboxes for members node 0 is not linked to,
the overlay dials those members on demand, and every recipient receives both."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
import daemonlib  # noqa: E402

FORM = {"form": "incident", "purpose": "information", "what_happened": "demand dial",
        "affected": {"host": "192.0.2.7", "occurred_at": "2026-12-06T09:30:00Z"}}
VALUE = "amber-demand.example"


def test_direct_to_unlinked_members():
    c = ct.Cluster(5, degree=1, dial=lambda i: range(5) if i == 0 else range(1, 5))
    ok = False
    try:
        c.start()
        d0 = c.daemons[0]
        ct.wait_for(lambda: ct.links_up(d0) >= 1, what="node 0's one wanted link")
        ov = ct.status(d0)["overlay"]
        assert ov["wanted"] == 1, ov
        others = [c.member_id(i) for i in range(1, 5)]
        ct.publish_batch(d0, [VALUE], tlp="AMBER", recipients=others)
        for i in range(1, 5):
            r = d0.call({"op": "notify", "form": FORM, "tlp": "AMBER", "to": c.member_id(i)})
            assert r["ok"], r
        for i in range(1, 5):
            d = c.daemons[i]
            ct.wait_for(lambda: ct.has_indicator(d, VALUE), timeout=60,
                        what=f"the AMBER report at node {i}")
            ct.wait_for(lambda: ct.status(d)["notices"]["stored"] == 1, timeout=60,
                        what=f"the notice at node {i}")
        ov = ct.status(d0)["overlay"]
        assert ov["wanted"] == 1 and ov["links_up"] == 4, ov
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    daemonlib.main([test_direct_to_unlinked_members])
