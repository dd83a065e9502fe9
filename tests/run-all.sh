#!/usr/bin/env bash
# run-all.sh — the whole chatham test suite from a fresh Debian 12 machine (as root).
# Installs dependencies, builds with ASan+UBSan and -Werror, runs lint, unit, simulator and
# integration tests, the network test bed (tests/net: network namespaces) and the Debian
# package (tests/pkg: built, installed with dpkg -i, purged; root), then builds the
# libFuzzer harnesses with clang and runs each briefly, and finally runs daemon integration
# tests under valgrind memcheck (release build), VALGRIND_JOBS at a time.
# Valgrind is here for what ASan+UBSan (the ctest phase) cannot see: uninitialised memory
# reaching a branch, a syscall (a socket, the store, the export) or an exported byte, in the
# optimised build. So it runs the integration tests that walk the daemon's own paths
# (VALGRIND_TESTS in tests/CMakeLists.txt): the local API (test_daemon_api), start, restart,
# reload and refusal (test_daemon_lifecycle), sd_notify and the store upgrade
# (test_daemon_notify), the overlay with an independent Noise peer and hostile connections
# (test_overlay_interop, test_overlay_hostile), gossip, export and redaction across five nodes
# (test_leak_scan), a hostile member's reports (test_hostile_member), sealed sightings
# (test_sealed), the operator's path through the CLI: publish --file in every import format,
# export in every format (test_cli_e2e), and starts on a store and export left by kill -9
# mid-ingest, with the export's catch-up (test_crash_ingest, 1,000 reports, 6 rounds or more
# killed after a commit and a few killed in start-up or before one, not the 20 rounds of
# 100,000 that check durability in the ctest phase: 20 rounds of 3,000 took 487 s under
# valgrind).
# Environment: JOBS (default: nproc), VALGRIND_JOBS (valgrind tests at a time, default 2:
# each runs daemons 20-50x slower, against clients' timeouts), FUZZ_SECONDS (default 5 per
# harness: a smoke run, each harness's seeds replayed (under 1.5 s for the largest) and a few
# seconds of mutation; long fuzzing is tests/fuzz/run-long.sh).
# Build directories are reused: a preset is configured only when its build directory has no
# cache yet (cmake --build re-runs the configure step by itself when a CMakeLists.txt
# changed), and make rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-5}

# configure PRESET [-DVAR=VALUE...]: only when build/PRESET has never been configured.
configure() {
	local preset=$1
	shift
	[ -f "build/$preset/CMakeCache.txt" ] || cmake --preset "$preset" "$@" >/dev/null
}

# Each phase prints its time; a failing phase stops the run and is named.
phase="" phase_start=$SECONDS
phase() {
	[ -z "$phase" ] || echo "== $phase: $((SECONDS - phase_start)) s"
	phase=$1 phase_start=$SECONDS
	echo "== $phase"
}
finish() {
	local rc=$?
	if [ $rc -ne 0 ]; then
		echo "run-all: FAILED in \"$phase\" (exit $rc)"
	else
		echo "== $phase: $((SECONDS - phase_start)) s"
	fi
	echo "run-all: $SECONDS s in all"
}
trap finish EXIT

phase "install dependencies (deploy/install-deps.sh)"
bash deploy/install-deps.sh

phase "build (ci: Debug, ASan+UBSan, -Werror)"
configure ci
cmake --build --preset ci -j "$JOBS"

phase "lint, unit, sim, integration, network (namespace) and Debian package tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --preset ci -L 'lint|unit|sim|integ|net|pkg' -j "$JOBS"

phase "fuzz build (clang, ASan+UBSan, -Werror)"
configure fuzz -DCHATHAM_WERROR=ON
cmake --build --preset fuzz -j "$JOBS"

phase "fuzz smoke run (libFuzzer, ${FUZZ_SECONDS}s per harness)"
FUZZ_SECONDS=$FUZZ_SECONDS ctest --preset fuzz -L fuzz -j "$JOBS"

# The installed programs (chatham, chatham-taxii: -O2 with -Werror) and the leak oracle the
# valgrind phase runs. The unit tests, benchmarks and simulators built here before ran
# nowhere; the ci tree compiles them with -Werror. What that gives up: gcc's warnings that
# only -O2 raises, in test and benchmark code.
phase "release build of chatham, chatham-taxii and leak_oracle (no sanitizers, -Werror)"
configure release -DCHATHAM_WERROR=ON
cmake --build --preset release -j "$JOBS" --target chatham chatham-taxii leak_oracle

phase "daemon integration tests under valgrind memcheck (release build)"
ctest --test-dir build/release -L valgrind -j "${VALGRIND_JOBS:-2}" --output-on-failure
