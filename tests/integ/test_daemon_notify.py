# SPDX-License-Identifier: MIT
"""The sd_notify protocol against a real NOTIFY_SOCKET listener: READY=1 only once the API
answers, STATUS= updates, WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1/READY=1 around
SIGHUP, STOPPING=1 at SIGTERM; also with an abstract-namespace socket."""

import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402

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


if __name__ == "__main__":
    dl.main([test_notify_sequence, test_notify_abstract_socket])
