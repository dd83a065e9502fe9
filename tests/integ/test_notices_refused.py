# SPDX-License-Identifier: MIT
"""A notice refused for good is answered with NOTICE_REFUSED, and its sender stops.

Two real daemons. Member 0 notifies member 1, which receives it. Member 0 then loses its
notice store (stopped, <state>/notices removed, started again: a rebuilt node), so when
member 1 answers with a status, member 0 holds no notice that status could answer and
refuses it for good (reason "thread"). Member 1's outbox entry ends at the refusal (no
retry left), its `chatham notices` shows the status refused with that reason (JSON and
text), and its status counts exactly one refusal applied; member 0 answered every refusal
it made and stored nothing of the status.
"""

import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chathamtest as ct  # noqa: E402
from daemonlib import run_cli  # noqa: E402
from test_notices import incident, cli, cli_json, notices, nstatus  # noqa: E402

MARK = "zq-refused-marker-2209"


def test_notices_refused():
    c = ct.Cluster(2, degree=1)
    ok = False
    tmp = tempfile.mkdtemp(prefix="chatham-refused-")
    try:
        form = os.path.join(tmp, "form.json")
        with open(form, "w") as f:
            json.dump(incident(MARK), f)
        c.start()
        ct.wait_links(c.daemons, 1, timeout=60)
        a, b = c.nodes
        b_id = c.member_id(1)

        sent = cli_json(a, "notify", "--form", "incident", "--file", form, "--to", b_id[:16],
                        "--tlp", "AMBER")
        nid = sent["notice"]
        ct.wait_for(lambda: any(n["id"] == nid for n in notices(b)),
                    timeout=60, what="the notice at its recipient")
        ct.wait_for(lambda: nstatus(c.daemons[0])["outbox"] == 0, timeout=60,
                    what="the notice acknowledged")

        # Member 0 is rebuilt without its notices.
        c.stop(0)
        shutil.rmtree(os.path.join(a.state, "notices"))
        c.start([0])
        ct.wait_links(c.daemons, 1, timeout=60)
        assert nstatus(c.daemons[0])["stored"] == 0

        rep = cli_json(b, "notices", "reply", nid[:12], "--status", "received")
        sid = rep["status_id"]
        ct.wait_for(lambda: nstatus(c.daemons[1])["refused_by_peer"] == 1,
                    timeout=60, what="the status refused by its next hop")
        sb = nstatus(c.daemons[1])
        assert sb["outbox"] == 0 and sb["refused_by_peer"] == 1, sb
        st = next(n for n in notices(b) if n["id"] == sid)
        assert st["kind"] == "status" and st["direction"] == "out", st
        assert st["refused"] == "thread" and st["pending"] is False, st
        assert "refused" not in next(n for n in notices(b) if n["id"] == nid)
        text = cli(b, "notices")
        assert text.returncode == 0, text
        assert "[refused by the next hop: thread]" in text.stdout, text.stdout

        sa = nstatus(c.daemons[0])
        assert sa["refused"] >= 1 and sa["refusals_sent"] == sa["refused"], sa
        assert sa["stored"] == 0 and sa["received"] == 0, sa
        assert notices(a) == []
        for i in range(2):
            c.stop(i)
        ok = True
    finally:
        c.cleanup(failed=not ok)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    ct.main([test_notices_refused])
