#!/usr/bin/env bash
# install-deps.sh — every Debian 12 package chatham needs to build, test and run.
# Idempotent: apt-get skips what is installed. Run as root (or with sudo).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
PKGS=(
	# build
	build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
	# core libraries
	libsodium-dev libuv1-dev libmsgpack-dev liblmdb-dev
	# policy: NFKC case folding and the TR39 confusable skeleton for redaction
	libicu-dev
	# node libraries; chatham-taxii's HTTPS (libmicrohttpd uses GnuTLS)
	libjansson-dev libinih-dev libmd-dev libmicrohttpd-dev libgnutls28-dev
	# tests: unit framework, LMDB tools, independent Noise peer, SIEM puller, unit checks
	libcmocka-dev lmdb-utils python3 python3-lmdb python3-msgpack python3-dissononce
	systemd valgrind openssl
	# network test bed (tests/net): NAT in a namespace, clock skew with libfaketime
	nftables iproute2 faketime
	# the Debian package (tests/pkg): dpkg-buildpackage with debhelper, lintian
	debhelper dpkg-dev fakeroot lintian man-db
	# man pages
	scdoc
)
# STIX validation in tests uses ajv from npm (test-only); use the machine's npm if it has one.
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# The package lists are refreshed only when something is to be installed.
if [ ${#missing[@]} -gt 0 ]; then
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all ${#PKGS[@]} packages present"
