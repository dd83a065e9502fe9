# SPDX-License-Identifier: MIT
"""A hostile MEMBER against a real daemon: a Python peer that holds a real member's keys,
completes Noise_XXpsk0 (python3-dissononce) and a valid HELLO, and then sends reports and
link messages no honest node would send.

Setup: node A (the daemon under test, "Alpha CERT") links with node G (an honest daemon,
"Gamma CSIRT"); the Python peer is "Hostile Peer", a roster member without an address that
dials A. A report encoder and Ed25519 signer written here (python3-msgpack, libsodium through
ctypes) build the reports; the positive control shows A stores a well-formed PUSH from the
peer, so every refusal below is about the one thing each case breaks.

Report cases (each a PUSH; the node must refuse it with the named admission reason, counted
in status gossip.rejected and on the peer's link, and store nothing):
  forged signature (random bytes)             bad_signature
  mismatched signature (signed by another     bad_signature
    member's key than the named signer)
  signature of the wrong length               bad_signature
  non-canonical encodings (keys out of        encoding
    order, non-minimal integer, trailing
    bytes, str for bin, duplicate key)
  signer that is not a roster member          not_member
  roster epoch the node does not hold         unknown_epoch
  AMBER and RED by gossip                     relayed
  created 1 day in the future                 future
  another community's id                      community

Link cases (each on its own link): ROSTER_PART messages out of order are dropped and
complete garbage ones refused by roster verification; a malformed link message and a frame over the node's
max_frame close the link (peers closed.protocol / closed.frame); a report over 16 KiB is
refused (encoding) or closes the link (protocol); an IHAVE flood of 100,000 unknown ids is
answered with GRAFTs and costs bounded memory (RssAnon growth < 64 MiB); garbage RECON
payloads and a reconciliation session that never converges (fresh random fingerprints
every round) do not stop the node from serving others.

After every case A keeps serving others: a report published on G reaches A by gossip and
A answers its API; at the end A's store holds exactly G's reports and the control, and
none of the refused values occurs anywhere in its data file.

A never-converging peer restarts its session each time it hits the round limit; past its
budget of failed or abandoned catch-up sessions (20 a minute) the node closes the link
(peers closed.abuse, status gossip.links_closed_abusive). A member whose reports keep failing
admission (300 forged signatures) is disconnected the same way (node/overlay/abuse.c). The
budget is the member's, across its links: A runs with abuse_backoff_s = 1, so after each
abuse close the peer waits out a refusal of 1, 2, then 4 s before its next case
(test_abuse_backoff.py tests the backoff itself).

Rate limits (A runs with [gossip] member_burst = 20, member_rate_per_min = 60): the peer
floods 400 valid reports it signed itself. A stores what is left of its burst plus one a
second, refuses the rest as rate_limited, and closes the link as abuse once the peer is
past 200 refusals. The same flood sent as CATCHUP copies that no session of A asked for is
limited and closed the same way (only asked-for catch-up copies are exempt). Then G, an honest member, publishes a batch of 120 over its own
remaining burst: A refuses part of it (rate_limited) without closing G's link, and after
an operator raises the limit and turns periodic catch-up on by SIGHUP, catch-up brings
every report of the batch: a limit delays reports, it loses none.
"""

import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import daemonlib as dl  # noqa: E402
import msgpack  # noqa: E402
import overlaylib as ol  # noqa: E402

PUSH, IHAVE, GRAFT, RECON, CATCHUP = 4, 5, 6, 11, 15
TLP = {"CLEAR": 1, "GREEN": 2, "AMBER": 3, "RED": 5}
DOMAIN = 3
MAX_FRAME = 32768
ROSTER = 12  # link message type (proto/link.h)
BURST = 20
BATCH = 120  # G's own reports over the limit (100) stay under the 200-refusal budget


def now_ms():
    return int(time.time() * 1000)


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def body_map(community_id, signer_id, value, tlp="GREEN", created=None, epoch=1,
             recipients=None):
    m = {0: 1, 1: community_id, 2: 0, 3: DOMAIN, 4: value, 5: TLP[tlp], 6: 60,
         7: created or now_ms()}
    if recipients:
        m[11] = sorted(recipients)
    m[12] = {0: 0, 1: signer_id, 2: epoch}
    return m


