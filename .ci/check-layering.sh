#!/usr/bin/env bash
# DESIGN.md §3: only node/ includes uv.h, ini.h and systemd headers (tests too), and jansson.h
# (tests may use jansson too); only store/ includes lmdb.h; only proto/ includes sodium.h and
# msgpack.h; policy/ and store/ never include node/, proto/ never includes store/, policy/ or
# node/. node/format/ is pure: no uv.h, and no header of the other node/ rooms. Unit-test
# binaries of proto/store/policy and of node/format (the nodeformat library) must not link
# libuv. Usage: check-layering.sh [BUILD_DIR]
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
check 'uv\.h|ini\.h|systemd/' 'node' 'uv/inih/systemd'
check 'jansson\.h' 'node|tests' 'jansson.h'
check 'lmdb\.h' 'store' 'lmdb.h'
check 'sodium\.h|msgpack\.h' 'proto' 'sodium.h/msgpack.h'
for pair in "store:node/|policy/" "policy:node/|store/" "proto:node/|store/|policy/"; do
	dir=${pair%%:*} pat=${pair#*:}
	hits=$(grep -rlE "#include *\"($pat)" "$dir" 2>/dev/null || true)
	if [ -n "$hits" ]; then echo "layering: $dir/ points back at ($pat):"; echo "$hits" | sed 's/^/  /'; bad=1; fi
done
# Test hooks (*_test.h) are for tests, fuzzers and benchmarks; production code never includes
# one, except the module that implements it (store/store_test.c implements store/store_test.h;
# proto/crypto.c may include proto/crypto_test.h).
hits=$(grep -rnoE '#include *"[a-z]+/[a-z_]+_test\.h"' --include='*.[ch]' proto store policy node 2>/dev/null |
	while IFS=: read -r file _ inc; do
		h=${inc#*\"}; h=${h%\"}
		[ "$h" = "${file%.c}_test.h" ] || [ "$h" = "${file%.c}.h" ] || echo "$file ($h)"
	done || true)
if [ -n "$hits" ]; then
	echo "layering: production code includes a test header:"; echo "$hits" | sed 's/^/  /'; bad=1
fi
hits=$(grep -lE '#include *[<"](uv\.h|node/(daemon|overlay|cli|common)/)' node/format/*.[ch] 2>/dev/null || true)
if [ -n "$hits" ]; then
	echo "layering: node/format/ includes libuv or another node/ room:"; echo "$hits" | sed 's/^/  /'; bad=1
fi
if [ $# -ge 1 ] && [ -d "$1/tests" ]; then
	# The tests that link nodeformat, as tests/CMakeLists.txt lists them.
	format_tests=$(sed -nE 's/^\s*"((test|fuzz)_node_[a-z_]+) nodeformat"$/\1/p' tests/CMakeLists.txt)
	[ -n "$format_tests" ] || { echo "layering: no nodeformat tests found in tests/CMakeLists.txt"; bad=1; }
	for t in "$1"/tests/test_proto_* "$1"/tests/test_store_* "$1"/tests/test_policy_* \
		$(for n in $format_tests; do echo "$1/tests/$n"; done); do
		[ -x "$t" ] || continue
		if ldd "$t" | grep -q 'libuv'; then echo "layering: $(basename "$t") links libuv"; bad=1; fi
	done
	lib="$1/node/libnodeformat.a"
	[ -f "$lib" ] || { echo "layering: $lib not built"; bad=1; }
	if [ -f "$lib" ] && nm -u "$lib" | grep -qE ' (uv_|node_(daemon|overlay|link|dissem|api|ingest|exporter|snap|notify|log|keyfile|apiclient|cmd)_)'; then
		echo "layering: node/format (libnodeformat.a) calls libuv or another node/ room:"
		nm -u "$lib" | grep -E ' (uv_|node_(daemon|overlay|link|dissem|api|ingest|exporter|snap|notify|log|keyfile|apiclient|cmd)_)' | sort -u | sed 's/^/  /'
		bad=1
	fi
fi
[ $bad -eq 0 ] && echo "layering: clean"
exit $bad
