# SPDX-License-Identifier: MIT
"""kill -9 during a large publish ingest through the API socket, many rounds.

Two client threads publish batches of fresh indicators (every value is used once, so every
indicator has exactly one report and one feed entry) while the daemon is SIGKILLed at a
random moment: sometimes during start-up (store recovery, export catch-up), sometimes
while the first batches after a restart are read, signed and committed (before the round's
first acknowledgement), mostly while batches are being signed and committed after the
round's first acknowledged batch (so that those restarts find new work the kill left
behind, at whatever speed the node runs: native, on a loaded host or under valgrind). The
clients record every batch the node acknowledged. After each restart:

  - every acknowledged report is in the store (the feed, read through `list`), and nothing
    the clients never sent is;
  - the feed holds each indicator exactly once and no sequence twice;
  - the SIEM export catches up (status export.last_seq == store.feed_last) and then agrees
    with the store: one document per feed sequence (all reports are GREEN, so none is
    withheld), keyed by that sequence, naming the same indicator; no sequence or indicator
    twice.

At the end the acknowledged total is at least CHATHAM_CRASH_REPORTS, and the whole feed
and export are compared once more, also through `chatham export --format jsonl` and
deploy/siem/chatham-siem-pull, as a SIEM reads them.

Environment: CHATHAM_CRASH_REPORTS (default 100000), CHATHAM_CRASH_ROUNDS (default 20),
CHATHAM_CRASH_BATCH (largest batch, default 1000), CHATHAM_CRASH_SEED. The valgrind suite
runs 6 rounds of 1,000 reports in batches of up to 250, for the daemon's paths, not for
durability.
"""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402

import lmdb  # noqa: E402

TOTAL = int(os.environ.get("CHATHAM_CRASH_REPORTS", "100000"))
ROUNDS = max(1, int(os.environ.get("CHATHAM_CRASH_ROUNDS", "20")))
BATCH_MAX = max(2, int(os.environ.get("CHATHAM_CRASH_BATCH", "1000")))
SEED = int(os.environ.get("CHATHAM_CRASH_SEED", str(int(time.time()))))
CLIENTS = 2


def value_of(n):
    """The n-th indicator value: distinct IPv4 addresses in the benchmarking range
    198.18.0.0/15, then domains. Not 10.0.0.0/8: private ranges are on the warninglists a
    node loads when they are installed (/usr/share/chatham/warninglists), and a publish of
    one is refused."""
    if n < (1 << 17):
        return f"198.{18 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}"
    return f"h{n}.crash.example"


