#!/usr/bin/env bash
# Fails when a C file differs from what .clang-format produces.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find proto store policy node tests -name '*.[ch]')
[ -n "$files" ] || { echo "no C files"; exit 0; }
# One clang-format process checks every file (one process per file took most of this test's
# time); only when it finds a change are the files compared one by one to name them.
if out=$(clang-format --style=file --dry-run -Werror $files 2>&1); then
	echo "format: $(echo "$files" | wc -w) files clean"
	exit 0
fi
bad=0
for f in $files; do
	if ! clang-format --style=file "$f" | cmp -s - "$f"; then
		echo "not clang-formatted: $f (run: clang-format -i $f)"
		bad=1
	fi
done
# clang-format --dry-run failed without a file that differs: its own error decides.
[ $bad -eq 1 ] || { echo "$out" | tail -n 20; echo "clang-format --dry-run failed"; }
exit 1
