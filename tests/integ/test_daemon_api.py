# SPDX-License-Identifier: MIT
"""The local API of a real daemon: publish -> query -> list -> SIEM export, every bad
request, batches, pipelining, limits, peer credentials, and the CLI client commands."""

import json
import os
import socket
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402
import leakoracle  # noqa: E402

import lmdb  # noqa: E402  (Debian python3-lmdb: reads the export like a SIEM connector)

COMMUNITY = dl.Community()


def fresh(extra=""):
    return dl.Node(COMMUNITY, extra_config=extra)


def export_docs(node):
    """Every document of the SIEM export environment, read-only, as a SIEM would."""
    env = lmdb.open(node.export, readonly=True, max_dbs=4, lock=True)
    try:
        db = env.open_db(b"feed", create=False)
        with env.begin(db=db) as t:
            return [(int.from_bytes(k, "big"), json.loads(v)) for k, v in t.cursor()]
    finally:
        env.close()


def wait_export(node, pred, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            docs = export_docs(node)
            if pred(docs):
                return docs
        except lmdb.Error:
            pass
        time.sleep(0.02)
    raise AssertionError(f"export never matched; last: {docs if 'docs' in dir() else None}")


def test_publish_query_list_export():
    node = fresh()
    other = COMMUNITY.members[1]
    try:
        with dl.Daemon(node).start() as d:
            item = {"op": "publish", "id": 7, "type": "ipv4", "value": "192.0.2.10",
                    "tlp": "tlp:green", "confidence": 80, "tags": ["c2", "org:Beta"],
                    "description": "reported to Beta CSIRT by beta.example", "ttl": 3600}
            # Naming another member is refused before signing unless allow_names says so;
            # the refusal itself names nobody.
            r = d.call(item)
            assert not r["ok"] and r["error"]["code"] == "NODE_E_NAMES_MEMBER", r
            assert "Beta" not in json.dumps(r)
            leakoracle.assert_clean({"refusal": json.dumps(r)}, leakoracle.patterns(other))
            r = d.call(dict(item, allow_names=True))
            assert r["ok"] and r["result"] == "new" and r["id"] == 7, r
            assert r["type"] == "ipv4" and r["value"] == "192.0.2.10"
            ind_id = r["indicator_id"]
            st = os.stat(node.socket)
            assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660

            q = d.call({"op": "query", "value": "192.0.2.10"})
            assert q["ok"] and q["found"], q
            doc = q["indicator"]
            assert doc["threat"]["indicator"]["ip"] == "192.0.2.10"
            assert doc["threat"]["indicator"]["marking"]["tlp"] == "GREEN"
            assert doc["threat"]["indicator"]["confidence"] == "High"
            assert doc["chatham"]["indicator_id"] == ind_id
            assert doc["chatham"]["state"] == "active"
            assert doc["chatham"]["members"] == 1 and doc["chatham"]["reported_by_us"]
            assert doc["chatham"]["tags"] == ["c2"], doc["chatham"]["tags"]  # org: dropped
            text = json.dumps(q)
            assert "Beta" not in text, text  # not even the word: the org: tag was dropped
            # Beta in no spelling (the leak oracle, leakoracle.py).
            leakoracle.assert_clean({"query": text}, leakoracle.patterns(other))
            assert "valid_until" in doc["chatham"]
            # by id too
            q2 = d.call({"op": "query", "indicator_id": ind_id})
            assert q2["found"] and q2["indicator"]["chatham"]["value"] == "192.0.2.10"
            # unknown indicator
            q3 = d.call({"op": "query", "value": "198.51.100.1"})
            assert q3["ok"] and not q3["found"] and q3["value"] == "198.51.100.1", q3

            d.call({"op": "sight", "value": "192.0.2.10", "tlp": "GREEN"})
            lst = d.call({"op": "list", "since": 0, "limit": 10})
            assert lst["ok"] and lst["feed_last"] >= 2, lst
            assert lst["items"][-1]["chatham"]["sightings"] == 1

            docs = wait_export(node, lambda ds: any(
                x["chatham"]["sightings"] == 1 for _, x in ds))
            for seq, x in docs:
                assert x["chatham"]["seq"] == seq
                assert x["event"]["kind"] == "enrichment"
                assert x["event"]["category"] == ["threat"]
                assert x["event"]["type"] == ["indicator"]
                # expiry: the publish's ttl, as valid_until
                assert x["event"]["end"] == x["chatham"]["valid_until"], x
                assert x["threat"]["indicator"]["provider"] == COMMUNITY.name
                assert x["threat"]["indicator"]["marking"]["tlp_version"] == "2.0"
                assert x["threat"]["feed"]["name"] == "chatham " + COMMUNITY.name
                assert "Beta" not in json.dumps(x)

            # revoke withdraws it, in the store and in the export
            r = d.call({"op": "revoke", "value": "192.0.2.10", "tlp": "GREEN"})
            assert r["ok"] and r["result"] == "new", r
            q = d.call({"op": "query", "value": "192.0.2.10"})
            assert q["indicator"]["chatham"]["state"] == "withdrawn", q
            docs = wait_export(node, lambda ds: ds[-1][1]["chatham"]["state"] == "withdrawn")
            # Retired: not matchable (no value field, no event.type indicator), with an expiry.
            w = docs[-1][1]
            assert w["event"]["type"] == ["deletion"], w
            assert "ip" not in w["threat"]["indicator"], w
            assert w["event"]["end"] == w["@timestamp"], w
            assert w["chatham"]["value"] == "192.0.2.10"
            assert d.stop() == 0
    finally:
        node.cleanup()


def test_tlp_in_export():
    node = fresh()
    rcpt = COMMUNITY.members[1].id.hex()
    try:
        with dl.Daemon(node).start() as d:
            r = d.call({"op": "publish", "reports": [
                {"value": "amber.example", "tlp": "AMBER+STRICT", "recipients": [rcpt]},
                {"value": "red.example", "tlp": "RED", "recipients": [rcpt]},
                {"value": "https://Clear.Example/x?y", "tlp": "CLEAR"},
            ]})
            assert r["ok"] and r["accepted"] == 3, r
            # one commit, so one export transaction: both visible documents appear together
            docs = wait_export(node, lambda ds: len(ds) >= 2)
            values = {x["chatham"]["value"]: x for _, x in docs}
            assert "red.example" not in values, "RED exported although export_red is off"
            assert values["amber.example"]["threat"]["indicator"]["marking"]["tlp"] == \
                "AMBER+STRICT"
            url = values["https://clear.example/x?y"]["threat"]["indicator"]
            assert url["type"] == "url" and url["url"]["full"] == "https://clear.example/x?y"
            # local output still shows RED (stripped)
            q = d.call({"op": "query", "value": "red.example"})
            assert q["found"] and q["indicator"]["threat"]["indicator"]["marking"]["tlp"] == "RED"
            assert rcpt not in json.dumps(q)
            assert d.stop() == 0
    finally:
        node.cleanup()


BAD = [
    # (line, code, field)
    (b'{"op":"publish",', "NODE_E_JSON", None),
    (b'[1,2]', "NODE_E_REQUEST", None),
    (b'"status"', "NODE_E_JSON", None),
    (b'{"op":"frobnicate"}', "NODE_E_OP", "op"),
    (b'{"value":"192.0.2.1"}', "NODE_E_FIELD", "op"),
    (b'{"op":7}', "NODE_E_FIELD", "op"),
    (b'{"op":"publish","tlp":"GREEN"}', "NODE_E_FIELD", "value"),
    (b'{"op":"publish","value":"192.0.2.1"}', "PROTO_E_REPORT_TLP", "tlp"),
    (b'{"op":"publish","value":"192.0.2.1","tlp":"PINK"}', "PROTO_E_REPORT_TLP", "tlp"),
    (b'{"op":"publish","value":"999.0.2.1","type":"ipv4","tlp":"GREEN"}',
     "PROTO_E_IND_VALUE", "value"),
    (b'{"op":"publish","value":"x","type":"mac","tlp":"GREEN"}', "PROTO_E_IND_TYPE", "type"),
    (b'{"op":"publish","value":"192.0.2.1","tlp":"GREEN","confidence":101}',
     "PROTO_E_REPORT_CONFIDENCE", "confidence"),
    (b'{"op":"publish","value":"192.0.2.1","tlp":"GREEN","confidence":"high"}',
     "PROTO_E_REPORT_CONFIDENCE", "confidence"),
    (b'{"op":"publish","value":"192.0.2.1","tlp":"GREEN","kind":"rumour"}',
     "PROTO_E_REPORT_KIND", "kind"),
    (b'{"op":"publish","value":"192.0.2.1","tlp":"AMBER"}', "PROTO_E_REPORT_RECIPIENTS",
     "recipients"),
    (b'{"op":"publish","value":"192.0.2.1","tlp":"GREEN","recipients":["00"]}',
     "PROTO_E_REPORT_RECIPIENTS", "recipients"),
    (b'{"op":"publish","value":"192.0.2.1","tlp":"AMBER","recipients":["zz"]}',
     "PROTO_E_REPORT_RECIPIENTS", "recipients[0]"),
    (b'{"op":"publish","value":"192.0.2.1","tlp":"GREEN","tags":["a\\u0001"]}',
     "PROTO_E_REPORT_TAG", "tags[0]"),
    (b'{"op":"publish","value":"192.0.2.1","tlp":"GREEN","valid_until":"tomorrow"}',
     "PROTO_E_REPORT_TIME", "valid_until"),
    (b'{"op":"publish","value":"192.0.2.1","tlp":"GREEN","valid_until":1000}',
     "PROTO_E_REPORT_TIME", "valid_until"),
    (b'{"op":"publish","value":"192.0.2.1","tlp":"GREEN","ttl":0}', "PROTO_E_REPORT_TIME",
     "ttl"),
    (b'{"op":"publish","value":"192.0.2.1","tlp":"GREEN","colour":"red"}', "NODE_E_FIELD",
     "colour"),
    (b'{"op":"publish","value":"192.0.2.1","value":"192.0.2.2","tlp":"GREEN"}',
     "NODE_E_JSON", None),
    (b'{"op":"publish","reports":[]}', "NODE_E_FIELD", "reports"),
    (b'{"op":"publish","reports":{}}', "NODE_E_FIELD", "reports"),
    (b'{"op":"publish","reports":[{"value":"192.0.2.1","tlp":"GREEN"}],"tlp":"RED"}',
     "NODE_E_FIELD", "tlp"),
    (b'{"op":"revoke","value":"192.0.2.1","tlp":"GREEN","kind":"indicator"}',
     "PROTO_E_REPORT_KIND", "kind"),
    (b'{"op":"query"}', "NODE_E_FIELD", "value"),
    (b'{"op":"query","indicator_id":"abc"}', "NODE_E_FIELD", "indicator_id"),
    (b'{"op":"list","limit":0}', "NODE_E_FIELD", "limit"),
    (b'{"op":"list","since":-1}', "NODE_E_FIELD", "since"),
    (b'{"op":"status","verbose":true}', "NODE_E_FIELD", "verbose"),
    (b'{"op":"status","id":{"a":1}}', "NODE_E_FIELD", "id"),
]


def test_bad_requests_one_connection():
    """Every bad request gets one error response naming code and field; the same
    connection then still serves a good request."""
    node = fresh("max_line_bytes = 4096\n")
    try:
        with dl.Daemon(node).start() as d, d.client() as c:
            for line, code, field in BAD:
                c.send_raw(line + b"\n")
                r = c.recv_line()
                assert r["ok"] is False, (line, r)
                assert r["error"]["code"] == code, (line, r)
                assert r["error"]["field"] == field, (line, r)
                assert r["error"]["message"], (line, r)
                assert isinstance(r["error"]["number"], int)
            # oversize line: answered once, skipped, connection still usable
            c.send_raw(b'{"op":"status","pad":"' + b"x" * 10000 + b'"}\n')
            r = c.recv_line()
            assert r["error"]["code"] == "NODE_E_LINE_TOO_LONG", r
            assert c.call({"op": "status", "id": "after"})["id"] == "after"
            # a line over the limit in pieces, never with a newline in the first 4 KiB
            c.send_raw(b'{"op":"publish","value":"')
            c.send_raw(b"a" * 8000)
            c.send_raw(b'.example","tlp":"GREEN"}\n')
            assert c.recv_line()["error"]["code"] == "NODE_E_LINE_TOO_LONG"
            r = c.call({"op": "status"})
            assert r["ok"] and r["ingest"]["accepted"] == 0, r
            # the loop's own delay (node/daemon/looplag.h): a 1 ms timer has been firing
            lag = r["loop"]
            assert lag["samples"] > 0, lag
            assert 0 <= lag["lag_p50_ms"] <= lag["lag_p99_ms"] <= lag["lag_max_ms"], lag
            # and the part of it that was not run-queue wait (schedstat is on this kernel)
            own = lag["own"]
            assert own["samples"] == lag["samples"], lag
            assert 0 <= own["lag_p99_ms"] <= lag["lag_p99_ms"], lag
            assert own["lag_max_ms"] <= lag["lag_max_ms"], lag
            assert own["lag_sum_ms"] <= lag["lag_sum_ms"], lag
            asleep = lag["asleep"]
            assert asleep["samples"] == lag["samples"], lag
            assert asleep["lag_max_ms"] <= own["lag_max_ms"], lag
            assert asleep["lag_sum_ms"] <= own["lag_sum_ms"], lag
            # blank lines are not requests
            c.send_raw(b"\n\r\n   \n")
            assert c.call({"op": "peers"})["peers"] == []
            assert d.stop() == 0
    finally:
        node.cleanup()


def test_batch_per_item_and_pipelining():
    node = fresh()
    try:
        with dl.Daemon(node).start() as d, d.client() as c:
            items = [{"value": f"198.51.100.{i}", "tlp": "GREEN"} for i in range(200)]
            items[5] = {"value": "198.51.100.300", "tlp": "GREEN"}
            items[9] = {"value": "198.51.100.9"}
            items[11] = "not an object"
            items[12] = {"value": "198.51.100.1", "tlp": "GREEN"}  # same indicator as [1]
            r = c.call({"op": "publish", "id": "b1", "reports": items})
            assert r["ok"] and r["id"] == "b1", r
            assert len(r["results"]) == 200
            assert r["rejected"] == 3 and r["accepted"] == 197, r
            assert r["results"][5]["error"]["field"] == "reports[5].value"
            assert r["results"][9]["error"]["code"] == "PROTO_E_REPORT_TLP"
            assert r["results"][9]["error"]["field"] == "reports[9].tlp"
            assert r["results"][11]["error"]["field"] == "reports[11]"
            assert r["results"][12]["created"] > r["results"][1]["created"]
            # too many
            big = {"op": "publish", "reports": [{"value": "192.0.2.1", "tlp": "GREEN"}] * 10001}
            r = c.call(big)
            assert r["error"]["code"] == "PROTO_E_TOO_LARGE", r["error"]
            # pipelining: ten requests in one write, ten responses in order
            lines = b"".join(json.dumps({"op": "publish", "id": i, "value": f"p{i}.example",
                                         "tlp": "CLEAR"}).encode() + b"\n" for i in range(10))
            c.send_raw(lines + b'{"op":"status","id":"last"}\n')
            ids = [c.recv_line()["id"] for _ in range(11)]
            assert ids == list(range(10)) + ["last"], ids
            # publish then immediately revoke in one batch: the revoke wins
            r = c.call({"op": "publish", "reports": [
                {"value": "order.example", "tlp": "GREEN"},
                {"value": "order.example", "tlp": "GREEN", "kind": "revoke"}]})
            assert r["accepted"] == 2, r
            q = c.call({"op": "query", "value": "order.example"})
            assert q["indicator"]["chatham"]["state"] == "withdrawn", q
            # a final request ended by EOF instead of a newline is still answered
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(node.socket)
                s.sendall(b'{"op":"status","id":"eof"}')
                s.shutdown(socket.SHUT_WR)
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                assert json.loads(data)["id"] == "eof"
            assert d.stop() == 0
    finally:
        node.cleanup()


def test_limits_socket_and_peers():
    # mode 0666 and a traversable directory, so that only the peer-credential check can
    # refuse the uid below
    node = fresh("max_connections = 2\nclient_timeout_s = 1\nsocket_mode = 0666\n")
    os.chmod(node.root, 0o711)
    try:
        with dl.Daemon(node).start() as d:
            st = os.stat(node.socket)
            assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o666
            a = d.client()
            # the readiness probe's connection may not be reaped yet: wait until only ours
            deadline = time.monotonic() + 10
            while a.call({"op": "status"})["api"]["connections"] != 1:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            b = d.client()
            assert b.call({"op": "status"})["ok"]
            with d.client() as c3:
                # Both are served and idle: the one idle longest (a) makes room. Clients
                # that cannot make room get NODE_E_OVERLOAD (test_api_bounds test_idle_clients).
                assert c3.call({"op": "status"})["ok"]
                a.sock.settimeout(10)
                assert a.sock.recv(1) == b"", "the idle client was not closed"
            # a client that starts a line and stalls is closed after client_timeout_s
            b.send_raw(b'{"op":"sta')
            b.sock.settimeout(10)
            assert b.sock.recv(1) == b"", "stalled client not closed"
            a.close()
            b.close()
            # peer credentials: a uid that is neither root, the node's uid nor allowed
            if os.geteuid() == 0:
                pid = os.fork()
                if pid == 0:
                    try:
                        os.setgid(65534)
                        os.setuid(65534)
                        with socket.socket(socket.AF_UNIX) as s:
                            s.connect(node.socket)
                            s.settimeout(10)
                            resp = json.loads(s.makefile().readline())
                            os._exit(0 if resp["error"]["code"] == "NODE_E_PERM" else 1)
                    except BaseException:
                        os._exit(2)
                _, status = os.waitpid(pid, 0)
                assert os.WEXITSTATUS(status) == 0, f"nobody was not refused ({status})"
                print("  (peer credential check exercised as uid 65534)")
            else:
                print("  (not root: peer credential check of another uid skipped)")
            # The node reaps the closed clients above on its own time (slowly under
            # valgrind): until it has, a new client may still be refused as overloaded.
            deadline = time.monotonic() + 60
            while True:
                try:
                    r = d.call({"op": "status"})
                except (BrokenPipeError, ConnectionResetError):
                    r = {"error": {"code": "NODE_E_OVERLOAD"}}  # refused before our line
                if r.get("ok"):
                    break
                assert r["error"]["code"] == "NODE_E_OVERLOAD", r
                assert time.monotonic() < deadline, "closed clients never reaped"
                time.sleep(0.05)
            assert d.stop() == 0
    finally:
        node.cleanup()


def test_slow_reader_does_not_stall():
    """A client that pipelines requests without reading the answers is throttled (the node
    stops reading it once its unsent output passes max_output_bytes); other clients are
    served meanwhile, and the slow client still gets exactly one answer per request."""
    node = fresh("max_output_bytes = 65536\nclient_timeout_s = 30\n")
    try:
        with dl.Daemon(node).start() as d:
            slow = d.client()
            n = 3000
            slow.send_raw(b"".join(json.dumps({"op": "status", "id": i}).encode() + b"\n"
                                   for i in range(n)))
            t0 = time.monotonic()
            for _ in range(20):
                assert d.call({"op": "peers"})["ok"]
            assert time.monotonic() - t0 < 10
            ids = [slow.recv_line()["id"] for _ in range(n)]
            assert ids == list(range(n))
            slow.close()
            # a large batch is parsed off the loop thread; status answers meanwhile
            big = d.client()
            big.send_raw(json.dumps({"op": "publish", "reports": [
                {"value": f"big{i}.example", "tlp": "CLEAR", "description": "x" * 200}
                for i in range(10000)]}).encode() + b"\n")
            assert d.call({"op": "status"})["ok"]
            r = big.recv_line()
            assert r["accepted"] == 10000, r.get("error")
            big.close()
            assert d.stop() == 0
    finally:
        node.cleanup()


def test_cli_commands():
    node = fresh()
    env = {"CHATHAM_SOCKET": node.socket}
    rcpt = COMMUNITY.members[1].id.hex()
    try:
        with dl.Daemon(node).start() as d:
            r = dl.run_cli("publish", "--tlp", "GREEN", "--tag", "phish", "--ttl", "7d",
                           "evil.example", env=env)
            assert r.returncode == 0 and r.stdout.startswith("new report"), r
            r = dl.run_cli("publish", "evil2.example", env=env)
            assert r.returncode == 2 and "--tlp is required" in r.stderr, r
            r = dl.run_cli("publish", "--tlp", "AMBER", "x.example", env=env)
            assert r.returncode == 65 and "PROTO_E_REPORT_RECIPIENTS" in r.stderr, r
            r = dl.run_cli("publish", "--tlp", "AMBER", "--recipient", rcpt, "--json",
                           "--type", "domain", "x.example", env=env)
            assert r.returncode == 0 and json.loads(r.stdout)["result"] == "new", r
            r = dl.run_cli("sight", "--tlp", "GREEN", "evil.example", env=env)
            assert r.returncode == 0, r
            r = dl.run_cli("query", "evil.example", env=env)
            assert r.returncode == 0 and "sightings       1" in r.stdout, r
            assert "phish" in r.stdout and "(ours)" in r.stdout
            r = dl.run_cli("query", "--json", "nothing.example", env=env)
            assert r.returncode == 0 and json.loads(r.stdout)["found"] is False, r
            r = dl.run_cli("query", "nothing.example", env=env)
            assert r.returncode == 1 and "not known" in r.stdout, r
            r = dl.run_cli("revoke", "--tlp", "GREEN", "evil.example", env=env)
            assert r.returncode == 0, r
            r = dl.run_cli("false-positive", "--tlp", "GREEN", "x.example", env=env)
            assert r.returncode == 0, r
            r = dl.run_cli("list", "--limit", "50", env=env)
            assert r.returncode == 0 and "withdrawn" in r.stdout, r
            r = dl.run_cli("status", "--socket", node.socket)
            assert r.returncode == 0 and "Alpha CERT" in r.stdout, r
            r = dl.run_cli("peers", "--config", node.config)
            assert r.returncode == 0 and "roster has 2 members" in r.stdout, r
            for cmd in ("run", "check-config", "publish", "revoke", "sight", "false-positive",
                        "query", "list", "status", "peers"):
                r = dl.run_cli(cmd, "--help")
                assert r.returncode == 0 and r.stdout.startswith("usage: chatham " + cmd), r
            assert d.stop() == 0
        r = dl.run_cli("status", env=env)
        assert r.returncode == 69 and "cannot connect" in r.stderr, r
    finally:
        node.cleanup()


if __name__ == "__main__":
    dl.main([test_publish_query_list_export, test_tlp_in_export, test_bad_requests_one_connection,
             test_batch_per_item_and_pipelining, test_limits_socket_and_peers,
             test_slow_reader_does_not_stall, test_cli_commands])
