#!/usr/bin/env bash
# run-all.sh — the whole chatham test suite from a fresh Debian 12 machine (as root).
# Installs dependencies, builds with ASan+UBSan and -Werror, runs lint, unit, simulator and
# integration tests, the network test bed (tests/net: network namespaces) and the Debian
# package (tests/pkg: built, installed with dpkg -i, purged; root), then builds the
# libFuzzer harnesses with clang and runs each briefly, and finally runs the daemon
# integration tests under valgrind memcheck (release build).
# Environment: JOBS (default: nproc), FUZZ_SECONDS (default 10 per harness).
# Build directories are reused: a preset is configured only when its build directory has no
# cache yet (cmake --build re-runs the configure step by itself when a CMakeLists.txt
# changed), and make rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}

bash deploy/install-deps.sh

# configure PRESET [-DVAR=VALUE...]: only when build/PRESET has never been configured.
configure() {
	local preset=$1
	shift
	[ -f "build/$preset/CMakeCache.txt" ] || cmake --preset "$preset" "$@" >/dev/null
}

echo "== build (ci: Debug, ASan+UBSan, -Werror)"
configure ci
cmake --build --preset ci -j "$JOBS"

echo "== lint, unit, sim, integration, network (namespace) and Debian package tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --preset ci -L 'lint|unit|sim|integ|net|pkg' -j "$JOBS"

echo "== fuzz smoke run (clang + libFuzzer, ${FUZZ_SECONDS}s per harness)"
configure fuzz -DCHATHAM_WERROR=ON
cmake --build --preset fuzz -j "$JOBS"
FUZZ_SECONDS=$FUZZ_SECONDS ctest --preset fuzz -L fuzz -j "$JOBS"

echo "== daemon integration tests under valgrind memcheck (release build, no sanitizers)"
configure release -DCHATHAM_WERROR=ON
cmake --build --preset release -j "$JOBS"
ctest --test-dir build/release -L valgrind --output-on-failure
