#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The daemon's memory on a large store, without LMDB's pages.

Starts a real `chatham run` (CHATHAM_BIN) on an existing store directory, for example the
one `bench_store N DIR` leaves in DIR/state, with a fresh community, key and export
directory (the store holds bench reports, whose 240 placeholder bytes do not decode: the
node opens the store, its exporter walks every feed entry and logs each report it skips,
and it serves status). It reads the daemon's RssAnon (anonymous memory:
the heap, the id map, thread stacks; LMDB's file pages are RssFile and not counted) from
/proc when the API first answers, then every second for --seconds, and prints the value at
ready, the largest, and the last.

usage: CHATHAM_BIN=build/release/node/chatham /usr/bin/python3 \\
           tests/bench/bench_daemon_rss.py STATE_DIR [--seconds 60]
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integ"))
import daemonlib as dl  # noqa: E402


def rss_anon_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise SystemExit("no RssAnon in /proc/PID/status")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("state_dir")
    ap.add_argument("--seconds", type=int, default=60)
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(args.state_dir, "data.mdb")):
        raise SystemExit(f"no store in {args.state_dir!r} (run bench_store N DIR first)")
    root = tempfile.mkdtemp(prefix="bench-daemon-rss-")
    # The store keeps the roster the node adopts: later runs on it need the same community.
    keep = os.path.join(os.path.dirname(os.path.abspath(args.state_dir)), "daemon-rss-node")
    try:
        node = dl.Node(dl.Community(), root=root)
        if os.path.isdir(keep):
            for name in ("member.key", "community", "roster"):
                shutil.copy2(os.path.join(keep, name), os.path.join(root, name))
        else:
            os.mkdir(keep)
            for name in ("member.key", "community", "roster"):
                shutil.copy2(os.path.join(root, name), os.path.join(keep, name))
        if os.path.isdir(node.state):
            os.rmdir(node.state)
        os.symlink(os.path.abspath(args.state_dir), node.state)
        t0 = time.monotonic()
        with dl.Daemon(node) as d:
            d.start(timeout=600)
            ready = time.monotonic() - t0
            pid = d.proc.pid
            first = peak = last = rss_anon_kib(pid)
            for _ in range(args.seconds):
                time.sleep(1)  # sampling period, not synchronisation
                last = rss_anon_kib(pid)
                peak = max(peak, last)
            st = d.call({"op": "status"})
            print(f"store: {args.state_dir}, reports {st.get('store', {}).get('reports', '?')}")
            print(f"ready after {ready:.1f} s")
            print(f"RssAnon: {first / 1024:.1f} MiB at ready, {peak / 1024:.1f} MiB at most, "
                  f"{last / 1024:.1f} MiB after {args.seconds} s", flush=True)
        # Leaving the block kills the daemon: its exporter may still be catching up.
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
