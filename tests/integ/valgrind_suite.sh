#!/bin/bash
# SPDX-License-Identifier: MIT
#
# valgrind_suite.sh TEST.py... - run integration tests (file names in tests/integ) with every
# `chatham run` daemon under valgrind memcheck. tests/CMakeLists.txt makes one ctest test of
# label "valgrind" per file (VALGRIND_TESTS); tests/run-all.sh runs VALGRIND_JOBS (2) at a time.
#
# Each daemon runs as
#   valgrind --tool=memcheck --error-exitcode=99 --leak-check=full ... chatham run ...
# through daemonlib's CHATHAM_DAEMON_WRAPPER, with one valgrind log per process. The suite
# fails when a test fails (a daemon that exits with 99 at a clean stop fails its test's exit
# code check) or when any log reports a memcheck error: invalid reads/writes/frees,
# uninitialised values reaching a branch or a syscall, overlapping copies, or definitely lost
# blocks. Errors are written to the log as they happen, so daemons that a test kills with
# SIGKILL are covered too (only their leak check is skipped).
#
# Needs a build WITHOUT CHATHAM_SANITIZE (valgrind cannot run ASan binaries): exits 77
# (skipped) for a sanitizer build or when valgrind is not installed.
#
# Environment: CHATHAM_BIN (the chatham executable; default $CHATHAM_BUILD_DIR/node/chatham),
# CHATHAM_VALGRIND_KEEP=1 keeps the log directory.

set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -eq 0 ]; then
	echo "usage: valgrind_suite.sh TEST.py..." >&2
	exit 2
fi
bin=${CHATHAM_BIN:-${CHATHAM_BUILD_DIR:-.}/node/chatham}

if ! command -v valgrind >/dev/null; then
	echo "valgrind_suite: valgrind is not installed; skipped"
	exit 77
fi
if [ ! -x "$bin" ]; then
	echo "valgrind_suite: no chatham binary at $bin" >&2
	exit 1
fi
if nm "$bin" 2>/dev/null | grep -q ' __asan_init' || ldd "$bin" 2>/dev/null | grep -q libasan; then
	echo "valgrind_suite: $bin is built with ASan (CHATHAM_SANITIZE=ON); valgrind needs" \
		"a build without it; skipped"
	exit 77
fi

logdir=$(mktemp -d /tmp/chatham-valgrind.XXXXXX)
cleanup() {
	if [ "${CHATHAM_VALGRIND_KEEP:-0}" = 1 ]; then
		echo "valgrind logs kept in $logdir"
	else
		rm -rf "$logdir"
	fi
}
trap cleanup EXIT

export CHATHAM_BIN=$bin
export CHATHAM_DAEMON_WRAPPER="valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
	--show-leak-kinds=definite --errors-for-leak-kinds=definite --num-callers=30
	--log-file=$logdir/vg.%p.log"
# Tests whose volume only makes sense at native speed (a 10,000-report batch must be answered
# within the client's 60 s timeout).
export CHATHAM_TEST_EXCLUDE=${CHATHAM_TEST_EXCLUDE:-test_slow_reader_does_not_stall}
# test_crash_ingest is here for the daemon's paths (a start on a store and export left by
# SIGKILL mid-ingest, the export's catch-up), not for its durability figures (the ctest
# phase runs it at full volume under ASan): a small ingest, 6 rounds or more that kill after
# the node acknowledged a batch in them, so that their restarts recover new work (before,
# its rate estimate started native and most rounds killed before any commit: of 11 rounds,
# 1 had committed anything); beside them, 3 in 10 of the rounds after the first kill during
# start-up or in the first batches' time. Batches of up to 250 reports, so that a round's first one is
# answered in seconds; batches of several signing chunks run here in test_daemon_lifecycle
# (5,000 reports in one).
export CHATHAM_CRASH_REPORTS=${CHATHAM_CRASH_REPORTS:-1000}
export CHATHAM_CRASH_ROUNDS=${CHATHAM_CRASH_ROUNDS:-6}
export CHATHAM_CRASH_BATCH=${CHATHAM_CRASH_BATCH:-250}

failed=0
for t in "$@"; do
	if [ ! -f "$here/$t" ]; then
		echo "valgrind_suite: $t not found" >&2
		failed=1
		continue
	fi
	start=$(date +%s)
	/usr/bin/python3 "$here/$t" >"$logdir/$t.out" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	if [ $rc -eq 0 ]; then
		echo "ok   $t (${secs}s)"
	elif [ $rc -eq 77 ]; then
		echo "skip $t"
	else
		echo "FAIL $t (exit $rc, ${secs}s)"
		tail -n 60 "$logdir/$t.out"
		failed=1
	fi
done

pattern='^==[0-9]+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised'
pattern+='|Syscall param|Mismatched free|Source and destination overlap|Argument .* fishy'
pattern+='|[0-9,]+ bytes in [0-9,]+ blocks are definitely lost)'
logs=0
for log in "$logdir"/vg.*.log; do
	[ -e "$log" ] || continue
	logs=$((logs + 1))
	if grep -Eq "$pattern" "$log"; then
		echo "memcheck errors in daemon log $(basename "$log"):"
		cat "$log"
		failed=1
	fi
done
if [ $logs -eq 0 ]; then
	echo "valgrind_suite: no daemon ran under valgrind" >&2
	failed=1
fi
echo "$logs daemon process(es) checked under valgrind"
exit $failed
