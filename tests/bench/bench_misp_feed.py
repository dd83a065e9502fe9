#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench_misp_feed.py - `chatham export --format misp-feed`: a full export, a run with
nothing new, and the incremental run after one revoke.

The export environment is filled directly with N documents (the node's document shape,
tests/integ/cli_exportenv.py, one transaction), spread over --days first-seen days and the
levels CLEAR, GREEN and AMBER, so the feed has days x 3 events. Then, each as one process
whose CPU time is taken from getrusage (the machine is shared, wall time is noisy):

  1. full export into an empty directory (--state cursor written);
  2. the same run again: nothing new, nothing may be written;
  3. one indicator withdrawn (a new document), and the incremental run: exactly one event
     may be rewritten; its bytes are printed (what a MISP pull fetches again);
  4. the machine's own limit in the same run: `chatham export --format jsonl` of the same
     documents (every stored document read and copied).

Printed: CPU seconds and attributes per CPU-second of each run, the ratio of the full
export's rate to the raw read's, events and bytes written, and the bytes rewritten by the
revoke.

Usage: bench_misp_feed.py [--n 40000] [--days 30]
Needs CHATHAM_BUILD_DIR (or the dev build) like the integration tests; python3-lmdb.
"""
import argparse
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integ"))

from cli_exportenv import make_doc  # noqa: E402

COMMUNITY = "Bench Community"
TLPS = ("CLEAR", "GREEN", "AMBER")
DAY_MS = 86400000
BASE = 1700000000000


def value(i):
    return "%d.%d.%d.%d" % (10 + i // 16777216 % 200, i // 65536 % 256, i // 256 % 256,
                            i % 256) if i % 2 else "host%d.bench.example" % i


def doc(seq, i, days, state="active"):
    first = BASE + (i // 3 % days) * DAY_MS
    return make_doc(seq, "ipv4" if i % 2 else "domain", value(i), TLPS[i % 3], state=state,
                    community=COMMUNITY, first=first, last=first + 1000)


def fill(path, n, days):
    import hashlib
    import lmdb
    os.makedirs(path, exist_ok=True)
    env = lmdb.open(path, max_dbs=4, map_size=max(64 << 20, n * 4096), writemap=True,
                    sync=False)
    feed, meta = env.open_db(b"feed"), env.open_db(b"meta")
    with env.begin(write=True) as t:
        t.put(b"schema", struct.pack(">I", 1), db=meta)
        t.put(b"env_id", hashlib.blake2b(path.encode(), digest_size=16).digest(), db=meta)
        t.put(b"store_id", b"\x03" * 16, db=meta)
        t.put(b"community", COMMUNITY.encode(), db=meta)
        for i in range(1, n + 1):
            t.put(struct.pack(">Q", i), json.dumps(doc(i, i, days),
                                                    separators=(",", ":")).encode(), db=feed)
        t.put(b"last_seq", struct.pack(">Q", n), db=meta)
    env.sync(True)
    env.close()


def add(path, d, n):
    import lmdb
    env = lmdb.open(path, max_dbs=4, map_size=max(64 << 20, n * 4096))
    feed, meta = env.open_db(b"feed"), env.open_db(b"meta")
    seq = d["chatham"]["seq"]
    with env.begin(write=True) as t:
        t.put(struct.pack(">Q", seq), json.dumps(d, separators=(",", ":")).encode(), db=feed)
        t.put(b"last_seq", struct.pack(">Q", seq), db=meta)
    env.close()


def timed(*args):
    chatham = os.path.join(os.environ.get("CHATHAM_BUILD_DIR") or
                           os.path.join(HERE, "../../build/dev"), "node/chatham")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run([chatham, "export"] + list(args), capture_output=True, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert p.returncode == 0, p.stderr
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, p.stderr


def snapshot(d):
    return {f: (os.stat(os.path.join(d, f)).st_mtime_ns, os.path.getsize(os.path.join(d, f)))
            for f in os.listdir(d)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40000)
    ap.add_argument("--days", type=int, default=30)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-misp-")
    try:
        exp, feed = os.path.join(tmp, "export"), os.path.join(tmp, "feed")
        cursor = os.path.join(tmp, "cursor.json")
        fill(exp, a.n, a.days)
        common = ["--format", "misp-feed", "--export-dir", exp, "--out", feed, "--state",
                  cursor]
        raw_cpu, _, _ = timed("--format", "jsonl", "--export-dir", exp, "--out",
                              os.path.join(tmp, "raw.jsonl"), "--quiet")
        full_cpu, full_wall, full_msg = timed(*common)
        files = snapshot(feed)
        events = len(files) - 2
        total = sum(s for _, s in files.values())
        noop_cpu, noop_wall, _ = timed(*common)
        assert snapshot(feed) == files, "a run with nothing new wrote files"
        add(exp, doc(a.n + 1, 7, a.days, state="withdrawn"), a.n)
        rev_cpu, rev_wall, rev_msg = timed(*common)
        after = snapshot(feed)
        changed = [f for f in after if after[f] != files.get(f)]
        assert "1 event written" in rev_msg, rev_msg
        ev = [f for f in changed if f not in ("manifest.json", "hashes.csv")]
        assert len(ev) == 1, changed
        print("chatham export --format misp-feed: %d indicators over %d days x %d TLP levels"
              % (a.n, a.days, len(TLPS)))
        print("  raw read (--format jsonl)   %.2f CPU-s: %d documents per CPU-s"
              % (raw_cpu, a.n / raw_cpu))
        print("  full export                 %.2f CPU-s (%.2f s wall): %d attributes per "
              "CPU-s = %.3f x raw read; %d events, %d bytes"
              % (full_cpu, full_wall, a.n / full_cpu, raw_cpu / full_cpu, events, total))
        print("  run with nothing new        %.2f CPU-s (%.2f s wall), nothing written"
              % (noop_cpu, noop_wall))
        print("  one revoke, incremental     %.2f CPU-s (%.2f s wall): 1 event rewritten, "
              "%d bytes (%s); %s" % (rev_cpu, rev_wall, after[ev[0]][1], ev[0],
                                     ", ".join(sorted(f for f in changed if f != ev[0]))))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
