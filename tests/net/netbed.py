# SPDX-License-Identifier: MIT
"""A network test bed: chatham members on separate (virtual) machines.

Each member runs `chatham run` in its own network namespace, attached by a veth pair to a
bridge in the bed's hub namespace. Addresses come only from 198.18.0.0/15 and
2001:db8::/32 and exist only inside the namespaces the bed creates. WAN delay and loss come
from relay.py (per-link delaying TCP relays in the hub namespace) because the kernel has no
netem; nothing is slowed inside the node.

Names: every namespace is `chnet<pid>-<role>`, so a bed never touches another's, and a bed
starting up removes the namespaces of earlier beds whose process is gone (a sweep of its own
prefix). Everything a bed creates is removed by Bed.close(), which runs from the test's
finally block and again from atexit; it is safe to call twice.

Fixtures (keys, community, signed roster, network key, configs) come from tests/integ's
daemonlib and overlaylib. Run as root with /usr/bin/python3.
"""

import atexit
import heapq
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integ"))

import chathamtest  # noqa: E402
import daemonlib  # noqa: E402
import overlaylib  # noqa: E402

PREFIX = "chnet"
PORT = 7400
HUB4, HUB6 = "198.18.0.1", "2001:db8::1"
NETNS_ETC = "/etc/netns"

wait_for = overlaylib.wait_for

# Overlay timers for the bed: links across a 20-80 ms WAN with loss episodes, detected dead
# within a few seconds and redialled quickly.
OVERLAY_BED = ("keepalive_ms = 500\ndead_after_ms = 4000\nbackoff_min_ms = 200\n"
               "backoff_max_ms = 2000\n")


def long_run():
    """The long variant of each scenario (CHATHAM_NET_LONG=1, or --long on the command line)."""
    return os.environ.get("CHATHAM_NET_LONG") == "1" or "--long" in sys.argv


