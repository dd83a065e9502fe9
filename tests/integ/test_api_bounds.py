#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Issue 13, "local clients and the operator", against a real daemon:
- 64 clients that leave a line unfinished do not lock a new client out, and are closed by
  the per-line deadline;
- served clients that stay connected and idle do not lock a new client out either (the one
  idle longest is closed to make room), while clients with responses still to read are
  never closed for a new one (it gets NODE_E_OVERLOAD);
- a 10,000-row CSV import with long descriptions goes through at the default batch size
  (the CLI splits batches by bytes as well as by count);
- a client the node refuses (here: a uid not allowed) sees the node's NODE_E_PERM, not
  "Broken pipe", even when the refusal cuts its request short;
- `chatham check-config` makes the checks `chatham run` makes before it serves, so "ok"
  means the node starts and every refusal names what stops it.
The memory bounds are in test_api_memory.py."""

import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402

COMMUNITY = dl.Community()


def cli(*args, check=None, timeout=600):
    p = subprocess.run([dl.chatham_bin()] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=timeout)
    if check is not None:
        assert p.returncode == check, (args, p.returncode, p.stdout, p.stderr)
    return p


def test_slow_clients():
    node = dl.Node(COMMUNITY, extra_config="[api]\nline_timeout_s = 3\n")
    slow = []
    try:
        with dl.Daemon(node).start() as d:
            for i in range(64):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(30)
                s.connect(node.socket)
                s.sendall(b'{"op":"sta')  # and never the rest
                slow.append(s)
            # Every slot is held by an unfinished line; a new client still gets in, at once.
            for _ in range(3):
                t0 = time.monotonic()
                r = d.call({"op": "status"})
                assert r["ok"], r
                assert time.monotonic() - t0 < 2, time.monotonic() - t0
            # The deadline closes the rest, each after an error naming the option.
            got = 0
            for s in slow:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if b"line_timeout_s" in data:
                    got += 1
            assert got >= 60, got  # the few evicted above were closed without a response
            assert "line_timeout_s" in d.log()
    finally:
        for s in slow:
            s.close()
        node.cleanup()


def late_client_answer(d):
    """Connect, send a status request, return the first response line (a refusal is sent
    before the node closes, so it is read even when our send found the socket closed)."""
    with d.client(timeout=30) as c:
        try:
            c.send_raw(b'{"op":"status"}\n')
        except (BrokenPipeError, ConnectionResetError):
            pass
        return c.recv_line()


def test_idle_clients():
    node = dl.Node(COMMUNITY, extra_config="[api]\nmax_connections = 4\nclient_timeout_s = 300\n"
                   "max_output_bytes = 64k\n")
    idle, stuck = [], []
    try:
        with dl.Daemon(node).start() as d:
            first = d.client(timeout=30)
            deadline = time.monotonic() + 60
            # The readiness probe's connection may not be reaped yet: wait until only ours.
            while first.call({"op": "status"})["api"]["connections"] != 1:
                assert time.monotonic() < deadline, "the readiness probe was never reaped"
                time.sleep(0.01)
            idle.append(first)
            for _ in range(3):
                c = d.client(timeout=30)
                assert c.call({"op": "status"})["ok"]
                idle.append(c)
            # Every slot holds a served, idle client. Before: a new client got
            # NODE_E_OVERLOAD for as long as they stayed. Now it is served and the client
            # idle longest is closed (its responses were all written: it loses nothing).
            for _ in range(3):
                new = d.client(timeout=30)
                r = new.call({"op": "status"})
                assert r["ok"], r
                oldest = idle.pop(0)
                assert oldest.sock.recv(1) == b"", "the idle client was not closed"
                oldest.close()
                idle.append(new)
            assert "that has been idle for longest" in d.log()
            for c in idle:
                c.close()
            # Clients with responses to read are never closed for a new one: 1,000
            # pipelined requests whose responses are never read fill the socket and
            # max_output_bytes, so each of these connections keeps unsent responses.
            for _ in range(4):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(30)
                s.connect(node.socket)
                stuck.append(s)
                s.sendall(b'{"op":"status"}\n' * 1000)
                # The node has read the requests and served them: clients closed by us
                # above but not yet released by the node hold no slot, so none is refused.
                head = s.recv(12, socket.MSG_PEEK | socket.MSG_WAITALL)
                assert head == b'{"ok":true,"', head
            # A closed idle client not reaped yet makes room (the new one is served):
            # poll until only the four remain, then the new one is refused.
            deadline = time.monotonic() + 60
            while True:
                r = late_client_answer(d)
                if not r.get("ok"):
                    break
                assert time.monotonic() < deadline, "closed clients never reaped"
                time.sleep(0.05)
            assert r["error"]["code"] == "NODE_E_OVERLOAD", r
            assert d.proc.poll() is None
    finally:
        for s in stuck:
            s.close()
        node.cleanup()


def test_csv_long_descriptions():
    node = dl.Node(COMMUNITY)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "long.csv")
            desc = "x" * 2000  # PROTO_REPORT_DESC_MAX is 2048
            with open(path, "w") as f:
                f.write("value,type,tlp,description\n")
                for i in range(10000):
                    f.write("host%05d.long.example,domain,green,%s %d\n" % (i, desc, i))
            assert os.path.getsize(path) > 16 << 20  # over the default [api] max_line_bytes
            with dl.Daemon(node).start() as d:
                p = cli("publish", "--file", path, "--socket", node.socket, "--quiet",
                        check=0)
                assert "published 10000 new, 0 duplicate, 0 invalid" in p.stderr + p.stdout, \
                    (p.stdout, p.stderr)
                st = d.call({"op": "status"})
                assert st["ok"], st
    finally:
        node.cleanup()


def test_refused_client_sees_node_error():
    node = dl.Node(COMMUNITY, extra_config="[api]\nsocket_mode = 0666\n")
    try:
        os.chmod(node.root, 0o755)  # nobody may reach the socket; the node decides
        path = os.path.join(node.root, "big.txt")
        with open(path, "w") as f:
            for i in range(200000):
                f.write("h%06d.refused.example\n" % i)
        os.chmod(path, 0o644)
        with dl.Daemon(node).start():
            p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                dl.chatham_bin(), "publish", "--file", path, "--tlp", "green",
                                "--socket", node.socket, "--quiet"],
                               capture_output=True, text=True, timeout=120)
            assert p.returncode == 77, (p.returncode, p.stderr)
            assert "permission denied" in p.stderr and "Broken pipe" not in p.stderr, p.stderr
    finally:
        node.cleanup()


def check_config(node):
    return subprocess.run([dl.chatham_bin(), "check-config", node.config], capture_output=True,
                          text=True, timeout=60)


def test_check_config_startup():
    import overlaylib
    node = dl.Node(COMMUNITY)
    try:
        p = check_config(node)
        assert p.returncode == 0 and ": ok" in p.stdout, (p.stdout, p.stderr)
        with dl.Daemon(node).start() as d:
            # beside a running node: still ok, and it says why the socket answers
            p = check_config(node)
            assert p.returncode == 0 and "a node answers" in p.stderr, (p.stdout, p.stderr)
            assert d.stop() == 0
        # each of these made `chatham run` exit while check-config said "ok"
        os.chmod(node.key, 0o644)
        p = check_config(node)
        assert p.returncode == 78 and "key_file" in p.stderr and "0600" in p.stderr, p.stderr
        r = dl.Daemon(node).start(wait=False)
        assert r.proc.wait(60) != 0
        os.chmod(node.key, 0o600)

        good = open(node.roster, "rb").read()
        with open(node.roster, "wb") as f:
            f.write(b"not a roster")
        p = check_config(node)
        assert p.returncode == 78 and "roster_file" in p.stderr, p.stderr
        other = dl.Community(name="Other CSIRTs")
        with open(node.roster, "wb") as f:
            f.write(other.roster_file())
        p = check_config(node)
        assert p.returncode == 78 and "roster_file" in p.stderr, p.stderr
        with open(node.roster, "wb") as f:
            f.write(good)

        netkey = os.path.join(node.root, "network.key")
        with open(netkey, "wb") as f:
            f.write(overlaylib.netkey_file(os.urandom(32)))
        os.chmod(netkey, 0o600)
        with socket.socket() as held:
            held.bind(("127.0.0.1", 0))
            held.listen(1)
            port = held.getsockname()[1]
            node.write_config(text=node.config_text(
                "[overlay]\nlisten = 127.0.0.1:%d\n" % port).replace(
                "[node]\n", "[node]\nnetwork_key_file = %s\n" % netkey))
            p = check_config(node)
            assert p.returncode == 78 and "127.0.0.1:%d" % port in p.stderr, p.stderr
        p = check_config(node)  # the port is free again
        assert p.returncode == 0, (p.stdout, p.stderr)

        node.write_config(text=node.config_text().replace(
            "state_dir = %s" % node.state, "state_dir = /nonexistent/chatham/state"))
        p = check_config(node)
        assert p.returncode == 78 and "state_dir" in p.stderr, p.stderr
    finally:
        node.cleanup()


if __name__ == "__main__":
    dl.main([test_slow_clients, test_idle_clients, test_csv_long_descriptions,
             test_refused_client_sees_node_error, test_check_config_startup])