class Ledger:
    """What the clients sent and what the node acknowledged (shared by the threads)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.next = 0
        self.sent = set()
        self.acked = set()

    def take(self, n):
        with self.lock:
            vals = [value_of(i) for i in range(self.next, self.next + n)]
            self.next += n
            self.sent.update(vals)
            return vals

    def ack(self, vals):
        with self.lock:
            self.acked.update(vals)

    def acked_count(self):
        with self.lock:
            return len(self.acked)


def publisher(daemon, ledger, rng, stop, errors):
    """Publishes batches until the connection dies (the kill) or @stop is set."""
    try:
        client = daemon.client(timeout=120)
    except OSError:
        return
    try:
        while not stop.is_set():
            vals = ledger.take(rng.randint(1, BATCH_MAX))
            try:
                r = client.call({"op": "publish",
                                 "reports": [{"value": v, "tlp": "GREEN"} for v in vals]})
            except (OSError, ConnectionError, ValueError):
                return
            if not r.get("ok") or r.get("accepted") != len(vals) or r.get("rejected"):
                errors.append(f"batch of {len(vals)} not fully accepted: "
                              f"{json.dumps(r)[:400]}")
                return
            ledger.ack(vals)
    finally:
        client.close()


class Checker:
    """Incremental view of the node's feed and export, checked after every restart."""

    def __init__(self, node):
        self.node = node
        self.feed = {}       # seq -> (indicator_id, value), from `list`
        self.by_value = {}   # value -> seq
        self.list_next = 0
        self.export = {}     # seq -> indicator_id, from the export environment
        self.export_ids = set()

    def read_feed(self, daemon):
        with daemon.client(timeout=120) as c:
            while True:
                r = c.call({"op": "list", "since": self.list_next, "limit": 1000})
                assert r["ok"], r
                for doc in r["items"]:
                    ch = doc["chatham"]
                    seq, value = ch["seq"], ch["value"]
                    assert seq > self.list_next, (seq, self.list_next)
                    assert seq not in self.feed, f"feed sequence {seq} listed twice"
                    assert value not in self.by_value, \
                        f"{value} has feed entries {self.by_value[value]} and {seq}"
                    self.feed[seq] = (ch["indicator_id"], value)
                    self.by_value[value] = seq
                self.list_next = r["next"]
                if not r["more"]:
                    return r["feed_last"]

    def wait_export(self, daemon, feed_last, timeout=120):
        deadline = time.monotonic() + timeout
        while True:
            st = daemon.call({"op": "status"})
            assert st["export"]["errors"] == 0, st["export"]
            if st["export"]["last_seq"] == feed_last:
                return
            assert time.monotonic() < deadline, f"export stuck at {st['export']}, " \
                f"feed_last {feed_last}"
            time.sleep(0.05)

    def read_export(self, feed_last):
        env = lmdb.open(self.node.export, readonly=True, max_dbs=4, lock=True)
        try:
            meta = env.open_db(b"meta", create=False)
            feed = env.open_db(b"feed", create=False)
            with env.begin() as t:
                last = int.from_bytes(t.get(b"last_seq", db=meta), "big")
                assert last == feed_last, f"export meta last_seq {last} != feed {feed_last}"
                start = (max(self.export) + 1 if self.export else 0).to_bytes(8, "big")
                cur = t.cursor(db=feed)
                if cur.set_range(start):
                    for k, v in cur:
                        seq = int.from_bytes(k, "big")
                        doc = json.loads(v)
                        assert doc["chatham"]["seq"] == seq, (seq, doc["chatham"]["seq"])
                        iid = doc["chatham"]["indicator_id"]
                        assert iid not in self.export_ids, f"{iid} exported twice"
                        self.export[seq] = iid
                        self.export_ids.add(iid)
        finally:
            env.close()

    def check(self, daemon, ledger):
        feed_last = self.read_feed(daemon)
        assert len(self.feed) == feed_last, \
            f"{len(self.feed)} feed entries listed, feed_last {feed_last}"
        with ledger.lock:
            missing = ledger.acked - self.by_value.keys()
            unknown = self.by_value.keys() - ledger.sent
        assert not missing, f"{len(missing)} acknowledged reports lost, e.g. " \
            f"{sorted(missing)[:5]}"
        assert not unknown, f"store holds values never sent: {sorted(unknown)[:5]}"
        self.wait_export(daemon, feed_last)
        self.read_export(feed_last)
        assert self.export.keys() == self.feed.keys(), \
            f"export sequences differ from the feed: only in export " \
            f"{sorted(self.export.keys() - self.feed.keys())[:5]}, only in feed " \
            f"{sorted(self.feed.keys() - self.export.keys())[:5]}"
        for seq, iid in self.export.items():
            assert self.feed[seq][0] == iid, f"export seq {seq} names another indicator"
        st = daemon.call({"op": "status"})
        assert st["store"]["reports"] == st["store"]["indicators"] == feed_last, st["store"]


