# SPDX-License-Identifier: MIT
"""Life cycle of a real daemon: restart keeps everything, SIGHUP reloads (a broken config is
refused and the node keeps running), SIGTERM during a batch, start-up failures with their
exit codes, one node per socket and state dir, roster epochs, journald prefixes;
`chatham check-config` on the config and on the rosters a stopped node's store holds."""

import json
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402
import leakoracle  # noqa: E402
import lmdb  # noqa: E402

COMMUNITY = dl.Community(members=("Alpha CERT", "Beta CSIRT", "Gamma SOC"))


def test_restart_keeps_everything():
    node = dl.Node(COMMUNITY)
    try:
        with dl.Daemon(node).start() as d:
            r = d.call({"op": "publish", "reports": [
                {"value": f"keep{i}.example", "tlp": "GREEN", "tags": ["t"]}
                for i in range(50)]})
            assert r["accepted"] == 50, r
            before = d.call({"op": "query", "value": "keep7.example"})
            st1 = d.call({"op": "status"})
            assert d.stop() == 0
            assert "stopped cleanly" in d.log()
        with dl.Daemon(node).start() as d:
            st2 = d.call({"op": "status"})
            assert st2["store"]["reports"] == st1["store"]["reports"] == 50, (st1, st2)
            assert st2["store"]["feed_last"] == st1["store"]["feed_last"]
            after = d.call({"op": "query", "value": "keep7.example"})
            assert after["indicator"] == before["indicator"]
            # the export caught up before the first stop and still holds every document
            assert st2["export"]["last_seq"] == st1["store"]["feed_last"], st2
            # new publishes continue the feed
            r = d.call({"op": "publish", "value": "keep50.example", "tlp": "GREEN"})
            assert r["ok"]
            lst = d.call({"op": "list", "since": st1["store"]["feed_last"]})
            assert [x["chatham"]["value"] for x in lst["items"]] == ["keep50.example"], lst
            assert d.stop() == 0
    finally:
        node.cleanup()


def wait_status(d, pred, what, timeout=30):
    """Polls `status` until @pred holds; returns it."""
    deadline = time.monotonic() + timeout * dl.SLOW
    while True:
        st = d.call({"op": "status"})
        if pred(st):
            return st
        assert time.monotonic() < deadline, f"{what}: {st}"
        time.sleep(0.05)


def test_sighup_reload():
    node = dl.Node(COMMUNITY, extra_config="max_line_bytes = 4096\n")
    try:
        with dl.Daemon(node).start() as d:
            pad = {"op": "status", "pad": "x" * 5000}
            assert d.call(pad)["error"]["code"] == "NODE_E_LINE_TOO_LONG"

            # broken config: refused with line numbers, node keeps the old one
            node.write_config(text=node.config_text("max_line_bytes = 1\n[bogus]\n"))
            d.signal(signal.SIGHUP)
            d.wait_log("keeping the running configuration")
            log = d.log()
            assert f"{node.config}:9: [api] max_line_bytes: 1 is below the minimum 4096" in log, log
            assert f"{node.config}:10: unknown section [bogus]" in log, log
            # The refusal is logged by the reload job and counted when its completion runs
            # on the loop: the log line can come first (under valgrind it did).
            st = wait_status(d, lambda st: st["reload"]["failures"] == 1, "the failed reload")
            assert st["reload"]["count"] == 0, st
            assert d.call(pad)["error"]["code"] == "NODE_E_LINE_TOO_LONG"

            # valid config: reloadable options apply, others are reported and held back
            node.write_config(text=node.config_text("max_line_bytes = 1M\n").replace(
                node.socket, node.socket + ".new"))
            d.signal(signal.SIGHUP)
            d.wait_log("configuration reloaded")
            assert "[api] socket changed to" in d.log()
            r = d.call(pad)  # now parsed (and refused for its unknown field)
            assert r["error"]["code"] == "NODE_E_FIELD", "max_line_bytes not reloaded"
            assert d.call({"op": "status"})["reload"]["count"] == 1

            # a newer roster epoch is adopted on reload
            write = COMMUNITY.roster_file(epoch=2)
            dl.write_file(node.roster, write)
            d.signal(signal.SIGHUP)
            d.wait_log("roster epoch 2 adopted")
            st = d.call({"op": "status"})
            assert st["roster"]["epoch"] == 2 and st["reload"]["count"] == 2, st
            r = d.call({"op": "publish", "value": "after-epoch2.example", "tlp": "GREEN"})
            assert r["ok"], r
            # a roster signed by somebody else is refused and epoch 2 stays
            other = dl.Community(members=("Alpha CERT",))
            other.id = COMMUNITY.id
            dl.write_file(node.roster, other.roster_file(epoch=3))
            d.signal(signal.SIGHUP)
            d.wait_log("keeping roster epoch 2")
            assert d.call({"op": "status"})["roster"]["epoch"] == 2
            assert d.stop() == 0
        # the adopted epoch was kept in the store: a restart with the epoch 1 file uses it
        dl.write_file(node.roster, COMMUNITY.roster_file(epoch=1))
        node.write_config()
        with dl.Daemon(node).start() as d:
            assert d.call({"op": "status"})["roster"]["epoch"] == 2
            assert d.stop() == 0
    finally:
        node.cleanup()


