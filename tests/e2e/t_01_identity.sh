#!/bin/bash
# Behaviours 1, 7, 8: the user is themselves inside, with fake-root sudo;
# files in home belong to them on the host; they see only their own world.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
in_id=$(jssh $A id)
check "id inside matches the host's ($in_id)" [ "$in_id" = "$(id $A)" ]
check "sudo -n id -u prints 0" [ "$(jssh $A sudo -n id -u)" = 0 ]
check "the session runs in the container's pid namespace" \
	[ "$(jssh $A 'readlink /proc/1/exe; cat /proc/1/comm')" != "$(readlink /proc/1/exe)" ]

jssh $A 'echo hello > ~/made-inside; mkdir -p ~/dir-inside'
check "a file made inside is the user's on the host" \
	[ "$(stat -c %U:%G "$(getent passwd $A | cut -d: -f6)/made-inside")" = "$A:$A" ]
check "a directory made inside is the user's on the host" \
	[ "$(stat -c %U "$(getent passwd $A | cut -d: -f6)/dir-inside")" = "$A" ]

# Only their own processes: the host's sshd, init and other users are absent.
procs=$(jssh $A 'ps -eo user=,comm=')
check "no host process is visible inside" sh -c "! echo '$procs' | grep -Eq 'sshd|process_api|^root +(systemd|init)$'"
check "no process of another user is visible" sh -c "! echo '$procs' | grep -q jsbt_bob"
jssh jsbt_bob 'exec sleep 30' &
bobssh=$!
check "bob has a process running" wait_for 100 pgrep -u jsbt_bob -x sleep
check "bob's processes stay invisible to alice" sh -c "! jssh $A 'ps -eo user=' | grep -q jsbt_bob"
check "... while bob's process still ran" pgrep -u jsbt_bob -x sleep
kill $bobssh 2>/dev/null
wait $bobssh 2>/dev/null

check "other users' homes are not there" jssh $A "! test -e $(getent passwd jsbt_bob | cut -d: -f6)"
# jsbt_admin exists only on the host: the image's shadow cannot name it.
shadow_in=$(jssh $A 'sudo -n cat /etc/shadow')
check "alice (as fake root) reads a shadow file inside" sh -c "echo '$shadow_in' | grep -q '^root:'"
check "it is not the host's /etc/shadow" sh -c "! echo '$shadow_in' | grep -q '^jsbt_admin:'"
check "state_dir is not visible" jssh $A "! test -e '$JSB_RUN/state'"
check "run_dir is not visible" jssh $A "! test -e '$JSB_RUN/run'"
echo marker-$$ >/tmp/jsbt-host-marker
check "/tmp is private" jssh $A "! test -e /tmp/jsbt-host-marker"
rm -f /tmp/jsbt-host-marker
jssh jsbt_bob 'echo bob > /dev/shm/bobshm; echo bob > /tmp/bobtmp'
check "/dev/shm and /tmp are private between users" jssh $A '! test -e /dev/shm/bobshm && ! test -e /tmp/bobtmp'
finish
