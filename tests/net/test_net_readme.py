# SPDX-License-Identifier: MIT
"""README "Running a member node", literally: the first ```sh block of that section runs
verbatim under `bash -eu` in a fresh network namespace (one address, like a fresh host),
with a fresh HOME and the built `chatham` first on PATH. Fails when the README drifts from
what the program accepts.

The only help the block gets is what a person typing it gets for free: the client commands
after `chatham run ... &` are retried while they cannot connect yet (a person types slower
than the node starts), through a `chatham` wrapper that retries on exactly that message.
Afterwards the test checks what the README promises: the exported document, the key and
state directory modes (keys 0700, secrets 0600, state and export 0750 so the SIEM's group can
reach the export), and that the node stops cleanly on SIGTERM.
"""

import os
import re
import signal
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import netbed as nb  # noqa: E402
import daemonlib  # noqa: E402  (tests/integ, on the path through netbed)

WRAPPER = """#!/bin/sh
# Retries a client command while the node is not listening yet; anything else passes through.
real={real}
case "$1" in
run|keygen|community|roster|check-config) exec "$real" "$@" ;;
esac
err=$(mktemp)
n=0
while :; do
	"$real" "$@" 2>"$err"
	rc=$?
	if [ $rc -ne 0 ] && grep -q 'cannot connect' "$err" && [ $n -lt 300 ]; then
		n=$((n + 1))
		sleep 0.1
		continue
	fi
	cat "$err" >&2
	rm -f "$err"
	exit $rc
done
"""


def readme_block():
    src = os.environ.get("CHATHAM_SOURCE_DIR") or os.path.join(nb.HERE, "..", "..")
    with open(os.path.join(src, "README.md")) as f:
        text = f.read()
    sec = text.split("## Running a member node", 1)
    assert len(sec) == 2, "README.md has no 'Running a member node' section"
    m = re.search(r"```sh\n(.*?)```", sec[1], re.S)
    assert m, "no ```sh block in README 'Running a member node'"
    return m.group(1)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_readme_member_node():
    block = readme_block()
    bed = nb.Bed()
    ok = False
    try:
        ns = bed.add_host("readme", [nb.v4(0)])
        home = os.path.join(bed.root, "home")
        wrap = os.path.join(bed.root, "bin")
        os.makedirs(home)
        os.makedirs(wrap)
        with open(os.path.join(wrap, "chatham"), "w") as f:
            f.write(WRAPPER.format(real=daemonlib.chatham_bin()))
        os.chmod(os.path.join(wrap, "chatham"), 0o755)
        env = {"HOME": home, "PATH": f"{wrap}:/usr/sbin:/usr/bin:/sbin:/bin",
               "LANG": "C.UTF-8"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if k in os.environ:
                env[k] = os.environ[k]
        out_path = os.path.join(bed.root, "out.txt")
        with open(out_path, "wb") as out:
            # Output to a file, not a pipe: the node started with & keeps its stdout open.
            r = subprocess.run(["ip", "netns", "exec", ns, "bash", "-eu", "-c", block],
                               stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                               env=env, timeout=300, cwd=home)
        with open(out_path, errors="replace") as f:
            output = f.read()
        assert r.returncode == 0, f"README block failed ({r.returncode}):\n{output}"

        docs = [ln for ln in output.splitlines() if ln.startswith("{")]
        assert any('"value":"evil.example"' in d for d in docs), output
        node = os.path.join(home, "chatham-node")
        assert mode(os.path.join(node, "keys")) == 0o700, oct(mode(os.path.join(node, "keys")))
        assert mode(os.path.join(node, "keys", "member.key")) == 0o600
        assert mode(os.path.join(node, "steward", "network.key")) == 0o600
        assert mode(os.path.join(node, "state")) == 0o750, oct(mode(os.path.join(node, "state")))
        assert mode(os.path.join(node, "state", "export")) == 0o750

        pids = [int(p) for p in nb.run("ip", "netns", "pids", ns).stdout.split()]
        assert len(pids) == 1, f"expected the one node running, found pids {pids}"
        os.kill(pids[0], signal.SIGTERM)
        nb.wait_for(lambda: not os.path.exists(f"/proc/{pids[0]}") or
                    open(f"/proc/{pids[0]}/stat").read().split()[2] == "Z",
                    timeout=30, what="the node to stop on SIGTERM")
        ok = True
    finally:
        if not ok:
            try:
                with open(os.path.join(bed.root, "out.txt"), errors="replace") as f:
                    print(f.read()[-6000:])
            except OSError:
                pass
        bed.close()


if __name__ == "__main__":
    nb.main([test_readme_member_node])
