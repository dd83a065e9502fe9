# SPDX-License-Identifier: MIT
"""Rolling upgrade. Six members start on the previous release (chatham 0.1.0 as of the end
of round 1, built here from tests/data/releases/chatham-0.1.0-r1.tar.xz: store schema 1,
no HELLO version range) and are upgraded one at a time to this build, on their own state
directories, while reports are published steadily to random running members. Half way, three
old and three new nodes run side by side: each side publishes and the overlay links old to
new. At the end every acknowledged report is on every node (the new binary migrated every
schema-1 store in place, and nothing a node acknowledged was lost on the way), and the old
binary, started on a migrated store, refuses it with a clear error instead of misreading it.

Timing figures (seconds per upgrade step, reports acknowledged) are printed, not asserted.
"""

import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import netbed as nb  # noqa: E402

N = 6
RELEASE = "chatham-0.1.0-r1"


def data_dir():
    src = os.environ.get("CHATHAM_SOURCE_DIR") or os.path.join(nb.HERE, "..", "..")
    return os.path.join(src, "tests", "data", "releases")


def build_old(root):
    """Builds the previous release's `chatham` (Release, no tests) under @root; its path."""
    tarball = os.path.join(data_dir(), RELEASE + ".tar.xz")
    assert os.path.exists(tarball), f"test data missing: {tarball}"
    subprocess.run(["tar", "-xJf", tarball, "-C", root], check=True)
    src, build = os.path.join(root, RELEASE), os.path.join(root, "build-old")
    for cmd in (["cmake", "-S", src, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                 "-DCHATHAM_TESTS=OFF"],
                ["cmake", "--build", build, "-j", str(os.cpu_count() or 2),
                 "--target", "chatham"]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0, f"{' '.join(cmd)}:\n{r.stdout[-3000:]}{r.stderr[-3000:]}"
    path = os.path.join(build, "node", "chatham")
    v = subprocess.run([path, "--version"], capture_output=True, text=True)
    assert v.returncode == 0 and v.stdout.startswith("chatham 0.1.0"), (v.stdout, v.stderr)
    return path


class VersionedDaemon(nb.NsDaemon):
    """An NsDaemon running a given chatham binary."""

    def __init__(self, node, ns, binary):
        super().__init__(node, ns)
        self.binary = binary

    def start(self, wait=True, timeout=60):
        self.errf = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, self.binary, "run", "--config", self.node.config],
            stdin=subprocess.DEVNULL, stdout=self.errf, stderr=self.errf, env=self.env)
        if wait:
            self.wait_ready(timeout)
        return self


class Publisher:
    """Publishes one report at a time to a random running member; keeps what was acked."""

    def __init__(self, members, rng):
        self.members, self.rng, self.k, self.acked = members, rng, 0, []

    def one(self, only=None):
        up = [i for i in (only if only is not None else range(N))
              if self.members.daemons[i].running()]
        target = self.rng.choice(up)
        value = f"u{self.k}.upgrade.example"
        self.k += 1
        try:
            r = self.members.daemons[target].call(
                {"op": "publish", "reports": [{"value": value, "tlp": "GREEN",
                                               "type": "domain"}]})
            if r.get("ok") and r.get("accepted") == 1:
                self.acked.append(value)
        except (OSError, ConnectionError, ValueError):
            pass  # a member between binaries: not acknowledged, not required

    def for_seconds(self, s, only=None):
        end = time.monotonic() + s
        while time.monotonic() < end:
            self.one(only)
            time.sleep(0.05)  # the publish rate, not synchronisation


def converged(members, acked):
    d = members.daemons
    nb.wait_for(lambda: all(x.running() for x in d) and
                len({nb.reports(x) for x in d}) == 1 and nb.reports(d[0]) >= len(acked),
                timeout=90, what="every member to hold the same reports")
    for x in d:
        for v in acked:
            assert nb.has(x, v), f"acknowledged report {v} missing on {x.node.root}"


def test_rolling_upgrade():
    bed = nb.Bed()
    members = None
    ok = False
    rng = random.Random(16)
    try:
        old = build_old(bed.root)
        new = nb.daemonlib.chatham_bin()
        members = nb.Members(bed, N, lambda i, j: [nb.hostport(nb.v4(j), nb.PORT)], degree=3,
                             gossip="recon_interval_s = 1\n")
        members.daemons = [VersionedDaemon(n, members.ns[i], old)
                           for i, n in enumerate(members.nodes)]
        for x in members.daemons:
            x.start(wait=False)
        for x in members.daemons:
            x.wait_ready()
        nb.wait_for(lambda: all(nb.links_up(x) >= 2 for x in members.daemons), timeout=30,
                    what="the old overlay")
        pub = Publisher(members, rng)
        pub.for_seconds(3)
        steps = []
        for i in range(N):
            t0 = time.monotonic()
            assert members.daemons[i].stop() == 0, members.daemons[i].log()[-3000:]
            pub.for_seconds(0.5)  # while node i is down
            members.daemons[i] = VersionedDaemon(members.nodes[i], members.ns[i], new)
            members.daemons[i].start()
            nb.wait_for(lambda: nb.links_up(members.daemons[i]) >= 1, timeout=30,
                        what=f"upgraded node {i} linked")
            steps.append(time.monotonic() - t0)
            pub.for_seconds(2)
            if i == N // 2 - 1:
                # Half old, half new: both sides publish, the overlay links across.
                pub.for_seconds(2, only=range(N // 2))
                pub.for_seconds(2, only=range(N // 2, N))
                converged(members, pub.acked)
                cross = [(a, b) for a, b in members.overlay_edges() if a < N // 2 <= b]
                assert cross, f"no link between old and new nodes: {members.overlay_edges()}"
        converged(members, pub.acked)
        print(f"figures: upgrade n={N} acknowledged={len(pub.acked)} published={pub.k} "
              f"step_s={[round(s, 1) for s in steps]}", flush=True)
        assert len(pub.acked) >= pub.k // 2, (len(pub.acked), pub.k)

        # The old binary refuses a store the new one migrated, naming why.
        assert members.daemons[0].stop() == 0
        back = VersionedDaemon(members.nodes[0], members.ns[0], old)
        back.start(wait=False)
        code = back.proc.wait(60)
        back.kill()
        log = back.log()
        assert code != 0, f"old binary ran on a migrated store:\n{log[-3000:]}"
        assert "newer" in log and "schema" in log, log[-3000:]
        for i in range(1, N):
            members.stop(i)
        ok = True
    finally:
        if members:
            members.cleanup(failed=not ok)
        bed.close()


if __name__ == "__main__":
    nb.main([test_rolling_upgrade])
