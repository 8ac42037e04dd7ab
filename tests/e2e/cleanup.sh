#!/bin/bash
# Fixture clean-up: everything setup.sh and the tests made, except the
# cached image.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || exit 0
for u in jsbt_alice jsbt_bob jsbt_admin jsbt_carol; do
	id "$u" >/dev/null 2>&1 && "$JSB_CTL" stop "$u" >/dev/null 2>&1
done
stop_sshd
# Nothing may be left behind: no process (an init or its children), no
# cgroup, no runtime file. Only our users count: other jsandbox
# installations (a benchmark, a real one) may run containers of their own.
# Zombies do not count: they are gone once their parent (sshd's monitor,
# or PID 1 for orphans) reaps them.
# procs_left: print the test users' live processes, true when there are none.
procs_left() {
	local u range procs all=
	for u in jsbt_alice jsbt_bob jsbt_carol; do
		id "$u" >/dev/null 2>&1 || continue
		# the user's own uid, and the subordinate range the container's
		# other ids (its root: the init) map to
		range=$(sed -n "s/^$u:\([0-9]*\):\([0-9]*\)$/\1 \2/p" /etc/subuid | head -1)
		procs=$(ps -eo uid=,pid=,stat=,args= | awk -v me="$(id -u "$u")" -v lo="${range% *}" -v cnt="${range#* }" \
			'($1 == me || (lo != "" && $1 >= lo && $1 < lo + cnt)) && $3 !~ /^Z/')
		[ -n "$procs" ] && all="$all$u: $procs
"
	done
	printf '%s' "$all"
	[ -z "$all" ]
}
# A stopped container's processes are SIGKILLed; their exit may take a
# moment: wait for it (bounded), then report what is left.
no_procs_left() { procs_left >/dev/null; }
wait_for 50 no_procs_left
left_out=$(procs_left)
printf '%s' "$left_out"
left=$(printf '%s' "$left_out" | grep -c .)
check "no process of a test user left ($left)" [ "$left" = 0 ]
for u in jsbt_alice jsbt_bob jsbt_admin jsbt_carol; do remove_user "$u"; done
stop_syslog
# wherever the groups are: <hierarchy>/jsandbox/<user> without systemd,
# user.slice/user-UID.slice/jsandbox-UID.scope/<user> with it
check "no user cgroup left" sh -c '! find /sys/fs/cgroup -mindepth 2 -maxdepth 6 -type d -name "jsbt_*" 2>/dev/null | grep -q .'
check "no runtime dir left" sh -c "! ls '$JSB_RUN/run' 2>/dev/null | grep -qv '^lock$'"
rm -rf "$JSB_RUN/state" "$JSB_RUN/run"
restore_package_config
finish