def test_sigterm_during_batch():
    """A batch in flight when SIGTERM arrives is answered (committed or refused as a whole
    item by item), and the node still exits 0 after a clean shutdown."""
    node = dl.Node(COMMUNITY)
    try:
        with dl.Daemon(node).start() as d:
            c = d.client()
            batch = {"op": "publish", "reports": [
                {"value": f"203.0.113.{i % 250}", "tlp": "CLEAR", "tags": [f"t{i}"]}
                for i in range(5000)]}
            c.send_raw(json.dumps(batch).encode() + b"\n")
            # wait until the node has the request, then stop it
            deadline = time.monotonic() + 30
            while d.call({"op": "status"})["ingest"]["pending"] == 0:
                assert time.monotonic() < deadline, "batch never arrived"
            d.signal(signal.SIGTERM)
            r = c.recv_line()
            assert r["ok"] and len(r["results"]) == 5000, r.get("error")
            assert r["accepted"] == 5000, (r["accepted"], r["rejected"])
            assert d.proc.wait(60 * dl.SLOW) == 0, d.log()
            assert "stopped cleanly" in d.log()
            c.close()
        with dl.Daemon(node).start() as d:
            assert d.call({"op": "status"})["store"]["reports"] == 5000
            assert d.stop() == 0
    finally:
        node.cleanup()


def test_startup_failures():
    node = dl.Node(COMMUNITY)
    try:
        def fails(code, text):
            with dl.Daemon(node).start(wait=False) as d:
                assert d.proc.wait(30) == code, d.log()
                assert text in d.log(), d.log()
            os.unlink(d.stderr_path)

        # config errors: exit 78 with line numbers
        node.write_config(text=node.config_text("max_connections = many\n"))
        fails(78, f"{node.config}:9: [api] max_connections")
        node.write_config()

        # key file readable by others: refused
        os.chmod(node.key, 0o644)
        fails(78, "chmod 0600")
        os.chmod(node.key, 0o600)

        # a roster the community's stewards did not sign (on an empty store)
        good = open(node.roster, "rb").read()
        forged = dl.Community(members=("Alpha CERT",))
        forged.id = COMMUNITY.id
        dl.write_file(node.roster, forged.roster_file())
        fails(78, "does not verify against the community file's stewards")
        dl.write_file(node.roster, good)

        # a key that is not in the roster
        outsider = dl.Member("Outsider")
        dl.write_file(node.key, outsider.key_bundle(), 0o600)
        fails(78, "is not a member of roster epoch 1")
        dl.write_file(node.key, node.member.key_bundle(), 0o600)

        # an API socket in a directory that does not exist (run by hand without the unit's
        # RuntimeDirectory=): the error names the directory and the fix
        missing = os.path.join(node.root, "no-such-dir", "chatham.sock")
        node.write_config(text=node.config_text().replace(node.socket, missing))
        fails(1, f"the directory {os.path.dirname(missing)} does not exist")
        node.write_config()

        # a live node owns its socket; a stale socket file is replaced
        with dl.Daemon(node).start() as d1:
            other = dl.Node(COMMUNITY, member_index=1)
            other.write_config(text=other.config_text().replace(other.socket, node.socket))
            with dl.Daemon(other).start(wait=False) as d2:
                assert d2.proc.wait(30) == 1, d2.log()
                assert "another node is already listening" in d2.log(), d2.log()
            # and its state dir
            with dl.Daemon(node, stderr_path=os.path.join(node.root, "d3.log")).start(
                    wait=False) as d3:
                assert d3.proc.wait(30) == 1, d3.log()
                assert "locked by another process" in d3.log(), d3.log()
            other.cleanup()
            assert d1.call({"op": "status"})["ok"]
            d1.proc.kill()  # dies without removing its socket
            d1.proc.wait()
        assert os.path.exists(node.socket)
        with dl.Daemon(node).start() as d:
            assert d.call({"op": "status"})["ok"]
            assert d.stop() == 0
        assert not os.path.exists(node.socket), "socket file left behind after shutdown"
    finally:
        node.cleanup()


