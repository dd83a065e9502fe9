#!/bin/bash
# SPDX-License-Identifier: MIT
# bench_vs_gossipsub.sh — chatham and js-libp2p gossipsub on the same workload, in one go.
#
# Runs the peer bench (../shared/peer-bench/gossipsub/bench.mjs, copied to a scratch
# directory because shared/ is read-only; `npm ci --engine-strict` there the first time), then
# tests/bench/bench_overlay.py --peer-workload on the SAME graph (the edge list from the
# peer's result file), the same N, degree, message count, in-flight limit, maximum rate,
# publishers drawn uniformly at random with the same seed, and a report sized to the same
# number of bytes. Prints one row per system. The npm packages are a test-only peer: nothing
# in chatham depends on them.
#
# Usage: tests/bench/bench_vs_gossipsub.sh [--nodes N] [--degree D] [--messages M]
#                                         [--size S] [--seed X] [--procs single|multi]
# --procs is the peer's: one process per node (multi, the default here, like chatham's
# one daemon per node) or all nodes in one process (single; under heavy load its dials time
# out before the mesh forms).
# Environment: CHATHAM_BIN (a release build), PEER_DIR (scratch copy; default
# build/peer-gossipsub), PEER_SRC (default ../shared/peer-bench/gossipsub).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=16 D=6 M=3000 S=600 SEED=1 PROCS=multi
while [ $# -gt 0 ]; do
	case "$1" in
	--nodes) N=$2; shift 2 ;;
	--degree) D=$2; shift 2 ;;
	--messages) M=$2; shift 2 ;;
	--size) S=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--procs) PROCS=$2; shift 2 ;;
	*) echo "usage: $0 [--nodes N] [--degree D] [--messages M] [--size S] [--seed X]" \
		"[--procs single|multi]" >&2
	   exit 2 ;;
	esac
done
PEER_SRC=${PEER_SRC:-$ROOT/../shared/peer-bench/gossipsub}
PEER_DIR=${PEER_DIR:-$ROOT/build/peer-gossipsub}
: "${CHATHAM_BIN:?set CHATHAM_BIN to a release build of chatham}"

if [ ! -d "$PEER_DIR/node_modules" ]; then
	[ -f "$PEER_SRC/bench.mjs" ] || { echo "peer bench not found at $PEER_SRC" >&2; exit 1; }
	mkdir -p "$PEER_DIR"
	cp -r "$PEER_SRC/." "$PEER_DIR/"
	chmod -R u+w "$PEER_DIR"
	(cd "$PEER_DIR" && npm ci --engine-strict --no-audit --no-fund)
fi

OUT=$(mktemp -d /tmp/bench-vs-gossipsub-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
echo "== js-libp2p gossipsub (N=$N degree=$D M=$M S=$S seed=$SEED, max rate, in-flight <= 64," \
	"procs $PROCS)"
# Under heavy load the peer's dials can time out before its mesh forms: one more attempt.
for attempt in 1 2; do
	if (cd "$PEER_DIR" && node bench.mjs --nodes "$N" --degree "$D" --messages "$M" \
		--size "$S" --rate max --inflight 64 --seed "$SEED" --procs "$PROCS" \
		--out "$OUT/peer.json" --quiet); then
		break
	fi
	[ "$attempt" = 2 ] && { echo "the peer bench failed twice" >&2; exit 1; }
	echo "the peer bench failed (attempt $attempt); retrying" >&2
done
echo "== chatham, same graph and workload"
/usr/bin/python3 "$HERE/bench_overlay.py" --peer-workload --nodes "$N" --degree "$D" \
	--messages "$M" --size "$S" --inflight 64 --seed "$SEED" --graph-json "$OUT/peer.json" \
	--json-out "$OUT/chatham.json"

/usr/bin/python3 - "$OUT/peer.json" "$OUT/chatham.json" <<'EOF'
import json
import sys

p = json.load(open(sys.argv[1]))["results"]
c = json.load(open(sys.argv[2]))
cr = c["results"]
rss = p["memory"].get("peakRssMiB")
rss = f"{rss:.0f} (one process, all nodes)" if rss is not None else \
    f"{p['memory']['peakRssMiBMaxProcess']:.0f}"
print()
print("| system | msgs/s at every node | publish->last node p50 / p99 / max ms | copies per node "
      "per msg | wire in per node / (M x S) | CPU us per delivery | peak RSS MiB per node |")
print("|---|---|---|---|---|---|---|")
L = p["latencyToLastNodeMs"]
print(f"| js-libp2p gossipsub | {p['sustainedMsgsPerSec']:.1f} | {L['p50']:.0f} / {L['p99']:.0f}"
      f" / {L['max']:.0f} | {p['gossipsub']['copiesReceivedPerNodePerMsg']:.2f} | "
      f"{p['wire']['amplification']:.2f} | {p['cpu']['usPerDelivery']:.0f} | {rss} |")
L = cr["latency_ms"]
print(f"| chatham (S = {c['size']} B signed report) | {cr['messages_per_s_at_every_node']:.1f} | "
      f"{L['p50']} / {L['p99']} / {L['max']} | {cr['copies_per_node_per_msg']:.2f} | "
      f"{cr['wire_in_per_node_over_MS']:.2f} | {cr['cpu_us_per_delivery']:.0f} | "
      f"{cr['peak_rss_mib_per_node']['max']:.0f} (max over nodes) |")
EOF
