# SPDX-License-Identifier: MIT
"""The sd_notify protocol against a real NOTIFY_SOCKET listener: READY=1 only once the API
answers, STATUS= updates, WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1/READY=1 around
SIGHUP, STOPPING=1 at SIGTERM; also with an abstract-namespace socket; and a store written by
an older release (schema 2) upgraded at start with EXTEND_TIMEOUT_USEC= before READY=1, and
`chatham check-config` (which opens the store of a stopped node) saying that it will be,
without writing it."""

import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402
import lmdb  # noqa: E402

COMMUNITY = dl.Community()


def lines(messages):
    return [line for m in messages for line in m.split("\n") if line]


def drain(listener):
    listener.sock.setblocking(False)
    try:
        while True:
            listener.messages.append(listener.sock.recv(4096).decode())
    except BlockingIOError:
        pass
    listener.sock.setblocking(True)


def test_notify_sequence():
    node = dl.Node(COMMUNITY)
    listener = dl.NotifyListener(node.root)
    try:
        env = {"NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "200000",
               "WATCHDOG_PID": "0"}
        # WATCHDOG_PID names another process: the watchdog must stay off
        with dl.Daemon(node, env=env).start(wait=False) as d:
            listener.wait_for("READY=1")
            # READY=1 means the socket is already bound and the store open
            assert d.call({"op": "status"})["ok"]
            time.sleep(0.5)
            drain(listener)
            assert "WATCHDOG=1" not in lines(listener.messages), listener.messages
            assert d.stop() == 0
        drain(listener)
        listener.messages.clear()

        env["WATCHDOG_PID"] = ""
        with dl.Daemon(node, env=env).start(wait=False) as d:
            listener.wait_for("READY=1")
            assert "STOPPING=1" not in lines(listener.messages), listener.messages
            while not any(x.startswith("STATUS=serving") for x in lines(listener.messages)):
                listener.messages.append(listener.sock.recv(4096).decode())
            # pings at 100 ms intervals show the loop timer feeds the watchdog
            listener.wait_for("WATCHDOG=1", timeout=5)
            n_before = lines(listener.messages).count("WATCHDOG=1")
            t0 = time.monotonic()
            while lines(listener.messages).count("WATCHDOG=1") < n_before + 3:
                listener.messages.append(listener.sock.recv(4096).decode())
            assert time.monotonic() - t0 < 2.0, "watchdog pings too slow"

            d.call({"op": "publish", "value": "notify.example", "tlp": "GREEN"})
            d.signal(signal.SIGHUP)
            listener.messages.clear()
            listener.wait_for("RELOADING=1")
            listener.wait_for("READY=1")
            seq = [x for x in lines(listener.messages) if x in ("RELOADING=1", "READY=1")]
            assert seq.index("RELOADING=1") < len(seq) - 1 - seq[::-1].index("READY=1"), seq

            listener.messages.clear()
            d.signal(signal.SIGTERM)
            listener.wait_for("STOPPING=1")
            assert d.proc.wait(60) == 0, d.log()
    finally:
        listener.close()
        node.cleanup()


def test_notify_abstract_socket():
    node = dl.Node(COMMUNITY)
    name = f"chatham-test-{os.getpid()}-{time.monotonic_ns()}"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + name)
    s.settimeout(30)
    try:
        with dl.Daemon(node, env={"NOTIFY_SOCKET": "@" + name}).start(wait=False) as d:
            got = []
            while "READY=1" not in got:
                got += s.recv(4096).decode().split("\n")
            assert d.stop() == 0
    finally:
        s.close()
        node.cleanup()


def store_schema(node, value=None):
    """The main store's schema (meta "schema", u32 BE); first set to @value when given."""
    env = lmdb.open(node.state, max_dbs=16, lock=True)
    try:
        meta = env.open_db(b"meta", create=False)
        with env.begin(write=value is not None, db=meta) as txn:
            if value is not None:
                txn.put(b"schema", value.to_bytes(4, "big"))
            return int.from_bytes(txn.get(b"schema"), "big")
    finally:
        env.close()


def schema2_store(node, prefix):
    """@node's store with 5 reports (values "<prefix><i>.example"), set back to schema 2: a
    store an older release wrote."""
    with dl.Daemon(node).start() as d:
        for i in range(5):
            r = d.call({"op": "publish", "value": f"{prefix}{i}.example", "tlp": "GREEN"})
            assert r.get("ok"), r
        assert d.stop() == 0
    assert store_schema(node, 2) == 2


def test_notify_store_upgrade():
    """A schema-2 store gets its range sums built inside the start-up: the daemon asks the
    service manager for more time (EXTEND_TIMEOUT_USEC) before READY=1 and logs it."""
    node = dl.Node(COMMUNITY)
    listener = dl.NotifyListener(node.root)
    try:
        schema2_store(node, "upgrade")
        with dl.Daemon(node, env={"NOTIFY_SOCKET": listener.path}).start(wait=False) as d:
            listener.wait_for("READY=1")
            got = lines(listener.messages)
            extend = [x for x in got if x.startswith("EXTEND_TIMEOUT_USEC=")]
            assert extend and got.index(extend[0]) < got.index("READY=1"), got
            assert int(extend[0].split("=")[1]) >= 10000000, extend
            assert any(x.startswith("STATUS=upgrading the store") for x in got), got
            assert "building the range sums of schema 3: 5 of 5 (100 %)" in d.log(), d.log()
            assert ct_reports(d) == 5
            assert d.stop() == 0
        assert store_schema(node) == 3
        # An open with nothing to upgrade asks for no more time.
        listener.messages.clear()
        with dl.Daemon(node, env={"NOTIFY_SOCKET": listener.path}).start(wait=False) as d:
            listener.wait_for("READY=1")
            got = lines(listener.messages)
            assert not [x for x in got if x.startswith("EXTEND_TIMEOUT_USEC=")], got
            assert d.stop() == 0
    finally:
        listener.close()
        node.cleanup()


def test_check_config_upgrade():
    """check-config opens a stopped node's store to judge the roster file. On a schema-2
    store it says that `chatham run` will upgrade it, and leaves data.mdb byte for byte as
    it was (until session 9 its open upgraded the store); `run` then upgrades it at start,
    and the next check has nothing to say about it."""
    node = dl.Node(COMMUNITY)
    data = os.path.join(node.state, "data.mdb")
    try:
        schema2_store(node, "check")
        with open(data, "rb") as f:
            before = f.read()
        r = dl.run_cli("check-config", node.config)
        assert r.returncode == 0 and r.stdout.strip() == f"{node.config}: ok", r
        assert (f"{node.config}: note: state_dir {node.state}: the store was written by an "
                "older release (schema 2); `chatham run` will upgrade it to schema 3 at "
                "start, before it serves (building the range sums of schema 3: seconds for a "
                "million reports); this check left it as it is") in r.stderr, r.stderr
        with open(data, "rb") as f:
            assert f.read() == before, "check-config wrote to the store"
        assert store_schema(node) == 2
        with dl.Daemon(node).start() as d:
            assert ct_reports(d) == 5
            assert d.stop() == 0
        assert store_schema(node) == 3
        r = dl.run_cli("check-config", node.config)
        assert r.returncode == 0 and "note: state_dir" not in r.stderr, r
    finally:
        node.cleanup()


def ct_reports(d):
    r = d.call({"op": "status"})
    assert r.get("ok"), r
    return r["store"]["reports"]


if __name__ == "__main__":
    dl.main([test_notify_sequence, test_notify_abstract_socket, test_notify_store_upgrade,
             test_check_config_upgrade])
