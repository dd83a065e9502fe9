# SPDX-License-Identifier: MIT
"""The 16-member WAN both the WAN and the partition scenarios run on: every member in its own
namespace, and every ordered pair (i, j) reaching each other only through the relay link
i->j with a one-way delay drawn from [20, 80] ms (symmetric: i->j and j->i have the same
delay) and jitter, so the overlay's links cross a WAN whatever pairs it picks."""

import random
import threading
import time

import netbed as nb

RELAY_BASE = 10000


def relay_port(i, j):
    return RELAY_BASE + i * 100 + j


def link_id(i, j):
    return f"{i}-{j}"


class Wan:
    def __init__(self, n=16, seed=16, delay_ms=(20, 80), jitter_ms=5, degree=4,
                 gossip="recon_interval_s = 2\n"):
        self.n = n
        self.jitter = jitter_ms
        rng = random.Random(seed)
        self.delay = [[0] * n for _ in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                self.delay[i][j] = self.delay[j][i] = rng.randint(*delay_ms)
        self.bed = nb.Bed()
        self.members = None
        try:
            self.relay = self.bed.start_relay()
            for i in range(n):
                for j in range(n):
                    if i != j:
                        self.relay.call(op="add", id=link_id(i, j),
                                        listen=[nb.HUB4, relay_port(i, j)],
                                        target=[nb.v4(j), nb.PORT],
                                        delay_ms=self.delay[i][j], jitter_ms=jitter_ms)
            self.members = nb.Members(
                self.bed, n, lambda i, j: [nb.hostport(nb.HUB4, relay_port(i, j))],
                degree=degree, gossip=gossip)
        except BaseException:
            self.close()
            raise

    @property
    def daemons(self):
        return self.members.daemons

    def close(self, failed=False):
        if self.members:
            self.members.cleanup(failed)
        self.bed.close()

    def wait_overlay(self, min_links=2, timeout=60):
        nb.wait_for(lambda: all(nb.links_up(d) >= min_links for d in self.daemons),
                    timeout=timeout, what=f"{min_links}+ links up on every node")

    def bounds(self, src, edges=None, slack=0):
        """Flooding bound from @src: shortest path over the relay delays less @slack ms per
        hop, over @edges (the overlay's links) or, with None, over every pair (a lower bound
        for any overlay)."""
        def w(u, v):
            if edges is not None and (min(u, v), max(u, v)) not in edges:
                return None
            return self.delay[u][v] - slack
        return nb.dijkstra(self.n, w, src)

    def relay_bytes(self):
        return sum(s["bytes"] for s in self.relay.call(op="stats")["links"].values())

    def relay_stats(self):
        st = self.relay.call(op="stats")["links"]
        return {k: sum(s[k] for s in st.values()) for k in ("conns", "bytes", "stalls",
                                                            "resets", "dropped")}


class ArrivalWatch:
    """Polls every node (one thread each, one API connection each) for @value until it has
    it; arrival[i] = monotonic time node i first answered found."""

    def __init__(self, daemons, value, skip=()):
        self.value = value
        self.arrival = {}
        self.threads = []
        self.stop = False
        for i, d in enumerate(daemons):
            if i in skip:
                continue
            t = threading.Thread(target=self.poll, args=(i, d), daemon=True)
            t.start()
            self.threads.append(t)

    def poll(self, i, d):
        try:
            with d.client(timeout=30) as c:
                while not self.stop:
                    q = c.call({"op": "query", "value": self.value})
                    if q.get("found"):
                        self.arrival[i] = time.monotonic()
                        return
                    time.sleep(0.002)
        except (OSError, ConnectionError):
            pass

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self.stop = True
        for t in self.threads:
            t.join()
        return self.arrival