def sign(sk, body):
    return dl.sodium().ed25519_sign(sk, b"chatham/report/1" + body)


def signed(body, sig):
    return pack([body, sig])


class Hostile:
    """One link from the hostile member: a reader thread answers PINGs and collects
    everything else; sends are serialised (one Noise sending cipher)."""

    def __init__(self, env, member=None):
        """A link to node A as @member (default env.me), a roster member."""
        me = member or env.me
        deadline = time.monotonic() + 30
        while True:
            self.p = ol.NoisePeer.connect(env.port_a, env.community, env.netkey, me.tx_sk)
            assert self.p.handshake() == env.alpha.tx_pk
            try:
                first = self.p.recv_link()
                break
            except (EOFError, ConnectionResetError):
                # Refused for the backoff after an earlier case's abuse close (A runs with
                # abuse_backoff_s = 1, doubling per offence): try again until it ends.
                self.p.close()
                assert time.monotonic() < deadline, "A still refuses the member after 30 s"
                time.sleep(0.1)
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.received = []
        assert first[0] == ol.HELLO, first
        self.p.hello(me.id)
        self.p.sock.settimeout(None)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        try:
            while True:
                m = self.p.recv_link()
                if m[0] == ol.PING:
                    self.send([ol.PONG, m[1]])
                else:
                    self.received.append(m)
        except Exception:
            self.closed.set()

    def send(self, obj):
        with self.lock:
            self.p.send_link(obj)

    def sync(self, timeout=60, allow_close=False):
        """PING and wait for its PONG: the node has processed everything sent before (or,
        with @allow_close, has closed the link)."""
        nonce = int.from_bytes(os.urandom(7), "big")
        try:
            self.send([ol.PING, nonce])
        except OSError:
            assert allow_close, "the node closed the link"
            return
        ol.wait_for(lambda: [ol.PONG, nonce] in self.received or self.closed.is_set(),
                    timeout=timeout, what="the PONG")
        assert allow_close or not self.closed.is_set(), "the node closed the link"

    def send_plain(self, plaintext):
        """Encrypts and frames raw link-message bytes (which may be malformed)."""
        with self.lock:
            self.p.send_frame(self.p.send_cs.encrypt_with_ad(b"", plaintext))

    def close(self):
        try:
            self.p.sock.shutdown(2)
        except OSError:
            pass
        self.p.close()
        self.t.join(10)


class AloneEnv:
    """Node A alone (the daemon under test, the first of @members) with @extra in its
    config; the hostile member is the second of @members, a roster member without an
    address that dials A (Hostile). The others never run."""

    def __init__(self, extra, members=("Alpha CERT", "Hostile Peer", "Gamma CSIRT",
                                       "Delta CERT")):
        self.community = dl.Community(members=members)
        self.alpha, self.me = self.community.members[:2]
        self.netkey = os.urandom(32)
        self.port_a = ol.free_port()
        addrs = {"Alpha CERT": [f"127.0.0.1:{self.port_a}"]}
        self.node_a = ol.overlay_node(self.community, 0, self.netkey, self.port_a, addrs,
                                      "", extra_config=extra)
        self.a = dl.Daemon(self.node_a)

    def __enter__(self):
        """`with env:` starts A; at the end A is killed if still running (a test stops it
        cleanly itself), its log printed if the body failed, and its files removed."""
        self.a.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.a.kill()
        if exc_type is not None:
            print(f"--- log of node A:\n{self.a.log()[-5000:]}---", flush=True)
        self.node_a.cleanup()
        return False

    def status(self):
        r = self.a.call({"op": "status"})
        assert r.get("ok"), r
        return r

    def closed(self, reason):
        return ol.closed_count(self.a, reason)

    def alive(self):
        assert self.a.proc.poll() is None, "node A died:\n" + self.a.log()
        self.status()

    def publish_many(self, values):
        """GREEN reports of @values published on A in batches of 4,096; their ids."""
        ids = []
        for b in range(0, len(values), 4096):
            items = [{"value": v, "tlp": "GREEN"} for v in values[b:b + 4096]]
            with self.a.client(timeout=600) as c:
                r = c.call({"op": "publish", "reports": items})
            assert r.get("ok"), str(r)[:500]
            ids += [bytes.fromhex(x["report_id"]) for x in r["results"]]
        return ids


