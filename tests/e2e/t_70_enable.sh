#!/bin/bash
# jsandboxctl enable / disable, through the real sshd, with the policy the
# package installs (nobody sandboxed but group "jsandbox"): enable sets the
# login shell, adds subordinate ranges and the /etc/shells line and the
# group, and the next login lands in a container; disable restores the
# recorded shell, drops the group, stops the container and keeps the
# layer; both log one action= line. Then @GROUP and disable --all, a
# policy that exempts the user (enable refuses, nothing changes), and
# check --file on a candidate config.
. "$(dirname "$0")/lib.sh"
need_root
C=jsbt_carol
G=jsbt_g70
JSB_SH=$JSB_SHELL
grep -qxF "$JSB_SH" /etc/shells && had_shell_line=1 || had_shell_line=0
getent group jsandbox >/dev/null && had_group=1 || had_group=0

restore() {
	write_config ""
	remove_user "$C"
	groupdel "$G" 2>/dev/null
	[ "$had_group" = 1 ] || groupdel jsandbox 2>/dev/null
	[ "$had_shell_line" = 1 ] || remove-shell "$JSB_SH"
}
trap restore EXIT

# An ordinary account: bash, no subordinate ids, a key for the test sshd.
remove_user "$C"
useradd -m -s /bin/bash "$C"
usermod -p '*' "$C"
# useradd may have given it ranges (SUB_UID_COUNT): enable is to add them.
sed -i "/^$C:/d" /etc/subuid /etc/subgid
[ -f "$JSB_RUN/keys/id_$C" ] || ssh-keygen -q -t ed25519 -N '' -f "$JSB_RUN/keys/id_$C"
install -m 0644 "$JSB_RUN/keys/id_$C.pub" "$JSB_RUN/keys/$C"

# As the package's policy: sandbox = no for everyone (but for the harness's
# image and limits), yes for group jsandbox.
JSB_DEFAULT_SANDBOX=no write_config "[group:jsandbox]
sandbox = yes"

# in_container USER: the login's user namespace maps less than everything
in_container() {
	local n
	n=$(tm 60 jssh "$1" 'cat /proc/self/uid_map' | awk '{print $3}' | head -1)
	[ -n "$n" ] && [ "$n" -gt 0 ] && [ "$n" != 4294967295 ]
}
on_host() { [ "$(tm 60 jssh "$1" 'cat /proc/self/uid_map' | awk '{print $3}' | head -1)" = 4294967295 ]; }
logged() { tail -n +"$((before + 1))" "$JSB_RUN/syslog" | grep -Eq "$1"; }
out_has() { printf '%s\n' "$out" | grep -q -- "$1"; }
shell_is() { [ "$(getent passwd "$1" | cut -d: -f7)" = "$2" ]; }
no_container() { ! container_pid "$1" >/dev/null; }
check_quiet_about() { ! jsb_check 2>&1 | grep -q "$1"; }

check "before enable, carol's login runs on the host" on_host $C

before=$(wc -l <"$JSB_RUN/syslog")
out=$("$JSB_CTL" enable $C 2>&1)
rc=$?
echo "$out"
check "enable exits 0" [ "$rc" = 0 ]
check "enable says what it did" out_has "^$C: enabled (login shell $JSB_SH, was /bin/bash; subordinate ids [0-9]*-[0-9]* added; added to group jsandbox)"
check "the login shell is jsandbox-shell" [ "$(getent passwd $C | cut -d: -f7)" = "$JSB_SH" ]
check "a subordinate uid range of 65536 was added" grep -Eq "^$C:[0-9]+:65536$" /etc/subuid
check "a subordinate gid range of 65536 was added" grep -Eq "^$C:[0-9]+:65536$" /etc/subgid
check "jsandbox-shell is in /etc/shells" grep -qxF "$JSB_SH" /etc/shells
check "carol is in group jsandbox" sh -c "id -nG $C | tr ' ' '\n' | grep -qx jsandbox"
check "the previous shell is recorded" grep -qx "shell=/bin/bash" "$JSB_RUN/state/enabled/$C"
check "the record is root's alone" [ "$(stat -c '%u %a' "$JSB_RUN/state/enabled/$C")" = "0 600" ]
check "syslog: action=enable" logged "jsandboxctl\[[0-9]+\]: action=enable by_uid=0 user=$C shell_was=/bin/bash subids_added=yes group_added=yes result=ok"
check "jsandboxctl check finds nothing wrong with carol" check_quiet_about "$C"
check "after enable, carol's login lands in her container" in_container $C
check "the module logged the container's start with its limits" \
	logged "event=container-start user=$C uid=[0-9]+ session_pid=[0-9]+ version=[^ ]+ protocol=[0-9]+ image=jsbtest gpus=none devices=none memory_max=[^ ]+ pids_max=2048 "
check "and its end at the last logout" wait_for 100 logged "event=container-stop user=$C uid=[0-9]+ reason=last-logout"

subuid_line=$(grep "^$C:" /etc/subuid)
out=$("$JSB_CTL" enable $C 2>&1)
check "enable again succeeds" [ $? = 0 ]
check "and changes nothing: same range, same record" \
	sh -c "[ '$(grep "^$C:" /etc/subuid)' = '$subuid_line' ] && grep -qx shell=/bin/bash '$JSB_RUN/state/enabled/$C'"

