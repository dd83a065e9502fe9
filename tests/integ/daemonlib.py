# SPDX-License-Identifier: MIT
"""Harness for integration tests that run real `chatham run` daemons.

Fixtures (member key bundles, the community file, signed rosters) are written here by an
independent implementation of the formats in proto/keys.h, proto/community.h and
proto/roster.h: canonical msgpack from Debian's python3-msgpack, and the crypto from the
system libsodium through ctypes (Ed25519, X25519, ristretto255), so these tests also check
that chatham reads files it did not write itself.

Daemons run on temporary directories with their API socket inside the directory. Readiness
is polled (the socket answers a `status` request), never slept for, and every daemon is
killed in a finally block by the test that started it (Daemon is a context manager).
"""

import ctypes
import ctypes.util
import json
import os
import select
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import msgpack


def chatham_bin():
    path = os.environ.get("CHATHAM_BIN")
    if not path:
        build = os.environ.get("CHATHAM_BUILD_DIR", "")
        path = os.path.join(build, "node", "chatham")
    if not os.access(path, os.X_OK):
        raise SystemExit(f"chatham binary not found at {path!r} (set CHATHAM_BIN)")
    return path


def daemon_command(*args):
    """The argv that starts `chatham @args` as a daemon: $CHATHAM_DAEMON_WRAPPER (split like
    a shell would, e.g. "valgrind --error-exitcode=99 --leak-check=full") goes in front.
    The wrapper must exec the program in the same process (valgrind does), so that signals
    sent to Daemon.proc reach the daemon."""
    wrapper = shlex.split(os.environ.get("CHATHAM_DAEMON_WRAPPER", ""))
    return wrapper + [chatham_bin(), *args]


class Sodium:
    """The few libsodium calls the fixtures need."""

    def __init__(self):
        name = ctypes.util.find_library("sodium") or "libsodium.so.23"
        self.lib = ctypes.CDLL(name)
        if self.lib.sodium_init() < 0:
            raise RuntimeError("sodium_init failed")

    def ed25519_keypair(self):
        pk = ctypes.create_string_buffer(32)
        sk = ctypes.create_string_buffer(64)
        self.lib.crypto_sign_keypair(pk, sk)
        return pk.raw, sk.raw

    def ed25519_sign(self, sk, msg):
        sig = ctypes.create_string_buffer(64)
        self.lib.crypto_sign_detached(sig, None, msg, ctypes.c_ulonglong(len(msg)), sk)
        return sig.raw

    def x25519_keypair(self):
        sk = os.urandom(32)
        pk = ctypes.create_string_buffer(32)
        self.lib.crypto_scalarmult_base(pk, sk)
        return pk.raw, sk

    def ristretto_keypair(self):
        while True:
            sk = ctypes.create_string_buffer(32)
            self.lib.crypto_core_ristretto255_scalar_reduce(sk, os.urandom(64))
            if sk.raw != bytes(32):
                break
        pk = ctypes.create_string_buffer(32)
        if self.lib.crypto_scalarmult_ristretto255_base(pk, sk) != 0:
            raise RuntimeError("ristretto255 base multiplication failed")
        return pk.raw, sk.raw


SODIUM = None

# Under a wrapper (valgrind, 20-50x slower) liveness deadlines and waits stretch by this
# factor: what the tests assert is what happens, not how fast a slowed-down daemon is.
SLOW = 4 if os.environ.get("CHATHAM_DAEMON_WRAPPER") else 1


def sodium():
    global SODIUM
    if SODIUM is None:
        SODIUM = Sodium()
    return SODIUM


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


class Member:
    def __init__(self, name, domains=()):
        s = sodium()
        self.name = name
        self.domains = list(domains)
        self.id, self.id_sk = s.ed25519_keypair()
        self.tx_pk, self.tx_sk = s.x25519_keypair()
        self.ring_pk, self.ring_sk = s.ristretto_keypair()
        self.poc = None           # roster member key 7 (proto/poc.h), a map, when set
        self.constituency = None  # roster member key 8

    def key_bundle(self):
        return pack({0: "chatham-member-key", 1: 1, 2: self.id_sk, 3: self.tx_sk,
                     4: self.ring_sk})

    def roster_entry(self):
        m = {0: self.id, 1: self.name}
        if self.domains:
            m[3] = self.domains
        m[4] = self.tx_pk
        m[5] = self.ring_pk
        if self.poc:
            m[7] = self.poc
        if self.constituency:
            m[8] = self.constituency
        return m


class Community:
    """A community with one steward (k = 1) and its members."""

    def __init__(self, name="Test CSIRTs", members=("Alpha CERT", "Beta CSIRT")):
        s = sodium()
        self.name = name
        self.id = os.urandom(32)
        self.steward_pk, self.steward_sk = s.ed25519_keypair()
        self.members = [Member(m, domains=[m.split()[0].lower() + ".example"])
                        for m in members]

    def community_file(self):
        return pack({0: "chatham-community", 1: 1, 2: self.id, 3: self.name,
                     4: [self.steward_pk], 5: 1})

    def roster_file(self, epoch=1, members=None):
        members = self.members if members is None else members
        body = pack({0: 1, 1: self.id, 2: self.name, 3: epoch, 4: 1, 5: [self.steward_pk],
                     6: {0: 4, 1: False, 2: 0},
                     7: [m.roster_entry() for m in sorted(members, key=lambda m: m.id)]})
        sig = sodium().ed25519_sign(self.steward_sk, b"chatham/roster/1" + body)
        return pack([body, [[0, sig]]])