class Env:
    def __init__(self):
        # Delta never runs: it makes the ring big enough (4) for anonymous reports.
        self.community = dl.Community(members=("Alpha CERT", "Hostile Peer", "Gamma CSIRT",
                                               "Delta CERT"))
        self.alpha, self.me, self.gamma = self.community.members[:3]
        self.outsider = dl.Member("Outsider CERT")
        self.netkey = os.urandom(32)
        self.port_a, self.port_g = ol.free_port(), ol.free_port()
        addrs = {"Alpha CERT": [f"127.0.0.1:{self.port_a}"],
                 "Gamma CSIRT": [f"127.0.0.1:{self.port_g}"]}
        extra = ol.OVERLAY_FAST + f"degree = 2\nmax_frame = {MAX_FRAME}\n"
        gossip = "[gossip]\nrecon_interval_s = 0\n"
        self.limits = f"member_burst = {BURST}\nmember_rate_per_min = 60\n"
        self.node_a = ol.overlay_node(self.community, 0, self.netkey, self.port_a, addrs,
                                      extra, extra_config=gossip + self.limits +
                                      "abuse_backoff_s = 1\n")
        self.node_g = ol.overlay_node(self.community, 2, self.netkey, self.port_g, addrs,
                                      extra, extra_config=gossip)
        self.a = dl.Daemon(self.node_a)
        self.g = dl.Daemon(self.node_g)
        self.refused_values = []
        self.admitted = []  # further values A must hold
        self.served = 0

    def status(self):
        r = self.a.call({"op": "status"})
        assert r.get("ok"), r
        return r

    def rejected(self, reason):
        return self.status().get("gossip", {}).get("rejected", {}).get(reason, 0)

    def link_rejected(self):
        return sum(x["rejected"] for x in self.status()["gossip"]["links"])

    def found(self, value):
        q = self.a.call({"op": "query", "value": value})
        assert q.get("ok"), q
        return q["found"]

    def closed(self, reason):
        return ol.closed_count(self.a, reason)

    def still_serving(self):
        """G publishes; the report reaches A by gossip; A's API answers."""
        assert self.a.proc.poll() is None, "node A died:\n" + self.a.log()
        self.served += 1
        v = f"honest{self.served}.gamma-feed.net"
        r = self.g.call({"op": "publish", "value": v, "tlp": "GREEN"})
        assert r.get("ok"), r
        ol.wait_for(lambda: self.found(v), timeout=30, what=f"{v} gossiped from G to A")

    def body(self, value, **kw):
        return pack(body_map(self.community.id, self.me.id, value, **kw))

    def good(self, value, **kw):
        b = self.body(value, **kw)
        return signed(b, sign(self.me.id_sk, b))


def refuse(env, h, value, report, reason):
    """Sends @report by PUSH and waits for its refusal with @reason."""
    before, link_before = env.rejected(reason), env.link_rejected()
    h.send([PUSH, report])
    ol.wait_for(lambda: env.rejected(reason) > before, timeout=20,
                what=f"refusal {reason} of {value}")
    assert env.rejected(reason) == before + 1
    assert env.link_rejected() == link_before + 1, "refusal not counted on the peer's link"
    assert not env.found(value), f"{value} stored although refused ({reason})"
    env.refused_values.append(value)


def non_canonical_variants(env, value):
    """Correctly signed bodies that break canonical msgpack one way each."""
    m = body_map(env.community.id, env.me.id, value)
    out = []
    # keys out of order
    items = list(m.items())
    items[2], items[3] = items[3], items[2]
    out.append(("key order", pack(dict(items))))
    # non-minimal integer: confidence 60 as uint16
    b = pack(m)
    i = b.index(b"\x06\x3c")
    out.append(("non-minimal int", b[:i] + b"\x06\xcd\x00\x3c" + b[i + 2:]))
    # trailing byte after the map
    out.append(("trailing byte", pack(m) + b"\xc0"))
    # value as bin instead of str
    m2 = dict(m)
    m2[4] = value.encode()
    out.append(("bin for str", pack(m2)))
    # duplicate key: map header says one more entry, key 6 repeated
    b = pack(m)
    assert b[0] == 0x80 + len(m)
    i = b.index(b"\x06\x3c")
    out.append(("duplicate key", bytes([b[0] + 1]) + b[1:i + 2] + b"\x06\x3c" + b[i + 2:]))
    return [(what, signed(body, sign(env.me.id_sk, body))) for what, body in out]