def full_check(node, checker):
    """The whole export as a SIEM reads it: `chatham export` and chatham-siem-pull."""
    # 100,000+ documents under ASan: as long as the pull below may take, not run_cli()'s 120 s
    r = dl.run_cli("export", "--format", "jsonl", "--export-dir", node.export, "--quiet",
                   timeout=300)
    assert r.returncode == 0, r.stderr
    docs = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(docs) == len(checker.feed), (len(docs), len(checker.feed))
    seen = set()
    for d in docs:
        seq = d["chatham"]["seq"]
        assert seq not in seen, f"chatham export printed seq {seq} twice"
        seen.add(seq)
        assert checker.feed[seq] == (d["chatham"]["indicator_id"], d["chatham"]["value"])

    pull = os.path.join(os.environ.get("CHATHAM_SOURCE_DIR",
                                       os.path.join(os.path.dirname(__file__), "..", "..")),
                        "deploy", "siem", "chatham-siem-pull")
    state = os.path.join(node.root, "siem.state")
    p = subprocess.run(["/usr/bin/python3", pull, "--export-dir", node.export, "--state", state],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    seqs = [json.loads(line)["chatham"]["seq"] for line in p.stdout.splitlines()]
    assert seqs == sorted(checker.feed), "chatham-siem-pull disagrees with the feed"
    p = subprocess.run(["/usr/bin/python3", pull, "--export-dir", node.export, "--state", state],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and p.stdout == "", "second pull printed documents again"


def ingest_kills(log):
    """Rounds killed after their first acknowledged batch (ROUNDS of them at least)."""
    return sum(1 for x in log if "first batch acknowledged" in x)


def run_round(node, ledger, checker, rng, pace, log):
    """Start, check, publish, kill -9 at a random moment. @pace holds what earlier rounds
    measured on this machine (native, loaded or under valgrind, 20-50x slower): "startup",
    the seconds a start took until the node answered, "first", the seconds until a round's
    first acknowledgement, and "rate", the reports acknowledged a second; this round updates
    them. Of the rounds after the first, 15 % kill during start-up and 15 % within the time
    the last round's first batch took to be acknowledged (mostly before this round's first
    acknowledgement); these two kinds do not count among the ROUNDS."""
    d = dl.Daemon(node)
    kind = rng.random()
    try:
        if "startup" in pace and kind < 0.15:
            # Die during start-up (store recovery, the export's catch-up): at a moment
            # within the time a start took, not within valgrind's own loading alone.
            d.start(wait=False)
            time.sleep(rng.uniform(0, pace["startup"]))
            d.proc.send_signal(signal.SIGKILL)
            d.proc.wait()
            log.append("killed during start-up")
            return
        t0 = time.monotonic()
        d.start(timeout=120)
        pace["startup"] = time.monotonic() - t0
        checker.check(d, ledger)
        before = ledger.acked_count()
        share = max(TOTAL - before, TOTAL // ROUNDS) / max(1, ROUNDS - ingest_kills(log))
        stop = threading.Event()
        errors = []
        threads = [threading.Thread(target=publisher,
                                    args=(d, ledger, random.Random(rng.random()), stop, errors))
                   for _ in range(CLIENTS)]

        def kill():
            d.proc.send_signal(signal.SIGKILL)
            d.proc.wait()
            stop.set()
            for t in threads:
                t.join(120)
                assert not t.is_alive(), "a publisher hung after the kill"
            assert not errors, errors

        t0 = time.monotonic()
        for t in threads:
            t.start()
        if "first" in pace and kind < 0.30:
            # Die in the first batches after a restart: the first write transactions after
            # recovery, racing the export's catch-up, maybe before any commit of this
            # process. At a moment within the time the last round's first batch took.
            delay = rng.uniform(0, pace["first"])
            time.sleep(delay)
            kill()
            log.append(f"started in {pace['startup']:.2f}s, killed {delay:.2f}s after the "
                       f"clients began, in the first batches' time: "
                       f"{ledger.acked_count() - before} acknowledged")
            return
        # The other rounds kill after the node has committed something in them, so that
        # each restart recovers a store and an export that the kill left behind new work
        # in: wait for the round's first acknowledged batch (the first round's gives the
        # rate), then kill at a random moment while the clients go on.
        deadline = t0 + 120 * dl.SLOW
        while ledger.acked_count() == before:
            assert not errors, errors
            assert any(t.is_alive() for t in threads), "the publishers stopped with " \
                f"nothing acknowledged (the node's exit status: {d.proc.poll()})"
            assert time.monotonic() < deadline, "no batch acknowledged in " \
                f"{120 * dl.SLOW} s"
            time.sleep(0.01)
        first = pace["first"] = time.monotonic() - t0
        pace.setdefault("rate", (ledger.acked_count() - before) / first)
        # The moment: a random part of twice the round's share, in reports acknowledged or
        # in time at the rate measured, whichever comes first (a rate taken from one small
        # batch can be far too low).
        part = rng.random() * 2.0 * share
        until = time.monotonic() + part / pace["rate"]
        while time.monotonic() < until and ledger.acked_count() - before < part:
            time.sleep(0.01)
        delay = time.monotonic() - t0 - first
        kill()
        acked = ledger.acked_count() - before
        log.append(f"started in {pace['startup']:.2f}s, first batch acknowledged after "
                   f"{first:.2f}s, killed {delay:.2f}s later, {acked} acknowledged")
        pace["rate"] = max(pace["rate"] / 4, acked / (time.monotonic() - t0))
    except BaseException:
        print(f"--- daemon log:\n{d.log()}---", flush=True)
        raise
    finally:
        d.kill()


def test_kill9_during_socket_ingest():
    rng = random.Random(SEED)
    print(f"seed {SEED}: {TOTAL} reports, {ROUNDS} rounds, batches up to {BATCH_MAX}",
          flush=True)
    community = dl.Community()
    node = dl.Node(community)
    ledger = Ledger()
    checker = Checker(node)
    log = []
    pace = {}
    try:
        while ingest_kills(log) < ROUNDS or ledger.acked_count() < TOTAL:
            assert len(log) < ROUNDS * 4, f"only {ledger.acked_count()} acknowledged " \
                f"after {len(log)} rounds"
            run_round(node, ledger, checker, rng, pace, log)
            print(f"round {len(log)}: {log[-1]}; {ledger.acked_count()} acknowledged "
                  f"of {ledger.next} sent", flush=True)
        with dl.Daemon(node).start(timeout=120) as d:
            checker.check(d, ledger)
            assert d.stop() == 0
        full_check(node, checker)
        print(f"{len(ledger.acked)} acknowledged, {len(checker.feed) - len(ledger.acked)} "
              f"unacknowledged but committed, {len(ledger.sent - checker.by_value.keys())} "
              f"lost unacknowledged", flush=True)
    finally:
        node.cleanup()


if __name__ == "__main__":
    dl.main([test_kill9_during_socket_ingest])
