#!/bin/bash
# Issue 9 part 3: jsandbox-root, the root helper pam_jsandbox executes,
# treats every request as hostile. A caller that is not the helper's parent,
# a message of the wrong size, magic or version, an unknown op, a user name
# that is not terminated or names someone else's uid, an environment or an
# argument the module never gives: each is refused, logged, and changes
# nothing (no container, no cgroup). A well-formed request from its parent,
# the control, is answered, and OPEN then CLOSE make and end the container.
. "$(dirname "$0")/lib_sec.sh"
H=$JSB_PREFIX/libexec/jsandbox/jsandbox-root
C="/usr/bin/python3 $SEC_SRC/rootop_client.py $H"
uid_a=$(id -u "$A")
uid_b=$(id -u "$B")
cleanup() {
	[ -n "${other:-}" ] && kill "$other" 2>/dev/null
	stop_all
	write_config
}
trap cleanup EXIT
no_container() { ! container_pid "$A" >/dev/null; }
no_cgroup() { cg_none "$A"; }
write_config
stop_all

st=$(stat -c '%U %a' "$H")
check "the helper is root's and only root runs it ($st)" [ "$st" = "root 700" ]
out=$(su -s /bin/sh "$B" -c "$H" 2>&1)
check "another user cannot even execute it ($out)" sh -c "echo '$out' | grep -qi 'permission denied'"

# the control: a request as the module makes it, from the helper's parent
out=$($C acct "$A" "$uid_a")
check "control: a well-formed ACCT is answered: sandboxed, shell fine ($(oneline "$out"))" \
	sh -c "echo '$out' | grep -q '^status=0 .*magic_ok=1' && echo '$out' | grep -q '^exit=0'"
out=$($C acct jsbt_admin "$(id -u jsbt_admin)")
check "control: the exempt admin is exempt ($(oneline "$out"))" sh -c "echo '$out' | grep -q '^status=1 '"

sleep 600 &
other=$!
before=$(wc -l <"$JSB_RUN/syslog")
# refused CASE USER UID WHAT SYSLOG-PATTERN
forged() {
	local case=$1 user=$2 uid=$3 what=$4 pat=$5 out
	out=$($C "$case" "$user" "$uid" "$other")
	check "$what: refused ($(oneline "$out"))" \
		sh -c "echo '$out' | grep -q '^status=4 ' && echo '$out' | grep -q '^exit=2'"
	check "$what: syslog says why" sh -c "tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -q 'jsandbox-root.*$pat'"
}
forged wrong-parent "$A" "$uid_a" "a pid that is not the helper's parent" "not the helper.s parent"
forged open-wrong-parent "$A" "$uid_a" "OPEN for a pid that is not the parent" "not the helper.s parent"
forged short "$A" "$uid_a" "a short message" "wrong size"
forged empty "$A" "$uid_a" "an empty message" "wrong size"
forged silent "$A" "$uid_a" "no message at all" "wrong size"
forged long "$A" "$uid_a" "a message longer than a request" "cannot read the request"
forged bad-magic "$A" "$uid_a" "a wrong magic" "wrong magic or version"
forged bad-version "$A" "$uid_a" "a wrong version" "wrong magic or version"
forged unknown-op "$A" "$uid_a" "an unknown op" "unknown op"
forged unterminated "$A" "$uid_a" "a user name without its end" "not terminated"
forged acct "$A" "$uid_b" "alice's name with bob's uid" "uid does not match"
forged acct jsbt_nosuchuser "$uid_a" "a user NSS does not know" "jsbt_nosuchuser"
forged acct "../$A" "$uid_a" "a name that is a path" "user name"
for c in env argv; do
	out=$($C "$c" "$A" "$uid_a")
	check "started with an $c the module never gives: no answer ($(oneline "$out"))" \
		sh -c "echo '$out' | grep -q '^none' && echo '$out' | grep -q '^exit=2'"
done
check "syslog says it was started wrongly" \
	sh -c "tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -q 'jsandbox-root.*started wrongly'"
check "nothing of alice was made: no container" no_container
check "nothing of alice was made: no cgroup" no_cgroup

# the control for the whole path: OPEN then CLOSE from the same parent
out=$($C open-close "$A" "$uid_a")
check "control: OPEN makes the container and answers with the cgroup files ($(oneline "$out"))" \
	sh -c "echo '$out' | head -1 | grep -q '^status=0 flags=1 ncg=[1-9]'"
check "control: CLOSE of the last session ends it" sh -c "echo '$out' | sed -n 3p | grep -q '^status=0 '"
check "control: the container is gone" wait_for 100 no_container
check "control: so is its cgroup" wait_for 100 no_cgroup
finish
