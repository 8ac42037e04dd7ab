# shellcheck shell=bash
# How every test script reports: "ok - ..." / "not ok - ..." lines, a closing
# "N passed, N failed" line and its exit status; SKIP exits 77, or fails
# under CI=true, where nothing may be skipped. Sourced by lib.sh and by the
# tests that run without the e2e fixture (test_image.sh).

PASS=0
FAIL=0

skip() {
	echo "SKIP: $*"
	if [ "${CI:-}" = true ]; then
		echo "FAIL: skipped under CI=true"
		exit 1
	fi
	exit 77
}

ok() {
	PASS=$((PASS + 1))
	echo "ok - $*"
}

not_ok() {
	FAIL=$((FAIL + 1))
	echo "not ok - $*"
}

# check DESCRIPTION COMMAND...: passes when the command succeeds
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}