def report_cases(env, h):
    # Positive control: the encoder and signer are right, so each refusal is about one flaw.
    v = "control.hostile-feed.net"
    h.send([PUSH, env.good(v)])
    ol.wait_for(lambda: env.found(v), timeout=20, what="the well-formed PUSH stored")

    v = "forged.hostile-feed.net"
    refuse(env, h, v, signed(env.body(v), os.urandom(64)), "bad_signature")

    v = "mismatched.hostile-feed.net"
    b = pack(body_map(env.community.id, env.gamma.id, v))   # names Gamma as the signer
    refuse(env, h, v, signed(b, sign(env.me.id_sk, b)), "bad_signature")

    v = "shortsig.hostile-feed.net"
    b = env.body(v)
    refuse(env, h, v, signed(b, sign(env.me.id_sk, b)[:63]), "bad_signature")

    for i, (what, rep) in enumerate(non_canonical_variants(env, "x.hostile-feed.net")):
        # one value for all variants: none may be stored
        before = env.rejected("encoding")
        h.send([PUSH, rep])
        ol.wait_for(lambda: env.rejected("encoding") > before, timeout=20,
                    what=f"refusal of the {what} encoding")
    assert not env.found("x.hostile-feed.net")
    env.refused_values.append("x.hostile-feed.net")

    v = "outsider.hostile-feed.net"
    b = pack(body_map(env.community.id, env.outsider.id, v))
    refuse(env, h, v, signed(b, sign(env.outsider.id_sk, b)), "not_member")

    v = "epoch.hostile-feed.net"
    refuse(env, h, v, env.good(v, epoch=7), "unknown_epoch")

    for tlp in ("AMBER", "RED"):
        v = f"{tlp.lower()}.hostile-feed.net"
        refuse(env, h, v, env.good(v, tlp=tlp, recipients=[env.alpha.id]), "relayed")

    v = "future.hostile-feed.net"
    refuse(env, h, v, env.good(v, created=now_ms() + 24 * 3600 * 1000), "future")

    v = "community.hostile-feed.net"
    b = pack(body_map(os.urandom(32), env.me.id, v))
    refuse(env, h, v, signed(b, sign(env.me.id_sk, b)), "community")


def case_oversize_report(env):
    """A signed report over 16 KiB (PROTO_REPORT_MAX_BYTES) inside a frame the link
    accepts: refused as an encoding error or the link closed as a protocol violation."""
    v = "oversize.hostile-feed.net"
    m = body_map(env.community.id, env.me.id, v)
    m[10] = "y" * 2000
    b = pack(dict(sorted(m.items())))
    big = signed(b, sign(env.me.id_sk, b)) + b"\0" * 16000  # trailing junk past 16 KiB
    enc0, proto0 = env.rejected("encoding"), env.closed("protocol")
    h = Hostile(env)
    try:
        h.send([PUSH, big])
        ol.wait_for(lambda: env.rejected("encoding") > enc0 or env.closed("protocol") > proto0,
                    what="the oversize report refused")
    finally:
        h.close()
    assert not env.found(v)
    env.refused_values.append(v)


def case_malformed_link_message(env):
    before = env.closed("protocol")
    h = Hostile(env)
    try:
        h.send_plain(b"\x92\x04\xc0")   # PUSH whose payload is nil, not bin
        assert h.closed.wait(10), "link kept open after a malformed link message"
    finally:
        h.close()
    ol.wait_for(lambda: env.closed("protocol") == before + 1, what="closed.protocol count")


def case_oversize_frame(env):
    before = env.closed("frame")
    h = Hostile(env)
    try:
        with h.lock:
            h.p.send_frame(h.p.send_cs.encrypt_with_ad(b"", pack([PUSH, b"z" * 40000])))
        assert h.closed.wait(10), "link kept open after a frame over max_frame"
    finally:
        h.close()
    ol.wait_for(lambda: env.closed("frame") == before + 1, what="closed.frame count")


