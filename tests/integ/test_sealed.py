#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Sealed sightings across five real daemons (docs/SEALED.md): a 1-steward community whose
OPRF key is shared 2-of-3 among nodes 0, 1 and 2, k = 3, a quota of 10 evaluations a day.
Node 2 holds a share of ANOTHER dealing under the same index (its community file carries
that dealing's verification keys, so it starts and answers, always wrongly): members catch it
by its DLEQ proof and use another holder.

  - k - 1 = 2 members seal a value: every node holds both submissions, none opens it;
  - a member seals it again: it still counts once;
  - the k-th member seals it: it opens on every node with 3 members;
  - a value one member sealed never opens;
  - a batch over the quota is refused with the quota error (`sight --sealed --file`).
Nothing is slept on: every step polls the nodes' status or query answers."""

import ctypes
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
import daemonlib as dl  # noqa: E402
import leakoracle  # noqa: E402

K, T, QUOTA, WINDOW = 3, 2, 10, 30
VALUE = "198.18.7.7"
LONELY = "lonely.sealed.example"


def scalar_random(lib):
    s = ctypes.create_string_buffer(32)
    lib.crypto_core_ristretto255_scalar_random(s)
    return s.raw


def scalar_int(j):
    return j.to_bytes(32, "little")


def deal(t, n):
    """Shamir shares of a fresh OPRF key: (shares[1..n], vks[1..n], vk)."""
    lib = dl.sodium().lib
    coef = [scalar_random(lib) for _ in range(t)]
    shares, vks = [], []
    for j in range(1, n + 1):
        acc, xp = ctypes.create_string_buffer(coef[0], 32), scalar_int(1)
        for c in coef[1:]:
            nxp = ctypes.create_string_buffer(32)
            lib.crypto_core_ristretto255_scalar_mul(nxp, xp, scalar_int(j))
            xp = nxp.raw
            term = ctypes.create_string_buffer(32)
            lib.crypto_core_ristretto255_scalar_mul(term, c, xp)
            lib.crypto_core_ristretto255_scalar_add(acc, acc.raw, term.raw)
        shares.append(acc.raw)
    for x in shares + [coef[0]]:
        p = ctypes.create_string_buffer(32)
        assert lib.crypto_scalarmult_ristretto255_base(p, x) == 0
        vks.append(p.raw)
    return shares, vks[:-1], vks[-1]


def community_file(c, vks, vk):
    return dl.pack({0: "chatham-community", 1: 1, 2: c.id, 3: c.name, 4: [c.steward_pk], 5: 1,
                    6: {0: K, 1: T, 2: QUOTA, 3: WINDOW, 4: vk, 5: vks}})


def share_file(c, j, share):
    return dl.pack({0: "chatham-oprf-share", 1: 1, 2: c.id, 3: j, 4: share})


def give_share(node, community, j, share):
    """Node @node holds OPRF share @j (@share): the 0600 share file and its config line."""
    path = os.path.join(node.root, "oprf-share.key")
    dl.write_file(path, share_file(community, j, share), 0o600)
    text = open(node.config).read().replace("[node]\n", f"[node]\noprf_share_file = {path}\n", 1)
    node.write_config(text=text)


def sealed(d):
    return ct.status(d)["sealed"]


def opened(d, value):
    q = d.call({"op": "query", "value": value})
    assert q.get("ok"), q
    return q.get("sealed")


def seal(d, *values):
    r = d.call({"op": "seal", "values": [{"value": v} for v in values]})
    assert r.get("ok"), r
    return r


def export_text(node, fmt):
    p = dl.run_cli("export", "--format", fmt, "--quiet", "--config", node.config)
    assert p.returncode == 0, p.stderr
    return p.stdout


def export_doc(node, value):
    docs = [json.loads(line) for line in export_text(node, "jsonl").splitlines() if line]
    mine = [x for x in docs if x["chatham"]["value"] == value]
    return mine[-1] if mine else None


def test_five_nodes():
    c = ct.Cluster(5, degree=4)
    good = deal(T, 3)
    bad = deal(T, 3)
    for i, n in enumerate(c.nodes):
        shares, vks, vk = bad if i == 2 else good
        dl.write_file(n.community_path, community_file(c.community, vks, vk))
        if i <= 2:
            give_share(n, c.community, i + 1, shares[i])
    ok = False
    try:
        # Node 4 links to the cheating holder first, so the cheater is the first holder it
        # asks (holders are asked in link-slot order).
        c.start([2, 4])
        ct.wait_for(lambda: sealed(c.daemons[4])["holders_linked"] >= 1, timeout=30,
                    what="node 4 linked to the cheating holder")
        c.start([0, 1, 3])
        ct.wait_links(c.daemons, 4)
        ct.wait_for(lambda: all(sealed(d)["holders_linked"] >= (2 if i <= 2 else 3)
                                for i, d in enumerate(c.daemons)), timeout=30,
                    what="every node linked to the other share holders")
        st = sealed(c.daemons[0])
        assert st["enabled"] and st["k"] == K and st["oprf_threshold"] == T, st
        assert st["holder_index"] == 1 and sealed(c.daemons[3])["holder_index"] is None

        # Member 4 seals through the CLI; the cheater's answer fails its DLEQ proof.
        p = dl.run_cli("sight", "--sealed", "--config", c.nodes[4].config, VALUE)
        assert p.returncode == 0, p.stderr
        assert "sealed 1 value(s)" in p.stdout and "1 new" in p.stdout, p.stdout
        st = sealed(c.daemons[4])
        assert st["counters"]["wrong_evaluations_caught"] >= 1, st
        assert "answered with a wrong evaluation" in c.daemons[4].log()
        assert st["quota_left"], st

        # k - 1 = 2 members: held everywhere, opened nowhere.
        seal(c.daemons[3], VALUE)
        ct.wait_for(lambda: all(sealed(d)["held"] == 2 for d in c.daemons), timeout=30,
                    what="both submissions on every node")
        for i, d in enumerate(c.daemons):
            assert sealed(d)["opened"] == 0 and opened(d, VALUE) is None, i
        # The same member again: one member, one share.
        r = seal(c.daemons[4], VALUE)
        assert r["sealed"] == 1 and r["new"] == 0, r
        # A value only one member sealed.
        seal(c.daemons[1], LONELY)
        ct.wait_for(lambda: all(sealed(d)["held"] == 3 for d in c.daemons), timeout=30,
                    what="the lonely submission on every node")

        # The k-th member (a share holder, using its own share and one other).
        seal(c.daemons[0], VALUE)
        ct.wait_for(lambda: all((opened(d, VALUE) or {}).get("members") == K
                                for d in c.daemons), timeout=30,
                    what="the value opened on every node with 3 members")
        for i, d in enumerate(c.daemons):
            assert opened(d, LONELY) is None, i
            assert sealed(d)["opened"] == 1, i
            q = d.call({"op": "query", "value": VALUE})
            # Found like any indicator: the export's sealed view, no reports, no names.
            assert q["found"] is True and q["sealed"]["members"] == K, q
            assert q["reports"] == [] and q["indicator"]["chatham"]["members"] == K, q
        p = dl.run_cli("query", "--config", c.nodes[1].config, VALUE)
        assert p.returncode == 0 and "3 members sealed it" in p.stdout, p.stdout + p.stderr

        # Every node's SIEM export gets it as a TLP GREEN indicator seen by 3 members, and
        # nothing there names a member; the lonely value is not exported.
        ct.wait_for(lambda: all(export_doc(n, VALUE) for n in c.nodes), timeout=30,
                    what="the opened value in every node's export")
        for i, n in enumerate(c.nodes):
            doc = export_doc(n, VALUE)
            ch, ind = doc["chatham"], doc["threat"]["indicator"]
            assert ch["sealed"]["members"] == K and ch["members"] == K, doc
            assert ind["marking"]["tlp"] == "GREEN" and ind["ip"] == VALUE, doc
            assert doc["event"]["type"] == ["indicator"] and ch["state"] == "active", doc
            assert ch["reported_by_us"] is False, doc
            text = export_text(n, "jsonl") + export_text(n, "stix21")
            assert VALUE in export_text(n, "stix21") and LONELY not in text, i
            # No member at all, in any spelling (the leak oracle, leakoracle.py).
            leakoracle.assert_clean({f"node {i} export": text},
                                    [p for m in c.community.members
                                     for p in leakoracle.patterns(m)])

        # Quota: 12 evaluations when at most 10 a day are allowed per holder.
        listing = os.path.join(c.nodes[3].root, "seen.txt")
        with open(listing, "w") as f:
            f.write("# a SIEM's daily list\n\n")
            for i in range(12):
                f.write(f"198.18.9.{i}\n")
        p = dl.run_cli("sight", "--sealed", "--config", c.nodes[3].config, "--file", listing)
        assert p.returncode != 0, p.stdout
        assert "NODE_E_SEALED_QUOTA" in p.stderr and "quota" in p.stderr, p.stderr
        # Refused whole: nothing of the batch was sealed or charged.
        assert all(sealed(d)["held"] == 4 for d in c.daemons)
        # Every copy that reached a node was either new and verified, or a duplicate
        # dropped before verification; none was refused.
        for i, d in enumerate(c.daemons):
            cnt = sealed(d)["counters"]
            assert cnt["refused"] == 0, (i, cnt)
            assert cnt["received"] == cnt["duplicates"] + cnt["stored"], (i, cnt)

        for i in range(5):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)


if __name__ == "__main__":
    ct.main([test_five_nodes])
