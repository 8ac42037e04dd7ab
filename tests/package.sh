#!/bin/bash
# The Debian package, as CI checks it once (tests/run-all.sh, step 3b): built
# from the tracked tree with dpkg-buildpackage, lintian-clean at the default
# level (the overrides in debian/jsandbox.lintian-overrides say why each is
# there), installed with dpkg, the end-to-end fixture and the tests named
# below run against the installed files (JSB_INSTALLED=1, tests/e2e/lib.sh),
# then purged, and nothing of it may be left.
#
# It installs a package system-wide: run it only on a throwaway machine (CI)
# or where no jsandbox package is installed (it refuses otherwise). It never
# touches the system sshd, /etc/pam.d/sshd or /var/lib/jsandbox: the tests
# use their own sshd, PAM service and state directories, and the package's
# maintainer scripts change nothing outside its own files.
#
# Usage: tests/package.sh BUILD-DIR   (a configured build of this tree, for
# ctest's list of tests; tests/run-all.sh passes its normal build)
set -euo pipefail
cd "$(dirname "$0")/.."
b=${1:?usage: tests/package.sh BUILD-DIR}
tests=${JSB_PACKAGE_TESTS:-'^(install|e2e_setup|e2e_t_01_identity|e2e_t_70_enable|e2e_t_71_status_logs|e2e_cleanup)$'}
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root"; exit 1; }
if dpkg-query -W -f '${Status}' jsandbox 2>/dev/null | grep -q 'installed'; then
	echo "FAIL: a jsandbox package is installed here already; this step installs and purges its own"
	exit 1
fi

work=$(mktemp -d /tmp/jsb-package.XXXXXX)
installed=0
# shellcheck disable=SC2317 # run by the trap
on_exit() {
	local rc=$?
	[ "$installed" = 1 ] && dpkg --purge jsandbox >/dev/null 2>&1
	rm -rf "$work"
	exit "$rc"
}
trap on_exit EXIT

echo "=== package: dpkg-buildpackage"
mkdir "$work/src"
git ls-files -z | tar --null -cf - -T - | tar -xf - -C "$work/src"
(cd "$work/src" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$work/build.log" 2>&1 || {
	tail -40 "$work/build.log"
	echo "FAIL: dpkg-buildpackage"
	exit 1
}
deb=$(ls "$work"/jsandbox_*_"$(dpkg --print-architecture)".deb)

echo "=== package: lintian"
lintian --fail-on error,warning "$work"/jsandbox_*.changes

echo "=== package: install"
dpkg -i "$deb"
installed=1
fail=0
expect_ok() { # DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@"; then echo "ok - $d"; else
		echo "not ok - $d"
		fail=1
	fi
}
expect_ok "/etc/jsandbox.conf is a conffile" sh -c "dpkg-query -W -f '\${Conffiles}' jsandbox | grep -q '^ /etc/jsandbox.conf '"
expect_ok "the installed policy exempts an ordinary account" sh -c "jsandboxctl policy nobody | grep -q 'exempt (sandbox = no)'"
expect_ok "man pages are installed" test -f /usr/share/man/man8/jsandboxctl.8.gz -a -f /usr/share/man/man5/jsandbox.conf.5.gz \
	-a -f /usr/share/man/man8/pam_jsandbox.8.gz -a -f /usr/share/man/man8/jsandbox-shell.8.gz
expect_ok "nothing in /etc/pam.d names the module" sh -c "! grep -rq pam_jsandbox /etc/pam.d"
expect_ok "/etc/shells does not list jsandbox-shell" sh -c "! grep -q jsandbox-shell /etc/shells"

echo "=== package: end-to-end tests against the installed package"
JSB_INSTALLED=1 ctest --test-dir "$b" -R "$tests" --output-on-failure || fail=1
expect_ok "the tests put the package's /etc/jsandbox.conf back" cmp -s /etc/jsandbox.conf conf/jsandbox.conf.default
expect_ok "dpkg --verify finds every file of the package intact" sh -c "[ -z \"\$(dpkg --verify jsandbox)\" ]"

echo "=== package: removal refused while PAM names the module"
probe=/etc/pam.d/jsbt-prerm-probe
printf 'session required pam_jsandbox.so\n' >"$probe"
out=$(dpkg -r jsandbox 2>&1) && rc=0 || rc=$?
rm -f "$probe"
expect_ok "dpkg -r fails while $probe names pam_jsandbox.so" [ "$rc" != 0 ]
expect_ok "and the prerm names the file" grep -q "still wired into:.* $probe" <<<"$out"
expect_ok "the package is still installed" sh -c "dpkg-query -W -f '\${Status}' jsandbox | grep -q 'install ok installed'"

echo "=== package: purge"
dpkg --purge jsandbox
installed=0
expect_ok "purged: no file of the package is left" sh -c "! ls /usr/sbin/jsandboxctl /usr/libexec/jsandbox /etc/jsandbox.conf 2>/dev/null | grep -q ."
[ "$fail" = 0 ] && echo "package: OK"
exit "$fail"