def run(*args, ns=None, check=True, input=None):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + [str(a) for a in args]
    r = subprocess.run(cmd, capture_output=True, text=True, input=input)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def ip(*args, ns=None):
    return run("ip", *(["-n", ns] if ns else []), *args)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _delete_ns(name):
    pids = run("ip", "netns", "pids", name, check=False).stdout.split()
    for p in pids:
        try:
            os.kill(int(p), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    run("ip", "netns", "del", name, check=False)
    shutil.rmtree(os.path.join(NETNS_ETC, name), ignore_errors=True)


def sweep():
    """Removes the namespaces (and /etc/netns dirs) of earlier beds whose process is gone."""
    names = [ln.split()[0] for ln in run("ip", "netns", "list").stdout.splitlines() if ln]
    if os.path.isdir(NETNS_ETC):
        names += os.listdir(NETNS_ETC)
    for name in set(names):
        m = re.match(rf"^{PREFIX}(\d+)-", name)
        if m and not _alive(int(m.group(1))):
            _delete_ns(name)


def v4(i):
    """Member @i's address on the bed's bridge."""
    return f"198.18.1.{i + 1}"


def v6(i):
    return f"2001:db8::1:{i + 1:x}"


def hostport(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class NsDaemon(daemonlib.Daemon):
    """A daemonlib.Daemon started inside network namespace @ns (with an optional command
    @wrapper, e.g. faketime, between `ip netns exec` and chatham)."""

    def __init__(self, node, ns, env=None, wrapper=()):
        super().__init__(node, env)
        self.ns = ns
        self.wrapper = list(wrapper)

    def start(self, wait=True, timeout=60):
        self.errf = open(self.stderr_path, "ab")
        argv = (["ip", "netns", "exec", self.ns] + self.wrapper +
                daemonlib.daemon_command("run", "--config", self.node.config))
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.errf,
                                     stderr=self.errf, env=self.env)
        if wait:
            self.wait_ready(timeout)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None


class RelayControl(daemonlib.ApiClient):
    """relay.py's control socket: the same newline-delimited JSON as the node's API."""

    def call(self, **req):
        res = super().call(req)
        if not res.get("ok"):
            raise RuntimeError(f"relay: {res.get('error')}")
        return res


class Bed:
    """The hub namespace with its bridge, and member namespaces added by add_host()."""

    def __init__(self):
        sweep()
        self.tag = f"{PREFIX}{os.getpid()}"
        self.root = tempfile.mkdtemp(prefix=f"{self.tag}-")
        self.namespaces = []
        self.relay_proc = None
        self.relay = None
        self.n_links = 0
        self.closed = False
        atexit.register(self.close)
        try:
            self.hub = self.add_ns("hub")
            ip("link", "add", "br0", "type", "bridge", ns=self.hub)
            ip("link", "set", "br0", "up", ns=self.hub)
            ip("addr", "add", f"{HUB4}/16", "dev", "br0", ns=self.hub)
            ip("addr", "add", f"{HUB6}/64", "dev", "br0", "nodad", ns=self.hub)
        except BaseException:
            self.close()
            raise

    def add_ns(self, role):
        name = f"{self.tag}-{role}"
        run("ip", "netns", "add", name)
        self.namespaces.append(name)
        ip("link", "set", "lo", "up", ns=name)
        return name

    def add_host(self, role, addrs4=(), addrs6=()):
        """A namespace on the bridge with @addrs4 (/16) and @addrs6 (/64); returns its name."""
        ns = self.add_ns(role)
        self.n_links += 1
        port = f"h{self.n_links}"
        ip("link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns,
           ns=self.hub)
        ip("link", "set", port, "master", "br0", "up", ns=self.hub)
        ip("link", "set", "eth0", "up", ns=ns)
        for a in addrs4:
            ip("addr", "add", f"{a}/16", "dev", "eth0", ns=ns)
        for a in addrs6:
            ip("addr", "add", f"{a}/64", "dev", "eth0", "nodad", ns=ns)
        return ns

    def add_nat_host(self, role, public4, inside4="198.19.0.2", router4="198.19.0.1"):
        """A namespace behind a NAT router: the router namespace has @public4 on the bridge
        and masquerades (nftables) what the inside sends; nothing from the bridge may open a
        connection inward. Returns the inside namespace's name."""
        router = self.add_host(f"{role}r", addrs4=[public4])
        inside = self.add_ns(role)
        ip("link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns", inside,
           ns=router)
        ip("addr", "add", f"{router4}/24", "dev", "eth1", ns=router)
        ip("link", "set", "eth1", "up", ns=router)
        ip("addr", "add", f"{inside4}/24", "dev", "eth0", ns=inside)
        ip("link", "set", "eth0", "up", ns=inside)
        ip("route", "add", "default", "via", router4, ns=inside)
        run("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=router)
        run("nft", "-f", "-", ns=router, input=(
            "table ip nat {\n chain postrouting {\n  type nat hook postrouting priority 100;\n"
            "  oifname \"eth0\" masquerade\n }\n}\n"
            "table ip filter {\n chain forward {\n  type filter hook forward priority 0;"
            " policy drop;\n  ct state established,related accept\n"
            "  iifname \"eth1\" oifname \"eth0\" accept\n }\n}\n"))
        return inside

    def hosts_file(self, ns, text):
        """Writes /etc/netns/<ns>/hosts, which `ip netns exec` binds over /etc/hosts for
        processes started afterwards. Rewritten in place (same inode) by later calls, so a
        running process sees the new content."""
        d = os.path.join(NETNS_ETC, ns)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "hosts"), "r+" if os.path.exists(os.path.join(d, "hosts"))
                  else "w") as f:
            f.seek(0)
            f.write(text)
            f.truncate()

    def start_relay(self):
        path = os.path.join(self.root, "relay.sock")
        log = open(os.path.join(self.root, "relay.log"), "ab")
        self.relay_proc = subprocess.Popen(
            ["ip", "netns", "exec", self.hub, "/usr/bin/python3", os.path.join(HERE, "relay.py"),
             path], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()

        def ready():
            if self.relay_proc.poll() is not None:
                raise AssertionError(f"relay exited: {self.relay_log()}")
            return os.path.exists(path) and "relay ready" in self.relay_log()
        wait_for(ready, timeout=20, what="the relay")
        self.relay = RelayControl(path)
        return self.relay

    def relay_log(self):
        try:
            with open(os.path.join(self.root, "relay.log")) as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self.relay_proc and self.relay_proc.poll() is None:
            self.relay_proc.kill()
            self.relay_proc.wait()
        for ns in reversed(self.namespaces):
            _delete_ns(ns)
        shutil.rmtree(self.root, ignore_errors=True)


def dijkstra(n, weight, src):
    """Shortest one-way delays from @src over the graph weight(i, j) (None = no edge)."""
    dist = [float("inf")] * n
    dist[src] = 0.0
    pq = [(0.0, src)]
    while pq:
        d, u = heapq.heappop(pq)
        if d > dist[u]:
            continue
        for v in range(n):
            w = weight(u, v) if v != u else None
            if w is not None and d + w < dist[v]:
                dist[v] = d + w
                heapq.heappush(pq, (dist[v], v))
    return dist


def percentile(values, p):
    s = sorted(values)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


class Members:
    """@n chatham members on the bed, one namespace each (member i at v4(i)/v6(i)).

    @roster_addr(i, j) -> list of address strings node i's roster lists for member j (who i
    may dial and how); @extra: config appended to every node (or a function of i).
    @host(i) -> namespace name to use for member i (default: a new host on the bridge).
    Nodes show attribution so that `peers` names the member behind each link."""

    def __init__(self, bed, n, roster_addr, degree=3, gossip="", extra="", host=None,
                 listen=None, names=None):
        self.bed = bed
        self.n = n
        self.community = daemonlib.Community(
            members=names or tuple(f"Member {i:02d} CSIRT" for i in range(n)))
        self.netkey = os.urandom(32)
        self.ns = [host(i) if host else bed.add_host(f"m{i}", [v4(i)], [v6(i)])
                   for i in range(n)]
        names = [m.name for m in self.community.members]
        self.nodes = []
        for i in range(n):
            addrs = {names[j]: roster_addr(i, j) for j in range(n) if j != i}
            addrs = {k: v for k, v in addrs.items() if v}
            node = overlaylib.overlay_node(
                self.community, i, self.netkey, PORT, addrs,
                f"degree = {degree}\n{OVERLAY_BED}",
                extra_config="[policy]\nshow_attribution = true\n" +
                (extra(i) if callable(extra) else extra) +
                (f"[gossip]\n{gossip}" if gossip else ""),
                root=tempfile.mkdtemp(prefix=f"m{i}-", dir=bed.root),
                listen=listen(i) if listen else hostport(v4(i), PORT))
            self.nodes.append(node)
        self.daemons = [NsDaemon(node, self.ns[i]) for i, node in enumerate(self.nodes)]

    def start(self, which=None, wait=True):
        for i in (range(self.n) if which is None else which):
            if not self.daemons[i].running():
                old = self.daemons[i]
                self.daemons[i] = NsDaemon(self.nodes[i], self.ns[i], wrapper=old.wrapper)
                self.daemons[i].env = old.env
                self.daemons[i].start(wait=False)
        if wait:
            for i in (range(self.n) if which is None else which):
                self.daemons[i].wait_ready()
        return self

    def kill(self, i):
        self.daemons[i].kill()

    def stop(self, i):
        code = self.daemons[i].stop()
        assert code == 0, f"node {i} exited with {code}:\n{self.daemons[i].log()[-4000:]}"

    def cleanup(self, failed=False):
        for d in self.daemons:
            d.kill()
        if failed:
            for i, d in enumerate(self.daemons):
                print(f"--- log of node {i}:\n{d.log()[-4000:]}---", flush=True)

    def member_index(self, hexid):
        for i, m in enumerate(self.community.members):
            if m.id.hex() == hexid:
                return i
        return None

    def overlay_edges(self):
        """Undirected member-index pairs with a link up, from every running node's `peers`."""
        edges = set()
        for i, d in enumerate(self.daemons):
            if not d.running():
                continue
            for p in overlaylib.peers(d)["peers"]:
                if p["state"] == "up" and "member" in p:
                    j = self.member_index(p["member"]["id"])
                    if j is not None:
                        edges.add((min(i, j), max(i, j)))
        return edges


status, reports, links_up = chathamtest.status, chathamtest.reports, chathamtest.links_up
has, publish = chathamtest.has_indicator, chathamtest.publish_batch


def main(tests):
    if os.geteuid() != 0:
        raise SystemExit("tests/net needs root (network namespaces)")
    daemonlib.main(tests)
