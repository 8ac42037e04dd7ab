#!/bin/bash
# Issue 16, item 3: one user filling the shared state_dir locks nobody out.
# state_dir lives on a small ext4 made by the test (a loop file); alice
# fills it from inside (sudo dd) and sees ENOSPC; then bob (whose layer
# exists) and carol (a user new to jsandbox, whose layer cannot be made
# writable any more) still log in and work; the syslog says what happened
# in one precise line. Once the admin deleted alice's file, everybody's
# layer is writable again. Nothing of theirs is left.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice B=jsbt_bob C=jsbt_carol
fs=$JSB_RUN/t41.img
mnt=$JSB_RUN/t41-state
JSB_SYSLOG=${JSB_SYSLOG:-$JSB_RUN/syslog}

cleanup() {
	for u in $A $B $C; do
		id "$u" >/dev/null 2>&1 && "$JSB_CTL" stop "$u" >/dev/null 2>&1
	done
	id $C >/dev/null 2>&1 && remove_user $C
	if mountpoint -q "$mnt"; then umount "$mnt" || umount -l "$mnt"; fi
	rm -rf "$fs" "$mnt"
	write_config
}
trap cleanup EXIT

for u in $A $B; do "$JSB_CTL" stop "$u" >/dev/null 2>&1; done
id $C >/dev/null 2>&1 && remove_user $C
rm -rf "$mnt" "$fs"
mkdir -p "$mnt"
# 96 MiB, default root reserve (5%): root's own writes (the module making
# a new user's layer directories) still find room; no user does.
truncate -s 96M "$fs"
check "a small ext4 is made" mkfs.ext4 -q -F "$fs"
check "and mounted as state_dir" mount -o loop "$fs" "$mnt"
chmod 0755 "$mnt"
JSB_STATE_DIR=$mnt write_config

works() { # USER: logs in, is who it is, and writes in /tmp
	local out
	out=$(tm 60 jssh "$1" 'id -un; echo ok >/tmp/t41 && cat /tmp/t41' 2>&1)
	[ "$out" = "$1
ok" ] || {
		echo "login of $1: $out"
		return 1
	}
}
check "bob logs in before (his layer exists)" works $B
check "alice logs in before" works $A

# alice fills the file system from inside her container.
out=$(tm 120 jssh $A 'sudo dd if=/dev/zero of=/fill bs=1M 2>&1; echo "rc=$?"')
check "alice's dd fails: $(oneline "$(printf '%s\n' "$out" | grep -v records)")" sh -c 'printf "%s\n" "$1" | grep -q "rc=[1-9]"' _ "$out"
check "and says No space left on device" sh -c 'printf "%s\n" "$1" | grep -q "No space left on device"' _ "$out"
# ext4 holds back room for delayed allocation until the data is written:
# after a sync, what is left is taken in smaller pieces, until a sync
# frees nothing more.
tm 120 jssh $A 'sudo sh -c "sync; for i in 1 2 3 4 5 6 7 8; do dd if=/dev/zero of=/fill.\$i bs=4k 2>/dev/null; sync; done"' >/dev/null 2>&1
avail=$(df --output=avail -B1 "$mnt" | tail -1 | tr -d ' ')
check "state_dir has no room left for users (df: $avail bytes free beyond the reserve)" [ "$avail" -lt 16384 ]
full_since=$(wc -l <"$JSB_SYSLOG")

check "bob (existing layer) still logs in and works" works $B
make_user $C 4
check "carol (new to jsandbox) logs in and works" works $C
check "carol is in a container in memory, said in syslog as full" \
	sh -c "tail -n +$((full_since + 1)) '$JSB_SYSLOG' | grep -q 'user $C: the file system of the layer \"$mnt/users/$C/upper\" is full'"
msg=$(tail -n +$((full_since + 1)) "$JSB_SYSLOG" | grep -E "Read-only|jsandbox-new" || true)
check "no login was refused nor reported with a false reason $(oneline "$msg")" [ -z "$msg" ]
# alice's own layer is full too: her sessions run in memory as well, and
# what she deletes there is not deleted in the layer. The admin frees the
# room (docs/design.md, failure model).
check "alice still logs in" works $A
check "what alice deletes in a container in memory stays in her layer" \
	sh -c "timeout 60 jssh $A 'sudo rm /fill' && test -e '$mnt/users/$A/upper/fill'"
check "the admin frees the room" rm "$mnt/users/$A/upper/fill" "$mnt/users/$A/upper"/fill.1
avail=$(df --output=avail -B1 "$mnt" | tail -1 | tr -d ' ')
check "the room is back ($avail bytes)" [ "$avail" -gt 33554432 ]
# carol's next login has a writable layer: a file she puts in / stays.
check "carol's next login writes to her layer" sh -c "timeout 60 jssh $C 'sudo touch /t41-kept' >/dev/null"
check "and it is kept" test -e "$mnt/users/$C/upper/t41-kept"

for u in $A $B $C; do
	check "stop $u leaves nothing" "$JSB_CTL" stop "$u"
done
m=$(grep -F " $mnt" /proc/self/mountinfo | grep -v " $mnt " || true)
check "no mount below state_dir is left $(oneline "$m")" [ -z "$m" ]
check "state_dir unmounts (nothing holds it)" umount "$mnt"
finish
