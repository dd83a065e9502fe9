#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""API roles: [api] read_uids/read_gids admit a client to the read-only operations (query,
list, status, peers) and refuse its publishing operations (publish, revoke, sight,
false_positive sign as the CSIRT) with permission denied; allowed_uids admits everything; a
uid in neither list is refused at connect. Clients run as other users (the test runs as
root and drops to uids nobody and an unused one in a child process), so the checks are the
kernel's peer credentials, not a flag the test sets."""
import json
import os
import pwd
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402

COMMUNITY = dl.Community()
NOBODY = pwd.getpwnam("nobody").pw_uid
OTHER = 64999  # no such user: in no list


def call_as(uid, sock, reqs):
    """Runs requests as @uid in a child; returns the decoded answers (or an error string)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(uid if uid != NOBODY else pwd.getpwnam("nobody").pw_gid)
            os.setuid(uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(30)
            s.connect(sock)
            out, buf = [], b""
            for q in reqs:
                if q is not None:  # None: only read (the node speaks first to a refused uid)
                    s.sendall(json.dumps(q).encode() + b"\n")
                while b"\n" not in buf:
                    chunk = s.recv(1 << 16)
                    if not chunk:
                        break
                    buf += chunk
                if b"\n" not in buf:
                    break
                line, buf = buf.split(b"\n", 1)
                out.append(json.loads(line))
            os.write(w, json.dumps(out).encode())
        except Exception as e:  # reported to the parent
            os.write(w, json.dumps("error: %r" % e).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data)


def test_roles():
    if os.geteuid() != 0:
        raise AssertionError("needs root to run clients as other users (CI runs as root)")
    node = dl.Node(COMMUNITY, extra_config="socket_mode = 0666\nread_uids = nobody\n")
    try:
        os.chmod(node.root, 0o711)  # let the other users reach the socket
        with dl.Daemon(node).start() as d:
            pub = {"op": "publish", "value": "198.51.100.9", "tlp": "GREEN"}
            with dl.ApiClient(node.socket) as c:  # root: every operation
                r = c.call(pub)
                assert r["ok"], r
            reads = [{"op": "query", "value": "198.51.100.9"}, {"op": "list", "since": 0},
                     {"op": "status"}, {"op": "peers"}]
            writes = [pub, {"op": "revoke", "value": "198.51.100.9", "tlp": "GREEN"},
                      {"op": "sight", "value": "198.51.100.9", "tlp": "GREEN"},
                      {"op": "false_positive", "value": "198.51.100.9", "tlp": "GREEN"}]
            out = call_as(NOBODY, node.socket, reads + writes)
            assert isinstance(out, list) and len(out) == 8, out
            for q, a in zip(reads, out[:4]):
                assert a.get("ok"), (q, a)
            assert out[0]["found"], out[0]
            for q, a in zip(writes, out[4:]):
                assert not a.get("ok") and "permission denied" in json.dumps(a), (q, a)
                assert "read" in json.dumps(a), a
            # The read-only client's publishes changed nothing.
            with dl.ApiClient(node.socket) as c:
                q = c.call({"op": "query", "value": "198.51.100.9"})
                assert q["indicator"]["chatham"]["state"] == "active", q
                assert q["indicator"]["chatham"]["sightings"] == 0, q
            # A uid in no list is refused at connect.
            out = call_as(OTHER, node.socket, [None])
            assert isinstance(out, list) and len(out) == 1 and not out[0]["ok"], out
            assert "permission denied" in json.dumps(out), out
            # Reload: moving nobody to allowed_uids lets it publish.
            node.write_config("socket_mode = 0666\nallowed_uids = nobody\n")
            d.signal(signal.SIGHUP)
            d.wait_log("configuration reloaded")
            out = call_as(NOBODY, node.socket, [pub])
            assert isinstance(out, list) and out and out[0].get("ok"), out
            assert d.stop() == 0
    finally:
        node.cleanup()


if __name__ == "__main__":
    dl.main([test_roles])
