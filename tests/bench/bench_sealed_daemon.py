#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench_sealed_daemon — sealed sightings through real daemons (docs/SEALED.md §5).

Five `chatham run` nodes on loopback (overlay degree 4): nodes 0, 1 and 2 hold the shares of
a 2-of-3 OPRF key, node 3 is the sealing member, node 4 joins at the end. Node 3 seals
VALUES distinct values (default 20,000) with `chatham sight --sealed --file` (batches of
1,024: one OPRF round trip to 2 holders each, then the ring-signed submissions flood), and
the bench measures:
  1. throughput: VALUES / wall time of the command (answered after every submission is
     stored on node 3), and the time until every node holds all of them;
  2. OPRF round trip (question sent -> answer in, per holder, per batch of 1,024
     blinded values) p50/p99 from node 3's status ("oprf_rtt_ms");
  3. bytes on the wire per value: node 3's link bytes (both directions: OPRF questions and
     answers, its submissions to its links, keepalives) and all nodes' link bytes sent,
     each divided by VALUES (counters of the links up at the end);
  4. CPU of all five daemons per value (utime + stime from /proc);
  5. catch-up by re-send: node 4 starts with an empty store; time until it holds all
     VALUES, its copies received per submission (every link re-sends everything it holds)
     and the bytes its links brought per submission.
The machine's own limit in the same run: `bench_sealed` (the sans-I/O member pipeline of
proto/: blind, 2 evaluations with DLEQ proofs, verify, combine, make, ring signature over
a ring of 4 as here), CPU time of one thread; the bench prints the daemon throughput as a
ratio to that single-core rate, and the submission's wire size for comparison.

Usage: bench_sealed_daemon.py [--values N] [--json-out FILE]
Needs CHATHAM_BUILD_DIR (its node/chatham and tests/bench_sealed); a release build gives
the meaningful figures.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integ"))

import chathamtest as ct  # noqa: E402
import daemonlib as dl  # noqa: E402
from test_sealed import deal, give_share  # noqa: E402

K, T = 3, 2


def community_file(c, vks, vk, quota):
    return dl.pack({0: "chatham-community", 1: 1, 2: c.id, 3: c.name, 4: [c.steward_pk], 5: 1,
                    6: {0: K, 1: T, 2: quota, 3: 30, 4: vk, 5: vks}})


def sealed(d):
    return ct.status(d)["sealed"]


def link_bytes(d):
    peers = d.call({"op": "peers"}).get("peers", [])
    return (sum(p.get("bytes_in", 0) for p in peers), sum(p.get("bytes_out", 0) for p in peers))


