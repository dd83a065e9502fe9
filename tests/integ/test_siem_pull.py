# SPDX-License-Identifier: MIT
"""deploy/siem/chatham-siem-pull against a live node writing concurrently.

A real daemon takes 3,000 distinct indicators in batches of 100 through its API socket, plus
revocations and re-publications with another confidence (so one indicator sits at several
export sequences), while the main thread runs the puller again and again as a SIEM
forwarder would. Checked: every line is JSON with chatham.seq; across all runs the
sequences strictly increase, without duplicates, and their union is exactly what
`chatham export --format jsonl` reads from the export environment at the end (same
sequences, same documents); the last document of each indicator is its final state (the
daemon's `list`, and what the publisher did); the state file persists between runs; a run
with nothing new prints nothing and exits 0; a bad state file is an error (exit 1, message
naming the file, nothing printed, file left alone); a state file of another export
environment restarts from the first document, as documented.

test_follow_rebuilt_export: with --follow, a rebuilt export (the node removes data.mdb and
lock.mdb after a restore and writes a new environment) is followed: the new documents are
printed. Before, the puller went on reading the removed file and printed nothing new, ever.
"""

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402

PULLER = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                       "deploy", "siem", "chatham-siem-pull"))
PYTHON = "/usr/bin/python3"
COMMUNITY = dl.Community()

N_INDICATORS = 3000
BATCH = 100
N_BATCHES = N_INDICATORS // BATCH
UPDATE_LAG = 3         # updates touch indicators published this many batches earlier
UPDATES_PER_BATCH = 20  # per batch after the lag: 10 revoked, 10 re-published
DEADLINE_S = 120       # wall-clock bound of the concurrent phase (ASan build included)
POLL_PAUSE_S = 0.05


def value_of(n):
    """Indicator n: a mix of types, all TLP:GREEN (exported by default)."""
    kind = n % 3
    if kind == 0:
        return f"i{n}.siem-pull.example"
    if kind == 1:
        return f"198.18.{n // 256}.{n % 256}"
    return f"https://siem-pull.example/ioc/{n}"


