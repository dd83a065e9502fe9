# SPDX-License-Identifier: MIT
"""Outsider load for test_overlay_preauth.py: keeps HOLD idle TCP connections open to
127.0.0.1:PORT from many source addresses in 127.0.0.0/8 (never 127.0.0.1 itself, the
members' address) and opens a new one whenever the node closes one, at most RATE per second.
It never sends a byte. One epoll loop (selectors), no threads.

    preauth_flood.py PORT HOLD RATE ADDRS

Every 0.25 s it prints one JSON line of counters to stdout:
    open         sockets open right now (connecting or connected)
    established  of those, connected (from this side: the node may not have accepted yet)
    opened       connections started so far
    closed       connections the node closed (EOF or reset)
    failed       connects that failed (refused, timed out, no local port)
    bytes        bytes the node sent (an outsider must get none)
It stops on SIGTERM after a last line.
"""

import json
import resource
import selectors
import signal
import socket
import sys
import time


def source_addrs(n):
    """@n addresses 127.1.x.y: many distinct sources, all on the loopback interface."""
    return [f"127.1.{i // 250}.{i % 250 + 1}" for i in range(n)]


def main():
    port, hold, rate, n_addrs = (int(a) for a in sys.argv[1:5])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hold + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft < hold + 64:
        raise SystemExit(f"RLIMIT_NOFILE hard limit {hard} is below {hold + 64}")
    addrs = source_addrs(n_addrs)
    sel = selectors.DefaultSelector()
    c = {"open": 0, "established": 0, "opened": 0, "closed": 0, "failed": 0, "bytes": 0}
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    target = ("127.0.0.1", port)
    next_addr = 0
    tokens, last = 0.0, time.monotonic()
    report_at = last

    def drop(s, key_was_connected):
        sel.unregister(s)
        s.close()
        c["open"] -= 1
        if key_was_connected:
            c["established"] -= 1

    while not stop:
        now = time.monotonic()
        tokens = min(tokens + (now - last) * rate, rate / 10 + 1)
        last = now
        while c["open"] < hold and tokens >= 1:
            tokens -= 1
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.bind((addrs[next_addr % len(addrs)], 0))
                next_addr += 1
                s.connect_ex(target)
            except OSError:
                s.close()
                c["failed"] += 1
                continue
            sel.register(s, selectors.EVENT_WRITE, False)
            c["open"] += 1
            c["opened"] += 1
        for key, ev in sel.select(timeout=0.01):
            s, connected = key.fileobj, key.data
            if not connected:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    drop(s, False)
                    c["failed"] += 1
                    continue
                sel.modify(s, selectors.EVENT_READ, True)
                c["established"] += 1
                continue
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            c["bytes"] += len(data)
            if not data:
                drop(s, True)
                c["closed"] += 1
        if now >= report_at:
            print(json.dumps(c), flush=True)
            report_at = now + 0.25
    print(json.dumps(c), flush=True)


if __name__ == "__main__":
    main()
