#!/bin/bash
# Attacks on the limits from inside, as root there: raise the memory and
# pids limits, widen the device allow-list, leave the cgroup, mount a
# cgroup file system of one's own.
. "$(dirname "$0")/lib_sec.sh"
give_tool "$A"
# A session held open keeps the container (and its cgroup) alive throughout.
tm 300 jssh "$A" "sleep 280" >/dev/null 2>&1 &
holder=$!
trap 'kill $holder 2>/dev/null' EXIT
check "alice's container runs" wait_for 300 container_pid "$A"
# Her group's path pattern, on either layout (tests/e2e/lib.sh).
cgp="*$(cg_rel "$A")/*"
limits() {
	find /sys/fs/cgroup -path "$cgp" \( -name pids.max -o -name memory.max -o -name memory.limit_in_bytes \
		-o -name devices.list -o -name memory.swap.max \) -print0 2>/dev/null | sort -z | xargs -0 -r grep -H . 2>/dev/null
}
before=$(limits)
check "alice's limits exist on the host ($(echo "$before" | wc -l) knobs)" test -n "$before"

refused "raising every memory and pids limit of her cgroup is refused" "$A" "
	n=0; rc=0
	for f in \$(find /sys/fs/cgroup -path '$cgp' \\( -name pids.max -o -name memory.max -o -name memory.swap.max \\) 2>/dev/null); do
	  n=\$((n+1)); sudo -n \$HOME/jsb-attack write \$f max || rc=1; done
	for f in \$(find /sys/fs/cgroup -path '$cgp' -name 'memory*limit_in_bytes' 2>/dev/null); do
	  n=\$((n+1)); sudo -n \$HOME/jsb-attack write \$f -1 || rc=1; done
	echo \"\$n knobs tried\"; [ \$n -gt 0 ] && [ \$rc = 0 ]"
refused "removing the device rules (devices.allow a, devices.deny nothing) is refused" "$A" "
	rc=0; n=0
	for f in \$(find /sys/fs/cgroup -path '$cgp' -name devices.allow 2>/dev/null); do
	  n=\$((n+1)); sudo -n \$HOME/jsb-attack write \$f a || rc=1; done
	echo \"\$n allow-lists tried\"; [ \$rc = 0 ]"
refused "moving herself to the root cgroup is refused" "$A" "
	rc=0
	for f in /sys/fs/cgroup/*/cgroup.procs /sys/fs/cgroup/cgroup.procs; do
	  [ -e \$f ] || continue; sudo -n \$HOME/jsb-attack write \$f \$\$ || rc=1; done; exit \$rc"
attack "mounting a cgroup2 file system of her own is refused" "$A" sudo mount /sys/fs/cgroup cgroup2
after=$(limits)
check "the limits on the host are unchanged" test "$after" = "$before"
pid=$(container_pid "$A")
check "her init is still in her own cgroup" grep -q ":$(cg_rel "$A")\(/\|\$\)" "/proc/$pid/cgroup"
finish
