#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench_taxii.py - chatham-taxii under 16 concurrent TAXII clients over TLS.

The export environment is filled directly with N indicator documents (the node's document
shape, written with python3-lmdb in one transaction as tests/integ/cli_exportenv.py does; no
node runs), every one GREEN, 1,000 documents per millisecond-spaced batch boundary being
irrelevant because date_added is made strictly increasing by the server. Then:

  1. the server starts and indexes the feed (start-up time, and the memory of the index:
     anonymous resident memory (RssAnon; LMDB's map is file-backed and not counted) after
     start minus that of the same server on an empty export);
  2. --clients processes (default 16), each with its own TLS connection, ask for pages of
     --limit objects (default 1,000) with added_after set to a random date_added of the
     collection (taken from one manifest walk), for --seconds; every answer is checked (200,
     `limit` objects or the end of the collection). This runs twice: GET objects, then GET
     manifest;
  3. the machine's own limits, measured in the same run on the newest 100,000 documents in
     one process (no TLS or HTTP): a raw read (`chatham export --format jsonl`: every stored
     document read and copied as it is) and the same STIX renderer (`--format stix21`), in
     objects per CPU-second, against the server's objects per CPU-second during each load
     (CPU time, because the machine is shared and wall-clock rates are not).

Printed per phase: objects served per second (all clients), pages per second, p50/p90/p99/max
latency of a page, the ratios of the server's objects per CPU-second to the raw read's and
the renderer's, the server's anonymous memory before and at its peak during the load
(sampled every 0.1 s) per concurrent client, and the bound per request (limit x the largest
served object: the page a request holds).

Usage: bench_taxii.py [--n 1000000] [--clients 16] [--limit 1000] [--seconds 30]
                      [--threads 4] [--keep DIR] [--json]
Needs CHATHAM_BUILD_DIR (or the dev build) like the integration tests; python3-lmdb.
"""
import argparse
import hashlib
import json
import multiprocessing
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integ"))

from cli_exportenv import iso  # noqa: E402
from taxiilib import TaxiiServer  # noqa: E402

COMMUNITY = "Bench Community"
MEDIA = "application/taxii+json;version=2.1"


def fill(path, n):
    import lmdb
    os.makedirs(path, exist_ok=True)
    env = lmdb.open(path, max_dbs=4, map_size=max(64 << 20, n * 2048), writemap=True,
                    sync=False)
    feed, meta = env.open_db(b"feed"), env.open_db(b"meta")
    base = 1700000000000
    with env.begin(write=True) as t:
        t.put(b"schema", struct.pack(">I", 1), db=meta)
        t.put(b"env_id", hashlib.blake2b(path.encode(), digest_size=16).digest(), db=meta)
        t.put(b"store_id", b"\x02" * 16, db=meta)
        t.put(b"community", COMMUNITY.encode(), db=meta)
        for seq in range(1, n + 1):
            value = "%d.%d.%d.%d" % (10 + seq // 16777216 % 200, seq // 65536 % 256,
                                     seq // 256 % 256, seq % 256)
            iid = hashlib.blake2b(b"chatham/ind/1ipv4\0" + value.encode(),
                                  digest_size=32).hexdigest()
            ts = iso(base + seq // 7)  # several documents per millisecond
            doc = {"@timestamp": ts, "ecs": {"version": "8.11.0"},
                   "event": {"kind": "enrichment", "category": ["threat"],
                             "type": ["indicator"]},
                   "threat": {"indicator": {"type": "ipv4-addr", "ip": value,
                                            "first_seen": iso(base), "last_seen": ts,
                                            "modified": ts, "confidence": "Medium",
                                            "marking": {"tlp": "GREEN"},
                                            "provider": COMMUNITY, "sightings": 1}},
                   "chatham": {"seq": seq, "indicator_id": iid, "type": "ipv4",
                               "value": value, "state": "active", "confidence": 60,
                               "members": 2, "sightings": 1, "false_positives": 0,
                               "reported_by_us": False, "tags": ["bench"]}}
            t.put(struct.pack(">Q", seq), json.dumps(doc, separators=(",", ":")).encode(),
                  db=feed)
        t.put(b"last_seq", struct.pack(">Q", n), db=meta)
    env.sync(True)
    env.close()


def rss(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def proc_cpu(pid):
    """User + system CPU seconds of process @pid so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client(args):
    port, cafile, user, secret, coll, dates, limit, seconds, seed, kind = args
    import base64
    import http.client
    import ssl
    ctx = ssl.create_default_context(cafile=cafile)
    auth = "Basic " + base64.b64encode(("%s:%s" % (user, secret)).encode()).decode()
    rnd = random.Random(seed)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=120)
    lat, objs, errors, biggest = [], 0, 0, 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        after = rnd.choice(dates)
        t0 = time.perf_counter()
        conn.request("GET", "/chatham/collections/%s/%s/?limit=%d&added_after=%s" %
                     (coll, kind, limit, after), headers={"Accept": MEDIA,
                                                          "Authorization": auth})
        r = conn.getresponse()
        body = r.read()
        lat.append(time.perf_counter() - t0)
        # Every object has one spec_version, every manifest record one date_added.
        n = body.count(b'"spec_version":"2.1"' if kind == "objects" else b'"date_added":')
        if r.status != 200 or (n != limit and b'"more":false' not in body):
            errors += 1
        objs += n
        if n:
            biggest = max(biggest, len(body) // n)
    conn.close()
    return lat, objs, errors, biggest


def load(srv, coll, dates, a, kind):
    """--clients processes paging @kind ("objects" or "manifest") for --seconds."""
    anon_before = rss(srv.proc.pid, "RssAnon")
    peak = [anon_before]
    stop = threading.Event()

    def sample():
        while not stop.wait(0.1):
            peak[0] = max(peak[0], rss(srv.proc.pid, "RssAnon"))

    th = threading.Thread(target=sample)
    th.start()
    cpu0 = proc_cpu(srv.proc.pid)
    t0 = time.monotonic()
    with multiprocessing.Pool(a.clients) as pool:
        res = pool.map(client, [(srv.port, srv.cert, "bench", srv.secrets["bench"], coll,
                                 dates, a.limit, a.seconds, i, kind)
                                for i in range(a.clients)])
    wall = time.monotonic() - t0
    server_cpu = proc_cpu(srv.proc.pid) - cpu0
    stop.set()
    th.join()
    lat = sorted(x for r in res for x in r[0])
    objs = sum(r[1] for r in res)
    return {"server_cpu_s": round(server_cpu, 1), "wall_s": round(wall, 1),
            "anon_before_load_bytes": anon_before, "anon_peak_load_bytes": peak[0],
            "anon_per_client_bytes": (peak[0] - anon_before) // a.clients,
            "errors": sum(r[2] for r in res), "pages": len(lat),
            "objects_per_s": round(objs / wall), "pages_per_s": round(len(lat) / wall, 1),
            "p50_ms": round(lat[len(lat) // 2] * 1000, 1),
            "p90_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.90))] * 1000, 1),
            "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1),
            "max_ms": round(lat[-1] * 1000, 1),
            "objects_per_cpu_s": round(objs / max(server_cpu, 1e-9)),
            "bound_per_request_bytes": a.limit * max(r[3] for r in res)}


def local_read(exp, tmp, n, fmt):
    """Objects per CPU-second of `chatham export --format @fmt` over the newest
    min(@n, 100,000) documents: one process, no TLS or HTTP (CPU time from getrusage, which
    the other load on the machine does not distort the way it distorts wall-clock time)."""
    chatham = os.path.join(os.environ.get("CHATHAM_BUILD_DIR") or
                           os.path.join(HERE, "../../build/dev"), "node/chatham")
    k = min(n, 100000)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([chatham, "export", "--format", fmt, "--export-dir", exp,
                        "--since", str(n - k), "--out", os.path.join(tmp, "all." + fmt),
                        "--quiet"], capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert p.returncode == 0, p.stderr
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return round(k / max(cpu, 1e-9))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--keep", help="directory for the export (reused when it exists)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-taxii-")
    out = {"n": a.n, "clients": a.clients, "limit": a.limit, "threads": a.threads}
    try:
        exp = a.keep or os.path.join(tmp, "export")
        if not os.path.exists(os.path.join(exp, "data.mdb")):
            t0 = time.monotonic()
            fill(exp, a.n)
            print("filled %d documents in %.1f s" % (a.n, time.monotonic() - t0))
        empty = os.path.join(tmp, "empty")
        fill(empty, 1)
        consumers = {"bench": ("GREEN", "GREEN")}
        os.makedirs(os.path.join(tmp, "s0"))
        idle = TaxiiServer(os.path.join(tmp, "s0"), empty, consumers,
                           collections="GREEN").start()
        base_rss = rss(idle.proc.pid, "RssAnon")
        idle.stop()
        os.makedirs(os.path.join(tmp, "s1"))
        t0 = time.monotonic()
        srv = TaxiiServer(os.path.join(tmp, "s1"), exp, consumers, collections="GREEN",
                          max_page=a.limit, threads=a.threads,
                          max_connections=a.clients + 8).start(timeout=1800)
        out["startup_s"] = round(time.monotonic() - t0, 2)
        out["index_bytes"] = rss(srv.proc.pid, "RssAnon") - base_rss
        try:
            c = srv.client("bench")
            st, _, b = c.get("/chatham/collections/")
            coll = b["collections"][0]["id"]
            # The dates to start from: every limit-th date_added of one manifest walk.
            dates, q = [], "limit=%d" % a.limit
            while True:
                st, h, b = c.get("/chatham/collections/%s/manifest/?%s" % (coll, q))
                assert st == 200, (st, b)
                if b.get("objects"):
                    dates.append(b["objects"][0]["date_added"])
                if not b["more"]:
                    break
                q = "limit=%d&next=%s" % (a.limit, b["next"])
            c.close()
            out["objects"] = load(srv, coll, dates, a, "objects")
            out["manifest"] = load(srv, coll, dates, a, "manifest")
        finally:
            srv.stop()
        # The machine's limits, measured in the same run: the same STIX renderer, and a raw
        # read of the stored documents (jsonl: each document read and copied as stored).
        out["stix21_objects_per_cpu_s"] = local_read(exp, tmp, a.n, "stix21")
        out["raw_objects_per_cpu_s"] = local_read(exp, tmp, a.n, "jsonl")
        for kind in ("objects", "manifest"):
            f = out[kind]
            f["to_stix21"] = round(f["objects_per_cpu_s"] / out["stix21_objects_per_cpu_s"], 3)
            f["to_raw"] = round(f["objects_per_cpu_s"] / out["raw_objects_per_cpu_s"], 3)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if a.json:
        print(json.dumps(out))
    else:
        print("chatham-taxii, %(n)d indicators, %(clients)d clients, pages of %(limit)d, "
              "%(threads)d server threads" % out)
        print("  start-up (index the feed)   %(startup_s)s s, index %(index_bytes)d bytes "
              "resident" % out)
        print("  local limits (same run)     raw read (export --format jsonl) "
              "%(raw_objects_per_cpu_s)d, stix21 renderer %(stix21_objects_per_cpu_s)d "
              "objects per CPU-s" % out)
        for kind in ("objects", "manifest"):
            f = dict(out[kind], kind=kind)
            print("  GET %(kind)s" % f)
            print("    served                    %(objects_per_s)d /s  (%(pages_per_s)s "
                  "pages/s, %(pages)d pages, %(errors)d errors)" % f)
            print("    page latency              p50 %(p50_ms)s ms, p90 %(p90_ms)s ms, "
                  "p99 %(p99_ms)s ms, max %(max_ms)s ms" % f)
            print("    CPU                       server %(server_cpu_s)s CPU-s in %(wall_s)s "
                  "s: %(objects_per_cpu_s)d per CPU-s = %(to_raw)s x raw read, "
                  "%(to_stix21)s x stix21 renderer" % f)
            print("    memory (anonymous)        %(anon_before_load_bytes)d before, peak "
                  "%(anon_peak_load_bytes)d: %(anon_per_client_bytes)d per concurrent "
                  "client; bound per request %(bound_per_request_bytes)d bytes" % f)
    return 1 if out["objects"]["errors"] or out["manifest"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
