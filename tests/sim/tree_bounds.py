#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What bounds Plumtree's largest latency in tests/sim: the shape of its tree.

Reads the file `sim_gossip --dump-links FILE` writes after its healthy phase (every link with
its latency and the engine's state at both ends, then the reports' origins) and computes,
from the links' mean latencies (no jitter, no queueing):

  flooding        the largest shortest-path latency from a report's origin to a node;
  formed tree     the largest latency along the tree Plumtree formed (links eager at both
                  ends), from a report's origin to a node;
  best one tree   the same for the shortest-path tree from the overlay's centre (the node
                  whose largest shortest-path latency is least): no single tree that
                  carries every origin's reports does better than about this;
  trees from the first origins
                  shortest-path trees rooted at each of the first 16 distinct origins (the
                  kind of tree formation builds), one at a time: min / median / max;
  K trees, origin picks
                  K such trees (the first K distinct origins as roots), each origin's
                  reports carried by the one of them that is best for that origin.

Each figure is printed in ms and divided by flooding's, which is how sim_gossip states the
goal (max latency <= 1.8 x flooding). Usage: tree_bounds.py FILE
"""
import heapq
import sys


def read(path):
    adj, tree, origins = {}, {}, []
    with open(path) as f:
        for line in f:
            w = line.split()
            if w[0] == "origins":
                origins = [int(x) for x in w[1:]]
                continue
            a, b, lat, sa, sb = map(int, w)
            adj.setdefault(a, {})[b] = lat
            adj.setdefault(b, {})[a] = lat
            tree.setdefault(a, {})
            tree.setdefault(b, {})
            if sa == 1 and sb == 1:
                tree[a][b] = tree[b][a] = lat
    return adj, tree, origins


def dijkstra(adj, s):
    d, par, pq = {s: 0}, {s: None}, [(0, s)]
    while pq:
        x, u = heapq.heappop(pq)
        if x > d[u]:
            continue
        for v, lat in adj[u].items():
            if x + lat < d.get(v, float("inf")):
                d[v], par[v] = x + lat, u
                heapq.heappush(pq, (x + lat, v))
    return d, par


def tree_ecc(tree, s, n):
    """Largest path latency from s in a tree; inf if the tree does not span."""
    d, stack = {s: 0}, [s]
    while stack:
        u = stack.pop()
        for v, lat in tree[u].items():
            if v not in d:
                d[v] = d[u] + lat
                stack.append(v)
    return max(d.values()) if len(d) == n else float("inf")


def spt(adj, root):
    _, par = dijkstra(adj, root)
    t = {u: {} for u in adj}
    for v, p in par.items():
        if p is not None:
            t[v][p] = t[p][v] = adj[v][p]
    return t


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: tree_bounds.py FILE")
    adj, tree, origins = read(sys.argv[1])
    n = len(adj)
    srcs = sorted(set(origins))
    ecc = {u: max(dijkstra(adj, u)[0].values()) for u in adj}
    flood = max(ecc[o] for o in srcs)
    first = []
    for o in origins:
        if o not in first:
            first.append(o)

    def worst(t):
        return max(tree_ecc(t, o, n) for o in srcs)

    def row(label, ms):
        print("  %-44s %8.0f ms  %5.2f x flooding" % (label, ms, ms / flood))

    edges = sum(len(v) for v in tree.values()) // 2
    print("nodes %d, links %d, tree links %d, %d origins (%d distinct)" %
          (n, sum(len(v) for v in adj.values()) // 2, edges, len(origins), len(srcs)))
    row("flooding (shortest paths)", flood)
    row("formed tree", worst(tree))
    centre = min(adj, key=lambda u: (ecc[u], u))
    row("best one tree (rooted at the centre)", worst(spt(adj, centre)))
    trees = [spt(adj, r) for r in first[:16]]
    per_origin = [{o: tree_ecc(t, o, n) for o in srcs} for t in trees]
    single = sorted(max(e.values()) for e in per_origin)
    row("trees from the first 16 origins: min", single[0])
    row("  median", single[len(single) // 2])
    row("  max", single[-1])
    for k in (2, 4, 8, 16):
        if k > len(per_origin):
            break
        row("%d trees, each origin picks its best" % k,
            max(min(e[o] for e in per_origin[:k]) for o in srcs))


if __name__ == "__main__":
    main()
