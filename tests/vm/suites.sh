# shellcheck shell=bash
# The end-to-end and security suites inside the VM (sourced by run-lane.sh
# last, after the lane's own tests): the host's normal build tree (built
# with tests, configured with a scratch prefix and config path, as
# tests/run-all.sh does) and the source tree go into the guest at the same
# absolute paths, with the cached test base image; the guest's root runs
# the ctest tests JSB_VM_SUITES (a ctest -R regex) there, as CI runs them on
# a build machine: the private-sshd harness (tests/e2e/lib.sh), here on
# systemd, pure cgroup v2 and the guest's kernel.
#
# The guest's journald owns /dev/log; the harness collects syslog itself,
# so the lane removes the /dev/log link to journald's socket first (the
# journal still gets everything else).

suites_run() {
	local regex=$1 t0=$SECONDS
	if [ ! -f "$BUILD/CTestTestfile.cmake" ] || [ ! -d "$BUILD/tests" ]; then
		not_ok "suites: $BUILD is not a configured build with tests"
		return
	fi
	local cache=${JSB_CACHE:-$BUILD/test-cache}
	[ -d "$cache/images/jsbtest/usr" ] || {
		not_ok "suites: no cached test image at $cache/images/jsbtest (run the build's e2e_setup once)"
		return
	}
	# The trees, at their host paths: the tracked sources, the build tree
	# without the lane's caches and the runs' leftovers.
	{
		git -C "$SRC" ls-files -z | sed -z "s|^|$SRC/|"
		find "$BUILD" -mindepth 1 -maxdepth 1 \! -name 'vm-*' \! -name test-cache \! -name e2e \! -name Testing -print0
	} | tar -C / --null -T - -czf "$WORK/trees.tar.gz" --absolute-names 2>"$WORK/trees.err" || {
		not_ok "suites: cannot pack the trees ($(head -2 "$WORK/trees.err"))"
		return
	}
	vm_ssh "rm -rf '$SRC' && mkdir -p '$SRC' && tar -C / -xzf - --absolute-names" <"$WORK/trees.tar.gz" ||
		{
			not_ok "suites: cannot unpack the trees in the guest"
			return
		}
	tar -C "$cache" -cf - images |
		vm_ssh 'install -d -m 0755 /var/tmp/jsb-test-cache && tar -C /var/tmp/jsb-test-cache -xf -' || {
		not_ok "suites: cannot copy the test image"
		return
	}
	vm_ssh 'rm -f /dev/log' # journald's link: the harness's collector takes /dev/log
	echo "# suites: trees and image in the guest after $((SECONDS - t0))s; ctest -R '$regex'"
	local t1=$SECONDS
	vm_ssh "cd '$SRC' && CI=true JSB_CACHE=/var/tmp/jsb-test-cache timeout ${JSB_VM_SUITES_TIMEOUT:-2400} \
		ctest --test-dir '$BUILD' -R '$regex' --output-on-failure ${JSB_VM_SUITES_CTEST_ARGS:-}" >"$WORK/suites.log" 2>&1
	local rc=$?
	sed 's/^/#   suites: /' "$WORK/suites.log" | grep -E 'Test +#|tests passed|tests failed|Total Test time|Failed|\*\*\*|FAIL|not ok' | head -200
	check "suites: ctest -R '$regex' passes in the guest on $KERNEL ($((SECONDS - t1))s)" [ "$rc" = 0 ]
	[ "$rc" = 0 ] || suites_diagnose
}

# suites_diagnose: after a failed run, what the guest's kernel and journal
# say (an OOM kill, a hung task, a unit systemd stopped) and the console's
# tail, which still has the kernel's last words when the guest cannot be
# reached any more.
# Each question is bounded: a hung guest's sshd may take the connection
# (QEMU's user network accepts it) and never answer.
suites_diagnose() {
	tail -60 "$WORK/suites.log" | sed 's/^/#   suites log: /'
	local o
	mapfile -t o < <(vm_ssh_opts)
	if timeout 30 ssh "${o[@]}" root@127.0.0.1 true 2>/dev/null; then
		timeout 60 ssh "${o[@]}" root@127.0.0.1 'dmesg | grep -v -E "audit:|apparmor" | tail -40' 2>&1 |
			sed 's/^/#   guest dmesg: /'
		timeout 60 ssh "${o[@]}" root@127.0.0.1 'free -m; journalctl -b -p warning --no-pager | tail -40' 2>&1 |
			sed 's/^/#   guest: /'
	else
		echo "#   the guest's sshd does not answer any more"
	fi
	tail -40 "$VM_WORK/console.log" 2>/dev/null | sed 's/^/#   console: /'
}
