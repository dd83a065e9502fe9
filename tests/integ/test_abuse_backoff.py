# SPDX-License-Identifier: MIT
"""The abuse budget belongs to the member, not to its link (issue 13, "Abuse budget resets on
reconnect").

A hostile member (a Python peer holding a real member's keys, python3-dissononce) floods
node A with forged reports. Past its budget of 200 refused reports a minute A closes the
link as `abuse`. Before the fix the member simply reconnected and got a fresh budget: 20
cycles pushed thousands of refused reports (each costing A a signature check) in well
under a minute. Now:

  - the budget is the member's: across 20 reconnects in a row A refuses at most the budget
    (200) plus the one report that went past it;
  - a member closed for abuse is refused for a backoff ([gossip] abuse_backoff_s, doubling
    per offence) right after the Noise handshake identified it, before HELLO: it never gets
    a HELLO, and A counts peers closed.abuse_backoff (no report is read, no signature
    checked);
  - the member's standing is visible in `peers` (offences, refused until; which member only
    with [policy] show_attribution) and in `chatham peers`;
  - it persists across a restart of A: a restarted node still refuses the member;
  - once the backoff has run out, the member links again; a second offence doubles it.
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import daemonlib as dl  # noqa: E402
import overlaylib as ol  # noqa: E402
import test_hostile_member as hm  # noqa: E402

BUDGET = 200  # refused reports a minute (node/overlay/dissem.c, docs/ARCHITECTURE.md)
CYCLES = 20


class Env(hm.AloneEnv):
    def __init__(self, backoff_s):
        super().__init__(f"[gossip]\nrecon_interval_s = 0\nabuse_backoff_s = {backoff_s}\n"
                         "[policy]\nshow_attribution = true\n",
                         members=("Alpha CERT", "Hostile Peer", "Gamma CSIRT"))

    def rejected(self):
        return sum(self.status().get("gossip", {}).get("rejected", {}).values())

    def standing(self):
        """The hostile member's entry in peers "abuse", or None."""
        for e in ol.peers(self.a).get("abuse", []):
            if e.get("member", {}).get("id") == self.me.id.hex():
                return e
        return None

    def forged(self, i):
        b = hm.pack(hm.body_map(self.community.id, self.me.id, f"flood{i}.hostile-feed.net"))
        return hm.signed(b, os.urandom(64))


def cycle(env, n_reports=1000):
    """One connection: handshake, then HELLO and a flood of forged reports until A closes
    the link. Returns "refused" when A closed it before sending its HELLO, else "flooded"."""
    p = ol.NoisePeer.connect(env.port_a, env.community, env.netkey, env.me.tx_sk)
    try:
        assert p.handshake() == env.alpha.tx_pk
        try:
            first = p.recv_link()
        except (EOFError, ConnectionResetError):
            return "refused"
        assert first[0] == ol.HELLO, first
        p.hello(env.me.id)
        try:
            for i in range(n_reports):
                p.send_link([hm.PUSH, env.forged(i)])
        except OSError:
            return "flooded"  # closed while we flooded
        p.closed_by_peer(timeout=60)
        return "flooded"
    finally:
        p.close()


def run(backoff_s, body):
    """Starts node A with @backoff_s, runs @body(env), stops A cleanly; A's log on failure."""
    with Env(backoff_s) as env:
        body(env)
        assert env.a.stop() == 0


def reconnects(env):
    t0 = time.monotonic()
    outcomes = [cycle(env) for _ in range(CYCLES)]
    elapsed = time.monotonic() - t0
    rejected = env.rejected()
    print(f"    {CYCLES} cycles in {elapsed:.1f} s: {outcomes.count('flooded')} flooded, "
          f"{outcomes.count('refused')} refused at the handshake; {rejected} reports "
          f"refused by admission", flush=True)
    assert elapsed < 60, "the cycles took over a minute: the bound below is per minute"
    assert outcomes[0] == "flooded", outcomes
    assert rejected <= BUDGET + 1, \
        f"{rejected} refused reports in {elapsed:.1f} s against a budget of {BUDGET}"
    assert outcomes[1:] == ["refused"] * (CYCLES - 1), outcomes
    assert env.closed("abuse") == 1
    assert env.closed("abuse_backoff") == CYCLES - 1
    e = env.standing()
    assert e and e["offences"] == 1 and e["refused_for_s"] > 3500, e
    assert e["member"]["name"] == "Hostile Peer", e
    out = subprocess.run([dl.chatham_bin(), "peers", "--config", env.node_a.config],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "Hostile Peer" in out.stdout and "refused for" in out.stdout, out.stdout

    # The standing is durable: a restarted A refuses the member still.
    assert env.a.stop() == 0
    env.a.start()
    assert cycle(env) == "refused"
    assert env.closed("abuse_backoff") == 1
    assert env.rejected() == 0
    e = env.standing()
    assert e and e["offences"] == 1 and e["refused_for_s"] > 3000, e


def test_reconnects_get_no_fresh_budget():
    run(3600, reconnects)


def backoff_ends(env):
    assert cycle(env) == "flooded"
    e = env.standing()
    assert e and e["offences"] == 1 and 0 < e["refused_for_s"] <= 2, e
    assert cycle(env) == "refused"
    ol.wait_for(lambda: env.standing()["refused_for_s"] == 0, timeout=10,
                what="the first backoff to end")
    assert cycle(env) == "flooded"
    e = env.standing()
    assert e["offences"] == 2 and 2 < e["refused_for_s"] <= 4, e
    assert env.closed("abuse") == 2


def test_backoff_ends_and_doubles():
    """With a 2 s base the member links again once its refusal ended; its second offence is
    refused for twice as long."""
    run(2, backoff_ends)


if __name__ == "__main__":
    dl.main([test_reconnects_get_no_fresh_budget, test_backoff_ends_and_doubles])
