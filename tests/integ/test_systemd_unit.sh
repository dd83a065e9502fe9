#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# deploy/: the unit verifies cleanly and its sandbox scores an exposure of at most 1.5
# (systemd 252: `systemd-analyze security --offline=yes` reads the file without a running
# manager; --threshold=15 is the same bound in the tool's tenths), the sysusers.d and
# tmpfiles.d entries apply to an empty root, and the example config is exactly what
# `chatham check-config --example` prints and is valid.
set -uo pipefail
src=${CHATHAM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${CHATHAM_BIN:-$src/build/dev/node/chatham}
unit=$src/deploy/chatham.service
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze missing (deploy/install-deps.sh)"; exit 1; }
[ -x "$bin" ] || { echo "chatham binary missing at $bin"; exit 1; }
bin=$(realpath "$bin")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/     /'; fail=$((fail + 1)); }

# verify: the checked-in unit names /usr/bin/chatham; point a copy at the built binary (the
# installed unit names the installed one). Man pages are not installed here: --man=no.
sed "s#^ExecStart=/usr/bin/chatham #ExecStart=$bin #" "$unit" > "$work/chatham.service"
out=$(systemd-analyze verify --man=no "$work/chatham.service" 2>&1)
if [ $? -eq 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify is clean"; else bad "verify" "$out"; fi

out=$(systemd-analyze security --offline=yes --threshold=15 "$unit" 2>&1)
rc=$?
level=$(echo "$out" | sed -n 's/.*Overall exposure level for chatham.service: \([0-9.]*\).*/\1/p')
if [ $rc -eq 0 ] && [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 1.5) }'; then
	ok "exposure $level <= 1.5"
else
	bad "exposure '$level' (rc $rc)" "$(echo "$out" | grep '✗')"
fi

for want in '^Type=notify$' '^ExecReload=' '^Restart=on-failure$' '^WatchdogSec=' \
	'^StateDirectory=chatham$' '^RuntimeDirectory=chatham$' '^ConfigurationDirectory=chatham$' \
	'^UMask=0077$' '^RestartPreventExitStatus=78$' '^NoNewPrivileges=yes$'; do
	grep -q "$want" "$unit" && ok "unit has $want" || bad "unit lacks $want"
done

if [ "$(id -u)" -eq 0 ]; then
	root=$work/root
	mkdir -p "$root/etc"
	if out=$(systemd-sysusers --root="$root" - < "$src/deploy/chatham.sysusers" 2>&1) &&
		uid=$(awk -F: '$1 == "chatham" { print $3 }' "$root/etc/passwd") && [ -n "$uid" ] &&
		gid=$(awk -F: '$1 == "chatham" { print $3 }' "$root/etc/group") && [ -n "$gid" ]; then
		ok "sysusers creates user and group chatham ($uid:$gid)"
		out=$(systemd-tmpfiles --create --root="$root" - < "$src/deploy/chatham.tmpfiles" 2>&1)
		siem=$(awk -F: '$1 == "chatham-siem" { print $3 }' "$root/etc/group")
		got=$(stat -c '%a %u %g' "$root/etc/chatham" "$root/var/lib/chatham" \
			"$root/var/lib/chatham/export" 2>&1 | tr '\n' ' ')
		# The export is the only thing group chatham-siem reaches (setgid: new files too).
		want="750 0 $gid 751 $uid $gid 2750 $uid $siem "
		[ "$got" = "$want" ] && ok "tmpfiles creates the directories" ||
			bad "tmpfiles: got '$got', want '$want'" "$out"
	else
		bad "sysusers" "$out"
	fi
else
	echo "skip sysusers/tmpfiles (needs root to chown in a scratch root)"
fi

if "$bin" check-config --example | cmp -s - "$src/deploy/chatham.conf.example"; then
	ok "chatham.conf.example is the generated example"
else
	bad "deploy/chatham.conf.example differs from chatham check-config --example"
fi
# --syntax-only: the example names /etc/chatham files this machine does not have
out=$("$bin" check-config --syntax-only "$src/deploy/chatham.conf.example" 2>&1) &&
	ok "example config is valid" || bad "example config" "$out"
n_opts=$(grep -c '^#[a-z0-9_]* =' "$src/deploy/chatham.conf.example")
n_help=$("$bin" check-config --syntax-only --effective "$src/deploy/chatham.conf.example" |
	grep -c ' = ')
[ "$n_opts" -eq "$n_help" ] && [ "$n_opts" -gt 10 ] && ok "example documents all $n_opts options" ||
	bad "example has $n_opts options, config knows $n_help"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
