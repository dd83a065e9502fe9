#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench_overlay — dissemination figures from real daemons on loopback (DESIGN.md §5).

Starts N `chatham run` nodes (default 16, overlay degree 6) and measures:
  1. single-report latency: one GREEN report published on a random node at a time; every
     other node's API is polled until it holds the report. Figures: p50/p99 of the
     (publish answered -> seen at node) times over all (report, node) pairs. The polling
     loop itself takes ~1 ms per node, so this is an upper bound at that resolution.
  2. burst: B reports (default 100,000) published on one node in API batches; time until
     every node holds all of them; reports/s per node = B / that time; overlay TCP bytes
     read per node / (B x S) (all link traffic: control, keepalive, catch-up; S the signed
     size of a burst report, bare or padded to --burst-size); CPU of all daemons from the
     first publish to the last delivery / (B x (N - 1)).
  3. payload copies per node: report payloads received (PUSH and CATCHUP, from each node's
     status counters) divided by reports x (N - 1); how many were catch-up copies, and
     the reports refused by admission on any node (the rate limits among them); GRAFT,
     PRUNE and duplicate counts during the burst; links per node before it.
  4. catch-up: one node is stopped, M reports (default 10,000) are published elsewhere, the
     node restarts; reconciliation bytes (RECON + FETCH, both directions) per missing report.
Machine limits measured in the same run, so the figures can be judged: the raw Ed25519
verification rate of one core (every node verifies every report once) gives the bound
    reports/s per node <= cores x verify rate / N
when all N nodes share this machine's cores.

