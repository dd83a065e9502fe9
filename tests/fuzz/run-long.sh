#!/usr/bin/env bash
# run-long.sh [-j JOBS] [SECONDS] [BUILD_DIR] [NAME...] — run every harness (or only the
# named ones, e.g. fuzz_proto_recon) for SECONDS each (default 600) on a copy of its seed
# corpus, JOBS at a time (default 1), and print a summary: executions, exec/s, coverage
# (edges) and features at the end, peak RSS, and whether it found anything.
#
# Crashing, leaking or slow inputs are left in ./fuzz-artifacts/ (commit them as regression
# seeds in tests/fuzz/corpus/<lib>_<target>/ once fixed); each harness's full libFuzzer
# output is kept in ./fuzz-logs/<harness>.log and the corpus it grew in
# ./fuzz-corpus/<harness>/. Exit status: 0 when no harness found anything, 1 otherwise.
set -uo pipefail
jobs=1
if [ "${1:-}" = -j ]; then
	jobs=$2
	shift 2
fi
secs=${1:-600}
build=${2:-build/fuzz}
shift $(($# < 2 ? $# : 2))
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p fuzz-artifacts fuzz-logs fuzz-corpus
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

# run_one HARNESS: one run; writes its summary line to $results/NAME and its verdict as the
# file's exit marker.
run_one() {
	local h=$1 name work seeds log rc execs rate rss last cov ft verdict
	name=$(basename "$h")
	work=fuzz-corpus/$name
	rm -rf "$work"
	mkdir -p "$work"
	seeds="$here/corpus/${name#fuzz_}"
	[ -d "$seeds" ] && cp -r "$seeds/." "$work/"
	log="fuzz-logs/$name.log"
	"$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$PWD/fuzz-artifacts/$name-" "$work" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
	last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	if [ $rc -eq 0 ]; then
		verdict=clean
	else
		verdict="FOUND (exit $rc, see $log)"
		touch "$results/$name.found"
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5
	fi
	printf '%-28s %12s execs %7s/s  cov %6s  ft %7s  rss %5s MB  %s\n' "$name" \
		"${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${rss:-?}" "$verdict" \
		| tee "$results/$name"
}

for h in "$build"/tests/fuzz_*; do
	name=$(basename "$h")
	if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then
		continue
	fi
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
	echo "== $name (${secs}s)"
	run_one "$h" &
done
wait
echo
echo "summary (${secs}s per harness, $jobs at a time, $(nproc) cores):"
cat "$results"/fuzz_* 2>/dev/null | sort
! compgen -G "$results/*.found" >/dev/null
