#!/usr/bin/env bash
# run-one.sh HARNESS SEED_DIR SECONDS — one short libFuzzer run on a copy of the seed corpus.
# $FUZZ_SECONDS, when set, overrides SECONDS (tests/run-all.sh sets it without reconfiguring).
# A crash, leak or timeout makes libFuzzer exit non-zero; the failing input is kept in
# $CHATHAM_FUZZ_ARTIFACTS (default: the scratch dir) so it can become a regression seed.
set -euo pipefail
harness=$1 seeds=$2 secs=${FUZZ_SECONDS:-$3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
[ -d "$seeds" ] && cp -r "$seeds/." "$work/corpus/"
art=${CHATHAM_FUZZ_ARTIFACTS:-$work}
"$harness" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$art/" "$work/corpus" 2>&1 | tail -n 25
