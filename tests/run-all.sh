#!/usr/bin/env bash
# run-all.sh — the whole chatham test suite from a fresh Debian 12 machine (as root).
# Installs dependencies, builds with ASan+UBSan and -Werror, runs lint, unit, simulator and
# integration tests, the network test bed (tests/net: network namespaces) and the Debian
# package (tests/pkg: built, installed with dpkg -i, purged; root), then builds the
# libFuzzer harnesses with clang and runs each briefly, and finally runs the daemon
# integration tests under valgrind memcheck (release build).
# Environment: JOBS (default: nproc), FUZZ_SECONDS (default 10 per harness).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}

bash deploy/install-deps.sh

echo "== build (dev: Debug, ASan+UBSan, -Werror)"
cmake --preset dev -DCHATHAM_WERROR=ON >/dev/null
cmake --build --preset dev -j "$JOBS"

echo "== lint, unit, sim, integration, network (namespace) and Debian package tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --preset dev -L 'lint|unit|sim|integ|net|pkg' -j "$JOBS" --timeout 900

echo "== fuzz smoke run (clang + libFuzzer, ${FUZZ_SECONDS}s per harness)"
cmake --preset fuzz -DCHATHAM_WERROR=ON -DFUZZ_SECONDS="$FUZZ_SECONDS" >/dev/null
cmake --build --preset fuzz -j "$JOBS"
ctest --preset fuzz -L fuzz -j "$JOBS"

echo "== daemon integration tests under valgrind memcheck (release build, no sanitizers)"
cmake --preset release -DCHATHAM_WERROR=ON >/dev/null
cmake --build --preset release -j "$JOBS"
ctest --test-dir build/release -L valgrind --output-on-failure
