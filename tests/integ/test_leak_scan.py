# SPDX-License-Identifier: MIT
"""Attribution leak scan: five real daemons (log level debug) exchange attributed,
anonymous, AMBER and RED reports whose descriptions and tags name members (display names,
aliases, domains, e-mail addresses and URLs on member domains, member ids in hex). Then, on
every node, everything that leaves the community boundary is read with the leak oracle
(leakoracle.py: no member skeleton appears in the output skeleton) for every OTHER member's
display name, aliases, domains, network address, id and public keys (hex prefixes, base64,
raw bytes), in any spelling the redactor hides:

  - the SIEM export environment (the raw bytes of every file in the export directory);
  - every `chatham export` format: jsonl, csv, stix21, plain, misp-feed (every file);
  - the daemon's log at every level, debug included: no member at all (with the default
    `[log] member_names = false` the overlay names a link by its number only;
    chatham.conf(5));
  - the API's query (every indicator), list, status and peers responses, and the CLI's
    query / list / status / peers output, human and --json.

Zero occurrences are allowed. So that the scan cannot pass vacuously, the test also checks
that the scanned outputs do carry the exchanged indicators and the redaction token where
member names were, and that the same oracle does find the names in the main store (which
legitimately keeps the signed, unredacted reports).
"""

import glob
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402
import leakoracle  # noqa: E402
import overlaylib  # noqa: E402

NAMES = ("Aurora CERT", "Borealis CSIRT", "Cirrus SOC", "Dorado CERT", "Equinox CSIRT")
OVERLAY = f"degree = 4\n{overlaylib.OVERLAY_FAST}"


def add_identity(member, i):
    """Aliases and a second domain for @member (the roster entry carries both)."""
    word = member.name.split()[0]
    member.aliases = [f"{word.upper()}-IR", f"Team {word} Response"]
    member.domains = [f"{word.lower()}.example", f"{word.lower()}-cert{i}.test"]
    base = member.roster_entry

    def entry():
        m = base()
        m[2] = list(member.aliases)
        m[3] = list(member.domains)
        return dict(sorted(m.items()))
    member.roster_entry = entry


class Community5:
    def __init__(self):
        self.community = dl.Community(name="Leak Scan Community", members=NAMES)
        for i, m in enumerate(self.community.members):
            add_identity(m, i)
        self.netkey = os.urandom(32)
        self.ports = [overlaylib.free_port() for _ in NAMES]
        addrs = {m.name: [f"127.0.0.1:{p}"] for m, p in zip(self.community.members, self.ports)}
        self.nodes = [overlaylib.overlay_node(self.community, i, self.netkey, self.ports[i],
                                              addrs, OVERLAY,
                                              extra_config="[log]\nlevel = debug\n")
                      for i in range(len(NAMES))]
        self.daemons = [dl.Daemon(n) for n in self.nodes]

    def member(self, i):
        return self.community.members[i]


def forbidden_for(c5, i):
    """The leak oracle's patterns for every member but @i (network addresses included; the
    host 127.0.0.1 alone is every node's, so only "127.0.0.1:port" names a member)."""
    addrs = {m.name: [f"127.0.0.1:{p}"] for m, p in zip(c5.community.members, c5.ports)}
    return leakoracle.others(c5.community.members, i, addrs, ("127.0.0.1",))


def mention_text(c5, i, others):
    """A description naming members @others in the ways an analyst would write them."""
    parts = []
    for j in others:
        m = c5.member(j)
        w = m.name.split()[0]
        parts.append(f"{m.name} saw it first; {m.aliases[0]} and {m.aliases[1].lower()} "
                     f"confirmed via soc@{m.domains[0]} (https://portal.{m.domains[1]}/case), "
                     f"member {m.id.hex()}; ask {w.upper()} {m.name.split()[1]}")
    return " | ".join(parts)


def mention_tags(c5, others):
    tags = []
    for j in others[:3]:
        m = c5.member(j)
        tags += [f"victim:{m.name}", m.domains[0], m.aliases[0]]
    return tags[:15] + ["c2"]


def publish(d, **item):
    r = d.call({"op": "publish", "allow_names": True, **item})
    assert r.get("ok") and r.get("result") == "new", r
    return r


def run_cli_json(node, *args):
    r = dl.run_cli(*args, "--config", node.config)
    assert r.returncode == 0, (args, r.stderr)
    return (r.stdout + r.stderr).encode()


