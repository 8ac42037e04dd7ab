#!/bin/bash
# Issue 9 part 3: the last logout tears the container down even when the
# user's pids cgroup is full. sshd's monitor is a member of that group
# during the session and jsandbox-root is its child: the module steps out
# of the user's cgroup first, so the helper's start cannot fail on the
# user's pids.max. Here alice fills her pids.max from inside with processes
# that stay, and root then lowers pids.max to 1 (no fork in the group
# succeeds, whatever exits); at logout the container, every process of
# hers and her cgroups are gone all the same.
. "$(dirname "$0")/lib_sec.sh"
T=$SEC/t73
rm -rf "$T" && install -d -m 0755 "$T"
cleanup() {
	exec 7>&- 2>/dev/null
	[ -n "${bg:-}" ] && kill "$bg" 2>/dev/null
	stop_all
	write_config
}
trap cleanup EXIT
pids_dir() { cg_dir "$A" pids.max; }
no_container() { ! container_pid "$A" >/dev/null; }
no_cgroup() { cg_none "$A"; }
write_config "[user:$A]
linger = no
pids_max = 48"
stop_all

fill='import os, signal, sys
n = 0
while True:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.closerange(0, 3)
        signal.pause()
        os._exit(0)
    n += 1
print("full", n, flush=True)
sys.stdin.read()'
# The session's stdin: a FIFO this script holds open (read-write, so the
# open does not wait for a reader) until the logout.
mkfifo "$T/in"
exec 7<>"$T/in"
tm 120 jssh "$A" "python3 -c '$fill'" <"$T/in" >"$T/out" 2>&1 7>&- &
bg=$!
check "alice fills her pids.max from inside" wait_for 300 grep -q '^full [0-9]' "$T/out"
pd=$(pids_dir)
check "her pids cgroup exists ($pd)" test -n "$pd"
cur=$(cat "$pd/pids.current" 2>/dev/null)
check "it is full: pids.current $cur of pids.max $(cat "$pd/pids.max" 2>/dev/null)" [ "$cur" -ge 48 ]
monitor_in() {
	local p
	while read -r p; do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$SVC" ] || [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sshd ] && return 0
	done <"$pd/cgroup.procs"
	return 1
}
check "the session's sshd is a member of that group" monitor_in
echo 1 >"$pd/pids.max"
check "root made sure no fork succeeds there (pids.max $(cat "$pd/pids.max"))" [ "$(cat "$pd/pids.max")" = 1 ]
before=$(wc -l <"$JSB_RUN/syslog")
exec 7>&-
wait "$bg"
bg=
check "the container is gone after the logout" wait_for 200 no_container
check "so are her cgroups, in every hierarchy" wait_for 200 no_cgroup
check "and every process of hers" wait_for 200 no_process_of "$A"
check "the module closed the session (its debug line)" \
	sh -c "tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -q 'user $A: session [0-9]* closed'"
check "nothing failed to start" sh -c "! tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -qi 'cannot start'"
write_config
out=$(tm 60 jssh "$A" 'echo "in:$(cat /proc/1/comm)"' 2>&1)
check "the next login makes a new container ($(oneline "$out"))" [ "$out" = in:jsandbox-init ]
finish
