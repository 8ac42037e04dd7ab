#!/bin/bash
# Issue 10 item 9: a subordinate range that holds another account's uid (a
# directory user above 100000, say) or a group's gid would let root in that
# container own that account's files on the host. The account here is
# added to /etc/passwd (and a group to /etc/group) for the test, with an id
# inside alice's (then bob's) range. The login fails closed with the reason
# and a syslog line, jsandboxctl check names it, other users and the
# exempt admin still log in.
. "$(dirname "$0")/lib_layer.sh"
keep_file /etc/passwd /etc/group
astart=$(sed -n "s/^$A:\([0-9]*\):.*/\1/p" /etc/subuid)
bstart=$(sed -n "s/^$B:\([0-9]*\):.*/\1/p" /etc/subgid)
check "alice and bob have ranges" test -n "$astart" -a -n "$bstart"
vuid=$((astart + 1000))
vgid=$((bstart + 7))
stop_all

# a directory-style account whose uid lies in alice's subordinate uid range
add_line /etc/passwd "jsbsec_dir:x:$vuid:$vuid::/nonexistent:/usr/sbin/nologin"
login_refused "alice, with account jsbsec_dir (uid $vuid) in her range" "$A" \
	"uid $vuid of account \"jsbsec_dir\"" "contains uid $vuid of account"
check "bob (whose range is clear) logs in" in_container "$B"
check "the exempt admin logs in" sh -c "[ \"\$(timeout 30 jssh jsbt_admin 'cat /proc/1/comm')\" = \"$(cat /proc/1/comm)\" ]"
out=$("$JSB_CTL" check 2>&1)
check "jsandboxctl check names alice's range and the account" \
	sh -c "printf '%s\n' \"\$1\" | grep -q \"user $A: subordinate uid range.*uid $vuid of account \\\"jsbsec_dir\\\"\"" _ "$out"
check "jsandboxctl check fails" sh -c "! '$JSB_CTL' check >/dev/null 2>&1"
restore_kept
keep_file /etc/passwd /etc/group
check "alice logs in once the account is gone" in_container "$A"
stop_all

# a group whose gid lies in bob's subordinate gid range
add_line /etc/group "jsbsec_grp:x:$vgid:"
login_refused "bob, with group jsbsec_grp (gid $vgid) in his range" "$B" \
	"gid $vgid of group \"jsbsec_grp\"" "contains gid $vgid of group"
check "alice logs in" in_container "$A"
out=$("$JSB_CTL" check 2>&1)
check "jsandboxctl check names bob's gid range and the group" \
	sh -c "printf '%s\n' \"\$1\" | grep -q \"user $B: subordinate gid range.*gid $vgid of group\"" _ "$out"
restore_kept
stop_all
check "bob logs in once the group is gone" in_container "$B"
out=$("$JSB_CTL" check 2>&1)
check "jsandboxctl check has no subordinate range problem left" \
	sh -c "! printf '%s\n' \"\$1\" | grep -q 'subordinate .* range of'" _ "$out"
stop_all
finish
