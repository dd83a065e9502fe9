# SPDX-License-Identifier: MIT
"""Memory-map calls of a node's loop thread while a client publishes large batches.

Every mmap, munmap, mremap, brk and mprotect takes the process's memory map lock as a writer
(node/common/heap.h): on the loop thread such a call can wait for a worker the scheduler keeps
off the CPU. A batch of 10,000 reports is parsed by a worker (its items array: 5.3 MB) and
answered with a text a worker renders (2.3 MB); both are blocks glibc maps alone. This runs a
node (CHATHAM_BUILD_DIR, release build), publishes one batch to warm up, then traces the loop
thread (the process's main thread) with strace while --batches more are published, and
prints the memory calls it made, with their sizes.

Usage: CHATHAM_BUILD_DIR=build/release /usr/bin/python3 tests/bench/bench_api_maps.py
       [--batches N] [--reports R]   (needs strace)
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integ"))

import daemonlib as dl  # noqa: E402


def tracer(pid):
    """The TracerPid of process @pid (0: not traced)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("TracerPid:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--reports", type=int, default=10000)
    a = ap.parse_args()
    node = dl.Node(dl.Community())
    out = tempfile.NamedTemporaryFile(prefix="bench_api_maps.", suffix=".strace", delete=False)
    out.close()
    try:
        with dl.Daemon(node).start() as d:
            def publish(k):
                items = [{"value": f"b{k}-{i}.api-maps.example", "tlp": "GREEN"}
                         for i in range(a.reports)]
                with d.client(timeout=600) as c:
                    r = c.call({"op": "publish", "reports": items})
                assert r.get("ok"), str(r)[:300]

            publish(0)
            # Without -f strace follows the given thread only: the loop's.
            st = subprocess.Popen(["strace", "-e", "trace=memory", "-o", out.name, "-p",
                                   str(d.proc.pid)], stderr=subprocess.PIPE)
            # attached when the kernel names a tracer; a strace that cannot attach exits
            deadline = time.monotonic() + 30
            while tracer(d.proc.pid) == 0:
                if st.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("bench_api_maps: strace did not attach: "
                                     + st.stderr.read().decode(errors="replace")[-300:])
                time.sleep(0.05)
            t0 = time.monotonic()
            for k in range(1, a.batches + 1):
                publish(k)
            wall = time.monotonic() - t0
            time.sleep(0.5)
            st.terminate()
            st.wait()
            if st.returncode not in (0, -15):
                raise SystemExit(f"bench_api_maps: strace failed ({st.returncode})")
            assert d.stop() == 0
        calls = [x for x in open(out.name).read().splitlines()
                 if "(" in x and not x.startswith("---") and not x.startswith("+++")]
        print(f"{a.batches} batches of {a.reports} reports in {wall:.1f} s: the loop thread "
              f"made {len(calls)} memory-map calls  [load {os.getloadavg()[0]:.1f}]")
        for x in calls:
            print("  " + x[:100])
    finally:
        os.unlink(out.name)
        node.cleanup()


if __name__ == "__main__":
    main()
