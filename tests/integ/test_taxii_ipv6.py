#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""chatham-taxii counts an IPv6 client by its /64, as it counts an IPv4 client by its
address: a host is given a whole /64, so one that opens idle connections from 8 addresses
of its /64 must not hold more than a quarter of max_connections (8 here: 2), and a client
of another /64 is served meanwhile. Before, the limit was libmicrohttpd's per address, and
8 addresses of one /64 held all 8 connections (every other client waited for the 30 s
idle timeout).

Runs in a network namespace it creates (chtx<pid>): 2001:db8:1::/64 (the hostile host),
2001:db8:2::/64 (another client) and 2001:db8:f::/64 (the server, 2001:db8:f::1) are local
routes on its loopback, and ip_nonlocal_bind lets a socket use any address of them. The
test re-runs itself inside the namespace (--inner) and removes the namespace after."""
import os
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_exportenv import ExportEnv, chatham_bin, make_doc  # noqa: E402
from taxiilib import TaxiiServer  # noqa: E402
from test_taxii_hostile import MAX_CONN, check_held, closed_by_server  # noqa: E402

COMMUNITY = "TAXII IPv6 Test"
SERVER = "2001:db8:f::1"


def connect_from(src, port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.connect((SERVER, port))
    return s


def inner():
    chatham_bin()
    with tempfile.TemporaryDirectory() as tmp:
        exp = os.path.join(tmp, "export")
        env = ExportEnv(exp, COMMUNITY)
        env.add(make_doc(1, "domain", "a.evil.example", "GREEN", "active",
                         community=COMMUNITY))
        srv = TaxiiServer(tmp, exp, {"soc": ("RED", "CLEAR GREEN")}, max_connections=MAX_CONN,
                          listen=SERVER)
        srv.start()
        idle = []
        try:
            idle = [connect_from("2001:db8:1::%x" % (0x10 + i), srv.port)
                    for i in range(MAX_CONN)]
            check_held(idle)
            # One more address of the same /64 is refused too.
            extra = connect_from("2001:db8:1::ffff", srv.port)
            idle.append(extra)
            assert closed_by_server(extra, 60), "a ninth address of the /64 was kept"
            # A client of another /64 is served while they are held.
            st, _, b = srv.client("soc", source="2001:db8:2::1").get("/taxii2/")
            assert st == 200, (st, b)
            print("ok   %d idle connections from %d addresses of one /64 hold %d slots; "
                  "another /64 is served" % (MAX_CONN, MAX_CONN, MAX_CONN // 4))
        finally:
            for s in idle:
                s.close()
            rc = srv.stop()
            env.close()
        assert rc == 0, (rc, open(srv.log_path).read()[-3000:])
    print("1 passed, 0 failed")
    return 0


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def main():
    if "--inner" in sys.argv:
        return inner()
    ns = "chtx%d" % os.getpid()
    ip("netns", "add", ns)
    try:
        ip("-n", ns, "link", "set", "lo", "up")
        for net in ("2001:db8:1::/64", "2001:db8:2::/64", "2001:db8:f::/64"):
            ip("-n", ns, "-6", "route", "add", "local", net, "dev", "lo")
        ip("netns", "exec", ns, "sysctl", "-qw", "net.ipv6.ip_nonlocal_bind=1")
        return subprocess.run(["ip", "netns", "exec", ns, sys.executable,
                               os.path.abspath(__file__), "--inner"], timeout=600).returncode
    finally:
        ip("netns", "del", ns)


if __name__ == "__main__":
    sys.exit(main())
