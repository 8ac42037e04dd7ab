#!/bin/bash
# Behaviour 13: resource limits from the policy, enforced by the kernel on
# the user's whole container (every process of every session), in a
# root-owned cgroup nothing inside can change. memory_max: a hog inside is
# OOM-killed and nothing of another user is touched. pids_max: a fork bomb
# is contained and another user still logs in meanwhile. cpu_max: a burner
# is throttled, visibly in the cgroup's statistics.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
B=jsbt_bob
bg_pids=()
cleanup() {
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
	"$JSB_CTL" stop $A >/dev/null 2>&1
	"$JSB_CTL" stop $B >/dev/null 2>&1
	write_config
}
trap cleanup EXIT


# The user's directory of the hierarchy that has knob KNOB (v1 or v2).
cgdir() { cg_dir "$@"; } # USER KNOB
calc() { awk "BEGIN { print $1 }"; } # no bc on a bare CI machine
knob() { cat "$(cgdir "$1" "$2")/$2"; }
stat_field() { # USER FILE FIELD
	awk -v f="$3" '$1 == f { print $2 }' "$(cgdir "$1" "$2")/$2"
}

write_config "[user:$A]
memory_max = 64M
pids_max = 50
cpu_max = 20%"

# --- the limits are in place, root-owned, not writable from inside -------
tmbg 60 jssh $A "sleep 300" >/dev/null 2>&1
bg_pids+=($!)
wait_for 200 container_pid $A >/dev/null
if [ -e "$(cgdir $A memory.limit_in_bytes)/memory.limit_in_bytes" ]; then
	check "v1 memory.limit_in_bytes is 64M" [ "$(knob $A memory.limit_in_bytes)" = 67108864 ]
	memfile=memory.oom_control
else
	check "v2 memory.max is 64M" [ "$(knob $A memory.max)" = 67108864 ]
	memfile=memory.events
fi
check "pids.max is 50" [ "$(knob $A pids.max)" = 50 ]
if cgdir $A cpu.cfs_quota_us >/dev/null; then
	check "v1 cpu.cfs_quota_us is 20000 of 100000" [ "$(knob $A cpu.cfs_quota_us)/$(knob $A cpu.cfs_period_us)" = 20000/100000 ]
else
	check "v2 cpu.max is 20000 100000" [ "$(knob $A cpu.max)" = "20000 100000" ]
fi
owners=$(for d in $(cg_dirs "$A"); do [ -d "$d" ] && stat -c '%u %a' "$d" "$d/cgroup.procs"; done | sort -u)
check "every cgroup directory and cgroup.procs of alice is root's, not delegated ($(oneline "$owners"))" \
	sh -c "[ -n '$owners' ] && ! echo '$owners' | grep -vq '^0 '"
pidsknob="$(cgdir $A pids.max)/pids.max"
out=$(tm 60 jssh $A "sudo sh -c 'echo max > $pidsknob' 2>&1; cat $pidsknob" 2>&1)
check "root inside cannot raise its own pids.max ($(oneline "$out"))" [ "$(knob $A pids.max)" = 50 ]

# --- memory_max: the hog dies, bob's concurrent work does not ---------------
# Bob's session lasts until the hog is over: it waits (bounded) for the
# test to drop ~/t13-release into his home.
bhome=$(getent passwd $B | cut -d: -f6)
rm -f "$bhome/t13-release"
tmbg 90 jssh $B 'for _ in $(seq 800); do [ -e ~/t13-release ] && break; sleep 0.1; done; echo bob-survived' \
	>"$JSB_RUN/t13.bob" 2>&1
bob=$!
bg_pids+=("$bob")
wait_for 200 container_pid $B >/dev/null
ooms_before=$(stat_field $A $memfile oom_kill)
# 8 MiB at a time, touched (bytearray zero-fills), up to 8 GiB
hog='b = [bytearray(8 << 20) for _ in range(1024)]'
t0=$(date +%s.%N)
out=$(tm 60 jssh $A "python3 -c '$hog'; echo rc=\$?" 2>&1)
t1=$(date +%s.%N)
printf '%s\n' "$out" | sed 's/^/  | hog: /'
echo "  | hog ended after $(calc "$t1 - $t0") s"
# (stdout and stderr travel apart over ssh: the shell's "Killed" line may
# come after the status)
if printf '%s\n' "$out" | grep -qx 'rc=137'; then ok "the hog inside is killed (SIGKILL, rc 137)"; else not_ok "the hog inside is killed (SIGKILL, rc 137)"; fi
ooms_after=$(stat_field $A $memfile oom_kill)
check "the kernel counted an OOM kill in alice's cgroup ($ooms_before -> $ooms_after)" [ "${ooms_after:-0}" -gt "${ooms_before:-0}" ]
check "alice's other session lives on" kill -0 "${bg_pids[0]}"
check "bob's session lives on through the hog" kill -0 "$bob"
touch "$bhome/t13-release"
# (its sshd monitor sits in alice's cgroup: end it, so that the cgroup can
# go with the container below)
kill "${bg_pids[0]}"
wait "${bg_pids[0]}" 2>/dev/null
wait $bob
rm -f "$bhome/t13-release"
check "bob's concurrent process survived" grep -qx bob-survived "$JSB_RUN/t13.bob"

