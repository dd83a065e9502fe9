#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Issue 13, disk full, against a real daemon whose store and export live on two small
tmpfs mounts this test creates (and removes): a real ENOSPC from the kernel, not a
simulated one (an LMDB map limit would give MDB_MAP_FULL, another error).
- With the store's disk full, a publish batch is refused as a whole: "ok": false with a
  top-level ENOSPC error (and each item says so), nothing is stored, the node stays up.
- With only the export's disk full, reports are stored and acknowledged; the export falls
  behind and catches up by itself once space is back, without another publish.
Needs root for mount(8); without it the test says so and is skipped (exit 77)."""

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402

COMMUNITY = dl.Community()


def mount_tmpfs(path, size):
    os.makedirs(path)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size,
                    "chatham-test-tmpfs", path], check=True)


def fill(path):
    with open(os.path.join(path, "filler"), "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def wait_for(pred, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def test_disk_full():
    tmp = tempfile.mkdtemp(prefix="chatham-diskfull-")
    state, export = os.path.join(tmp, "state"), os.path.join(tmp, "export")
    mounted = []
    node = None
    try:
        for p in (state, export):
            mount_tmpfs(p, "4m")
            mounted.append(p)
        node = dl.Node(COMMUNITY)
        node.write_config(text=node.config_text().replace(
            "state_dir = %s" % node.state, "state_dir = %s/db" % state).replace(
            "export_dir = %s" % node.export, "export_dir = %s/db" % export) +
            "[store]\nmap_size_mb = 1\n")
        with dl.Daemon(node).start() as d:
            batch = [{"value": "h%04d.disk.example" % i, "tlp": "GREEN",
                      "description": "x" * 1500} for i in range(200)]
            # 1. The store's disk is full.
            fill(state)
            r = d.call({"op": "publish", "reports": batch})
            assert r["ok"] is False and r["error"]["code"] == "ENOSPC", str(r)[:400]
            assert "state_dir" in r["error"]["message"]
            assert r["accepted"] == 0 and r["results"][0]["error"]["code"] == "ENOSPC"
            r = d.call({"op": "publish", "value": "one.disk.example", "tlp": "GREEN"})
            assert r["ok"] is False and r["error"]["code"] == "ENOSPC", r
            st = d.call({"op": "status"})
            assert st["ok"] and st["store"]["reports"] == 0, st
            os.unlink(os.path.join(state, "filler"))

            # 2. Only the export's disk is full: publishes are stored, the export lags.
            fill(export)
            r = d.call({"op": "publish", "reports": batch})
            assert r["ok"] and r["accepted"] == 200, str(r)[:400]
            st = wait_for(lambda: (lambda s: s if s["export"]["errors"] > 0 else None)(
                d.call({"op": "status"})), "an export error")
            assert st["export"]["last_seq"] < st["store"]["feed_last"], st
            os.unlink(os.path.join(export, "filler"))
            t0 = time.monotonic()
            st = wait_for(lambda: (lambda s: s if s["export"]["last_seq"] ==
                                   s["store"]["feed_last"] else None)(
                d.call({"op": "status"})), "the export to catch up", timeout=60)
            print("export caught up %.1f s after space came back (feed_last %d)" %
                  (time.monotonic() - t0, st["store"]["feed_last"]))
            assert "export: sync failed: No space left on device" in d.log()
    finally:
        if node:
            node.cleanup()
        for p in mounted:
            subprocess.run(["umount", p])
        for p in (state, export):
            if os.path.isdir(p) and not os.path.ismount(p):
                os.rmdir(p)
        os.rmdir(tmp)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: mounting the small tmpfs this test needs requires root")
        sys.exit(77)
    dl.main([test_disk_full])
