#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""soak.py - a community of real daemons under a steady publish rate with random link drops.

Every node listens behind a small TCP proxy run by this script (the roster lists the proxy's
address), so every overlay link passes through one proxy connection; every --drop-every
seconds one random link is cut (both sockets closed). Reports are published round-robin on
the nodes at --rate per second, each with a fresh value. The script samples each daemon's
memory (/proc/PID/status: VmRSS, RssAnon, RssFile) every --sample seconds and, at the end,
waits up to --drain seconds for every report to reach every node.

Figures printed (and returned by run() as a dict):
  - delivery completeness: (report, node) pairs delivered / expected, after the drain;
  - latency: per (report, other node), the receiving node's feed entry time (@timestamp of
    its `list` document, the commit time on that node) minus the report's creation time on
    its origin (the publish response's "created"); p50, p95, p99, max in ms. All daemons
    run on this machine, so they share one clock;
  - memory over time per node, and the growth of anonymous memory (RssAnon: heap, stacks,
    everything that is not a file mapping) from the end of the warm-up (--warmup seconds)
    to the end. LMDB's map is a shared file mapping and counts in RssFile, so store growth
    does not show in RssAnon. The machine's figure for comparison: the anonymous memory of
    an idle daemon right after start.

Usage: soak.py [--nodes 8] [--duration 600] [--rate 20] [--drop-every 2] [--warmup 60]
               [--sample 5] [--drain 60] [--json]
Needs CHATHAM_BIN (or CHATHAM_BUILD_DIR) like the integration tests.
"""

import argparse
import datetime
import json
import os
import random
import selectors
import socket
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integ"))

import daemonlib as dl  # noqa: E402
import overlaylib as ol  # noqa: E402


class Proxies:
    """One TCP proxy per node (listen port -> node port), all in one selector thread."""

    def __init__(self, targets):
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.pairs = []  # [client socket, upstream socket]
        self.ports = []
        self.drops = 0
        for target in targets:
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind(("127.0.0.1", 0))
            ls.listen(64)
            ls.setblocking(False)
            self.ports.append(ls.getsockname()[1])
            self.sel.register(ls, selectors.EVENT_READ, ("listen", target))
        self.stopped = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _close_pair(self, pair):
        for s in pair:
            try:
                self.sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()
        if pair in self.pairs:
            self.pairs.remove(pair)

    def _run(self):
        while not self.stopped.is_set():
            for key, _ in self.sel.select(0.1):
                kind, arg = key.data
                with self.lock:
                    if kind == "listen":
                        try:
                            c, _ = key.fileobj.accept()
                            u = socket.create_connection(("127.0.0.1", arg), timeout=2)
                        except OSError:
                            continue
                        c.setblocking(True)
                        u.setblocking(True)
                        pair = [c, u]
                        self.pairs.append(pair)
                        self.sel.register(c, selectors.EVENT_READ, ("pipe", (pair, u)))
                        self.sel.register(u, selectors.EVENT_READ, ("pipe", (pair, c)))
                    else:
                        pair, dst = arg
                        if pair not in self.pairs:
                            continue
                        try:
                            data = key.fileobj.recv(65536)
                            if data:
                                dst.sendall(data)
                                continue
                        except OSError:
                            pass
                        self._close_pair(pair)

    def drop_random(self, rng):
        with self.lock:
            if self.pairs:
                self._close_pair(rng.choice(self.pairs))
                self.drops += 1

    def stop(self):
        self.stopped.set()
        self.t.join(5)
        with self.lock:
            for pair in list(self.pairs):
                self._close_pair(pair)


def mem_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[k] = int(v.split()[0])
    return out


def iso_ms(ts):
    return int(datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
               .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


class FeedReader:
    """Incremental `list` of one node: value -> feed entry time (ms)."""

    def __init__(self, daemon):
        self.d = daemon
        self.since = 0
        self.seen = {}

    def poll(self):
        with self.d.client(timeout=60) as c:
            while True:
                r = c.call({"op": "list", "since": self.since, "limit": 1000})
                for doc in r["items"]:
                    self.seen.setdefault(doc["chatham"]["value"], iso_ms(doc["@timestamp"]))
                self.since = r["next"]
                if not r["more"]:
                    return


def percentile(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def run(nodes=8, duration=600, rate=20.0, drop_every=2.0, warmup=60, sample=5, drain=60,
        seed=None, degree=3, daemon_env=None, log=print):
    seed = seed if seed is not None else int(time.time())
    rng = random.Random(seed)
    community = dl.Community(name="Soak Community",
                             members=tuple(f"Soak {i:02d} CSIRT" for i in range(nodes)))
    netkey = os.urandom(32)
    real = [ol.free_port() for _ in range(nodes)]
    proxies = Proxies(real)
    addrs = {m.name: [f"127.0.0.1:{p}"] for m, p in zip(community.members, proxies.ports)}
    extra = ol.OVERLAY_FAST + f"degree = {degree}\n"
    cfgs = [ol.overlay_node(community, i, netkey, real[i], addrs, extra,
                            extra_config="[gossip]\nrecon_interval_s = 5\n")
            for i in range(nodes)]
    daemons = [dl.Daemon(n, env=daemon_env) for n in cfgs]
    published = {}  # value -> (origin index, created ms)
    samples = []    # (t, [mem dict per node])
    result = None
    try:
        for d in daemons:
            d.start(timeout=120)
        idle = [mem_kib(d.proc.pid) for d in daemons]
        ol.wait_for(lambda: all(len(ol.links_up(d)) >= 1 for d in daemons), timeout=60,
                    what="every node linked")
        readers = [FeedReader(d) for d in daemons]
        clients = [d.client(timeout=60) for d in daemons]
        t0 = time.monotonic()
        next_pub = next_drop = next_sample = t0
        n = 0
        log(f"soak: {nodes} nodes, {duration}s, {rate}/s, a link dropped every "
            f"{drop_every}s, seed {seed}")
        while True:
            now = time.monotonic()
            if now - t0 >= duration:
                break
            if now >= next_sample:
                samples.append((now - t0, [mem_kib(d.proc.pid) for d in daemons]))
                for rd in readers:
                    rd.poll()
                next_sample += sample
            if drop_every and now >= next_drop:
                proxies.drop_random(rng)
                next_drop += drop_every
            if now >= next_pub:
                i = n % nodes
                v = f"r{n}.soak{seed}.example"
                r = clients[i].call({"op": "publish", "value": v, "tlp": "GREEN"})
                if not r.get("ok"):
                    raise AssertionError(f"publish on node {i} failed: {r}")
                c = r["created"]
                published[v] = (i, iso_ms(c) if isinstance(c, str) else c)
                n += 1
                next_pub = t0 + n / rate
            time.sleep(max(0.0, min(next_pub, next_sample, next_drop if drop_every else
                                    next_pub) - time.monotonic()))
        samples.append((time.monotonic() - t0, [mem_kib(d.proc.pid) for d in daemons]))
        for c in clients:
            c.close()
        # Drain: every report on every node.
        deadline = time.monotonic() + drain
        while True:
            for rd in readers:
                rd.poll()
            missing = sum(1 for rd in readers for v in published if v not in rd.seen)
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        lat = [rd.seen[v] - created for v, (origin, created) in published.items()
               for j, rd in enumerate(readers) if j != origin and v in rd.seen]
        expected = len(published) * nodes
        delivered = expected - missing
        warm = [s for s in samples if s[0] >= warmup] or samples[-1:]
        growth = [warm[-1][1][k]["RssAnon"] - warm[0][1][k]["RssAnon"] for k in range(nodes)]
        stats = [d.call({"op": "status"}) for d in daemons]
        result = {
            "seed": seed, "nodes": nodes, "duration_s": duration, "rate": rate,
            "published": len(published), "link_drops": proxies.drops,
            "delivered": delivered, "expected": expected,
            "completeness": delivered / expected if expected else 1.0,
            "latency_ms": {"p50": percentile(lat, 50), "p95": percentile(lat, 95),
                           "p99": percentile(lat, 99), "max": max(lat) if lat else None,
                           "mean": statistics.mean(lat) if lat else None},
            "idle_anon_kib": [m["RssAnon"] for m in idle],
            "warmup_s": warmup,
            "anon_growth_kib": growth,
            "anon_growth_window_s": warm[-1][0] - warm[0][0],
            "memory": [{"t": round(t, 1), "rss_kib": [m["VmRSS"] for m in ms],
                        "anon_kib": [m["RssAnon"] for m in ms],
                        "file_kib": [m["RssFile"] for m in ms]} for t, ms in samples],
            "recon_completed": sum(s.get("gossip", {}).get("recon", {}).get("completed", 0)
                                   for s in stats),
            "links_closed": sum(sum(ol.peers(d)["closed"].values()) for d in daemons),
        }
        for d in daemons:
            code = d.stop()
            if code != 0:
                raise AssertionError(f"a daemon exited with {code}:\n{d.log()[-3000:]}")
        return result
    except BaseException:
        for d in daemons:
            print(f"--- log of {d.node.root}:\n{d.log()[-3000:]}---", flush=True)
        raise
    finally:
        for d in daemons:
            d.kill()
        proxies.stop()
        for n in cfgs:
            n.cleanup()


def report(r, out=print):
    lat = r["latency_ms"]
    out(f"published {r['published']} reports on {r['nodes']} nodes in {r['duration_s']}s "
        f"({r['rate']}/s), {r['link_drops']} link drops, {r['links_closed']} links closed, "
        f"{r['recon_completed']} reconciliations")
    out(f"delivery: {r['delivered']}/{r['expected']} = {100 * r['completeness']:.2f}%")
    out(f"latency ms: p50 {lat['p50']} p95 {lat['p95']} p99 {lat['p99']} max {lat['max']}")
    out("memory (KiB, per node) t: RSS / anon / file")
    for m in r["memory"]:
        out(f"  {m['t']:7.1f}s  rss {m['rss_kib']}  anon {m['anon_kib']}  file {m['file_kib']}")
    out(f"idle daemon anon KiB at start: {r['idle_anon_kib']}")
    out(f"anon growth after {r['warmup_s']}s warm-up over {r['anon_growth_window_s']:.0f}s "
        f"(KiB per node): {r['anon_growth_kib']}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=8)
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--drop-every", type=float, default=2.0)
    ap.add_argument("--warmup", type=float, default=60)
    ap.add_argument("--sample", type=float, default=5)
    ap.add_argument("--drain", type=float, default=60)
    ap.add_argument("--degree", type=int, default=3)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    a = ap.parse_args(argv)
    r = run(nodes=a.nodes, duration=a.duration, rate=a.rate, drop_every=a.drop_every,
            warmup=a.warmup, sample=a.sample, drain=a.drain, seed=a.seed, degree=a.degree)
    if a.json:
        print(json.dumps(r, indent=1))
    else:
        report(r)
    return 0 if r["completeness"] == 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
