#!/bin/bash
# Behaviour 9: sessions share one container; nohup work is visible from a
# second session; linger = yes keeps it after logout; linger = no removes
# everything shortly after the last session.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
uid=$(id -u $A)

home=$(getent passwd $A | cut -d: -f6)
rm -f "$home"/t09-*
# A first session keeps the container up while a second one looks: it
# waits (bounded) until the test drops ~/t09-release into alice's home.
timeout 60 jssh $A 'nohup sleep 300 >/dev/null 2>&1 & echo started
	for _ in $(seq 500); do [ -e ~/t09-release ] && break; sleep 0.1; done' >/dev/null &
bg=$!
check "the container comes up" wait_for 100 container_pid $A
init=$(container_pid $A)
check "a second session sees the nohup'd process" wait_for 30 jssh $A 'pgrep -x sleep >/dev/null && pgrep -fx "sleep 300" >/dev/null'
check "the second session is in the same container" [ "$(container_pid $A)" = "$init" ]
touch "$home/t09-release"
wait $bg
rm -f "$home/t09-release"

# linger = no (the default config): everything goes after the last session.
check "the container is gone after the last logout" wait_for 50 sh -c "! kill -0 $init 2>/dev/null"
check "no process of the container is left" sh -c "! pgrep -u $A -fx 'sleep 300' >/dev/null"
check "its runtime directory is gone" wait_for 30 test ! -e "$JSB_RUN/run/$uid"
check "its cgroups are gone" cg_none "$A"
mnt_left=$(grep -c "$JSB_RUN/run/$uid" /proc/self/mountinfo)
check "no mount is left on the host" [ "$mnt_left" = 0 ]

# Concurrent first logins make exactly one container.
# Each session prints its init's start time, then waits (bounded) until
# all six have: they overlap, so linger = no cannot end the container
# between two of them.
for i in 1 2 3 4 5 6; do
	timeout 60 jssh $A "cat /proc/1/stat | cut -d' ' -f22; touch ~/t09-c.$i
		for _ in \$(seq 500); do [ \$(ls ~/t09-c.* | wc -l) -ge 6 ] && break; sleep 0.1; done" >"$JSB_RUN/conc.$i" &
done
wait
rm -f "$home"/t09-c.*
starts=$(cat "$JSB_RUN"/conc.* | sort -u | wc -l)
check "six concurrent first logins share one container" [ "$starts" = 1 ]
rm -f "$JSB_RUN"/conc.*

# linger = yes: the nohup'd job survives logout.
write_config "[user:$A]
linger = yes"
timeout 60 jssh $A 'nohup sleep 400 >/dev/null 2>&1 &' >/dev/null
# The logout is over once sshd's privileged monitor for alice, which runs
# the PAM close_session, has exited: wait for that (bounded), not a guess.
check "alice's last session has closed" wait_for 100 sh -c "! pgrep -f '^sshd[^:]*: $A \[priv\]' >/dev/null"
check "with linger = yes the container stays after logout" container_pid $A
check "and the background job survives" jssh $A 'pgrep -fx "sleep 400" >/dev/null'
check "jsandboxctl status USER shows it running" sh -c "'$JSB_CTL' status $A | grep -Eq '^$A +$uid +running '"
check "jsandboxctl status lists it among all containers" sh -c "'$JSB_CTL' status | grep -Eq '^$A +$uid +running +[0-9]+ +[0-9]+ +[0-9]+ +yes +jsbtest '"
check "jsandboxctl stop ends it" "$JSB_CTL" stop $A
check "nothing left after stop" sh -c "! pgrep -u $A -fx 'sleep 400' >/dev/null && test ! -e '$JSB_RUN/run/$uid'"
check "jsandboxctl status USER says stopped" sh -c "'$JSB_CTL' status $A | grep -Eq '^$A +$uid +stopped '"
write_config
finish