def cpu_s(d):
    with open(f"/proc/{d.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sans_io(build, values):
    """The proto-level member pipeline, one thread, measured now."""
    p = subprocess.run([os.path.join(build, "tests", "bench_sealed"), str(values), "--ring", "4",
                        "--stewards", "2/3", "--k", str(K)],
                       capture_output=True, text=True, check=True)
    out = p.stdout

    def num(pattern):
        m = re.search(pattern, out)
        assert m, (pattern, out)
        return float(m.group(1))
    oprf = num(r"OPRF round trips .*?([\d.]+) values/s")
    make = num(r"combine, unblind, make\s+[\d.]+ s\s+([\d.]+) values/s")
    sign_ms = num(r"ring signature \(ring of 4\)\s+([\d.]+) ms each")
    wire = num(r"wire bytes per submission\s+(\d+)")
    per_value = 1 / oprf + 1 / make + sign_ms / 1000
    return {"oprf_values_s": oprf, "make_values_s": make, "ring_sign_ms": sign_ms,
            "member_values_s": 1 / per_value, "wire_bytes": wire, "raw": out}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--values", type=int, default=20000)
    ap.add_argument("--json-out")
    args = ap.parse_args()
    n = args.values
    assert 1024 <= n <= 131072, "VALUES: 1,024 .. 131,072 (addresses of 198.18.0.0/15)"
    build = os.environ.get("CHATHAM_BUILD_DIR")
    assert build, "set CHATHAM_BUILD_DIR (a release build)"

    c = ct.Cluster(5, degree=4)
    shares, vks, vk = deal(T, 3)
    for i, node in enumerate(c.nodes):
        dl.write_file(node.community_path, community_file(c.community, vks, vk, 2 * n))
        if i <= 2:
            give_share(node, c.community, i + 1, shares[i])
    res = {"values": n}
    try:
        c.start([0, 1, 2, 3])
        first = {i: c.daemons[i] for i in range(4)}
        ct.wait_links(list(first.values()), 3, timeout=60)
        ct.wait_for(lambda: sealed(c.daemons[3])["holders_linked"] >= 3, timeout=60,
                    what="node 3 linked to the three holders")
        listing = os.path.join(c.nodes[3].root, "seen.txt")
        with open(listing, "w") as f:
            for i in range(n):
                f.write(f"198.{18 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}\n")
        b0 = {i: link_bytes(d) for i, d in first.items()}
        cpu0 = {i: cpu_s(d) for i, d in first.items()}

        t0 = time.monotonic()
        p = dl.run_cli("sight", "--sealed", "--config", c.nodes[3].config, "--file", listing,
                       timeout=3600)
        t1 = time.monotonic()
        assert p.returncode == 0, p.stderr
        ct.wait_for(lambda: all(sealed(d)["held"] == n for d in first.values()),
                    timeout=3600, interval=0.5, what="every node holds every submission")
        t2 = time.monotonic()
        cpu1 = {i: cpu_s(d) for i, d in first.items()}
        b1 = {i: link_bytes(d) for i, d in first.items()}
        st3 = sealed(c.daemons[3])
        rtt = st3["oprf_rtt_ms"]
        res.update({
            "seal_s": t1 - t0, "values_s": n / (t1 - t0),
            "everywhere_s": t2 - t0,
            "rtt_samples": rtt["samples"], "rtt_p50_ms": rtt["p50"], "rtt_p99_ms": rtt["p99"],
            "member_bytes_per_value": (sum(b1[3]) - sum(b0[3])) / n,
            "all_sent_bytes_per_value": sum(b1[i][1] - b0[i][1] for i in first) / n,
            "cpu_ms_per_value": sum(cpu1[i] - cpu0[i] for i in first) * 1000 / n,
        })

        # Catch-up by re-send: node 4 joins with an empty store.
        t3 = time.monotonic()
        c.start([4])
        ct.wait_for(lambda: sealed(c.daemons[4])["held"] == n, timeout=3600, interval=0.5,
                    what="node 4 caught up")
        t4 = time.monotonic()
        cnt4 = sealed(c.daemons[4])["counters"]
        res.update({
            "catchup_s": t4 - t3,
            "catchup_links": len(c.daemons[4].call({"op": "peers"}).get("peers", [])),
            "catchup_copies_per_value": cnt4["received"] / n,
            "catchup_bytes_in_per_value": link_bytes(c.daemons[4])[0] / n,
        })
        for i in range(5):
            c.stop(i)
    finally:
        c.cleanup()

    s = sans_io(build, min(n, 20000))
    res["sans_io"] = {k: v for k, v in s.items() if k != "raw"}
    res["ratio_to_sans_io"] = res["values_s"] / s["member_values_s"]
    print(s["raw"], end="")
    print(f"daemon path, {n} values, OPRF 2-of-3, k = {K}, 5 nodes on loopback:")
    print(f"  sight --sealed --file        {res['seal_s']:.1f} s  {res['values_s']:.0f} values/s"
          f"  = {res['ratio_to_sans_io']:.2f} of the sans-I/O member pipeline on one core"
          f" ({s['member_values_s']:.0f} values/s)")
    print(f"  held by every node after     {res['everywhere_s']:.1f} s")
    print(f"  OPRF round trip (1,024 values, one holder)  p50 {res['rtt_p50_ms']:.0f} ms"
          f"  p99 {res['rtt_p99_ms']:.0f} ms  ({res['rtt_samples']} round trips)")
    print(f"  member's link bytes per value  {res['member_bytes_per_value']:.0f}"
          f"  (submission {s['wire_bytes']:.0f} B)")
    print(f"  all nodes' bytes sent per value  {res['all_sent_bytes_per_value']:.0f}")
    print(f"  CPU of the 4 daemons per value   {res['cpu_ms_per_value']:.2f} ms")
    print(f"catch-up by re-send (node 4, empty store, {res['catchup_links']} links):"
          f" {res['catchup_s']:.1f} s, {res['catchup_copies_per_value']:.2f} copies and"
          f" {res['catchup_bytes_in_per_value']:.0f} bytes received per submission")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