# --- pids_max: a fork bomb is contained; bob logs in meanwhile -------------
bomb=':(){ :|:& };:'
# bomb_at_limit: the kernel has refused one of the bomb's forks.
bomb_at_limit() {
	local n
	n=$(stat_field $A pids.events max 2>/dev/null)
	[ "${n:-0}" -gt 0 ]
}
tmbg 60 jssh $A "timeout 20 bash -c '$bomb'; echo bomb-over" >"$JSB_RUN/t13.bomb" 2>&1
bombssh=$!
bg_pids+=("$bombssh")
# Measure once the bomb has hit pids.max (bounded wait, within its 20 s).
wait_for 200 bomb_at_limit
cur=$(knob $A pids.current)
events=$(stat_field $A pids.events max)
echo "  | during the bomb: pids.current $cur, pids.events max $events"
check "the bomb is held at pids.max (current $cur <= 50)" [ "$cur" -le 50 ]
check "the kernel refused forks (pids.events max $events > 0)" [ "${events:-0}" -gt 0 ]
t0=$(date +%s.%N)
out=$(tm 30 jssh $B 'echo bob-in' 2>&1)
t1=$(date +%s.%N)
echo "  | bob's login during the bomb took $(calc "$t1 - $t0") s"
check "bob logs in while alice's bomb runs" [ "$out" = bob-in ]
host=$(timeout 5 sh -c 'echo host-ok')
check "the host still forks" [ "$host" = host-ok ]
wait $bombssh
"$JSB_CTL" stop $A >/dev/null
nocg() { [ -z "$(cgdir $A pids.max)" ]; }
check "after stop, the bomb is gone and alice's cgroup with it" wait_for 100 nocg

# --- cpu_max: a burner is throttled ------------------------------------------
tmbg 60 jssh $A "sleep 300" >/dev/null 2>&1
bg_pids+=($!)
wait_for 200 container_pid $A >/dev/null
if cgdir $A cpu.cfs_quota_us >/dev/null; then
	thr_before=$(stat_field $A cpu.stat nr_throttled)
	use_before=$(knob $A cpuacct.usage 2>/dev/null || echo 0)
	w0=$(date +%s.%N)
	tm 60 jssh $A 'timeout 5 sh -c "while :; do :; done"'
	w1=$(date +%s.%N)
	thr_after=$(stat_field $A cpu.stat nr_throttled)
	use_after=$(knob $A cpuacct.usage 2>/dev/null || echo 0)
	used=$(calc "($use_after - $use_before) / 1000000000")
else
	thr_before=$(stat_field $A cpu.stat nr_throttled)
	use_before=$(stat_field $A cpu.stat usage_usec)
	w0=$(date +%s.%N)
	tm 60 jssh $A 'timeout 5 sh -c "while :; do :; done"'
	w1=$(date +%s.%N)
	thr_after=$(stat_field $A cpu.stat nr_throttled)
	use_after=$(stat_field $A cpu.stat usage_usec)
	used=$(calc "($use_after - $use_before) / 1000000")
fi
# The window is the whole login, not just the 5 s loop: the shell's start and
# the login's own work count against the same quota, and under a slow
# emulator (the VM lane) the login alone takes seconds. So compare the CPU
# used with the wall time the window really lasted; cpu.max lets at most 20%
# of it through, plus one period's quota.
wall=$(calc "$w1 - $w0")
share=$(calc "$used / $wall")
printf '  | burner: %.2f s of CPU in a %.2f s window, %.0f%% (cpu_max 20%%), nr_throttled %s -> %s\n' \
	"$used" "$wall" "$(calc "$share * 100")" "$thr_before" "$thr_after"
check "cpu.stat nr_throttled grew ($thr_before -> $thr_after)" [ "$thr_after" -gt "$thr_before" ]
check "the burner got at most ~30% of a CPU ($used s in $wall s)" [ "$(calc "($share < 0.3)")" = 1 ]
check "the window covered the 5 s loop ($wall s)" [ "$(calc "($wall >= 5)")" = 1 ]

# --- the containers' common group weighs less than a host process ------------
# containers_cpu_weight (default 10) on the group that holds every container,
# so a busy container leaves a core to sshd and other users' logins. (On a
# systemd host the containers live in the users' slices instead.)
parent_weight() { # the jsandbox group's CPU weight on the v2 scale, v1 or v2
	if [ -e /sys/fs/cgroup/cpu/jsandbox/cpu.shares ]; then
		awk '{ print int(($1 * 100 + 512) / 1024) }' /sys/fs/cgroup/cpu/jsandbox/cpu.shares
	else
		cat /sys/fs/cgroup/jsandbox/cpu.weight
	fi
}
if systemd_host; then
	echo "  | systemd host: the containers live in the users' slices; no jsandbox group to weigh"
else
	"$JSB_CTL" stop $A >/dev/null 2>&1
	echo 1024 >/sys/fs/cgroup/cpu/jsandbox/cpu.shares 2>/dev/null || echo 100 >/sys/fs/cgroup/jsandbox/cpu.weight
	tm 60 jssh $A true
	w=$(parent_weight)
	check "a container start sets the containers' group to weight 10 ($w)" [ "$w" = 10 ]
	"$JSB_CTL" stop $A >/dev/null 2>&1
	JSB_GLOBAL_EXTRA="containers_cpu_weight = 50" write_config "[user:$A]
memory_max = 64M"
	tm 60 jssh $A true
	w=$(parent_weight)
	check "containers_cpu_weight = 50 in [global] sets weight 50 ($w)" [ "$w" = 50 ]
fi
finish