def test_leak_scan_five_nodes():
    c5 = Community5()
    n = len(NAMES)
    ok = False
    green, private = [], []   # values everyone holds; (value, holder indices)
    try:
        for d in c5.daemons:
            d.start()
        overlaylib.wait_for(lambda: all(len(overlaylib.links_up(d)) >= n - 1
                                        for d in c5.daemons), timeout=60, what="full mesh")
        for i, d in enumerate(c5.daemons):
            others = [j for j in range(n) if j != i]
            ids = [c5.member(j).id.hex() for j in others]
            v = f"attr{i}.leak-indicator.net"
            publish(d, value=v, tlp="GREEN", confidence=70,
                    description=mention_text(c5, i, others), tags=mention_tags(c5, others))
            green.append(v)
            v = f"198.51.100.{10 + i}"
            publish(d, value=v, tlp="CLEAR", anonymous=True,
                    description=mention_text(c5, i, others[::-1]),
                    tags=mention_tags(c5, others[::-1]))
            green.append(v)
            v = f"amber{i}.leak-indicator.net"
            publish(d, value=v, tlp="AMBER", recipients=ids[:2],
                    description=mention_text(c5, i, others[1:]),
                    tags=mention_tags(c5, others[1:]))
            private.append((v, [i] + others[:2]))
            v = f"http://red{i}.leak-indicator.net/drop"
            publish(d, value=v, tlp="RED", recipients=ids[2:3],
                    description=mention_text(c5, i, others), tags=mention_tags(c5, others))
            private.append((v, [i, others[2]]))
            # Sightings by a second member make "members"/"sightings" aggregates non-trivial.
            r = c5.daemons[(i + 1) % n].call({"op": "sight", "value": green[-2],
                                              "tlp": "GREEN"})
            assert r.get("ok"), r

        def delivered():
            for i, d in enumerate(c5.daemons):
                for v in green:
                    if not query(d, v)["found"]:
                        return False
                for v, holders in private:
                    if i in holders and not query(d, v)["found"]:
                        return False
            return True
        overlaylib.wait_for(delivered, timeout=90, what="every report at its holders")
        # Holders only: AMBER/RED never reached anyone else.
        for i, d in enumerate(c5.daemons):
            for v, holders in private:
                if i not in holders:
                    assert not query(d, v)["found"], f"{v} reached node {i}"
        # Everything visible is in every export before scanning.
        wait_exports(c5.daemons)

        for i, (node, d) in enumerate(zip(c5.nodes, c5.daemons)):
            pats = forbidden_for(c5, i)
            held = green + [v for v, h in private if i in h]
            outputs = collect_outputs(node, d, held)
            leaks = leakoracle.scan(outputs, pats)
            assert not leaks, f"node {i} ({NAMES[i]}):\n" + "\n".join(leaks)
            assert outputs["daemon log (debug)"], f"node {i} logged nothing at debug"
            # Not vacuous: the outputs carry the indicators and the redaction token...
            api = outputs["api query"].decode()
            for v in held:
                assert v in api, f"{v} missing from node {i}'s query output"
            assert "[member]" in api, "no redacted description reached the query output"
            assert "[member]" in outputs["export jsonl"].decode()
            assert green[0] in outputs["export jsonl"].decode()
            # ...and the oracle finds the names where they legitimately are.
            main = {f"main store {os.path.relpath(f, node.state)}": data
                    for f, data in read_dir(node.state).items()}
            found = leakoracle.scan(main, pats)
            for j, m in enumerate(c5.community.members):
                assert j == i or any(f.startswith(f"{m.name}: name in ") for f in found), \
                    f"the oracle did not find {m.name} in node {i}'s main store: {found}"

        for d in c5.daemons:
            assert d.stop() == 0
        ok = True
    finally:
        for d in c5.daemons:
            d.kill()
            if not ok:
                print(f"--- log of {d.node.root}:\n{d.log()[-4000:]}---", flush=True)
        for node in c5.nodes:
            node.cleanup()


def wait_exports(daemons, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        behind = []
        for i, d in enumerate(daemons):
            st = d.call({"op": "status"})
            if st["export"]["last_seq"] != st["store"]["feed_last"]:
                behind.append((i, st["export"], st["store"]["feed_last"]))
        if not behind:
            return
        assert time.monotonic() < deadline, f"exports behind the feed: {behind}"
        time.sleep(0.05)


def query(d, value):
    q = d.call({"op": "query", "value": value})
    assert q.get("ok"), q
    return q


def read_dir(path):
    out = {}
    for f in sorted(glob.glob(os.path.join(path, "**"), recursive=True)):
        if os.path.isfile(f):
            with open(f, "rb") as fh:
                out[f] = fh.read()
    return out


def collect_outputs(node, d, held):
    out = {}
    for f, data in read_dir(node.export).items():
        out[f"export env {os.path.relpath(f, node.export)}"] = data
    for fmt in ("jsonl", "csv", "stix21", "plain"):
        r = dl.run_cli("export", "--format", fmt, "--export-dir", node.export)
        assert r.returncode == 0, r.stderr
        out[f"export {fmt}"] = (r.stdout + r.stderr).encode()
    misp = os.path.join(node.root, "misp")
    r = dl.run_cli("export", "--format", "misp-feed", "--export-dir", node.export, "--out", misp)
    assert r.returncode == 0, r.stderr
    files = read_dir(misp)
    assert files, "misp-feed wrote nothing"
    out["export misp-feed"] = r.stderr.encode() + b"".join(files.values())
    log = d.log().splitlines(keepends=True)
    out["daemon log"] = "".join(x for x in log if not x.startswith("chatham: debug:")).encode()
    out["daemon log (debug)"] = "".join(x for x in log if x.startswith("chatham: debug:")).encode()
    out["api query"] = json.dumps([query(d, v) for v in held]).encode()
    out["api list"] = json.dumps(d.call({"op": "list", "since": 0, "limit": 1000})).encode()
    out["api status"] = json.dumps(d.call({"op": "status"})).encode()
    out["api peers"] = json.dumps(d.call({"op": "peers"})).encode()
    for v in held:
        out[f"cli query {v}"] = run_cli_json(node, "query", v)
        out[f"cli query --json {v}"] = run_cli_json(node, "query", "--json", v)
    for cmd in ("status", "peers", "list"):
        out[f"cli {cmd}"] = run_cli_json(node, cmd)
        out[f"cli {cmd} --json"] = run_cli_json(node, cmd, "--json")
    return out


if __name__ == "__main__":
    dl.main([test_leak_scan_five_nodes])
