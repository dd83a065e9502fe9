# SPDX-License-Identifier: MIT
"""Helpers for the overlay integration tests (test_overlay_*.py).

NoisePeer speaks chatham's link protocol over a real TCP socket with an implementation that
shares no code with chatham: Debian's python3-dissononce for Noise_XXpsk0_25519_ChaChaPoly_
BLAKE2b, python3-msgpack for the link messages (proto/link.h), and the framing written out
here (2-byte big-endian length + one Noise message).

Nodes get a network key file, addresses in the roster and an [overlay] section on top of
daemonlib's fixtures.
"""

import os
import socket
import struct
import time

import msgpack
from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.dh.x25519.private import PrivateKey
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.hash.blake2b import Blake2bHash
from dissononce.processing.handshakepatterns.interactive.XX import XXHandshakePattern
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState
from dissononce.processing.modifiers.psk import PSKPatternModifier

import daemonlib

HELLO, PING, PONG, REKEY = 0, 1, 2, 3


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def member_entry(member, addrs):
    m = member.roster_entry()
    if addrs:
        m[6] = list(addrs)
    return dict(sorted(m.items()))


def roster_file(community, addrs, epoch=1, members=None):
    """Signed roster like daemonlib's, with member addresses (@addrs: member -> list)."""
    return signed_roster(community, addrs, epoch, members)


def signed_roster(community, addrs, epoch=1, members=None, stewards=None, threshold=1,
                  signers=None, settings=None):
    """A roster of @community with member addresses (@addrs: member name -> list).
    @stewards: the steward public keys it names (default: the community's one steward),
    @threshold: its k, @signers: [(index into the AUTHORISING steward set, secret key)]
    (default: the community's steward as index 0), @settings: the settings map."""
    s = daemonlib.sodium()
    members = community.members if members is None else members
    stewards = [community.steward_pk] if stewards is None else stewards
    signers = [(0, community.steward_sk)] if signers is None else signers
    body = daemonlib.pack({0: 1, 1: community.id, 2: community.name, 3: epoch, 4: threshold,
                           5: stewards, 6: settings or {0: 4, 1: False, 2: 0},
                           7: [member_entry(m, addrs.get(m.name, []))
                               for m in sorted(members, key=lambda m: m.id)]})
    sigs = [[i, s.ed25519_sign(sk, b"chatham/roster/1" + body)] for i, sk in sorted(signers)]
    return daemonlib.pack([body, sigs])


def netkey_file(key):
    return daemonlib.pack({0: "chatham-network-key", 1: 1, 2: key})


OVERLAY_FAST = (f"keepalive_ms = {500 * daemonlib.SLOW}\n"
                f"dead_after_ms = {3000 * daemonlib.SLOW}\n"
                "backoff_min_ms = 100\nbackoff_max_ms = 800\n")


def overlay_node(community, index, netkey, listen_port, addrs, overlay_extra="",
                 extra_config="", root=None, listen=None):
    """A daemonlib.Node with a network key, a roster with @addrs and an [overlay] section
    listening on @listen ("host:port"; default 127.0.0.1:@listen_port)."""
    node = daemonlib.Node(community, member_index=index, root=root)
    node.netkey = os.path.join(node.root, "network.key")
    daemonlib.write_file(node.netkey, netkey_file(netkey), 0o600)
    daemonlib.write_file(node.roster, roster_file(community, addrs))
    node.port = listen_port
    text = node.config_text()
    text = text.replace("[api]\n", f"network_key_file = {node.netkey}\n[api]\n", 1)
    listen = listen or f"127.0.0.1:{listen_port}"
    text += f"[overlay]\nlisten = {listen}\n{overlay_extra}{extra_config}"
    node.write_config(text=text)
    return node


def peers(daemon):
    r = daemon.call({"op": "peers"})
    assert r.get("ok"), r
    return r


def wait_for(pred, timeout=20, what="condition", interval=0.05):
    """Polls @pred until it returns a true value (returned) or @timeout passes."""
    deadline = time.monotonic() + timeout * daemonlib.SLOW
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def links_up(daemon):
    return [p for p in peers(daemon)["peers"] if p["state"] == "up"]


def closed_count(daemon, reason):
    return peers(daemon)["closed"][reason]


def prologue(community):
    return b"chatham/1" + community.id


class NoisePeer:
    """One chatham link from the Python side, as initiator (connect) or responder (accept)."""

    def __init__(self, sock, community, netkey, tx_sk, initiator):
        self.sock = sock
        self.sock.settimeout(10)
        self.buf = b""
        self.hs = HandshakeState(SymmetricState(CipherState(ChaChaPolyCipher()),
                                                Blake2bHash()), X25519DH())
        self.hs.initialize(PSKPatternModifier(0).modify(XXHandshakePattern()), initiator,
                           prologue(community),
                           s=X25519DH().generate_keypair(PrivateKey(tx_sk)), psks=[netkey])
        self.initiator = initiator
        self.send_cs = self.recv_cs = None

    @classmethod
    def connect(cls, port, community, netkey, tx_sk):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        return cls(s, community, netkey, tx_sk, True)

    # framing
    def send_frame(self, msg):
        self.sock.sendall(struct.pack(">H", len(msg)) + msg)

    def recv_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("peer closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self):
        (n,) = struct.unpack(">H", self.recv_exact(2))
        return self.recv_exact(n)

    # handshake
    def _write(self):
        buf = bytearray()
        res = self.hs.write_message(b"", buf)
        self.send_frame(bytes(buf))
        return res

    def _read(self):
        payload = bytearray()
        res = self.hs.read_message(self.recv_frame(), payload)
        assert payload == b"", "chatham handshake payloads are empty"
        return res

    def _split(self, res):
        # Noise: the first CipherState encrypts initiator -> responder.
        c1, c2 = res
        self.send_cs, self.recv_cs = (c1, c2) if self.initiator else (c2, c1)

    def handshake(self):
        if self.initiator:
            self._write()                 # -> psk, e
            self._read()                  # <- e, ee, s, es
            self._split(self._write())    # -> s, se
        else:
            self._read()
            self._write()
            self._split(self._read())
        return self.hs.rs.data            # remote static key

    # transport
    def send_link(self, obj):
        self.send_frame(self.send_cs.encrypt_with_ad(b"", msgpack.packb(obj, use_bin_type=True)))

    def recv_link(self):
        pt = self.recv_cs.decrypt_with_ad(b"", self.recv_frame())
        return msgpack.unpackb(pt, raw=False, strict_map_key=False)

    def hello(self, member_id, epoch=1):
        self.send_link([HELLO, {0: 1, 1: member_id, 2: epoch}])

    def recv_until(self, pred, answer_pings=True, timeout=10):
        """Reads link messages (answering PINGs) until @pred(msg) is true; returns msg."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.recv_link()
            if answer_pings and m[0] == PING:
                self.send_link([PONG, m[1]])
            if pred(m):
                return m
        raise AssertionError("expected link message not received")

    def closed_by_peer(self, timeout=10):
        """True when the peer closes the connection within @timeout; returns bytes read."""
        self.sock.settimeout(timeout)
        got = len(self.buf)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return got
                got += len(chunk)
        except ConnectionResetError:
            return got

    def close(self):
        self.sock.close()


def expect_closed_without_bytes(sock, timeout=10):
    """Reads until EOF; returns the number of bytes received (the tests expect 0)."""
    sock.settimeout(timeout)
    got = 0
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return got
            got += len(chunk)
    except ConnectionResetError:
        return got