def test_journal_prefixes_and_quiet_identities():
    """With stderr connected to the journal (JOURNAL_STREAM names it) every line carries a
    <N> priority prefix; at the default level no other member's id or name is logged."""
    node = dl.Node(COMMUNITY)
    r, w = os.pipe()
    st = os.fstat(w)
    try:
        env = {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        d = dl.Daemon(node, env=env)
        d.errf = os.fdopen(w, "wb")
        d.proc = dl.subprocess.Popen([dl.chatham_bin(), "run", "--config", node.config],
                                     stdin=dl.subprocess.DEVNULL, stdout=d.errf,
                                     stderr=d.errf, env=d.env)
        d.errf.close()
        try:
            d.wait_ready()
            rcpt = COMMUNITY.members[1]
            d.call({"op": "publish", "value": "198.51.100.7", "tlp": "AMBER",
                    "recipients": [rcpt.id.hex(), "00" * 32]})
            d.call({"op": "publish", "value": "198.51.100.8", "tlp": "AMBER",
                    "recipients": [rcpt.id.hex()], "description": "from Beta CSIRT",
                    "allow_names": True})
            os.kill(d.proc.pid, signal.SIGHUP)
            d.proc.send_signal(signal.SIGTERM)
            assert d.proc.wait(60) == 0
        finally:
            d.kill()
        out = b""
        while True:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            out += chunk
        lines = out.decode().splitlines()
        assert lines, "nothing logged"
        for line in lines:
            assert line[0] == "<" and line[2] == ">" and line[1] in "34567", line
        assert any(line.startswith("<5>") for line in lines)
        # No other member in any spelling (the leak oracle, leakoracle.py).
        leakoracle.assert_clean({"journal": out}, leakoracle.others(COMMUNITY.members, 0))
    finally:
        os.close(r)
        node.cleanup()


def test_check_config_cli():
    node = dl.Node(COMMUNITY)
    try:
        r = dl.run_cli("check-config", node.config)
        assert r.returncode == 0 and r.stdout.strip() == f"{node.config}: ok", r
        node.write_config(text="[node]\nstate_dir = rel\n\n[api]\nmax_connections = 0\n"
                               "nonsense\nmax_connections = 3\n[nope]\n")
        r = dl.run_cli("check-config", node.config)
        assert r.returncode == 78, r
        for want in (":2: [node] state_dir", ":5: [api] max_connections: 0 is below",
                     ":6: expected 'name = value'", ":7: [api] max_connections: set twice",
                     ":8: unknown section [nope]", "5 problems"):
            assert want in r.stderr, (want, r.stderr)
        r = dl.run_cli("check-config", os.path.join(node.root, "missing.conf"))
        assert r.returncode == 78 and "cannot open" in r.stderr, r
    finally:
        node.cleanup()


def put_roster(node, epoch, data):
    """Overwrite the stopped @node's held roster of @epoch with @data."""
    env = lmdb.open(node.state, max_dbs=16)
    try:
        with env.begin(write=True, db=env.open_db(b"rosters", create=False)) as txn:
            assert txn.get(epoch.to_bytes(8, "big")) is not None
            txn.put(epoch.to_bytes(8, "big"), data)
    finally:
        env.close()


def test_check_config_held_rosters():
    """With the roster file gone, check-config judges the newest roster the stopped node's
    store holds as `chatham run` does: ok when it lists this node's key, a problem (exit 78)
    when it does not; and a held roster that cannot be read is a problem naming the epoch.
    `run` refuses both. Until session 10 the check passed all three."""
    node = dl.Node(COMMUNITY)
    try:
        with dl.Daemon(node).start() as d:
            assert d.stop() == 0
        os.rename(node.roster, node.roster + ".away")
        r = dl.run_cli("check-config", node.config)
        assert r.returncode == 0 and r.stdout.strip() == f"{node.config}: ok", r
        put_roster(node, 1, COMMUNITY.roster_file(members=COMMUNITY.members[1:]))
        r = dl.run_cli("check-config", node.config)
        assert r.returncode == 78, r
        assert (f"{node.config}: state_dir {node.state}: the newest roster the store holds "
                "(`chatham run` would refuse to start): this node's key (key_file) is not a "
                "member of epoch 1") in r.stderr, r.stderr
        with dl.Daemon(node).start(wait=False) as d:
            assert d.proc.wait(60 * dl.SLOW) != 0, d.log()
            assert "is not a member of roster epoch 1" in d.log(), d.log()
        os.rename(node.roster + ".away", node.roster)
        put_roster(node, 1, b"\x93not a roster")
        r = dl.run_cli("check-config", node.config)
        assert r.returncode == 78, r
        assert (f"{node.config}: state_dir {node.state}: the store holds roster epoch 1, and "
                "it cannot be read: ") in r.stderr, r.stderr
        assert "would refuse to start" in r.stderr, r.stderr
        # `run` does refuse it: the check says what the start would meet.
        with dl.Daemon(node).start(wait=False) as d:
            assert d.proc.wait(60 * dl.SLOW) != 0, d.log()
            assert "store: roster epoch 1: " in d.log(), d.log()
    finally:
        node.cleanup()


if __name__ == "__main__":
    dl.main([test_restart_keeps_everything, test_sighup_reload, test_sigterm_during_batch,
             test_startup_failures, test_journal_prefixes_and_quiet_identities,
             test_check_config_cli, test_check_config_held_rosters])