def anon_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise AssertionError("no RssAnon")


def case_ihave_flood(env):
    """100,000 unknown ids announced and never delivered: the node GRAFTs, gets nothing,
    stores nothing and stays within bounded memory."""
    h = Hostile(env)
    try:
        env.still_serving()
        rss0 = anon_kib(env.a.proc.pid)
        ids = []
        for _ in range(200):
            batch = [os.urandom(32) for _ in range(500)]   # 17 KB: under max_frame
            ids += batch
            h.send([IHAVE, batch])
        h.sync()
        # The node asks us for the announced reports (GRAFT) and gets nothing back.
        ol.wait_for(lambda: any(m[0] == GRAFT for m in h.received), timeout=20,
                    what="a GRAFT for the announced ids")
        assert env.status()["gossip"]["graft_sent"] > 0
        env.still_serving()
        st = env.status()
        assert st["store"]["reports"] == len(set(env_values(env))), st["store"]
        grown = anon_kib(env.a.proc.pid) - rss0
        assert grown < 64 * 1024, f"RssAnon grew by {grown} KiB under an IHAVE flood"
    finally:
        h.close()


def env_values(env):
    """Values A should hold: G's honest reports and the control."""
    return [f"honest{i}.gamma-feed.net" for i in range(1, env.served + 1)] + \
        ["control.hostile-feed.net"] + env.admitted


def case_garbage_recon(env):
    """RECON payloads that are not reconciliation messages: no crash, nothing stored."""
    h = Hostile(env)
    try:
        for n in (1, 7, 64, 1000):
            h.send([RECON, os.urandom(n)])
        h.send([RECON, pack([1, 0, [7]])])            # unknown range mode
        h.send([RECON, pack([2, 0])])                 # unknown version
        h.sync(allow_close=True)
    finally:
        h.close()


def case_refused_flood(env):
    """A member that keeps sending reports that fail admission (here 300 forged signatures,
    past the budget of 200 refusals per minute) has its link closed as abuse; none of
    the reports is stored."""
    abuse0 = env.closed("abuse")
    h = Hostile(env)
    try:
        for i in range(300):
            if h.closed.is_set():
                break
            v = f"flood{i}.hostile-feed.net"
            try:
                h.send([PUSH, signed(env.body(v), os.urandom(64))])
            except OSError:
                break  # closed while we flooded (the budget is the member's, across cases)
        assert h.closed.wait(60), "a member flooding refused reports kept its link"
        ol.wait_for(lambda: env.closed("abuse") == abuse0 + 1, what="closed.abuse count")
    finally:
        h.close()
    for i in range(300):
        assert not env.found(f"flood{i}.hostile-feed.net")


def case_valid_flood(env, kind=PUSH, prefix="valid"):
    """400 valid reports the peer signed itself, sent as fast as it can: A admits its
    remaining burst plus one a second, refuses the rest as rate_limited and, because the
    flooder signed them, closes its link as abuse past 200 refusals."""
    abuse0, limited0 = env.closed("abuse"), env.rejected("rate_limited")
    reports0 = env.status()["store"]["reports"]
    values = [f"{prefix}{i}.hostile-feed.net" for i in range(400)]
    h = Hostile(env)
    t0 = time.monotonic()
    try:
        for v in values:
            if h.closed.is_set():
                break
            try:
                h.send([kind, env.good(v)])
            except OSError:
                break
        assert h.closed.wait(60), "a member flooding valid reports kept its link"
        ol.wait_for(lambda: env.closed("abuse") == abuse0 + 1, what="closed.abuse count")
    finally:
        h.close()
    elapsed = time.monotonic() - t0
    stored = [v for v in values if env.found(v)]
    limited = env.rejected("rate_limited") - limited0
    assert limited > 200, f"only {limited} refused as rate_limited"
    # At most a full bucket (the control report was long ago) plus one a second.
    assert 1 <= len(stored) <= BURST + elapsed + 1, (len(stored), elapsed)
    assert env.status()["store"]["reports"] == reports0 + len(stored)
    env.admitted += stored
    print(f"    {len(stored)} admitted, {limited} refused as rate_limited in {elapsed:.1f} s",
          flush=True)


