#!/bin/bash
# Behaviour 11: every failure gives the user one line, the admin a syslog
# line, and never a host shell; the next good login recovers by itself.
# root and exempt users get an ordinary host shell through the same
# ForceCommand.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
B=jsbt_bob
uid=$(id -u $A)
host_init=$(cat /proc/1/comm)
probe='echo "in:$(cat /proc/1/comm)"'

# refused USER WHAT SYSLOG-PATTERN: the login fails closed
refused() {
	local u=$1 what=$2 pat=$3
	local before
	before=$(wc -l <"$JSB_RUN/syslog")
	local out
	out=$(timeout 60 jssh "$u" "$probe" 2>&1)
	check "$what: no shell at all ($out)" sh -c "! echo '$out' | grep -q '^in:'"
	check "$what: the user is told, in a line starting with jsandbox:" sh -c "echo '$out' | grep -q '^jsandbox: '"
	check "$what: syslog says why" sh -c "tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -q '$pat'"
}
works() { # USER WHAT: logs in to the container
	check "$2" sh -c "[ \"\$(timeout 60 jssh $1 '$probe')\" = in:jsandbox-init ]"
}

# exempt users and root: host shell through the same ForceCommand
check "the exempt admin gets a host shell" sh -c "[ \"\$(timeout 30 jssh jsbt_admin '$probe')\" = 'in:$host_init' ]"
install -m 0644 "$JSB_RUN/keys/id_jsbt_admin.pub" "$JSB_RUN/keys/root"
check "root gets a host shell" sh -c "[ \"\$(timeout 30 ssh -F '$JSB_RUN/ssh_config' -i '$JSB_RUN/keys/id_jsbt_admin' -l root jsbtest '$probe')\" = 'in:$host_init' ]"

# a missing image
write_config "[user:$A]
image = no-such-image"
refused $A "missing image" "no-such-image"
works $B "another user is not affected by alice's broken section"
write_config
works $A "alice recovers once the image is right"

# no subordinate range
cp /etc/subuid "$JSB_RUN/subuid.bak"
sed -i "/^$A:/d" /etc/subuid
refused $A "no subordinate range" "subordinate"
cp "$JSB_RUN/subuid.bak" /etc/subuid
works $A "alice recovers with her range back"

# a malformed config: a problem in bob's section stops bob only; a broken
# file stops every sandboxed user, never root
write_config "[user:$B]
memory_max = lots"
refused $B "bad value in bob's section" "memory_max"
works $A "alice is not affected by bob's bad value"
printf '[default\nsandbox = maybe\n' >"$JSB_CONF"
refused $A "malformed config" "jsandbox.conf"
check "root still gets in with a malformed config" sh -c "[ \"\$(timeout 30 ssh -F '$JSB_RUN/ssh_config' -i '$JSB_RUN/keys/id_jsbt_admin' -l root jsbtest '$probe')\" = 'in:$host_init' ]"
write_config
chmod 0664 "$JSB_CONF"
refused $A "group-writable config" "writable"
write_config
works $A "alice recovers once the config is fixed"
rm -f "$JSB_RUN/keys/root"

# the container init killed in the middle of a session
timeout 60 jssh $A 'echo started; sleep 20; echo survived' >"$JSB_RUN/mid.out" 2>&1 &
bg=$!
# "started" means the session runs in the container whose init we kill
# (not in the previous login's, which may still be on its way out).
wait_for 150 grep -q started "$JSB_RUN/mid.out"
kill -KILL "$(container_pid $A)"
wait $bg
rc=$?
check "the session ends when its container is killed (rc $rc)" [ "$rc" != 0 ]
check "the user is told" grep -q '^jsandbox: your container was stopped' "$JSB_RUN/mid.out"
check "the work did not go on anywhere" sh -c "! grep -q survived '$JSB_RUN/mid.out'"
check "syslog says the container ended" grep -q "jsbt_alice: container ended during the session" "$JSB_RUN/syslog"
works $A "the next login makes a new container"

# stale runtime state: a state file naming a live but unrelated process (a
# recycled pid), then an emptied run_dir (what a reboot leaves)
wait_for 50 test ! -e "$JSB_RUN/run/$uid"
sleep 100 &
decoy=$!
install -d -m 0755 "$JSB_RUN/run/$uid"
printf 'pid=%d\nstart=1\nuserns=1\nnetns=1\nuid=%d\nuser=%s\nimage=jsbtest\n' $decoy "$uid" $A >"$JSB_RUN/run/$uid/state"
works $A "a state file naming a recycled pid is not trusted"
check "the decoy process was left alone" kill -0 $decoy
kill $decoy
wait_for 50 test ! -e "$JSB_RUN/run/$uid"
rm -rf "${JSB_RUN:?}/run"
works $A "an emptied run_dir (a reboot) is just no container"
finish
