#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# build-deb.sh OUTDIR — builds the chatham .deb from this tree with dpkg-buildpackage.
#
# The repository's top level is fixed, so the Debian packaging lives in deploy/debian: the
# tree (without build/ and .git) is copied to a temporary directory, deploy/debian becomes
# debian/, the sysusers.d and tmpfiles.d entries become debian/chatham.{sysusers,tmpfiles}
# (so debhelper writes the maintainer-script snippets that apply them), and debian/changelog
# is written for the version in CMakeLists.txt. The .deb (and its .buildinfo/.changes) land
# in OUTDIR. Needs debhelper, dpkg-dev, fakeroot and the build dependencies
# (deploy/install-deps.sh installs them).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: build-deb.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(sed -n 's/^project(chatham VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || { echo "build-deb: no version in CMakeLists.txt" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree=$work/chatham-$version
mkdir -p "$tree"
tar -C "$src" --exclude=./build --exclude=./.git -cf - . | tar -C "$tree" -xf -
cp -r "$tree/deploy/debian" "$tree/debian"
cp "$tree/deploy/chatham.sysusers" "$tree/debian/chatham.sysusers"
cp "$tree/deploy/chatham.tmpfiles" "$tree/debian/chatham.tmpfiles"
# The changelog's date: the last commit's, so two builds of one commit are identical.
when=$(git -C "$src" log -1 --format=%aD 2>/dev/null || date -R)
cat > "$tree/debian/changelog" <<END
chatham ($version) unstable; urgency=medium

  * Built from the chatham tree (version $version in CMakeLists.txt).

 -- chatham developers <chatham@example.org>  $when
END
(cd "$tree" && DEB_BUILD_OPTIONS="nocheck parallel=${JOBS:-2}" \
	dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || {
	tail -60 "$work/build.log" >&2
	exit 1
}
cp "$work"/chatham_"$version"_*.deb "$work"/chatham_"$version"_*.changes "$out"/
cp "$work"/chatham_"$version"_*.buildinfo "$out"/ 2>/dev/null || true
ls "$out"/chatham_"$version"_*.deb