def case_valid_catchup_flood(env):
    """The same flood sent as CATCHUP copies no reconciliation session of A asked for:
    catch-up copies are exempt from the rate limit only when A's own session or FETCH asked
    the peer for them (node/overlay/catchup.c), so these are limited and charged exactly as
    gossip, and the link is closed as abuse."""
    case_valid_flood(env, CATCHUP, "cvalid")


def case_limit_delays(env):
    """G (honest) publishes 120 reports at once, over what is left of its burst at A
    (enough that one a second cannot make up the difference even under valgrind): A
    refuses some as rate_limited but keeps G's link. Raising the limit and turning on
    periodic catch-up by SIGHUP then brings every one of them."""
    abuse0, limited0 = env.closed("abuse"), env.rejected("rate_limited")
    values = [f"batch{i}.gamma-feed.net" for i in range(BATCH)]
    r = env.g.call({"op": "publish",
                    "reports": [{"value": v, "tlp": "GREEN"} for v in values]})
    assert r.get("ok") and r["accepted"] == BATCH, r
    ol.wait_for(lambda: env.rejected("rate_limited") > limited0, timeout=30,
                what="part of G's batch refused as rate_limited")
    held = sum(1 for v in values if env.found(v))
    assert held < BATCH, f"the whole batch passed a burst of {BURST}"
    assert env.closed("abuse") == abuse0, "an honest member was disconnected"
    text = open(env.node_a.config).read()
    text = text.replace(env.limits, "member_rate_per_min = 0\n").replace(
        "recon_interval_s = 0\n", "recon_interval_s = 1\n")
    env.node_a.write_config(text=text)
    env.a.signal(signal.SIGHUP)
    env.a.wait_log("configuration reloaded")
    ol.wait_for(lambda: all(env.found(v) for v in values), timeout=60,
                what="catch-up bringing the rest of G's batch")
    assert env.closed("abuse") == abuse0
    env.admitted += values
    print(f"    {held} of {BATCH} passed at once, the rest came by catch-up", flush=True)


def case_roster_parts(env):
    """ROSTER_PART messages out of order are dropped; parts in order that join into
    garbage reach roster verification, which refuses them. The roster stays at epoch 1."""
    h = Hostile(env)
    try:
        before = env.status()["gossip"]["roster"]["received"]
        h.send([14, 1, 3, b"x" * 100])                  # no part 0 first
        h.send([14, 0, 3, b"x" * 100])
        h.send([14, 2, 3, b"x" * 100])                  # skips part 1
        h.send([14, 0, 2, os.urandom(20000)])            # under this node's max_frame
        h.send([14, 1, 2, os.urandom(20000)])            # complete, but not a roster
        h.sync()
        st = env.status()
        assert st["gossip"]["roster"]["received"] == before + 1, st["gossip"]["roster"]
        assert st["roster"]["epoch"] == 1, st["roster"]
    finally:
        h.close()


def bogus_rosters(env, n, members=150):
    """@n signed-looking rosters of epochs 2..n+1 with @members valid member entries each,
    signed with random bytes: each decodes, and only the signature check refuses it."""
    s = dl.sodium()
    entries = []
    for i in range(members):
        member_id, _ = s.ed25519_keypair()
        ring_pk, _ = s.ristretto_keypair()
        entries.append({0: member_id, 1: f"Bogus {i}", 4: os.urandom(32), 5: ring_pk})
    entries.sort(key=lambda m: m[0])
    out = []
    for k in range(n):
        body = dl.pack({0: 1, 1: env.community.id, 2: env.community.name, 3: 2 + k, 4: 1,
                        5: [env.community.steward_pk], 6: {0: 4, 1: False, 2: 0},
                        7: entries})
        out.append(dl.pack([body, [[0, os.urandom(64)]]]))
    return out


def ping_ms(h):
    t0 = time.monotonic()
    h.sync()
    return (time.monotonic() - t0) * 1000


def status_ms(env):
    t0 = time.monotonic()
    env.status()
    return (time.monotonic() - t0) * 1000


