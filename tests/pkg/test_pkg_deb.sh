#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian package, end to end on this machine, in two steps (two ctest tests, so that the
# build runs beside other tests and only the step that changes the system runs alone):
#   test_pkg_deb.sh build DIR    build it from the tree (build-deb.sh) into DIR (emptied
#                                first), lintian with no error or warning;
#   test_pkg_deb.sh install DIR  (as root) install DIR's .deb with dpkg -i, check what it
#                                installed (version, unit verification, the user, owners and
#                                modes, nothing enabled or started), then purge it and check
#                                that nothing is left but the chatham system user and group
#                                (Debian keeps system accounts) and what an administrator put
#                                in /etc/chatham.
set -uo pipefail
src=${CHATHAM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
step=${1:-} dir=${2:-}
if [ -z "$dir" ] || { [ "$step" != build ] && [ "$step" != install ]; }; then
	echo "usage: test_pkg_deb.sh build|install DIR" >&2
	exit 2
fi
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/     /'; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

if [ "$step" = build ]; then
	for tool in dpkg-buildpackage dh lintian fakeroot; do
		command -v $tool >/dev/null ||
			{ bad "$tool missing (bash deploy/install-deps.sh)"; finish; }
	done
	rm -rf "$dir"
	mkdir -p "$dir"
	out=$(bash "$src/tests/pkg/build-deb.sh" "$dir" 2>&1)
	deb=$(ls "$dir"/chatham_*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] && ok "dpkg-buildpackage built $(basename "$deb")" || { bad "build" "$out"; finish; }

	lintian --fail-on error,warning "$deb" >"$dir/lintian.txt" 2>&1
	rc=$?
	out=$(grep -v '^running with root privileges' "$dir/lintian.txt")
	[ $rc -eq 0 ] && ! echo "$out" | grep -q '^[EW]:' && ok "lintian: no error or warning" ||
		bad "lintian (exit $rc)" "$out"
	finish
fi

[ "$(id -u)" -eq 0 ] || { echo "FAIL needs root (dpkg -i)"; echo "0 passed, 1 failed"; exit 1; }
command -v systemd-analyze >/dev/null ||
	{ bad "systemd-analyze missing (bash deploy/install-deps.sh)"; finish; }
if dpkg-query -W -f='${Status}' chatham 2>/dev/null | grep -q 'ok installed'; then
	bad "a chatham package is already installed here; this test installs and purges its own"
	finish
fi
installed=0
cleanup() {
	[ "$installed" -eq 1 ] && dpkg --purge chatham >/dev/null 2>&1
}
trap cleanup EXIT

# dpkg takes a lock other administrators' apt runs may hold: wait for it, at most 5 minutes.
dpkg_locked() {
	for _ in $(seq 1 300); do
		out=$("$@" 2>&1) && { echo "$out"; return 0; }
		echo "$out" | grep -q 'lock' || { echo "$out"; return 1; }
		sleep 1
	done
	echo "$out"
	return 1
}

# The package the build step made (ctest runs it first: fixture pkg_deb_built).
deb=$(ls "$dir"/chatham_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { bad "no chatham_*.deb in $dir (run: test_pkg_deb.sh build $dir)"; finish; }

out=$(dpkg_locked dpkg -i "$deb") && { installed=1; ok "dpkg -i"; } || { bad "dpkg -i" "$out"; finish; }

version=$(sed -n 's/^project(chatham VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
out=$(/usr/bin/chatham --version 2>&1)
echo "$out" | grep -q "$version" && ok "chatham --version: $out" || bad "--version" "$out"
out=$(/usr/bin/chatham-siem-pull --help 2>&1) && ok "chatham-siem-pull --help" ||
	bad "chatham-siem-pull --help" "$out"

out=$(systemd-analyze verify /lib/systemd/system/chatham.service 2>&1)
[ $? -eq 0 ] && [ -z "$out" ] && ok "systemd-analyze verify of the installed unit is clean" ||
	bad "systemd-analyze verify" "$out"
for page in chatham.1 chatham.conf.5 chatham-siem-pull.1; do
	sec=${page##*.}
	[ -f "/usr/share/man/man$sec/$page.gz" ] && ok "man page $page" || bad "man page $page missing"
done

out=$(getent passwd chatham)
[ -n "$out" ] && [ "$(echo "$out" | cut -d: -f6)" = /var/lib/chatham ] &&
	ok "sysusers created user chatham ($out)" || bad "user chatham" "$out"
getent group chatham >/dev/null && ok "group chatham exists" || bad "group chatham missing"

# owner:group mode of each installed path
expect() {
	local got
	got=$(stat -c '%U:%G %a' "$1" 2>&1)
	[ "$got" = "$2" ] && ok "$1 is $2" || bad "$1 is '$got', want '$2'"
}
expect /usr/bin/chatham "root:root 755"
expect /usr/bin/chatham-siem-pull "root:root 755"
expect /lib/systemd/system/chatham.service "root:root 644"
expect /usr/lib/sysusers.d/chatham.conf "root:root 644"
expect /usr/lib/tmpfiles.d/chatham.conf "root:root 644"
expect /usr/share/doc/chatham/chatham.conf.example.gz "root:root 644"
expect /etc/chatham "root:chatham 750"
expect /var/lib/chatham "chatham:chatham 751"  # group chatham-siem passes through to the export
expect /var/lib/chatham/export "chatham:chatham-siem 2750"  # readable by group chatham-siem only

# Never started without a configuration: the unit is not enabled (and so not started).
if ls /etc/systemd/system/*.wants/chatham.service >/dev/null 2>&1; then
	bad "the unit was enabled at installation"
else
	ok "the unit is not enabled"
fi

# An administrator's file in /etc/chatham survives purge; the package's own paths do not.
echo "# the administrator's" >/etc/chatham/chatham.conf
out=$(dpkg_locked dpkg --purge chatham) && { installed=0; ok "dpkg --purge"; } ||
	bad "dpkg --purge" "$out"
dpkg-query -W -f='${Status}' chatham 2>/dev/null | grep -q 'ok installed' &&
	bad "still installed after purge"
left=""
for p in /usr/bin/chatham /usr/bin/chatham-siem-pull /lib/systemd/system/chatham.service \
	/usr/lib/sysusers.d/chatham.conf /usr/lib/tmpfiles.d/chatham.conf /usr/share/doc/chatham \
	/usr/share/man/man1/chatham.1.gz /usr/share/man/man5/chatham.conf.5.gz \
	/usr/share/man/man1/chatham-siem-pull.1.gz /var/lib/chatham /run/chatham \
	/var/lib/systemd/deb-systemd-helper-enabled/chatham.service.dsh-also; do
	[ -e "$p" ] && left="$left $p"
done
ls /var/lib/dpkg/info/chatham.* >/dev/null 2>&1 && left="$left /var/lib/dpkg/info/chatham.*"
[ -z "$left" ] && ok "purge removed every path of the package and its state" ||
	bad "left after purge:$left"
[ -f /etc/chatham/chatham.conf ] && ok "purge kept the administrator's /etc/chatham/chatham.conf" ||
	bad "purge deleted the administrator's file"
rm -f /etc/chatham/chatham.conf
rmdir /etc/chatham 2>/dev/null
getent passwd chatham >/dev/null && ok "the chatham system user stays (Debian policy)" ||
	bad "the system user was removed"
finish
