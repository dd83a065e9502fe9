#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# deploy/chatham-taxii.service: verifies cleanly against the built binary, its sandbox scores
# an exposure of at most 2.0 (`systemd-analyze security --offline=yes`; --threshold=20 is
# the same bound in tenths), it runs as its own user with group chatham-siem and no access
# to /etc/chatham; sysusers makes chatham-taxii a member of chatham-siem (not of chatham);
# the example configuration is valid.
set -uo pipefail
src=${CHATHAM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${CHATHAM_BUILD_DIR:-$src/build/dev}
bin=$build/node/taxii/chatham-taxii
unit=$src/deploy/chatham-taxii.service
command -v systemd-analyze >/dev/null || { echo "systemd-analyze missing"; exit 1; }
[ -x "$bin" ] || { echo "chatham-taxii binary missing at $bin"; exit 1; }
bin=$(realpath "$bin")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/     /'; fail=$((fail + 1)); }

sed "s#^ExecStart=/usr/bin/chatham-taxii#ExecStart=$bin#" "$unit" > "$work/chatham-taxii.service"
out=$(systemd-analyze verify --man=no "$work/chatham-taxii.service" 2>&1)
if [ $? -eq 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify is clean"; else bad "verify" "$out"; fi

out=$(systemd-analyze security --offline=yes --threshold=20 "$unit" 2>&1)
rc=$?
level=$(echo "$out" | sed -n 's/.*Overall exposure level for chatham-taxii.service: \([0-9.]*\).*/\1/p')
if [ $rc -eq 0 ] && [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
	ok "exposure $level <= 2.0"
else
	bad "exposure '$level' (rc $rc)" "$(echo "$out" | grep '✗')"
fi

for want in '^Type=notify$' '^User=chatham-taxii$' '^SupplementaryGroups=chatham-siem$' \
	'^ReadWritePaths=/var/lib/chatham/export$' '^InaccessiblePaths=-/etc/chatham$' \
	'^LoadCredential=tls.key:' '^NoNewPrivileges=yes$' '^RestartPreventExitStatus=78$' \
	'^CapabilityBoundingSet=$'; do
	grep -q "$want" "$unit" && ok "unit has $want" || bad "unit lacks $want"
done
if grep -Eq '^LoadCredential=.*(member|network)\.key' "$unit"; then
	bad "the TAXII unit must not load a chatham key"
else
	ok "no chatham key in the unit"
fi

if [ "$(id -u)" -eq 0 ]; then
	root=$work/root
	mkdir -p "$root/etc"
	if out=$(systemd-sysusers --root="$root" - < "$src/deploy/chatham.sysusers" 2>&1); then
		line=$(awk -F: '$1 == "chatham-siem" { print $4 }' "$root/etc/group")
		chat=$(awk -F: '$1 == "chatham" { print $4 }' "$root/etc/group")
		[ "$line" = "chatham-taxii" ] && ok "chatham-taxii is in group chatham-siem" ||
			bad "chatham-siem members: '$line'"
		case ",$chat," in *,chatham-taxii,*) bad "chatham-taxii is in group chatham" ;;
		*) ok "chatham-taxii is not in group chatham (no /etc/chatham)" ;; esac
	else
		bad "sysusers" "$out"
	fi
else
	echo "skip sysusers (needs root to write a scratch root)"
fi

out=$("$bin" check-config --config "$src/deploy/chatham-taxii.conf.example" 2>&1) &&
	ok "example config is valid" || bad "example config" "$out"
printf '[server]\nlisten = 127.0.0.1\nexport_dir = /x\ntls_cert = a\ntls_key = b\n' > "$work/bad.conf"
"$bin" check-config --config "$work/bad.conf" >/dev/null 2>&1
[ $? -eq 78 ] && ok "a config without consumers is refused (78)" || bad "config without consumers accepted"
printf '[server]\nlisten = 127.0.0.1\nexport_dir = /x\ntls_cert = a\ntls_key = b\n[consumer a]\nsecret_hash = %064d\ntlp_ceiling = GREEN\ncollections = GREEN\ntlp_celing = RED\n' 0 > "$work/typo.conf"
"$bin" check-config --config "$work/typo.conf" >/dev/null 2>&1
[ $? -eq 78 ] && ok "a misspelt key in a consumer is refused" || bad "typo accepted"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