def case_roster_bombs(env):
    """100 bogus rosters (150 members each, newer epochs, garbage signatures) from one member
    cost the loop only their cheap checks: a PING sent right behind them is answered, and a
    `status` asked meanwhile is answered, at most 50 ms later than without them (each the
    best of up to five rounds: the machine is shared, and one round's figure moves by tens
    of milliseconds under load). None is adopted."""
    bombs = bogus_rosters(env, 100)
    assert len(bombs[0]) < MAX_FRAME - 64, len(bombs[0])
    h = Hostile(env)
    try:
        before = env.status()["gossip"]
        # 50 ms at native speed. Valgrind (the valgrind label) runs one thread at a time, so
        # work moved off the loop still delays it there: the latency bound says nothing
        # under valgrind and is not asserted; the rest of the case (every roster counted,
        # none adopted, no memory error) still is.
        timed = "valgrind" not in os.environ.get("CHATHAM_DAEMON_WRAPPER", "")
        bound = 50 if timed else float("inf")
        added = []
        for _ in range(5):
            base_ping = min(ping_ms(h) for _ in range(3))
            base_status = min(status_ms(env) for _ in range(3))
            for b in bombs:
                h.send([ROSTER, b])
            lat = {}
            t = threading.Thread(target=lambda: lat.setdefault("status", status_ms(env)))
            t.start()
            lat["ping"] = ping_ms(h)
            t.join()
            added.append((lat["ping"] - base_ping, lat["status"] - base_status))
            if not timed or (min(a for a, _ in added) <= bound and
                             min(b for _, b in added) <= bound):
                break
        print(f"    roster bombs: added delay (PING, status) in ms per round: "
              f"{[(round(a), round(b)) for a, b in added]}", flush=True)
        assert min(a for a, _ in added) <= bound and min(b for _, b in added) <= bound, added
        ol.wait_for(lambda: env.status()["gossip"]["roster"]["received"] >=
                    before["roster"]["received"] + 100 * len(added), what="the rosters counted")
        st = env.status()
        assert st["roster"]["epoch"] == 1, st["roster"]
        assert st["gossip"]["roster"]["adopted"] == before["roster"]["adopted"]
    finally:
        h.close()


def case_recon_never_converges(env):
    """We open a session and answer every reply with a fresh random fingerprint over the
    whole key space, so it can never converge. While that runs, the node keeps serving G
    (gossip) and its API, and once the peer is past its budget of failed sessions the node
    closes the link as abuse and counts it."""
    abuse0 = env.closed("abuse")
    h = Hostile(env)
    stop = threading.Event()
    rounds = [0]

    def attacker():
        seen = 0
        h.send([RECON, pack([1, 0, [1, os.urandom(16), 1000000]])])
        while not stop.is_set() and not h.closed.is_set():
            n = sum(1 for m in list(h.received) if m[0] == RECON)
            if n > seen:
                seen = n
                rounds[0] += 1
                h.send([RECON, pack([1, 0, [1, os.urandom(16), 1000000]])])
            else:
                time.sleep(0.005)
    t = threading.Thread(target=attacker)
    t.start()
    try:
        ol.wait_for(lambda: rounds[0] >= 10, timeout=20, what="the node answering rounds")
        for _ in range(5):
            env.still_serving()
        assert env.a.call({"op": "status"})["ok"]
        assert h.closed.wait(120), "a never-converging peer kept its link"
        ol.wait_for(lambda: env.closed("abuse") == abuse0 + 1, what="closed.abuse count")
        st = env.a.call({"op": "status"})
        assert st["gossip"]["links_closed_abusive"] >= 1, st["gossip"]
    finally:
        stop.set()
        t.join(30)
        h.close()
    print(f"    {rounds[0]} reconciliation rounds answered meanwhile", flush=True)


def recon_ids(h, since_ms):
    """Opens a catch-up session whose only compared range is [since_ms, +inf), with a
    fingerprint that cannot match; a node holding few reports there answers with their ids,
    which are returned."""
    n0 = len(h.received)
    h.send([RECON, pack([1, 0, [since_ms, b"", 0], [1, os.urandom(16), 1]])])
    ol.wait_for(lambda: any(m[0] == RECON for m in h.received[n0:]), timeout=20,
                what="the node's RECON answer")
    answer = msgpack.unpackb(next(m[1] for m in h.received[n0:] if m[0] == RECON))
    assert answer[:2] == [1, 1], answer
    ids = set()
    ranges = answer[2:]
    for i, r in enumerate(ranges):
        mode, args = (r[0], r[1:]) if i == len(ranges) - 1 else (r[2], r[3:])
        assert mode != 1, f"fingerprint where an id list was expected: {answer}"
        if mode == 2:
            ids |= {args[0][j:j + 32] for j in range(0, len(args[0]), 32)}
    return ids


