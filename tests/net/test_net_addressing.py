# SPDX-License-Identifier: MIT
"""Addresses as operators write them: IPv6 only, and DNS names in roster addresses.

IPv6 only: four members whose namespaces have no IPv4 address besides loopback, listening on
and listing "[2001:db8::1:N]:7400"; they link and every report reaches every member.

DNS names: four members whose rosters list "mN.bed.test:7400", resolved through each
namespace's own hosts file (/etc/netns/<ns>/hosts, bound over /etc/hosts by `ip netns
exec`); member 3 lists nobody, so every link to it is dialled by name. Then member 3 moves: it stops, its namespace's address changes, every hosts file is
rewritten to the new address, and it starts again listening there. The others must find it
at the new address (they resolve the name at every dial) and its new report must reach them.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import netbed as nb  # noqa: E402
import overlaylib  # noqa: E402

N = 4


def all_linked(daemons, n=N - 1):
    return all(nb.links_up(d) == n for d in daemons)


def test_ipv6_only():
    bed = nb.Bed()
    members = None
    ok = False
    try:
        members = nb.Members(bed, N, lambda i, j: [nb.hostport(nb.v6(j), nb.PORT)], degree=3,
                             host=lambda i: bed.add_host(f"m{i}", addrs6=[nb.v6(i)]),
                             listen=lambda i: nb.hostport(nb.v6(i), nb.PORT))
        members.start()
        d = members.daemons
        nb.wait_for(lambda: all_linked(d), timeout=30, what="a full mesh over IPv6")
        for i in range(N):
            for p in overlaylib.peers(d[i])["peers"]:
                assert p["address"].startswith("[2001:db8::1:"), p
            nb.publish(d[i], [f"v6-{i}.example"])
        nb.wait_for(lambda: all(nb.reports(x) == N for x in d), timeout=30,
                    what="every report on every member over IPv6")
        for i in range(N):
            members.stop(i)
        ok = True
    finally:
        if members:
            members.cleanup(failed=not ok)
        bed.close()


def name(j):
    return f"m{j}.bed.test"


def test_dns_names_and_a_moving_member():
    bed = nb.Bed()
    members = None
    ok = False
    moved = "198.18.1.103"
    try:
        def hosts(addr3):
            return "".join(f"{addr3 if j == 3 else nb.v4(j)} {name(j)}\n" for j in range(N))

        def host(i):
            ns = bed.add_host(f"m{i}", [nb.v4(i)])
            bed.hosts_file(ns, "127.0.0.1 localhost\n" + hosts(nb.v4(3)))
            return ns
        # Member 3's roster lists nobody: it only accepts, so every link to it is dialled
        # by the others through the name.
        members = nb.Members(bed, N, lambda i, j: [] if i == 3 else [f"{name(j)}:{nb.PORT}"],
                             degree=3, host=host)
        members.start()
        d = members.daemons
        nb.wait_for(lambda: all_linked(d), timeout=30, what="a full mesh over DNS names")
        nb.publish(d[0], ["before.move.example"])
        nb.wait_for(lambda: all(nb.reports(x) == 1 for x in d), timeout=30,
                    what="the first report everywhere")

        members.stop(3)
        nb.ip("addr", "del", f"{nb.v4(3)}/16", "dev", "eth0", ns=members.ns[3])
        nb.ip("addr", "add", f"{moved}/16", "dev", "eth0", ns=members.ns[3])
        for ns in members.ns:
            bed.hosts_file(ns, "127.0.0.1 localhost\n" + hosts(moved))
        n3 = members.nodes[3]
        with open(n3.config) as f:
            text = f.read()
        n3.write_config(text=text.replace(f"listen = {nb.v4(3)}:", f"listen = {moved}:"))
        members.start([3])
        nb.wait_for(lambda: all_linked(d), timeout=30,
                    what="the others to reach member 3 at its new address")
        id3 = members.community.members[3].id.hex()
        to3 = [p for i in range(3) for p in overlaylib.peers(d[i])["peers"]
               if p["state"] == "up" and p["member"]["id"] == id3]
        assert len(to3) == 3, to3
        for p in to3:
            assert p["direction"] == "outbound" and p["address"] == f"{moved}:{nb.PORT}", p
        nb.publish(d[3], ["after.move.example"])
        nb.wait_for(lambda: all(nb.has(x, "after.move.example") for x in d), timeout=30,
                    what="member 3's report from its new address everywhere")
        for i in range(N):
            members.stop(i)
        ok = True
    finally:
        if members:
            members.cleanup(failed=not ok)
        bed.close()


if __name__ == "__main__":
    nb.main([test_ipv6_only, test_dns_names_and_a_moving_member])