# disable with a session running: stopped, shell back, layer kept.
tmbg 120 jssh $C 'touch /var/tmp/t70-layer; sleep 100' >/dev/null
bg=$!
check "carol's container runs" wait_for 100 container_pid $C
check "her layer has the file" wait_for 100 test -e "$JSB_RUN/state/users/$C/upper/var/tmp/t70-layer"
before=$(wc -l <"$JSB_RUN/syslog")
out=$("$JSB_CTL" disable $C 2>&1)
rc=$?
echo "$out"
check "disable exits 0" [ "$rc" = 0 ]
check "disable says what it did" out_has "^$C: disabled (login shell /bin/bash; removed from group jsandbox; container stopped, layer kept)"
check "the login shell is bash again" [ "$(getent passwd $C | cut -d: -f7)" = /bin/bash ]
check "carol is no longer in group jsandbox" sh -c "! id -nG $C | tr ' ' '\n' | grep -qx jsandbox"
check "the container is gone" wait_for 50 no_container $C
check "the running session ended" wait_for 100 sh -c "! kill -0 $bg 2>/dev/null"
check "the record is gone" test ! -e "$JSB_RUN/state/enabled/$C"
check "the layer is kept" test -e "$JSB_RUN/state/users/$C/upper/var/tmp/t70-layer"
check "syslog: action=disable" logged "jsandboxctl\[[0-9]+\]: action=disable by_uid=0 user=$C shell=/bin/bash group_removed=yes result=ok"
check "after disable, carol's login runs on the host again" on_host $C
out=$("$JSB_CTL" disable $C 2>&1)
check "disable again exits 0" [ $? = 0 ]
check "and says there is nothing to do" out_has "^$C: not enabled"

# @GROUP, then disable --all.
groupadd "$G"
usermod -a -G "$G" $C
out=$("$JSB_CTL" enable "@$G" 2>&1)
check "enable @GROUP exits 0" [ $? = 0 ]
check "and enables its members" out_has "^$C: enabled"
check "with jsandbox-shell" shell_is $C "$JSB_SH"
check "the existing ranges were kept, none added" sh -c "[ \"\$(grep -c '^$C:' /etc/subuid)\" = 1 ]"
check "and it says none was added" sh -c "! printf '%s' \"\$1\" | grep -q 'subordinate ids'" _ "$out"
check "in her container again" in_container $C
out=$("$JSB_CTL" disable --all 2>&1)
rc=$?
echo "$out"
check "disable --all exits 0" [ "$rc" = 0 ]
check "disable --all names her" out_has "^$C: disabled"
check "and restores her shell" shell_is $C /bin/bash
# The harness's users got jsandbox-shell by hand (usermod), with no record:
# --all gives them useradd's default shell, and says so.
check "an account set up by hand is named" out_has "^jsbt_alice: no login shell recorded"
check "and gets useradd's default shell" shell_is jsbt_alice "$(sed -n 's/^SHELL=//p' /etc/default/useradd | tail -1)"
# ... and the harness's accounts are put back as setup.sh made them.
make_user jsbt_alice 1
make_user jsbt_bob 2

# A policy that exempts carol even in group jsandbox: enable refuses and
# changes nothing.
JSB_DEFAULT_SANDBOX=no write_config "[group:jsandbox]
sandbox = yes
[user:$C]
sandbox = no"
before=$(wc -l <"$JSB_RUN/syslog")
out=$("$JSB_CTL" enable $C 2>&1)
rc=$?
echo "$out"
check "enable refuses an exempt user (exit 1)" [ "$rc" = 1 ]
check "and names the section that exempts them" out_has "sandbox = no from \[user:$C\]"
check "her shell is unchanged" shell_is $C /bin/bash
check "no record was written" test ! -e "$JSB_RUN/state/enabled/$C"
check "syslog: the failure" logged "action=enable by_uid=0 user=$C result=failed"
check "enable of an unknown user fails" sh -c "! '$JSB_CTL' enable jsbt_nosuchuser70 2>/dev/null"
check "enable of root is refused" sh -c "! '$JSB_CTL' enable root 2>/dev/null"
check "disable --all with a USER is a usage error (2)" sh -c "'$JSB_CTL' disable --all $C 2>/dev/null; [ \$? = 2 ]"

# check --file: a candidate is judged before it goes live.
cand=$JSB_RUN/t70-candidate.conf
live_sum=$(md5sum <"$JSB_CONF")
{
	sed -n '1,/^\[default\]/p' "$JSB_CONF"
	echo "memory_max = lots"
} >"$cand"
chmod 0644 "$cand"
out=$("$JSB_CTL" check --file "$cand" 2>&1)
rc=$?
check "check --file rejects a broken [default] (exit 1)" [ "$rc" = 1 ]
check "and names the key" out_has "memory_max"
check "the live config is untouched" [ "$(md5sum <"$JSB_CONF")" = "$live_sum" ]
cp "$JSB_CONF" "$cand"
out=$(jsb_check --file "$cand" 2>&1)
check "check --file on a good candidate says OK for that file" out_has "$cand: OK"
chmod 0666 "$cand"
check "check --file refuses a candidate others may write" sh -c "! '$JSB_CTL' check --file '$cand' >/dev/null 2>&1"
rm -f "$cand"
finish