def test_stem_hidden_from_catchup():
    """An anonymous report in its stem phase at its origin is not in the origin's
    reconciliation set: a member running catch-up against the origin (here its only link,
    so also its stem relay) does not find it there until the stem has ended, while an
    attributed report published at the same time is listed at once."""
    env = Env()
    ok = False
    try:
        env.a.start()
        h = Hostile(env)
        try:
            ol.wait_for(lambda: len(ol.links_up(env.a)) == 1, what="the peer's link up")
            since = now_ms() - 1000
            r = env.a.call({"op": "publish", "value": "attributed.alpha-feed.net",
                            "tlp": "GREEN"})
            assert r.get("ok"), r
            attributed = bytes.fromhex(r["report_id"])
            r = env.a.call({"op": "publish", "value": "anonymous.alpha-feed.net",
                            "tlp": "GREEN", "anonymous": True})
            assert r.get("ok"), r
            anonymous = bytes.fromhex(r["report_id"])
            stem = env.status()["gossip"]["stem"]
            assert stem["originated"] == 1 and stem["embargoed"] == 1, stem
            ids = recon_ids(h, since)
            assert env.status()["gossip"]["stem"]["embargoed"] == 1, "stem ended too soon"
            assert attributed in ids, "the attributed report is missing from the answer"
            assert anonymous not in ids, "catch-up showed a report still in its stem"
            # The embargo ends (the relay never fluffs it): the origin fluffs, and from
            # then on catch-up lists it like any other report.
            ol.wait_for(lambda: env.status()["gossip"]["stem"]["embargoed"] == 0,
                        timeout=30, what="the origin's embargo to end")
            ids = recon_ids(h, since)
            assert {attributed, anonymous} <= ids, "not listed after the stem ended"
        finally:
            h.close()
        assert env.a.stop() == 0
        ok = True
    finally:
        if env.a.proc and env.a.proc.poll() is None:
            env.a.kill()
        if not ok:
            print(f"--- log of node A:\n{env.a.log()[-5000:]}---", flush=True)
        env.node_a.cleanup()
        env.node_g.cleanup()


def test_hostile_member():
    env = Env()
    ok = False
    try:
        env.a.start()
        env.g.start()
        ol.wait_for(lambda: len(ol.links_up(env.a)) >= 1, timeout=30, what="A-G link")
        env.still_serving()
        h = Hostile(env)
        try:
            ol.wait_for(lambda: len(ol.links_up(env.a)) >= 2, what="the hostile link up")
            report_cases(env, h)
        finally:
            h.close()
        env.still_serving()
        for case in (case_malformed_link_message, case_oversize_frame, case_oversize_report,
                     case_ihave_flood, case_garbage_recon, case_roster_parts, case_roster_bombs,
                     case_refused_flood,
                     case_recon_never_converges, case_valid_flood,
                     case_valid_catchup_flood, case_limit_delays):
            case(env)
            env.still_serving()
            print(f"  ok {case.__name__}", flush=True)
        st = env.status()
        assert st["store"]["reports"] == len(env_values(env)), st["store"]
        assert env.a.stop() == 0
        for v in env.refused_values:
            assert not raw_store_has(env.node_a.state, v), f"{v} in A's raw store"
        assert env.g.stop() == 0
        ok = True
    finally:
        for d in (env.a, env.g):
            d.kill()
            if not ok:
                print(f"--- log of {d.node.root}:\n{d.log()[-5000:]}---", flush=True)
        env.node_a.cleanup()
        env.node_g.cleanup()


def raw_store_has(state, value):
    """Whether @value occurs anywhere in the main store's file, free pages included."""
    with open(os.path.join(state, "data.mdb"), "rb") as f:
        return value.encode() in f.read()


if __name__ == "__main__":
    dl.main([test_stem_hidden_from_catchup, test_hostile_member])