def pull(export_dir, state, *extra):
    p = subprocess.run([PYTHON, PULLER, "--export-dir", export_dir, "--state", state, *extra],
                       capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def parse_lines(out):
    """Every line of a puller's stdout as (seq, doc); asserts the line format."""
    docs = []
    assert out == b"" or out.endswith(b"\n"), out[-200:]
    for line in out.splitlines():
        doc = json.loads(line.decode("utf-8"))
        assert isinstance(doc, dict), line
        seq = doc["chatham"]["seq"]
        assert isinstance(seq, int) and seq > 0, line
        docs.append((seq, doc))
    return docs


def read_state(path):
    with open(path, encoding="utf-8") as f:
        st = json.load(f)
    assert set(st) == {"env_id", "seq"}, st
    assert isinstance(st["seq"], int) and isinstance(st["env_id"], str), st
    assert len(st["env_id"]) == 32 and int(st["env_id"], 16) >= 0, st
    return st


class Publisher(threading.Thread):
    """Publishes the indicators and their updates through one API connection."""

    def __init__(self, daemon):
        super().__init__(daemon=True)
        self.d = daemon
        self.error = None
        self.revoked = set()
        self.confidence = {}   # n -> the confidence its latest report carries
        self.done = threading.Event()
        self.feed_after = []   # status.store.feed_last after each new-indicator batch

    def wait_exported(self, c, seq, deadline):
        """Polls until the exporter consumed the main feed through @seq."""
        while c.call({"op": "status"})["export"]["last_seq"] < seq:
            assert time.monotonic() < deadline, "exporter did not catch up"
            time.sleep(0.01)

    def run(self):
        deadline = time.monotonic() + DEADLINE_S
        try:
            with self.d.client() as c:
                for b in range(N_BATCHES):
                    ns = range(b * BATCH, (b + 1) * BATCH)
                    items = [{"value": value_of(n), "tlp": "GREEN", "confidence": 50}
                             for n in ns]
                    r = c.call({"op": "publish", "id": b, "reports": items})
                    assert r["ok"] and r["accepted"] == BATCH, r
                    for n in ns:
                        self.confidence[n] = 50
                    self.feed_after.append(c.call({"op": "status"})["store"]["feed_last"])
                    if b < UPDATE_LAG:
                        continue
                    # Update a batch whose documents are already in the export, so the same
                    # indicator lands at a second (later) export sequence.
                    old = b - UPDATE_LAG
                    self.wait_exported(c, self.feed_after[old], deadline)
                    targets = [old * BATCH + 5 * k for k in range(UPDATES_PER_BATCH)]
                    items = []
                    for i, n in enumerate(targets):
                        if i % 2:
                            items.append({"value": value_of(n), "tlp": "GREEN",
                                          "kind": "revoke"})
                        else:
                            items.append({"value": value_of(n), "tlp": "GREEN",
                                          "confidence": 90})
                    r = c.call({"op": "publish", "id": f"u{b}", "reports": items})
                    assert r["ok"] and r["accepted"] == len(items), r
                    for i, n in enumerate(targets):
                        if i % 2:
                            self.revoked.add(n)
                        else:
                            self.confidence[n] = 90
        except BaseException as e:  # reported by the main thread
            self.error = e
        finally:
            self.done.set()


def daemon_caught_up(d):
    st = d.call({"op": "status"})
    return (st["ingest"]["pending"] == 0 and
            st["export"]["last_seq"] == st["store"]["feed_last"]), st


def final_states(d):
    """The daemon's latest document per indicator value, via the paged `list` op."""
    out, since = {}, 0
    while True:
        r = d.call({"op": "list", "since": since, "limit": 1000})
        assert r["ok"], r
        for doc in r["items"]:
            out[doc["chatham"]["value"]] = doc
        if not r["more"]:
            return out
        since = r["next"]


def test_concurrent_pull():
    node = dl.Node(COMMUNITY)
    state = os.path.join(node.root, "siem", "pull.state")
    os.mkdir(os.path.dirname(state))
    try:
        with dl.Daemon(node).start() as d:
            pub = Publisher(d)
            t0 = time.monotonic()
            pub.start()
            runs = []          # [(seq, doc), ...] per run that printed something
            empty_runs = n_runs = runs_while_writing = 0
            prev_seq = None
            caught_up_at = None
            deadline = t0 + DEADLINE_S
            while True:
                assert time.monotonic() < deadline, \
                    f"puller did not catch up in {DEADLINE_S}s ({len(runs)} runs)"
                # The last condition is observed BEFORE the run, so this run sees it all.
                finishing = False
                if pub.done.is_set() and pub.error is None:
                    finishing, _ = daemon_caught_up(d)
                # Every third run uses --limit, so runs also stop inside an export commit.
                n_runs += 1
                writing = not pub.done.is_set()
                extra = ("--limit", "250") if n_runs % 3 == 0 else ()
                rc, out, err = pull(node.export, state, *extra)
                assert rc == 0 and err == "", (rc, err)
                docs = parse_lines(out)
                if extra:
                    assert len(docs) <= 250
                if docs:
                    runs.append(docs)
                    runs_while_writing += writing
                else:
                    empty_runs += 1
                st = read_state(state)
                if docs:
                    assert st["seq"] == docs[-1][0], (st, docs[-1][0])
                    if prev_seq is not None:
                        assert docs[0][0] > prev_seq, (prev_seq, docs[0][0])
                elif prev_seq is not None:
                    assert st["seq"] == prev_seq
                prev_seq = st["seq"]
                if pub.error is not None:
                    raise pub.error
                if finishing and not docs:
                    caught_up_at = time.monotonic()
                    break
                if not docs:
                    time.sleep(POLL_PAUSE_S)
            assert not [f for f in os.listdir(os.path.dirname(state)) if f != "pull.state"], \
                "temporary state files left behind"
            env_id = read_state(state)["env_id"]
            pulled = [x for run in runs for x in run]
            seqs = [s for s, _ in pulled]
            assert all(a < b for a, b in zip(seqs, seqs[1:])), "sequences not increasing"
            # Concurrency really happened: several runs printed documents mid-publication.
            assert runs_while_writing >= 2, f"{runs_while_writing} runs while writing"

            # The union of all runs is exactly the export environment's content.
            p = dl.run_cli("export", "--format", "jsonl", "--export-dir", node.export)
            assert p.returncode == 0, p.stderr
            exported = [json.loads(x) for x in p.stdout.splitlines()]
            ex_seqs = [x["chatham"]["seq"] for x in exported]
            assert ex_seqs == seqs, (len(ex_seqs), len(seqs),
                                     sorted(set(ex_seqs) ^ set(seqs))[:20])
            for (s, doc), x in zip(pulled, exported):
                assert doc == x, (s, doc, x)

            # The last document per indicator is its final state.
            last = {}
            count = {}
            for s, doc in pulled:
                v = doc["chatham"]["value"]
                last[v] = doc
                count[v] = count.get(v, 0) + 1
            assert len(last) == N_INDICATORS, len(last)
            final = final_states(d)
            assert len(final) == N_INDICATORS, len(final)
            for n in range(N_INDICATORS):
                v = value_of(n)
                got, want = last[v]["chatham"], final[v]["chatham"]
                assert got["seq"] == want["seq"], (v, got, want)
                assert got["state"] == want["state"], (v, got, want)
                assert got["confidence"] == want["confidence"], (v, got, want)
                if n in pub.revoked:
                    assert got["state"] == "withdrawn", (v, got)
                    assert count[v] >= 2, (v, count[v])
                else:
                    assert got["state"] == "active", (v, got)
                    assert got["confidence"] == pub.confidence[n], (v, got)
                    if pub.confidence[n] == 90:
                        assert count[v] >= 2, (v, count[v])
            n_updated = sum(1 for c in count.values() if c >= 2)
            assert n_updated == len(pub.revoked) + sum(
                1 for c in pub.confidence.values() if c == 90), n_updated

            # Nothing new: nothing printed, exit 0, state untouched (not even rewritten).
            before = os.stat(state)
            with open(state, "rb") as f:
                before_text = f.read()
            for extra in ((), ("--limit", "1")):
                rc, out, err = pull(node.export, state, *extra)
                assert (rc, out, err) == (0, b"", ""), (rc, out, err)
            after = os.stat(state)
            assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
            with open(state, "rb") as f:
                assert f.read() == before_text

            # The export grows again: the next run prints exactly the new documents.
            r = d.call({"op": "publish", "reports": [
                {"value": "late.siem-pull.example", "tlp": "GREEN"},
                {"value": value_of(0), "tlp": "GREEN", "kind": "revoke"}]})
            assert r["ok"] and r["accepted"] == 2, r
            while not daemon_caught_up(d)[0]:
                assert time.monotonic() < deadline + 30, "exporter did not catch up"
                time.sleep(POLL_PAUSE_S)
            rc, out, err = pull(node.export, state)
            assert rc == 0 and err == "", (rc, err)
            docs = parse_lines(out)
            assert [x["chatham"]["value"] for _, x in docs] == \
                ["late.siem-pull.example", value_of(0)], docs
            assert docs[0][0] > seqs[-1] and docs[1][0] > docs[0][0]
            assert docs[1][1]["chatham"]["state"] == "withdrawn"
            assert read_state(state) == {"env_id": env_id, "seq": docs[1][0]}
            last_seq = docs[1][0]
            total = len(seqs) + 2
            print(f"     {len(runs)} runs printed {len(seqs)} documents ({runs_while_writing} "
                  f"while the node wrote), {empty_runs} empty runs, {n_updated} indicators at "
                  f"several sequences, caught up {caught_up_at - t0:.1f}s after the start",
                  flush=True)

            # A bad state file is an error: exit 1, message naming the file, nothing
            # printed, and the file is left for the operator to inspect.
            eid = b'{"env_id": "' + env_id.encode() + b'"'
            for text in (b"\x00\x01garbage", b"\xff\xfe{}", eid, b"[1, 2]",
                         eid + b', "seq": -1}', eid + b', "seq": "7"}', eid + b', "seq": 1.5}',
                         eid + b', "seq": null}', b'{"seq": 7}', b""):
                dl.write_file(state, text, 0o644)
                rc, out, err = pull(node.export, state)
                assert rc == 1 and out == b"", (text, rc, out[:200], err)
                assert err.startswith("chatham-siem-pull: ") and state in err, (text, err)
                assert "Traceback" not in err, err
                with open(state, "rb") as f:
                    assert f.read() == text
            # A state of another (rebuilt) export environment: documented restart from the
            # first document, with a warning, and the state adopts this environment.
            other = "00" * 16 if env_id != "00" * 16 else "11" * 16
            dl.write_file(state, json.dumps({"env_id": other, "seq": last_seq}).encode())
            rc, out, err = pull(node.export, state)
            assert rc == 0 and "rebuilt" in err, (rc, err)
            assert [s for s, _ in parse_lines(out)] == seqs + [x for x, _ in docs]
            assert len(out.splitlines()) == total
            assert read_state(state) == {"env_id": env_id, "seq": last_seq}
            # No state file at all: everything, and the state is created.
            os.unlink(state)
            rc, out, err = pull(node.export, state, "--limit", "10")
            assert rc == 0 and err == "", err
            assert [s for s, _ in parse_lines(out)] == seqs[:10]
            assert read_state(state) == {"env_id": env_id, "seq": seqs[9]}
            # Usage errors exit 2; a directory without an export exits 1.
            rc, out, err = pull(node.export, state, "--limit", "-1")
            assert rc == 2 and out == b"", (rc, err)
            rc, out, err = pull(node.root, state)
            assert rc == 1 and "no data.mdb" in err and out == b"", (rc, err)
            assert d.stop() == 0
    finally:
        node.cleanup()


def test_follow_rebuilt_export():
    import tempfile
    from cli_exportenv import ExportEnv, make_doc

    lines, lock = [], threading.Lock()

    def reader(stream):
        for line in stream:
            with lock:
                lines.append(json.loads(line))

    def wait_values(want, what):
        deadline = time.monotonic() + 60 * dl.SLOW
        while True:
            with lock:
                got = {d["chatham"]["value"] for d in lines}
            if want <= got:
                return
            assert p.poll() is None, (p.returncode, p.stderr.read())
            assert time.monotonic() < deadline, f"{what}: printed {sorted(got)}"
            time.sleep(POLL_PAUSE_S)  # polling the puller's output for state

    with tempfile.TemporaryDirectory() as tmp:
        exp, state = os.path.join(tmp, "export"), os.path.join(tmp, "state.json")
        env = ExportEnv(exp, env_id=b"\x11" * 16)
        for i in range(3):
            env.add(make_doc(i + 1, "domain", f"old{i}.siem-pull.example", "GREEN", "active"))
        p = subprocess.Popen([PYTHON, PULLER, "--export-dir", exp, "--state", state,
                              "--follow", "0.05"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        t = threading.Thread(target=reader, args=(p.stdout,), daemon=True)
        t.start()
        try:
            wait_values({f"old{i}.siem-pull.example" for i in range(3)}, "the first export")
            # What the node does after a restore: store_export_discard() removes both
            # files, then a new environment (new env id) is written in the same directory.
            env.close()
            os.unlink(os.path.join(exp, "data.mdb"))
            os.unlink(os.path.join(exp, "lock.mdb"))
            env = ExportEnv(exp, env_id=b"\x22" * 16)
            for i in range(2):
                env.add(make_doc(i + 1, "domain", f"new{i}.siem-pull.example", "GREEN",
                                 "active"))
            wait_values({f"new{i}.siem-pull.example" for i in range(2)}, "the rebuilt export")
            # The puller prints, then saves its cursor: wait for the save before stopping it
            # (delivery is at-least-once, so a stop in between leaves the old cursor).
            deadline = time.monotonic() + 60 * dl.SLOW
            while not os.path.exists(state) or read_state(state)["env_id"] != "22" * 16:
                assert p.poll() is None, (p.returncode, p.stderr.read())
                assert time.monotonic() < deadline, "the puller never saved the new cursor"
                time.sleep(POLL_PAUSE_S)  # polling the state file for the saved cursor
        finally:
            p.terminate()
            p.wait(30)
            env.close()
        assert "export environment was rebuilt" in p.stderr.read()


def test_help_names_real_options():
    """The help names the config option that really holds the directory, and the group."""
    p = subprocess.run([PYTHON, PULLER, "--help"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    text = " ".join(p.stdout.split())
    assert "[node] export_dir" in text, text
    assert "[export] dir" not in text, text
    assert "chatham-siem" in text, text


def main():
    if importlib.util.find_spec("lmdb") is None:
        print("FAIL: the puller needs Debian's python3-lmdb (deploy/install-deps.sh)")
        raise SystemExit(1)
    dl.main([test_help_names_real_options, test_follow_rebuilt_export, test_concurrent_pull])


if __name__ == "__main__":
    main()
