#!/usr/bin/env bash
# DESIGN.md §3: only node/ includes uv.h, jansson.h, ini.h and systemd headers (tests too); only store/
# includes lmdb.h; only proto/ includes sodium.h and msgpack.h; policy/ and store/ never
# include node/, proto/ never includes store/, policy/ or node/. Unit-test binaries of
# proto/store/policy must not link libuv. Usage: check-layering.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
check() { # folder-glob-exclusion regex description
	local regex=$1 allowed=$2 what=$3 hits
	hits=$(grep -rlE "#include *[<\"]($regex)" --include='*.[ch]' proto store policy node tests/unit tests/fuzz tests/bench tests/sim 2>/dev/null |
		grep -vE "^($allowed)(/|$)" || true)
	if [ -n "$hits" ]; then
		echo "layering: $what included outside $allowed/:"; echo "$hits" | sed 's/^/  /'; bad=1
	fi
}
# Tests and benches of node/ code get these through node's own headers, never directly.
check 'uv\.h|jansson\.h|ini\.h|systemd/' 'node' 'uv/jansson/inih/systemd'
check 'lmdb\.h' 'store' 'lmdb.h'
check 'sodium\.h|msgpack\.h' 'proto' 'sodium.h/msgpack.h'
for pair in "store:node/|policy/" "policy:node/|store/" "proto:node/|store/|policy/"; do
	dir=${pair%%:*} pat=${pair#*:}
	hits=$(grep -rlE "#include *\"($pat)" "$dir" 2>/dev/null || true)
	if [ -n "$hits" ]; then echo "layering: $dir/ points back at ($pat):"; echo "$hits" | sed 's/^/  /'; bad=1; fi
done
if [ $# -ge 1 ] && [ -d "$1/tests" ]; then
	for t in "$1"/tests/test_proto_* "$1"/tests/test_store_* "$1"/tests/test_policy_*; do
		[ -x "$t" ] || continue
		if ldd "$t" | grep -q 'libuv'; then echo "layering: $(basename "$t") links libuv"; bad=1; fi
	done
fi
[ $bad -eq 0 ] && echo "layering: clean"
exit $bad
