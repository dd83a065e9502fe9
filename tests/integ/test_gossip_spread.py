# SPDX-License-Identifier: MIT
"""Gossip across eight real daemons: a report published on one node reaches all eight, a
batch does too, and a node of another community that keeps dialling a member never receives
anything (its store and its SIEM export stay without the community's GREEN reports)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
import overlaylib  # noqa: E402
from daemonlib import Community, Daemon  # noqa: E402


def test_eight_nodes_and_an_outsider():
    c = ct.Cluster(8, degree=3, gossip="recon_interval_s = 2\n")
    # The outsider: its own community and network key; its roster lists a member whose
    # address is node 0's listener, so it dials node 0 again and again.
    outsider_comm = Community(name="Other group", members=("Outsider CERT", "Lure CSIRT"))
    out_port = overlaylib.free_port()
    outsider = overlaylib.overlay_node(
        outsider_comm, 0, os.urandom(32), out_port,
        {"Lure CSIRT": [f"127.0.0.1:{c.ports[0]}"]}, ct.OVERLAY_FAST)
    out_d = Daemon(outsider)
    ok = False
    try:
        c.start()
        out_d.start()
        ct.wait_links(c.daemons, 2)

        ct.publish_batch(c.daemons[3], ["one.spread.example"])
        ct.wait_for(lambda: all(ct.has_indicator(d, "one.spread.example") for d in c.daemons),
                    timeout=20, what="the report on all eight nodes")

        values = [f"b{i}.spread.example" for i in range(200)]
        ct.publish_batch(c.daemons[5], values)
        ct.wait_for(lambda: all(ct.reports(d) == 201 for d in c.daemons), timeout=30,
                    what="the batch on all eight nodes")
        st = [ct.gossip(d) for d in c.daemons]
        assert sum(g["published"] for g in st) == 201, st
        # Gossip, not the periodic reconciliation that backs it up, carried (nearly) all
        # of it to every non-origin node, and nothing was refused.
        for i, g in enumerate(st):
            expected = 201 - (1 if i == 3 else 0) - (200 if i == 5 else 0)
            assert g["received"] >= 0.9 * expected, (i, g)
            assert not g["rejected"], g
        # Every node's SIEM export shows the GREEN reports.
        ct.wait_for(lambda: all("one.spread.example" in ct.export_values(n)
                                for n in c.nodes), what="the report in every export")

        # The outsider tried, and got nothing.
        ct.wait_for(lambda: overlaylib.peers(out_d)["summary"]["dials"] >= 2,
                    what="the outsider dialling node 0")
        assert ct.links_up(out_d) == 0
        assert ct.reports(out_d) == 0
        for v in ["one.spread.example"] + values[:5]:
            assert not ct.has_indicator(out_d, v)
        assert not (ct.export_values(outsider) & set(values + ["one.spread.example"]))
        assert ct.store_has_value(c.nodes[0].state, "spread.example")  # the probe works
        assert not ct.store_has_value(outsider.state, "spread.example")
        for i in range(8):
            c.stop(i)
        assert out_d.stop() == 0
        ok = True
    finally:
        out_d.kill()
        if not ok:
            print(f"--- outsider log:\n{out_d.log()[-3000:]}")
        outsider.cleanup()
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    ct.main([test_eight_nodes_and_an_outsider])