def write_file(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


class Node:
    """One node's directory: key, community, roster, config, state and socket."""

    def __init__(self, community, member_index=0, root=None, extra_config=""):
        self.root = root or tempfile.mkdtemp(prefix="chatham-integ-")
        self.community = community
        self.member = community.members[member_index]
        self.key = os.path.join(self.root, "member.key")
        self.community_path = os.path.join(self.root, "community")
        self.roster = os.path.join(self.root, "roster")
        self.state = os.path.join(self.root, "state")
        self.export = os.path.join(self.root, "export")
        self.socket = os.path.join(self.root, "api.sock")
        self.config = os.path.join(self.root, "chatham.conf")
        write_file(self.key, self.member.key_bundle(), 0o600)
        write_file(self.community_path, community.community_file())
        write_file(self.roster, community.roster_file())
        self.write_config(extra_config)

    def config_text(self, extra=""):
        return (f"[node]\nstate_dir = {self.state}\nexport_dir = {self.export}\n"
                f"key_file = {self.key}\ncommunity_file = {self.community_path}\n"
                f"roster_file = {self.roster}\n[api]\nsocket = {self.socket}\n" + extra)

    def write_config(self, extra="", text=None):
        write_file(self.config, (text if text is not None else self.config_text(extra)).encode())

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


class ApiClient:
    """Newline-delimited JSON over the node's Unix socket."""

    def __init__(self, path, timeout=60):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv_line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("node closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, obj):
        self.send_raw(json.dumps(obj).encode() + b"\n")
        return self.recv_line()

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Daemon:
    """A running `chatham run`; use as a context manager so it is always killed."""

    def __init__(self, node, env=None, stderr_path=None):
        self.node = node
        self.env = dict(os.environ)
        self.env.pop("NOTIFY_SOCKET", None)
        self.env.pop("WATCHDOG_USEC", None)
        self.env.pop("JOURNAL_STREAM", None)
        if env:
            self.env.update(env)
        self.stderr_path = stderr_path or os.path.join(node.root, "daemon.log")
        self.proc = None

    def start(self, wait=True, timeout=30):
        self.errf = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(daemon_command("run", "--config", self.node.config),
                                     stdin=subprocess.DEVNULL, stdout=self.errf,
                                     stderr=self.errf, env=self.env)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited with {self.proc.returncode} during "
                                     f"start-up:\n{self.log()}")
            try:
                with ApiClient(self.node.socket, timeout=5) as c:
                    r = c.call({"op": "status"})
                    if r.get("ok"):
                        return r
            except (OSError, ConnectionError, ValueError):
                pass
            time.sleep(0.02)
        raise AssertionError(f"daemon not ready after {timeout}s:\n{self.log()}")

    def client(self, timeout=60):
        return ApiClient(self.node.socket, timeout * SLOW)

    def call(self, obj):
        with self.client() as c:
            return c.call(obj)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=60):
        """SIGTERM and wait; returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout * SLOW)
        finally:
            self.errf.close()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if getattr(self, "errf", None) and not self.errf.closed:
            self.errf.close()

    def log(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def wait_log(self, text, timeout=30):
        """Polls the daemon's stderr until @text appears."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"{text!r} not logged:\n{self.log()}")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.kill()
        if exc_type is not None:
            print(f"--- log of the daemon on {self.node.root}:\n{self.log()}---", flush=True)


def run_cli(*args, env=None, input=None, timeout=120):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([chatham_bin(), *args], capture_output=True, text=True, env=e,
                          input=input, timeout=timeout)


class NotifyListener:
    """A real NOTIFY_SOCKET: an AF_UNIX datagram socket collecting sd_notify messages."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def wait_for(self, key_value, timeout=30):
        """Returns the messages received until one contains the line @key_value."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.messages:
                if key_value in m.split("\n"):
                    return self.messages
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{key_value!r} not received; got {self.messages!r}")
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                self.messages.append(self.sock.recv(4096).decode())

    def close(self):
        self.sock.close()


def main(tests):
    """Runs each test function; prints a closing 'N passed, N failed' line."""
    import traceback
    passed = failed = 0
    # CHATHAM_TEST_EXCLUDE: space-separated test function names to leave out (the valgrind
    # suite drops tests whose volume only makes sense at native speed).
    exclude = set(os.environ.get("CHATHAM_TEST_EXCLUDE", "").split())
    for t in tests:
        if t.__name__ in exclude:
            print(f"skip {t.__name__} (CHATHAM_TEST_EXCLUDE)", flush=True)
            continue
        try:
            t()
            print(f"ok   {t.__name__}", flush=True)
            passed += 1
        except Exception:
            print(f"FAIL {t.__name__}", flush=True)
            traceback.print_exc()
            failed += 1
    print(f"{passed} passed, {failed} failed")
    raise SystemExit(1 if failed else 0)
