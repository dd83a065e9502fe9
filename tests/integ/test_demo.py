#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The README's main job, deploy/demo.sh, on the tested build (CHATHAM_BIN): three nodes,
an indicator published on one reaches another's SIEM export in ECS and STIX 2.1, and no
member is named there. Fails when the demo drifts from what chatham accepts."""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import daemonlib  # noqa: E402


def test_demo():
    src = os.environ.get("CHATHAM_SOURCE_DIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")
    with tempfile.TemporaryDirectory(prefix="chatham-demo-test-") as w:
        env = dict(os.environ, CHATHAM_BIN=daemonlib.chatham_bin(), CHATHAM_DEMO_DIR=w)
        p = subprocess.run(["bash", os.path.join(src, "deploy", "demo.sh")], env=env,
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, (p.returncode, p.stdout[-3000:], p.stderr[-3000:])
        assert "no member is named in the export" in p.stdout, p.stdout[-3000:]
        assert "login-portal-update.example" in p.stdout, p.stdout[-3000:]


if __name__ == "__main__":
    daemonlib.main([test_demo])
