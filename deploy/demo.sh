#!/usr/bin/env bash
# demo.sh — the main job on one machine: a three-member community of real chatham nodes on
# 127.0.0.1. It builds chatham, creates the community (steward key, network key, keys for
# three CSIRTs, a signed roster), starts the nodes, publishes indicators on CERT Alpha's node
# through its API socket and shows them arriving in CERT Gamma's SIEM export — stripped of
# who said what — as ECS JSON lines and as a STIX 2.1 bundle.
#
# Environment: CHATHAM_DEMO_DIR (default: a new temp dir, kept for inspection),
#              CHATHAM_DEMO_KEEP=1 leaves the nodes running after the demo,
#              CHATHAM_BIN=PATH uses that chatham instead of installing and building
#              (tests/integ/test_demo.py runs the demo on the tested build this way).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

if [ -n "${CHATHAM_BIN:-}" ]; then
	chatham=$CHATHAM_BIN
else
	bash deploy/install-deps.sh >/dev/null
	echo "== building chatham (release preset)"
	cmake --preset release >/dev/null
	cmake --build --preset release -j "$(nproc)" --target chatham >/dev/null
	chatham=$top/build/release/node/chatham
fi

W=${CHATHAM_DEMO_DIR:-$(mktemp -d /tmp/chatham-demo.XXXXXX)}
mkdir -p "$W"
W=$(cd "$W" && pwd)
orgs=(alpha beta gamma)
declare -A name=([alpha]="CERT Alpha" [beta]="CERT Beta" [gamma]="CERT Gamma")
pids=()

stop_nodes() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
[ "${CHATHAM_DEMO_KEEP:-0}" = 1 ] || trap stop_nodes EXIT

# Free loopback ports for the nodes' overlay listeners (the roster names them).
read -r -a ports < <(/usr/bin/python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)

echo "== creating the community in $W"
mkdir -p "$W/community"
"$chatham" community init --name "Demo CSIRT Community" --stewards 1 \
	--out-dir "$W/community" >/dev/null
for i in 0 1 2; do
	org=${orgs[$i]}
	mkdir -p "$W/$org"
	"$chatham" keygen --out "$W/$org/member.key" --name "${name[$org]}" >/dev/null
	"$chatham" roster add --roster "$W/community/roster" --community "$W/community/community" \
		--key "$W/$org/member.key.pub" --name "${name[$org]}" --domain "cert-$org.example" \
		--address "127.0.0.1:${ports[$i]}" >/dev/null
done
"$chatham" roster sign --roster "$W/community/roster" --community "$W/community/community" \
	--steward-key "$W/community/steward-1.key" >/dev/null
"$chatham" roster verify --roster "$W/community/roster" --community "$W/community/community"

for i in 0 1 2; do
	org=${orgs[$i]}
	cat >"$W/$org/chatham.conf" <<EOF
[node]
state_dir = $W/$org/state
export_dir = $W/$org/export
key_file = $W/$org/member.key
community_file = $W/community/community
network_key_file = $W/community/network.key
roster_file = $W/community/roster

[api]
socket = $W/$org/chatham.sock

[overlay]
listen = 127.0.0.1:${ports[$i]}
EOF
	"$chatham" check-config "$W/$org/chatham.conf" >/dev/null
	"$chatham" run --config "$W/$org/chatham.conf" 2>"$W/$org/node.log" &
	pids+=($!)
done

# Poll for state; never sleep as synchronisation.
wait_for() { # SECONDS DESCRIPTION COMMAND...
	local deadline=$((SECONDS + $1)) what=$2
	shift 2
	until "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ]; then
			echo "demo: timed out waiting for $what" >&2
			for org in "${orgs[@]}"; do echo "--- $org log" >&2; tail -5 "$W/$org/node.log" >&2; done
			exit 1
		fi
		sleep 0.2
	done
}
for org in "${orgs[@]}"; do
	wait_for 30 "$org's node" "$chatham" status --socket "$W/$org/chatham.sock"
done
echo "== three nodes up; CERT Alpha's links:"
"$chatham" peers --socket "$W/alpha/chatham.sock"

echo "== CERT Alpha publishes two indicators through its API socket"
# The description names CERT Beta's domain on purpose: publish refuses that unless told
# (--allow-names), the report stays as written inside the community, and the export below
# shows it redacted.
"$chatham" publish --socket "$W/alpha/chatham.sock" --tlp GREEN --confidence 85 \
	--tag phishing --tag source:cert-alpha --allow-names \
	--description "Credential phishing kit seen by CERT Alpha against cert-beta.example staff" \
	login-portal-update.example
"$chatham" publish --socket "$W/alpha/chatham.sock" --tlp CLEAR --confidence 70 \
	--tag c2 203.0.113.77

has_both() {
	local out
	out=$("$chatham" export --export-dir "$W/gamma/export" --format plain)
	grep -qx 'login-portal-update.example' <<<"$out" && grep -qx '203.0.113.77' <<<"$out"
}
wait_for 60 "the indicators to reach CERT Gamma's SIEM export" has_both

echo "== CERT Gamma's SIEM export (ECS JSON lines):"
"$chatham" export --export-dir "$W/gamma/export" --format jsonl
echo "== the same as a STIX 2.1 bundle:"
"$chatham" export --export-dir "$W/gamma/export" --format stix21 --out "$W/gamma/bundle.json"
# Pretty-print to a file first: `| head` would close the pipe early and, under pipefail,
# fail the demo.
/usr/bin/python3 -m json.tool "$W/gamma/bundle.json" >"$W/gamma/bundle.pretty.json"
head -n 60 "$W/gamma/bundle.pretty.json"
echo "   ... full bundle: $W/gamma/bundle.json"

export_jsonl=$("$chatham" export --export-dir "$W/gamma/export" --format jsonl 2>/dev/null)
if grep -qiE 'cert alpha|cert-alpha|cert beta|cert-beta' <<<"$export_jsonl"; then
	echo "demo: FAILED: the export names a member" >&2
	exit 1
fi
echo "== no member is named in the export: the description was redacted and the"
echo "   source: tag dropped; the export says how many members reported, not who."
echo "== work dir: $W (logs: $W/*/node.log)"
