#!/bin/bash
# A session's processes are in the user's cgroup: in every v1 hierarchy
# jsandbox manages (where the limits are), and in v2 wherever v2 limits
# anything or enforces the device rules (on a hybrid host with a v1 devices
# hierarchy, the controller-less unified tree is skipped: see
# js_cgroup_attach_session). The limits hold for the session: pids.max is
# the policy's. With the container warm (linger = yes) the same holds for a
# second login, which joins without creating anything.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice

write_config "[user:$A]
linger = yes
pids_max = 777"

# check_session_cgroups: a session's sleep, seen from the host.
check_session_cgroups() {
	local tag=$1
	# The session's sleep, unique to this call, lasts until the checks
	# are done: it is killed below, which ends the session.
	sessions=$((sessions + 1))
	local marker="sleep 60$sessions"
	tm 90 jssh $A "exec $marker" >/dev/null &
	local bg=$! pid=""
	for _ in $(seq 50); do
		pid=$(pgrep -u $A -fx "$marker" | head -1)
		[ -n "$pid" ] && break
		sleep 0.1
	done
	check "$tag: the session's process is found on the host" [ -n "$pid" ]
	local cg=/proc/$pid/cgroup v1=0 v2ok=1 bad="" rel
	rel=$(cg_rel $A)
	# (the loop reads $cg and greps it too; nothing writes it)
	# shellcheck disable=SC2094
	while IFS=: read -r _ ctrl path; do
		if [ -z "$ctrl" ]; then
			# v2: required unless hybrid with v1 devices and no v2 controllers
			if [ -n "$(cat /sys/fs/cgroup/unified/jsandbox/$A/cgroup.controllers 2>/dev/null)" ] ||
				! grep -q ':devices:' "$cg" || [ ! -d /sys/fs/cgroup/unified ]; then
				[ "$path" = "$rel" ] || v2ok=0
			fi
			continue
		fi
		case ",$ctrl," in
		*,memory,* | *,pids,* | *,cpu,* | *,cpuacct,* | *,devices,* | *,freezer,*)
			v1=$((v1 + 1))
			[ "$path" = "$rel" ] || bad="$bad $ctrl:$path"
			;;
		esac
	done <"$cg"
	if grep -q ':memory:' "$cg"; then
		local v1ok=0
		[ -z "$bad" ] && [ "$v1" -gt 0 ] && v1ok=1
		check "$tag: in the user's group in every v1 hierarchy ($v1)${bad:+, not:$bad}" [ "$v1ok" = 1 ]
	fi
	check "$tag: in the user's v2 group where v2 limits anything" [ "$v2ok" = 1 ]
	local pmax
	pmax=$(cg_dir $A pids.max)/pids.max
	check "$tag: the session's pids limit is the policy's" [ "$(cat "$pmax" 2>/dev/null)" = 777 ]
	[ -n "$pid" ] && kill "$pid"
	wait $bg
}
sessions=0

"$JSB_CTL" stop $A >/dev/null 2>&1
check_session_cgroups "first login"
init=$(container_pid $A)
check "the container lingers" [ -n "$init" ]
check_session_cgroups "warm login"
check "the warm login joined the same container" [ "$(container_pid $A)" = "$init" ]

"$JSB_CTL" stop $A >/dev/null 2>&1
write_config
finish
