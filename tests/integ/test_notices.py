# SPDX-License-Identifier: MIT
"""Notices between member teams, five members, every step through the CLI of real daemons:

- a notice routed by constituency (--to-owner-of) reaches exactly its owner, and its status
  reply comes back to the notifier (both sides see the thread);
- a notice through a coordinator (--via) reaches the recipient signed by the coordinator,
  with the notifier's member id nowhere in what the recipient holds or shows, survives the
  recipient being offline (the coordinator's outbox), and the recipient's status goes back
  through the coordinator to the notifier's thread;
- malformed forms are refused naming the field, before anything is sent;
- no PoC field appears in any member's export, and no form text in any export but the
  recipient's own (its notices feed: the AMBER notice; not the RED one relayed to it,
  without export_red), nor anywhere in the files or logs of the two members not
  involved."""

import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
from daemonlib import run_cli  # noqa: E402

MARK1, MARK2 = "zq-notice-marker-7316", "zq-notice-marker-5592"
POC_MAIL = "pocmarker-4471@recipient.example"


def incident(mark):
    return {
        "form": "incident",
        "purpose": "contact-related-site",
        "source": {"ip": ["198.51.100.7"]},
        "what_happened": f"Web shell on the CMS ({mark}).",
        "affected": {"host": "www.victim.example", "occurred_at": "2026-12-06T09:30:00+09:00"},
    }


DIRECTORY = {2: ({0: POC_MAIL, 4: "Asia/Tokyo"},
                 {0: ["198.51.100.0/24"], 2: ["victim.example"]})}


def cli(node, *args):
    r = run_cli(*args, "--socket", node.socket)
    return r


def cli_json(node, *args):
    r = cli(node, *args, "--json")
    assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
    return json.loads(r.stdout)


def notices(node):
    return cli_json(node, "notices")["notices"]


def nstatus(d):
    return ct.status(d)["notices"]


def files_contain(root, needle):
    """Every file under @root (logs, stores, exports) searched for the bytes @needle."""
    hits = []
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            try:
                with open(p, "rb") as f:
                    if needle in f.read():
                        hits.append(p)
            except OSError:
                pass
    return hits


def thread_at(node, thread):
    return [n for n in notices(node) if n["thread"] == thread]


def no_trace(nodes, needles, skip=()):
    """None of @needles (bytes) in any file under the nodes' directories (stores, exports,
    logs) except @skip suffixes, nor in their daemons' logs."""
    for i, node, daemon in nodes:
        for needle in needles:
            hits = [h for h in files_contain(node.root, needle) if not h.endswith(skip)]
            assert not hits, (i, needle, hits)
            assert needle.decode(errors="replace") not in daemon.log(), (i, needle)


