# SPDX-License-Identifier: MIT
"""Delaying TCP relays for the network test bed (tests/net/netbed.py).

The machines' kernel has no netem, so WAN behaviour is made here, in user space: one
listener per directed link (node a dials node b through the relay listening for a->b), and
each connection it accepts is piped to the link's target with every chunk held for the
link's one-way delay plus uniform jitter (order kept). Loss is modelled as it looks from
above TCP:
  - a stall: nothing is delivered for a while, then everything is (retransmission after a
    loss burst);
  - a reset: every connection of the link is aborted with RST (a middlebox or a path that
    died);
  - down (a partition): data is dropped and new connections are accepted but never reach
    the target; when the link comes back up every connection that lost data is reset,
    because a TCP stream with a hole cannot continue.

Runs inside the bed's hub namespace as `relay.py CONTROL_SOCKET`. Control is newline-
delimited JSON over that Unix socket (a path, so it works across network namespaces):
  {"op":"add","id":ID,"listen":[host,port],"target":[host,port],"delay_ms":D,"jitter_ms":J}
  {"op":"state","ids":[ID,...],"state":"up"|"down"}
  {"op":"episodes","mean_interval_s":S,"stall_ms":[MIN,MAX],"reset_percent":P,"seed":N}
  {"op":"stats"} -> {"ok":true,"links":{ID:{"conns":..,"bytes":..,"stalls":..,"resets":..}}}
Every answer is {"ok":true,...} or {"ok":false,"error":...}.
"""

import asyncio
import json
import random
import socket
import struct
import sys


class Link:
    def __init__(self, spec):
        self.id = spec["id"]
        self.target = tuple(spec["target"])
        self.delay = spec["delay_ms"] / 1000.0
        self.jitter = spec.get("jitter_ms", 0) / 1000.0
        self.down = False
        self.stalled_until = 0.0
        self.conns = set()
        self.stats = {"conns": 0, "bytes": 0, "stalls": 0, "resets": 0, "dropped": 0}
        self.server = None


class Conn:
    def __init__(self, link):
        self.link = link
        self.writers = []
        self.lost_data = False
        self.closed = False

    def abort(self):
        if self.closed:
            return
        self.closed = True
        for w in self.writers:
            sock = w.get_extra_info("socket")
            try:
                # SO_LINGER 0: close() sends RST, as a dead path's middlebox would.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            w.transport.abort()
        self.link.conns.discard(self)


class Relay:
    def __init__(self):
        self.links = {}
        self.rng = random.Random(1)
        self.episodes = None

    async def pipe(self, conn, reader, writer):
        """Copies @reader to @writer, each chunk held for the link's delay (+ jitter)."""
        loop = asyncio.get_running_loop()
        link = conn.link
        q = asyncio.Queue()

        async def read_side():
            last = 0.0
            try:
                while True:
                    data = await reader.read(65536)
                    if not data:
                        break
                    t = loop.time() + link.delay + self.rng.uniform(-link.jitter, link.jitter)
                    last = max(t, last)
                    q.put_nowait((last, data))
            except (ConnectionError, OSError):
                pass
            q.put_nowait((None, None))

        rt = asyncio.ensure_future(read_side())
        try:
            while not conn.closed:
                t, data = await q.get()
                if data is None:
                    break
                while not conn.closed:
                    if link.down:
                        break
                    hold = max(t, link.stalled_until) - loop.time()
                    if hold <= 0:
                        break
                    await asyncio.sleep(min(hold, 0.05))
                if conn.closed:
                    break
                if link.down:
                    conn.lost_data = True
                    link.stats["dropped"] += len(data)
                    continue
                writer.write(data)
                await writer.drain()
                link.stats["bytes"] += len(data)
        except (ConnectionError, OSError):
            pass
        finally:
            rt.cancel()
            conn.abort()

    async def on_accept(self, link, reader, writer):
        conn = Conn(link)
        conn.writers.append(writer)
        link.conns.add(conn)
        link.stats["conns"] += 1
        if link.down:
            # A partition: the SYN got through to nowhere. Hold the connection, drop data.
            conn.lost_data = True
            try:
                while not conn.closed and await reader.read(65536):
                    pass
            except (ConnectionError, OSError):
                pass
            conn.abort()
            return
        try:
            tr, tw = await asyncio.wait_for(asyncio.open_connection(*link.target), 5)
        except (OSError, asyncio.TimeoutError):
            conn.abort()
            return
        conn.writers.append(tw)
        await asyncio.gather(self.pipe(conn, reader, tw), self.pipe(conn, tr, writer))

    async def add(self, spec):
        link = Link(spec)
        host, port = spec["listen"]
        link.server = await asyncio.start_server(lambda r, w: self.on_accept(link, r, w),
                                                 host, port, reuse_address=True)
        self.links[link.id] = link

    def set_state(self, ids, state):
        for i in ids:
            link = self.links[i]
            link.down = state == "down"
            if not link.down:
                for c in [c for c in link.conns if c.lost_data]:
                    c.abort()

    async def episode_loop(self, cfg):
        rng = random.Random(cfg.get("seed", 1))
        loop = asyncio.get_running_loop()
        n = max(1, len(self.links))
        while True:
            # Poisson arrivals of episodes over all links: each link sees one per mean interval.
            await asyncio.sleep(rng.expovariate(n / cfg["mean_interval_s"]))
            if not self.links:
                continue
            link = self.links[rng.choice(sorted(self.links))]
            if link.down:
                continue
            if rng.uniform(0, 100) < cfg.get("reset_percent", 0):
                link.stats["resets"] += 1
                for c in list(link.conns):
                    c.abort()
            else:
                lo, hi = cfg["stall_ms"]
                link.stats["stalls"] += 1
                link.stalled_until = max(link.stalled_until,
                                         loop.time() + rng.uniform(lo, hi) / 1000.0)

    async def control(self, reader, writer):
        while True:
            line = await reader.readline()
            if not line:
                break
            try:
                req = json.loads(line)
                op = req["op"]
                res = {"ok": True}
                if op == "add":
                    await self.add(req)
                elif op == "state":
                    self.set_state(req["ids"], req["state"])
                elif op == "episodes":
                    if self.episodes:
                        self.episodes.cancel()
                    self.episodes = asyncio.ensure_future(self.episode_loop(req))
                elif op == "stats":
                    res["links"] = {k: v.stats for k, v in self.links.items()}
                else:
                    res = {"ok": False, "error": f"unknown op {op!r}"}
            except Exception as e:  # the controller sees every failure as an answer
                res = {"ok": False, "error": f"{type(e).__name__}: {e}"}
            writer.write(json.dumps(res).encode() + b"\n")
            await writer.drain()
        writer.close()


async def main(path):
    relay = Relay()
    server = await asyncio.start_unix_server(relay.control, path)
    print("relay ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
