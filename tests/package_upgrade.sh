#!/bin/bash
# The package upgrade, as CI checks it once (tests/run-all.sh, step 3c):
# three packages built from the tracked tree with dpkg-buildpackage:
#   N    the tree's own version (debian/changelog);
#   N+1  the same tree with a changelog entry N+upgtest1 in a copy (the
#        committed changelog is not touched): another version, the same
#        root <-> init protocol;
#   N+2  N+upgtest2, built with -DJSANDBOX_TEST_PROTO=<protocol + 1> (a
#        CMake cache variable for this test only, root/proto.h): a version
#        whose protocol cannot talk to N's containers.
# N is installed, the e2e fixture comes up against it (JSB_INSTALLED=1,
# tests/e2e/lib.sh) and alice's container starts and lingers; dpkg -i N+1:
# the container runs on and a login through sshd joins it; dpkg -i N+2:
# the login is refused with the documented message, the container is left
# alone, jsandboxctl stop ends it and the next login starts a new one
# (tests/e2e/upgrade_steps.sh). Then everything is purged.
#
# Like tests/package.sh it installs a package system-wide: only on a
# throwaway machine (CI) or where no jsandbox package is installed (it
# refuses otherwise), and it never touches the system sshd, /etc/pam.d/sshd
# or /var/lib/jsandbox.
#
# Usage: tests/package_upgrade.sh BUILD-DIR   (a configured build of this
# tree, for ctest's e2e fixture; tests/run-all.sh passes its normal build)
# JSB_E2E_LOCK=FILE takes that lock after the builds (a shared machine).
set -euo pipefail
cd "$(dirname "$0")/.."
b=$(cd "${1:?usage: tests/package_upgrade.sh BUILD-DIR}" && pwd)
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root"; exit 1; }
if dpkg-query -W -f '${Status}' jsandbox 2>/dev/null | grep -q 'installed'; then
	echo "FAIL: a jsandbox package is installed here already; this step installs and purges its own"
	exit 1
fi
proto=$(sed -n 's/^#define JS_PROTO_VERSION \([0-9]*\)u$/\1/p' root/proto.h)
[ -n "$proto" ] || { echo "FAIL: no JS_PROTO_VERSION in root/proto.h"; exit 1; }

work=$(mktemp -d /tmp/jsb-upgrade.XXXXXX)
installed=0
fixture=0
# The e2e harness against the installed package (tests/e2e/lib.sh); ctest
# passes the same to its fixture.
export JSB_INSTALLED=1 JSB_BUILD=$b JSB_PREFIX=/usr JSB_CONF=/etc/jsandbox.conf
# shellcheck disable=SC2317 # run by the trap
on_exit() {
	local rc=$?
	[ "$fixture" = 1 ] && ctest --test-dir "$b" -R '^e2e_cleanup$' >/dev/null 2>&1
	[ "$installed" = 1 ] && dpkg --purge jsandbox >/dev/null 2>&1
	rm -rf "$work"
	exit "$rc"
}
trap on_exit EXIT

# build NAME [VERSION [CMAKE-FLAG]]: a package from a copy of the tracked
# tree, with a changelog entry VERSION and the flag added to debian/rules'
# configure step (in the copy).
build() {
	local name=$1 version=${2:-} flag=${3:-}
	local src=$work/$name
	mkdir -p "$src/src"
	git ls-files -z | tar --null -cf - -T - | tar -xf - -C "$src/src"
	if [ -n "$version" ]; then
		{
			printf 'jsandbox (%s) unstable; urgency=medium\n\n' "$version"
			printf '  * Upgrade test build (tests/package_upgrade.sh).\n\n'
			printf ' -- jsandbox developers <dev@jsandbox.example.org>  %s\n\n' "$(date -R)"
			cat "$src/src/debian/changelog"
		} >"$src/changelog"
		mv "$src/changelog" "$src/src/debian/changelog"
	fi
	if [ -n "$flag" ]; then
		sed -i "s|^\t\t-DJSANDBOX_TESTS=OFF$|\t\t-DJSANDBOX_TESTS=OFF $flag|" "$src/src/debian/rules"
		grep -qF -- "$flag" "$src/src/debian/rules" || {
			echo "FAIL: cannot add $flag to debian/rules" >&2
			exit 1
		}
	fi
	echo "=== upgrade: dpkg-buildpackage $name ${version:-as committed} $flag" >&2
	(cd "$src/src" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$src/build.log" 2>&1 || {
		tail -40 "$src/build.log" >&2
		echo "FAIL: dpkg-buildpackage $name" >&2
		exit 1
	}
	ls "$src"/jsandbox_*_"$(dpkg --print-architecture)".deb
}

base=$(dpkg-parsechangelog -S Version)
v1=$base+upgtest1
v2=$base+upgtest2
deb0=$(build n)
deb1=$(build n1 "$v1")
deb2=$(build n2 "$v2" "-DJSANDBOX_TEST_PROTO=$((proto + 1))")

# JSB_E2E_LOCK=FILE: hold this lock (flock) from here on, not during the
# builds (the e2e tests of a shared machine take one lock).
if [ -n "${JSB_E2E_LOCK:-}" ]; then
	exec 9>"$JSB_E2E_LOCK"
	echo "=== upgrade: waiting for $JSB_E2E_LOCK"
	flock 9
fi

fail=0
steps() { tests/e2e/upgrade_steps.sh "$@" || fail=1; }

echo "=== upgrade: install $base"
dpkg -i "$deb0" >/dev/null
installed=1
fixture=1
ctest --test-dir "$b" -R '^(install|e2e_setup)$' --output-on-failure || { echo "FAIL: e2e fixture"; exit 1; }
steps start "$base"

echo "=== upgrade: $base -> $v1 (same protocol)"
dpkg -i --force-confold "$deb1" >/dev/null
steps compatible "$base" "$v1"

echo "=== upgrade: $v1 -> $v2 (protocol $((proto + 1)))"
dpkg -i --force-confold "$deb2" >/dev/null
steps incompatible "$base" "$v2"

fixture=0
ctest --test-dir "$b" -R '^e2e_cleanup$' --output-on-failure || fail=1
dpkg --purge jsandbox >/dev/null
installed=0
[ "$fail" = 0 ] && echo "package upgrade: OK"
exit "$fail"