def test_notices():
    c = ct.Cluster(5, degree=4, directory=DIRECTORY)
    ok = False
    tmp = tempfile.mkdtemp(prefix="chatham-notices-")
    try:
        form1, form2 = os.path.join(tmp, "one.json"), os.path.join(tmp, "two.json")
        for path, mark in ((form1, MARK1), (form2, MARK2)):
            with open(path, "w") as f:
                json.dump(incident(mark), f)
        c.start()
        ct.wait_links(c.daemons, 4)
        a, coord, r, n3 = c.nodes[0], c.nodes[1], c.nodes[2], c.nodes[3]
        a_id, coord_id, r_id, n3_id = (c.member_id(i) for i in range(4))

        # The template is the form's, and malformed forms are refused naming the field.
        t = run_cli("notify", "--template", "incident")
        assert t.returncode == 0 and json.loads(t.stdout)["form"] == "incident", t
        bad = dict(incident(MARK1), affected={"host": "x", "occurred_at": "2026-12-06 09:30"})
        with open(os.path.join(tmp, "bad.json"), "w") as f:
            json.dump(bad, f)
        b = cli(a, "notify", "--form", "incident", "--file", os.path.join(tmp, "bad.json"),
                "--to", r_id[:16], "--tlp", "AMBER")
        assert b.returncode == 65 and "affected.occurred_at" in b.stderr, b
        # The node checks as well: a request that skips the CLI is refused the same way.
        resp = c.daemons[0].call({"op": "notify", "form": bad, "tlp": "AMBER", "to": r_id})
        assert not resp["ok"] and resp["error"]["field"] == "form.affected.occurred_at", resp
        resp = c.daemons[0].call({"op": "notify", "form": incident(MARK1), "tlp": "GREEN",
                                  "to": r_id})
        assert not resp["ok"] and resp["error"]["field"] == "tlp", resp
        resp = c.daemons[0].call({"op": "notify", "form": incident(MARK1), "tlp": "AMBER",
                                  "to_owner_of": "203.0.113.9"})
        assert not resp["ok"] and resp["error"]["field"] == "to_owner_of", resp
        assert nstatus(c.daemons[0])["stored"] == 0

        # 1. Routed by constituency, directly: exactly the owner receives it.
        sent = cli_json(a, "notify", "--form", "incident", "--file", form1,
                        "--to-owner-of", "198.51.100.7", "--tlp", "AMBER")
        assert sent["to"]["member_id"] == r_id and "via" not in sent, sent
        nid = sent["notice"]
        ct.wait_for(lambda: any(n["id"] == nid for n in notices(r)),
                    what="the notice at its constituency's owner")
        got = next(n for n in notices(r) if n["id"] == nid)
        assert got["direction"] == "in" and got["from"]["member_id"] == a_id, got
        assert got["form"] == incident(MARK1), got
        assert got["via_coordinator"] is False and got["tlp"] == "AMBER", got
        ct.wait_for(lambda: nstatus(c.daemons[0])["outbox"] == 0, what="the notice acknowledged")

        # Status back by the same path; both sides see the thread.
        rep = cli_json(r, "notices", "reply", nid[:12], "--status", "investigating",
                       "--comment", "looking at it")
        assert rep["to"]["member_id"] == a_id, rep
        ct.wait_for(lambda: any(n["kind"] == "status" for n in thread_at(a, nid)),
                    what="the status at the notifier")
        th = thread_at(a, nid)
        assert [(n["kind"], n["direction"]) for n in th] == [("notice", "out"), ("status", "in")]
        assert th[1]["status"] == "investigating" and th[1]["comment"] == "looking at it", th
        assert [n["kind"] for n in thread_at(r, nid)] == ["notice", "status"]
        text = cli(a, "notices")
        assert text.returncode == 0 and "status investigating" in text.stdout, text
        for i in (1, 3, 4):
            assert notices(c.nodes[i]) == [], i

        # 2. Member 3 notifies through the coordinator; the recipient is offline a while.
        c.stop(2)
        ct.wait_for(lambda: ct.links_up(c.daemons[1]) == 3, what="the coordinator's link down")
        sent = cli_json(n3, "notify", "--form", "incident", "--file", form2,
                        "--to-owner-of", "www.victim.example", "--via", coord_id[:12],
                        "--tlp", "RED")
        assert sent["to"]["member_id"] == r_id and sent["via"]["member_id"] == coord_id, sent
        nid2 = sent["notice"]
        ct.wait_for(lambda: nstatus(c.daemons[1])["forwarded"] == 1 and
                    nstatus(c.daemons[1])["outbox"] == 1,
                    what="the forward waiting in the coordinator's outbox")
        ct.wait_for(lambda: nstatus(c.daemons[3])["outbox"] == 0,
                    what="the notifier's copy acknowledged by the coordinator")
        c.start([2])
        ct.wait_for(lambda: any(n.get("via_coordinator") for n in notices(r)), timeout=30,
                    what="the forwarded notice at the returning recipient")
        fwd = next(n for n in notices(r) if n.get("via_coordinator"))
        assert fwd["from"]["member_id"] == coord_id and fwd["tlp"] == "RED", fwd
        assert fwd["form"] == incident(MARK2), fwd
        ct.wait_for(lambda: nstatus(c.daemons[1])["outbox"] == 0,
                    what="the coordinator's forward acknowledged")
        rep = cli_json(r, "notices", "reply", fwd["id"], "--status", "resolved")
        assert rep["to"]["member_id"] == coord_id, rep
        ct.wait_for(lambda: any(n["kind"] == "status" and n["status"] == "resolved"
                                for n in thread_at(n3, nid2)),
                    what="the status back at the notifier through the coordinator")
        back = [n for n in thread_at(n3, nid2) if n["kind"] == "status"][0]
        assert back["from"]["member_id"] == coord_id and back["direction"] == "in", back
        ct.wait_for(lambda: all(nstatus(c.daemons[i])["outbox"] == 0 for i in range(5)),
                    what="every outbox empty")
        # Chatham House for the recipient: member 3's id is nowhere in what it holds of notices.
        assert n3_id not in json.dumps(notices(r))
        assert not files_contain(os.path.join(r.state, "notices"), bytes.fromhex(n3_id))
        for i in range(5):
            s = nstatus(c.daemons[i])
            assert s["refused"] == 0 and s["dropped"] == 0, (i, s)
        for i in (0, 4):
            assert all(n["thread"] != nid2 for n in notices(c.nodes[i])), i

        # Nothing of a notice or the directory in any export; nothing of a notice at the
        # members it did not concern (files and logs).
        ct.publish_batch(c.daemons[0], ["after.notices.example"])
        ct.wait_for(lambda: all("after.notices.example" in ct.export_values(n)
                                for n in c.nodes), what="a GREEN report in every export")
        for i in range(5):
            c.stop(i)
        for i, node in enumerate(c.nodes):
            # The recipient's own export holds its AMBER notice (its notices feed), nobody
            # else's; the RED one (through the coordinator) no export: no export_red.
            for needle in ((MARK1.encode(),) if i != 2 else ()) + \
                    (MARK2.encode(), POC_MAIL.encode()):
                assert not files_contain(node.export, needle), (i, needle)
        assert files_contain(r.export, MARK1.encode())
        no_trace([(i, c.nodes[i], c.daemons[i]) for i in (1, 3, 4)], [MARK1.encode()])
        no_trace([(i, c.nodes[i], c.daemons[i]) for i in (0, 4)], [MARK2.encode()])
        ok = True
    finally:
        c.cleanup(failed=not ok)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    ct.main([test_notices])
