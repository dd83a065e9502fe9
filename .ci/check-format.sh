#!/usr/bin/env bash
# Fails when a C file differs from what .clang-format produces.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find proto store policy node tests -name '*.[ch]')
[ -n "$files" ] || { echo "no C files"; exit 0; }
bad=0
for f in $files; do
	if ! clang-format --style=file "$f" | cmp -s - "$f"; then
		echo "not clang-formatted: $f (run: clang-format -i $f)"
		bad=1
	fi
done
[ $bad -eq 0 ] && echo "format: $(echo "$files" | wc -w) files clean"
exit $bad
