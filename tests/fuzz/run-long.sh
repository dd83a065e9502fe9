#!/usr/bin/env bash
# run-long.sh [SECONDS] [BUILD_DIR] [NAME...] — run every harness (or only the named ones,
# e.g. fuzz_proto_recon) for SECONDS each (default 600) on a copy of its seed corpus, one
# after the other, and print a summary: executions, exec/s, coverage (edges) and features
# at the end, peak RSS, and whether it found anything.
#
# Crashing, leaking or slow inputs are left in ./fuzz-artifacts/ (commit them as regression
# seeds in tests/fuzz/corpus/<lib>_<target>/ once fixed); each harness's full libFuzzer
# output is kept in ./fuzz-logs/<harness>.log. Exit status: 0 when no harness found
# anything, 1 otherwise.
set -uo pipefail
secs=${1:-600}
build=${2:-build/fuzz}
shift $(($# < 2 ? $# : 2))
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p fuzz-artifacts fuzz-logs
summary=()
failed=0
for h in "$build"/tests/fuzz_*; do
	name=$(basename "$h")
	if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then
		continue
	fi
	work=$(mktemp -d)
	mkdir -p "$work/corpus"
	seeds="$here/corpus/${name#fuzz_}"
	[ -d "$seeds" ] && cp -r "$seeds/." "$work/corpus/"
	log="fuzz-logs/$name.log"
	echo "== $name (${secs}s)"
	"$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$PWD/fuzz-artifacts/$name-" "$work/corpus" >"$log" 2>&1
	rc=$?
	rm -rf "$work"
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
		failed=1
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5
	fi
	line=$(printf '%-28s %12s execs %7s/s  cov %6s  ft %7s  rss %5s MB  %s' "$name" \
		"${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${rss:-?}" "$verdict")
	echo "$line"
	summary+=("$line")
done
echo
echo "summary (${secs}s per harness):"
printf '%s\n' "${summary[@]}"
exit $failed