With --peer-workload it runs instead the workload of the gossipsub peer bench
(../shared/peer-bench/gossipsub, bench.mjs) and prints the same figures, so the two can be put
side by side (tests/bench/bench_vs_gossipsub.sh runs both):
  - the overlay is the peer's graph: a random connected degree-regular graph (--graph-json
    takes the edge list from a peer result file; otherwise one is drawn with --seed), each
    node dialling only its neighbours, so every node has exactly --degree links;
  - --warmup messages (not counted; they also form the gossip tree), then --messages, each
    published on a node drawn uniformly at random, as fast as possible with at most
    --inflight published but not yet held by every node; each message is one GREEN report
    whose description is sized so that the signed report is --size bytes (as close as the
    report encoding allows; the size used is printed);
  - figures: messages reaching every node per second (first publish to last delivery),
    publish -> last node latency p50/p99/max (from each node's feed times, ms resolution:
    the origin's time is when its API received the publish), payload copies received per
    node per message (PUSH + CATCHUP payloads / (M x N), the peer's definition), overlay
    TCP bytes read per node / (M x S) (all link traffic: control, keepalive, catch-up), CPU
    of all daemons per delivery (deliveries = M x (N - 1)), peak RSS per node (VmHWM).
In-flight is counted from the nodes' report counters: published - min over nodes of reports
received since the start, which can undercount in-flight by the messages that are at some
nodes only; the bench says how often that allowance was reached.

Usage: bench_overlay.py [--nodes N] [--degree D] [--burst B] [--burst-size S] [--missed M]
                        [--latency-reports R] [--graft-timeout-ms T] [--burst-in-formation]
       bench_overlay.py --peer-workload [--nodes N] [--degree D] [--messages M] [--size S]
                        [--inflight K] [--warmup W] [--seed X] [--graph-json FILE]
                        [--json-out FILE]
Needs CHATHAM_BIN (or CHATHAM_BUILD_DIR); a release build gives the meaningful figures.
"""

import argparse
import ctypes
import datetime
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integ"))

import chathamtest as ct  # noqa: E402
import daemonlib  # noqa: E402

BATCH = 5000


def verify_rate(seconds=1.0):
    """Ed25519 verifications per second on one core (libsodium through ctypes)."""
    s = daemonlib.sodium()
    pk, sk = s.ed25519_keypair()
    msg = os.urandom(300)
    sig = s.ed25519_sign(sk, msg)
    lib = s.lib
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(200):
            assert lib.crypto_sign_verify_detached(sig, msg, ctypes.c_ulonglong(len(msg)), pk) == 0
        n += 200
    return n / (time.perf_counter() - t0)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def copies(c, idx):
    return sum(ct.gossip(c.daemons[i])["pushes_received"] for i in idx)


TREE_KEYS = ("dup_lazy", "dup_eager", "announced_late", "grafted_late", "graft_early",
             "recon_skipped_lag", "held", "held_expired", "prune_repeats_saved", "lag_samples",
             "tree_waits", "ihave_saved", "prune_recv", "prune_formed", "prune_offtree",
             "prune_lazy", "prune_streak", "graft_recv", "graft_eager",
             "link_ups", "push_lazy", "push_saved", "held_behind_prune")


def eager_links(g):
    return sum(1 for x in g.get("links", []) if x.get("mode") == "eager")


class EagerTrace:
    """Eager links per node, sampled on every status poll of a wait (eager_links())."""

    def __init__(self, n):
        self.samples = [[] for _ in range(n)]

    def reports(self, i, d):
        st = ct.status(d)
        self.samples[i].append(eager_links(st.get("gossip", {})))
        return st["store"]["reports"]

    def summary(self):
        """Per node: eager links at the first sample, the largest, the last; nodes whose count
        changed, and the sum over nodes of the changes between samples."""
        rows = [(s[0], max(s), s[-1]) for s in self.samples if s]
        changes = sum(sum(a != b for a, b in zip(s, s[1:])) for s in self.samples)
        return rows, changes


def control(c):
    """Sums of the tree-maintenance counters over all nodes."""
    keys = ("graft_sent", "prune_sent", "duplicates")
    out = dict.fromkeys(keys + TREE_KEYS, 0)
    for d in c.daemons:
        g = ct.gossip(d)
        for k in keys:
            out[k] += g.get(k, 0)
        for k in TREE_KEYS:
            out[k] += g.get("tree", {}).get(k, 0)
    return out


def publish_many(d, prefix, n, desc_len=0):
    for b in range(0, n, BATCH):
        k = min(BATCH, n - b)
        if not desc_len:
            ct.publish_batch(d, [f"{prefix}{i}.bench.example" for i in range(b, b + k)])
            continue
        items = [{"value": f"{prefix}{i}.bench.example", "tlp": "GREEN", "type": "domain",
                  "description": "d" * desc_len} for i in range(b, b + k)]
        r = d.call({"op": "publish", "reports": items})
        assert r.get("ok") and r["accepted"] == k, r


def lag_hists(loop):
    """The loop-lag histograms of a "loop" object (node/daemon/looplag.h): {"all", "own":
    {upper edge us: count}, "all_sum", "own_sum": ms}; own is None (and own_sum 0) when the
    kernel gave no run-queue wait (the reason is raised: no figure is made up)."""
    own = loop.get("own")
    if own is None:
        raise SystemExit(f"no own loop lag: {loop.get('own_unavailable')}")
    out = {"all": {top: n for top, n in loop["hist_us"]}, "all_sum": loop["lag_sum_ms"],
           "own": {top: n for top, n in own["hist_us"]}, "own_sum": own["lag_sum_ms"]}
    if "asleep" in loop:  # binaries before the asleep split have none
        out["asleep"] = {top: n for top, n in loop["asleep"]["hist_us"]}
    return out


def lag_hist(d):
    """A node's loop-lag histograms (lag_hists())."""
    return lag_hists(ct.status(d)["loop"])


def wait_share(before, after):
    """The share of the loop lag between two readings that was run-queue wait."""
    total = after["all_sum"] - before.get("all_sum", 0)
    return 1 - (after["own_sum"] - before.get("own_sum", 0)) / total if total > 0 else 0.0


def hist_quantiles(before, after):
    """p50, p99 and max (ms, bucket upper edges: <= 12.5 % high) of the samples counted
    between two readings of a histogram."""
    diff = sorted((top, after[top] - before.get(top, 0)) for top in after)
    diff = [(top, k) for top, k in diff if k > 0]
    total = sum(k for _, k in diff)
    if not total:
        raise SystemExit("no loop-lag samples during the burst")
    out = []
    for q in (0.50, 0.99):
        want, seen = max(1, int(q * total + 0.999999)), 0
        for top, k in diff:
            seen += k
            if seen >= want:
                out.append(top / 1000)
                break
    out.append(diff[-1][0] / 1000)
    return out, total


class LagProbe:
    """bench_looplag_probe: an idle event loop's lag while the nodes work, i.e. what the
    scheduler alone costs a loop on this machine in the same run."""

    def __init__(self):
        path = os.environ.get("CHATHAM_LOOPLAG_PROBE") or os.path.join(
            os.path.dirname(os.path.dirname(daemonlib.chatham_bin())), "tests",
            "bench_looplag_probe")
        if not os.access(path, os.X_OK):
            raise SystemExit(f"{path} missing: build the bench_looplag_probe target "
                             "(or set CHATHAM_LOOPLAG_PROBE)")
        self.p = subprocess.Popen([path], stdout=subprocess.PIPE, text=True)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        out, _ = self.p.communicate(timeout=30)
        if self.p.returncode != 0:
            raise SystemExit(f"bench_looplag_probe failed ({self.p.returncode})")
        return lag_hists(json.loads(out))


def regular_graph(n, d, rng):
    """A random connected d-regular graph on n vertices (pairing model, retried)."""
    for _ in range(10000):
        stubs = [v for v in range(n) for _ in range(d)]
        rng.shuffle(stubs)
        nb = [set() for _ in range(n)]
        ok = True
        for i in range(0, len(stubs), 2):
            u, v = stubs[i], stubs[i + 1]
            if u == v or v in nb[u]:
                ok = False
                break
            nb[u].add(v)
            nb[v].add(u)
        if not ok:
            continue
        seen, todo = {0}, [0]
        while todo:
            for w in nb[todo.pop()]:
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        if len(seen) == n:
            return [sorted(x) for x in nb]
    raise SystemExit(f"no connected {d}-regular graph on {n} vertices")


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_hwm_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def link_bytes_in(d):
    r = d.call({"op": "peers"})
    assert r.get("ok"), r
    return sum(p.get("bytes_in", 0) for p in r.get("links", r.get("peers", [])))


def feed_times(d, since):
    """{indicator value: feed time in ms} of every entry after feed sequence @since."""
    out = {}
    while True:
        r = d.call({"op": "list", "since": since, "limit": 1000})
        assert r.get("ok"), r
        for doc in r["items"]:
            ts = datetime.datetime.strptime(doc["@timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
            ms = ts.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000
            out[doc["chatham"]["value"]] = round(ms)
        since = r["next"]
        if not r["more"]:
            return out, since


def signed_size(state, value):
    """The signed size of the stored report on indicator @value (python3-lmdb, read-only)."""
    import lmdb
    env = lmdb.open(state, readonly=True, max_dbs=16, lock=True)
    try:
        with env.begin(db=env.open_db(b"reports", create=False)) as t:
            for _, v in t.cursor():
                if value.encode() in bytes(v):
                    return len(v) - 76  # store/codec.h: 76-byte head, then the signed bytes
    finally:
        env.close()
    raise SystemExit(f"calibration report {value} not found in the store")


def peer_workload(a):
    n, deg, m, size, k = a.nodes, a.degree, a.messages, a.size, a.inflight
    rng = random.Random(a.seed)
    if a.graph_json:
        with open(a.graph_json) as f:
            edges = json.load(f)["graph"]["edges"]
        nbrs = [[] for _ in range(n)]
        for u, v in edges:
            nbrs[u].append(v)
            nbrs[v].append(u)
    else:
        nbrs = regular_graph(n, deg, rng)
    c = ct.Cluster(n, degree=deg, dial=lambda i: nbrs[i],
                   extra_config="[store]\nmap_size_mb = 512\n")
    result = {"tool": "chatham bench_overlay.py --peer-workload", "nodes": n, "degree": deg,
              "messages": m, "warmup": a.warmup, "inflight": k, "seed": a.seed}
    try:
        c.start()
        ct.wait_for(lambda: all(ct.links_up(d) >= len(nbrs[i]) for i, d in enumerate(c.daemons)),
                    timeout=60, what="every graph edge up")
        print(f"graph: {n} nodes, degree {deg}; links per node "
              f"{sorted(set(ct.links_up(d) for d in c.daemons))}", flush=True)

        # Calibrate the description so the signed report is about --size bytes.
        probe = "calibrate.peer.example"
        ct.publish_batch(c.daemons[0], [probe])
        base = signed_size(c.nodes[0].state, probe)
        desc_len = max(0, size - base - 3)  # msgpack str header of 2-3 bytes

        def item(v):
            it = {"value": v, "tlp": "GREEN", "type": "domain"}
            if desc_len:
                it["description"] = "d" * desc_len
            return it

        c.daemons[1 % n].call({"op": "publish", "reports": [item("calibrate2.peer.example")]})
        got = signed_size(c.nodes[1 % n].state, "calibrate2.peer.example")
        if got != size and desc_len:
            desc_len = max(0, desc_len + size - got)
        c.daemons[2 % n].call({"op": "publish", "reports": [item("calibrate3.peer.example")]})
        s_real = signed_size(c.nodes[2 % n].state, "calibrate3.peer.example")
        print(f"payload: signed report of {s_real} bytes (asked {size}; the bare report is "
              f"{base} bytes)", flush=True)
        result["size"] = s_real
        pre = 3
        ct.wait_for(lambda: all(ct.reports(d) == pre for d in c.daemons), timeout=60)

        def run(prefix, count, origins):
            """Publish @count messages; returns (first publish time, stats of the window)."""
            base_counts = [ct.reports(d) for d in c.daemons]
            lock = threading.Condition()
            state = {"published": 0, "done": 0, "waits": 0, "err": None, "rounds": 0}
            queues = [[] for _ in range(n)]
            for j in range(count):
                queues[origins[j]].append(j)

            def worker(i):
                cl = c.daemons[i].client()
                try:
                    for j in queues[i]:
                        with lock:
                            while state["published"] - state["done"] >= k:
                                state["waits"] += 1
                                lock.wait(0.05)
                            state["published"] += 1
                        r = cl.call({"op": "publish", "reports": [item(f"{prefix}{j}.peer.example")]})
                        if not r.get("ok"):
                            state["err"] = r
                            return
                finally:
                    cl.close()

            def monitor():
                while True:
                    counts = [ct.reports(d) - b for d, b in zip(c.daemons, base_counts)]
                    state["rounds"] += 1
                    with lock:
                        state["done"] = min(counts)
                        lock.notify_all()
                        if state["done"] >= count or state["err"]:
                            return
                    time.sleep(0.01)

            t0 = time.time()
            ths = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
            mon = threading.Thread(target=monitor)
            for t in ths + [mon]:
                t.start()
            for t in ths + [mon]:
                t.join()
            if state["err"]:
                raise SystemExit(f"publish failed: {state['err']}")
            return t0, state

        # Warm-up: forms the tree, not counted.
        origins = [rng.randrange(n) for _ in range(a.warmup)]
        run("warm", a.warmup, origins)

        # What the in-flight monitor's polling (a `status` call on every node every 10 ms)
        # costs the daemons by itself, measured idle: subtracted below.
        pids = [d.proc.pid for d in c.daemons]
        cpu_a, t_a, rounds = [proc_cpu_s(p) for p in pids], time.monotonic(), 0
        while time.monotonic() - t_a < 5:
            for d in c.daemons:
                ct.reports(d)
            rounds += 1
            time.sleep(0.01)
        poll_cpu = (sum(proc_cpu_s(p) for p in pids) - sum(cpu_a)) / rounds
        feeds0 = [feed_times(d, 0)[1] for d in c.daemons]
        cpu0 = [proc_cpu_s(p) for p in pids]
        bin0 = [link_bytes_in(d) for d in c.daemons]
        g0 = [ct.gossip(d) for d in c.daemons]
        own0 = time.process_time()

        origins = [rng.randrange(n) for _ in range(m)]
        t_start, st = run("msg", m, origins)
        cpu1 = [proc_cpu_s(p) for p in pids]
        bin1 = [link_bytes_in(d) for d in c.daemons]
        g1 = [ct.gossip(d) for d in c.daemons]
        own = time.process_time() - own0
        hwm = [proc_hwm_mib(p) for p in pids]

        times = [feed_times(d, s0)[0] for d, s0 in zip(c.daemons, feeds0)]
        last, lat = [], []
        first_pub, last_recv = float("inf"), 0
        for j in range(m):
            v = f"msg{j}.peer.example"
            o = origins[j]
            t_pub = times[o][v]
            t_last = max(times[i][v] for i in range(n) if i != o)
            first_pub = min(first_pub, t_pub)
            last_recv = max(last_recv, t_last)
            lat.append(t_last - t_pub)
        window = (last_recv - first_pub) / 1000
        deliveries = m * (n - 1)
        copies = sum(b["pushes_received"] - a_["pushes_received"] for a_, b in zip(g0, g1))
        dups = sum(b.get("duplicates", 0) - a_.get("duplicates", 0) for a_, b in zip(g0, g1))
        wire = sum(b - a_ for a_, b in zip(bin0, bin1)) / n
        cpu = sum(b - a_ for a_, b in zip(cpu0, cpu1))
        lat.sort()
        r = {
            "messages_per_s_at_every_node": m / window,
            "latency_ms": {"p50": pct(lat, 50), "p99": pct(lat, 99), "max": lat[-1]},
            "copies_per_node_per_msg": copies / (m * n),
            "duplicates_per_node_per_msg": dups / (m * n),
            "wire_in_per_node_over_MS": wire / (m * s_real),
            "cpu_us_per_delivery": cpu * 1e6 / deliveries,
            "cpu_us_per_delivery_without_polling":
                max(0.0, cpu - poll_cpu * st["rounds"]) * 1e6 / deliveries,
            "monitor_polls_cpu_s": poll_cpu * st["rounds"],
            "cpu_cores_busy": cpu / window,
            "coordinator_cpu_s": own,
            "peak_rss_mib_per_node": {"mean": sum(hwm) / n, "max": max(hwm)},
            "inflight_waits": st["waits"],
        }
        result["results"] = r
        print(f"messages reaching every node: {r['messages_per_s_at_every_node']:.1f}/s "
              f"(window {window:.2f} s)", flush=True)
        print(f"latency publish->last node: p50 {pct(lat, 50)} ms  p99 {pct(lat, 99)} ms  "
              f"max {lat[-1]} ms (feed times, 1 ms resolution)", flush=True)
        print(f"payload copies per node per msg: {r['copies_per_node_per_msg']:.3f} "
              f"(duplicates {r['duplicates_per_node_per_msg']:.3f}); over N - 1 receivers: "
              f"{copies / (m * (n - 1)):.3f}", flush=True)
        print(f"wire bytes in per node: {wire:,.0f} = {r['wire_in_per_node_over_MS']:.3f} x "
              f"(M x S)  [ideal one copy: {(n - 1) / n:.3f}]", flush=True)

        def gsum(gs, k):
            return sum(g.get("tree", {}).get(k, 0) if k in TREE_KEYS else g.get(k, 0)
                       for g in gs)
        dk = {k: gsum(g1, k) - gsum(g0, k) for k in (
            "graft_sent", "prune_sent", "dup_lazy", "dup_eager", "prune_streak", "prune_lazy",
            "prune_offtree", "held", "held_expired", "held_behind_prune", "graft_eager",
            "catchup_received", "push_saved")}
        formed = sum(bool(g.get("tree", {}).get("formed")) for g in g0)
        print(f"tree maintenance (measured messages, all nodes): {dk['graft_sent']:,} GRAFT, "
              f"{dk['prune_sent']:,} PRUNE ({dk['prune_streak']:,} after a streak, "
              f"{dk['prune_lazy']:,} copy on a lazy link, {dk['prune_offtree']:,} off-tree "
              f"sender), {dk['graft_eager']:,} GRAFTs made a lazy link eager; duplicates "
              f"{dk['dup_lazy']:,} on lazy links, {dk['dup_eager']:,} on eager links; first "
              f"copies off the tree held {dk['held']:,} ({dk['held_expired']:,} without a tree "
              f"copy, {dk['held_behind_prune']:,} of them behind our PRUNE); catch-up "
              f"deliveries {dk['catchup_received']:,}; copies not pushed back "
              f"{dk['push_saved']:,}; nodes with the tree formed at the start: {formed} of {n}",
              flush=True)
        print(f"CPU of all {n} daemons: {cpu:.2f} s ({r['cpu_cores_busy']:.2f} cores busy), "
              f"{r['cpu_us_per_delivery']:.1f} us per delivery; coordinator {own:.2f} s",
              flush=True)
        print(f"  of which the bench's own status polling (measured idle: {poll_cpu * 1e3:.2f} ms "
              f"of daemon CPU per round of {n} calls, {st['rounds']} rounds): "
              f"{r['monitor_polls_cpu_s']:.2f} s; without it "
              f"{r['cpu_us_per_delivery_without_polling']:.1f} us per delivery", flush=True)
        print(f"peak RSS per node: mean {r['peak_rss_mib_per_node']['mean']:.1f} MiB, max "
              f"{r['peak_rss_mib_per_node']['max']:.1f} MiB", flush=True)
        if a.json_out:
            with open(a.json_out, "w") as f:
                json.dump(result, f, indent=1)
        for i in range(n):
            c.stop(i)
    finally:
        c.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=16)
    ap.add_argument("--degree", type=int, default=6)
    ap.add_argument("--burst", type=int, default=100000)
    ap.add_argument("--missed", type=int, default=10000)
    ap.add_argument("--latency-reports", type=int, default=20)
    ap.add_argument("--idle-loops", type=int, default=0,
                    help="idle event loops beside the burst (default: one per node)")
    ap.add_argument("--burst-size", type=int, default=0,
                    help="pad the burst's reports with a description to about this many "
                    "signed bytes (0: bare reports, about 190 bytes)")
    ap.add_argument("--burst-in-formation", action="store_true",
                    help="start the burst right after the latency phase, before the tree "
                    "has formed (the first second of it floods)")
    ap.add_argument("--graft-timeout-ms", type=int, default=0,
                    help="[gossip] graft_timeout_ms of every node (0: the default)")
    ap.add_argument("--peer-workload", action="store_true",
                    help="the gossipsub peer bench's workload and figures instead")
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--size", type=int, default=600)
    ap.add_argument("--inflight", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--graph-json", default="")
    ap.add_argument("--json-out", default="")
    a = ap.parse_args()
    if a.peer_workload:
        peer_workload(a)
        return
    n = a.nodes
    if a.burst_size and a.latency_reports < 1:
        raise SystemExit("--burst-size needs --latency-reports >= 1 (it measures a bare report)")
    a.idle_loops = a.idle_loops or n
    cores = os.cpu_count() or 1
    vr = verify_rate()
    print(f"machine: {cores} cores, Ed25519 verify {vr:,.0f}/s per core; bound for {n} "
          f"nodes sharing them: {cores * vr / n:,.0f} reports/s per node", flush=True)

    # Periodic reconciliation on, as in production (default 30 s, here 5 s): it repairs what
    # gossip loses under load, and the figures say how much that was.
    gossip = "recon_interval_s = 5\n"
    if a.graft_timeout_ms:
        gossip += f"graft_timeout_ms = {a.graft_timeout_ms}\n"
    c = ct.Cluster(n, degree=a.degree, gossip=gossip,
                   extra_config="[store]\nmap_size_mb = 512\n")
    try:
        c.start()
        ct.wait_links(c.daemons, min(a.degree, n - 1) // 2, timeout=60)
        ct.wait_for(lambda: all(ct.links_up(d) >= min(a.degree, n - 1) for d in c.daemons),
                    timeout=60, what="overlay degree reached")

        links = [ct.links_up(d) for d in c.daemons]
        print(f"links per node (dialled up to --degree {a.degree}, plus those dialled in): "
              f"origin {links[0]}, mean {sum(links) / n:.1f}, max {max(links)}", flush=True)

        # 1. latency
        lat = []
        for r in range(a.latency_reports):
            origin = random.randrange(n)
            v = f"lat{r}.bench.example"
            ct.publish_batch(c.daemons[origin], [v])
            t0 = time.monotonic()
            waiting = set(range(n)) - {origin}
            while waiting:
                for i in list(waiting):
                    if ct.has_indicator(c.daemons[i], v):
                        lat.append((time.monotonic() - t0) * 1000)
                        waiting.discard(i)
                if time.monotonic() - t0 > 30:
                    raise SystemExit(f"report {v} not delivered to {sorted(waiting)}")
        base = a.latency_reports
        ct.wait_for(lambda: all(ct.reports(d) == base for d in c.daemons), timeout=30)
        # The latency reports formed the tree; the burst measures a formed one. A node floods
        # everything for formation_ms (1 s) after its first report, and its duplicates count
        # towards no PRUNE for reports first seen within formation_ms after that (the
        # neighbours may still flood); the latency phase takes less than a second, so a burst
        # started at once floods its first second (--burst-in-formation measures that).
        t_form = time.monotonic()
        if a.burst_in_formation:
            print("burst started without waiting for the tree to form (--burst-in-formation)",
                  flush=True)
        elif "formed" in ct.gossip(c.daemons[0]).get("tree", {}):
            ct.wait_for(lambda: all(ct.gossip(d)["tree"]["formed"] for d in c.daemons),
                        timeout=60, interval=0.1, what="the tree formed on every node")
            time.sleep(1.0)  # formation_ms: the last node's settling time
            print(f"tree formed on every node and settled {time.monotonic() - t_form:.1f} s "
                  f"after the latency phase", flush=True)
        else:
            time.sleep(2.5)  # a binary without tree.formed in status
            print("waited 2.5 s for the tree to form and settle (no tree.formed in status)",
                  flush=True)
        cp0 = copies(c, range(n))
        ctl0 = control(c)
        print(f"single-report latency to all {n} nodes: p50 {pct(lat, 50):.1f} ms, "
              f"p99 {pct(lat, 99):.1f} ms ({len(lat)} samples, polled)", flush=True)

        # 2. burst
        desc_len = 0
        if a.burst_size:
            # The bare report's signed size, from a latency report of the same value length.
            bare = signed_size(c.nodes[0].state, "lat0.bench.example") - len("lat0") + len(
                f"burst{a.burst // 2}")
            desc_len = max(0, a.burst_size - bare - 3)  # msgpack str header of 2-3 bytes
        lag0 = [lag_hist(d) for d in c.daemons]
        pids = [d.proc.pid for d in c.daemons]
        bin0 = [link_bytes_in(d) for d in c.daemons]
        probes = [LagProbe() for _ in range(a.idle_loops)]
        cpu0 = [proc_cpu_s(p) for p in pids]
        t0 = time.monotonic()
        publish_many(c.daemons[0], "burst", a.burst, desc_len)
        t_pub = time.monotonic() - t0
        total = base + a.burst
        # Polls every node's status twice a second: next to the burst's work, negligible.
        trace = EagerTrace(n)
        ct.wait_for(lambda: all([trace.reports(i, d) == total for i, d in enumerate(c.daemons)]),
                    timeout=3600, interval=0.5, what="the burst everywhere")
        t_all = time.monotonic() - t0
        cpu = sum(proc_cpu_s(p) for p in pids) - sum(cpu0)
        probe_hists = [p.stop() for p in probes]
        lag1 = [lag_hist(d) for d in c.daemons]
        wire = sum(link_bytes_in(d) - b for d, b in zip(c.daemons, bin0)) / n
        s_mid = signed_size(c.nodes[0].state, f"burst{a.burst // 2}.bench.example")
        print(f"burst of {a.burst:,} reports: published (signed, stored) in {t_pub:.1f} s, on "
              f"all {n} nodes after {t_all:.1f} s -> {a.burst / t_all:,.0f} reports/s per node "
              f"({a.burst / t_all / (cores * vr / n):.2f} of the machine bound)", flush=True)
        print(f"wire bytes in per node during the burst: {wire:,.0f} = "
              f"{wire / (a.burst * s_mid):.3f} x (M x S) (S = {s_mid} bytes, the signed size of "
              f"report burst{a.burst // 2}; all link traffic: control, catch-up) "
              f"[ideal one copy: {(n - 1) / n:.3f}]", flush=True)
        print(f"CPU of all {n} daemons from the first publish to the last delivery: {cpu:.2f} s "
              f"= {cpu * 1e6 / (a.burst * (n - 1)):.1f} us per delivery ({a.burst:,} x {n - 1}; "
              f"the origin's signing and API included)", flush=True)

        # 3. copies
        cp = copies(c, range(n)) - cp0
        repaired = sum(ct.gossip(d)["catchup_received"] for d in c.daemons)
        catchup_sent = sum(ct.gossip(d)["recon"]["pushed"] for d in c.daemons)
        print(f"payload copies per node per report: {cp / (a.burst * (n - 1)):.3f} "
              f"({cp:,} PUSH payloads received for {a.burst:,} reports x {n - 1} nodes; "
              f"{catchup_sent:,} of them catch-up copies, {repaired:,} of which were "
              f"deliveries)", flush=True)
        ctl = {k: v - ctl0[k] for k, v in control(c).items()}
        print(f"tree maintenance during the burst, all nodes: {ctl['graft_sent']:,} GRAFT messages, "
              f"{ctl['prune_sent']:,} PRUNE, {ctl['duplicates']:,} duplicate payloads",
              flush=True)
        print(f"duplicates by cause: {ctl['dup_lazy']:,} on lazy links (sent before the "
              f"sender saw a PRUNE), {ctl['dup_eager']:,} on eager links; reports announced "
              f"before their copy came: {ctl['announced_late']:,} ({ctl['grafted_late']:,} "
              f"after a GRAFT, {ctl['graft_early']:,} of which also came along the tree); "
              f"periodic catch-up sessions skipped while the tree lagged: "
              f"{ctl['recon_skipped_lag']:,}; first copies off the tree held {ctl['held']:,} "
              f"({ctl['held_expired']:,} without a tree copy: sender grafted unless the copy "
              f"came behind our PRUNE, {ctl['held_behind_prune']:,}); PRUNEs not "
              f"repeated on lazy links {ctl['prune_repeats_saved']:,}; tree lags measured "
              f"{ctl['lag_samples']:,}; GRAFTs and holds that waited for the moving tree "
              f"{ctl['tree_waits']:,}; IHAVE ids not sent back to a link that announced them "
              f"{ctl['ihave_saved']:,}; copies not pushed to an eager link that sent one "
              f"{ctl['push_saved']:,}", flush=True)
        print(f"PRUNEs sent by rule: {ctl['prune_formed']:,} formation, {ctl['prune_lazy']:,} "
              f"copy on a lazy link, {ctl['prune_offtree']:,} off-tree sender, "
              f"{ctl['prune_streak']:,} after a streak on an eager link; received "
              f"{ctl['prune_recv']:,}; GRAFT messages received {ctl['graft_recv']:,} "
              f"({ctl['graft_eager']:,} made a lazy link eager); gossip link-ups "
              f"{ctl['link_ups']:,}; queued PUSHes sent after their link turned lazy "
              f"{ctl['push_lazy']:,}", flush=True)
        rows, changes = trace.summary()
        print(f"eager links per node during the burst (polled every 0.5 s; first/max/last): " +
              ", ".join(f"{i}: {r[0]}/{r[1]}/{r[2]}" for i, r in enumerate(rows)) +
              f"; changes seen {changes:,} (tree of {n} nodes: {2 * (n - 1)} eager link ends, "
              f"measured first {sum(r[0] for r in rows)}, last {sum(r[2] for r in rows)})",
              flush=True)
        refused = {}
        for d in c.daemons:
            for reason, k in ct.gossip(d).get("rejected", {}).items():
                refused[reason] = refused.get(reason, 0) + k
        print(f"reports refused by admission on all nodes: {refused or 'none'}", flush=True)
        lq = [hist_quantiles(b["all"], a["all"])[0] for b, a in zip(lag0, lag1)]
        iq = [hist_quantiles({}, h["all"])[0] for h in probe_hists]
        oq = [hist_quantiles(b["own"], a["own"])[0] for b, a in zip(lag0, lag1)]
        ioq = [hist_quantiles({}, h["own"])[0] for h in probe_hists]
        sq = [hist_quantiles(b["asleep"], a["asleep"])[0] if "asleep" in a else None
              for b, a in zip(lag0, lag1)]
        share = [wait_share(b, a) for b, a in zip(lag0, lag1)]
        ishare = [wait_share({}, h) for h in probe_hists]
        worst = max(range(n), key=lambda i: lq[i][1])
        iworst = max(range(len(iq)), key=lambda i: iq[i][1])
        print(f"loop lag during the burst (a 1 ms timer; bucket edges, <= 12.5 % high): worst "
              f"node p50 {lq[worst][0]:.2f} ms, p99 {lq[worst][1]:.2f} ms, max "
              f"{max(x[2] for x in lq):.1f} ms (of all nodes); median node p99 "
              f"{pct([x[1] for x in lq], 50):.2f} ms, median node max "
              f"{pct([x[2] for x in lq], 50):.1f} ms; nodes over p99 5 ms: "
              f"{sum(x[1] > 5 for x in lq)}, over max 20 ms: {sum(x[2] > 20 for x in lq)}",
              flush=True)
        print("loop lag per node during the burst, p50/p99/max ms: " +
              ", ".join(f"{i}: {x[0]:.2f}/{x[1]:.2f}/{x[2]:.1f}" for i, x in enumerate(lq)),
              flush=True)
        ip99, imax = pct([x[1] for x in iq], 50), pct([x[2] for x in iq], 50)
        print(f"{len(iq)} idle loops on this machine meanwhile (bench_looplag_probe, one process "
              f"each, like the nodes): worst p50 {iq[iworst][0]:.2f} ms, p99 {iq[iworst][1]:.2f} "
              f"ms, max {max(x[2] for x in iq):.1f} ms; median p99 {ip99:.2f} ms, median max "
              f"{imax:.1f} ms; per loop p99/max: " +
              ", ".join(f"{x[1]:.2f}/{x[2]:.1f}" for x in iq), flush=True)
        print(f"nodes / idle loops: worst p99 {lq[worst][1] / iq[iworst][1]:.2f}, median p99 "
              f"{pct([x[1] for x in lq], 50) / ip99:.2f}, worst max "
              f"{max(x[2] for x in lq) / max(x[2] for x in iq):.2f}, median max "
              f"{pct([x[2] for x in lq], 50) / imax:.2f} (1.00: as punctual as a loop that does "
              f"nothing)", flush=True)
        oworst = max(range(n), key=lambda i: oq[i][1])
        print(f"own loop lag during the burst (each delay less the loop thread's run-queue "
              f"wait meanwhile, /proc/thread-self/schedstat): worst node p50 "
              f"{oq[oworst][0]:.2f} ms, p99 {oq[oworst][1]:.2f} ms, max "
              f"{max(x[2] for x in oq):.1f} ms (of all nodes); median node p99 "
              f"{pct([x[1] for x in oq], 50):.2f} ms, median node max "
              f"{pct([x[2] for x in oq], 50):.1f} ms; nodes over p99 5 ms: "
              f"{sum(x[1] > 5 for x in oq)}, over max 20 ms: {sum(x[2] > 20 for x in oq)}",
              flush=True)
        print("own loop lag per node during the burst, p50/p99/max ms: " +
              ", ".join(f"{i}: {x[0]:.2f}/{x[1]:.2f}/{x[2]:.1f}" for i, x in enumerate(oq)),
              flush=True)
        if all(sq):
            print("own loop lag asleep (own lag less the loop thread's CPU time: on a lock, a "
                  "page fault, a blocking call; +-1 scheduler tick) per node, p99/max ms: " +
                  ", ".join(f"{i}: {x[1]:.2f}/{x[2]:.1f}" for i, x in enumerate(sq)) +
                  f"; nodes with a max over 20 ms: {sum(x[2] > 20 for x in sq)}", flush=True)
        print(f"idle loops' own lag meanwhile: worst p99 {max(x[1] for x in ioq):.2f} ms, max "
              f"{max(x[2] for x in ioq):.1f} ms; median p99 {pct([x[1] for x in ioq], 50):.2f} "
              f"ms, median max {pct([x[2] for x in ioq], 50):.1f} ms", flush=True)
        print(f"share of the loop lag that was run-queue wait (1 - own sum / lag sum): nodes "
              f"min {min(share):.3f}, median {pct(share, 50):.3f}; idle loops min "
              f"{min(ishare):.3f}, median {pct(ishare, 50):.3f}; per node: " +
              ", ".join(f"{x:.3f}" for x in share), flush=True)

        # 4. catch-up
        victim = n - 1
        c.stop(victim)
        publish_many(c.daemons[0], "missed", a.missed)
        total += a.missed
        ct.wait_for(lambda: all(ct.reports(c.daemons[i]) == total for i in range(n - 1)),
                    timeout=3600, interval=0.5)
        t0 = time.monotonic()
        c.start([victim])
        ct.wait_for(lambda: ct.reports(c.daemons[victim]) == total, timeout=3600,
                    interval=0.2)
        t_cu = time.monotonic() - t0
        g = ct.gossip(c.daemons[victim])
        # Includes any periodic session that ran meanwhile (every 5 s).
        rb = g["recon"]["bytes_sent"] + g["recon"]["bytes_received"]
        print(f"catch-up of {a.missed:,} missed reports: {rb:,} reconciliation bytes = "
              f"{rb / a.missed:.2f} bytes per missing report (+ the reports), "
              f"{g['pushes_received']:,} copies received, {t_cu:.1f} s after restart",
              flush=True)
        for i in range(n):
            c.stop(i)
    finally:
        c.cleanup()


if __name__ == "__main__":
    main()
