#!/usr/bin/env bash
# run-long.sh [SECONDS] [BUILD_DIR] — run every harness for SECONDS (default 600) on a copy
# of its seed corpus; crashing inputs are left in ./fuzz-artifacts/ to commit as seeds.
set -euo pipefail
secs=${1:-600}
build=${2:-build/fuzz}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p fuzz-artifacts
export CHATHAM_FUZZ_ARTIFACTS=$PWD/fuzz-artifacts
for h in "$build"/tests/fuzz_*; do
	name=$(basename "$h")
	echo "== $name (${secs}s)"
	bash "$here/run-one.sh" "$h" "$here/corpus/${name#fuzz_}" "$secs"
done
