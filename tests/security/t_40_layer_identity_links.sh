#!/bin/bash
# Issue 10 item 1: links (and other non-files) that root inside leaves in
# her layer where the container's set-up works at the next start: /etc
# passwd, group and shadow (read, rewritten, renamed), sudoers.d and its
# jsandbox file. (/etc itself cannot be replaced from inside: overlayfs
# will not rename it and it holds mount points; a link there is refused by
# the set-up, tests/unit/test_rootfs.c.) Before pivot_root an absolute link there resolves
# against the HOST's root: the old set-up copied host files into the
# container. Nothing may be read, written or made through them; after each
# attack the legitimate identity (passwd entry, groups, sudo) is right.
. "$(dirname "$0")/lib_layer.sh"
LAYER=$JSB_RUN/state/users/$A/upper
ahome=$(home_of "$A")
auid=$(id -u "$A")
agid=$(id -g "$A")
# A host file the init (the user's first subordinate id on the host) can
# read, that nothing in the container may ever show.
HOSTDIR=$JSB_RUN/sec-hostfiles
rm -rf "$HOSTDIR"
install -d -m 0755 "$HOSTDIR" "$HOSTDIR/dir"
marker="JSBSEC-HOST-SECRET-$$-$RANDOM"
echo "$marker:x:0:0::/:/bin/sh" >"$HOSTDIR/secret"
chmod 0644 "$HOSTDIR/secret"
EXTRA_CLEANUP="rm -rf '$HOSTDIR'"
dir_before=$(find "$HOSTDIR" -printf '%p %m %U %s\n' | sort)

# plant DESCRIPTION SHELL-TEXT: run as root in alice's container, then end
# the container so the next login starts it afresh over what was left.
plant() {
	works "plant: $1" "$A" "sudo -n sh -c '$2'"
	"$JSB_CTL" stop "$A" >/dev/null 2>&1
}

# The legitimate identity inside: alice's passwd entry with her home, her
# primary group by name, root's entry kept, and sudo.
identity_ok() {
	local want="$A:x:$auid:$agid:$ahome"
	works "$1: passwd, group and sudo are right inside" "$A" "
		[ \"\$(getent passwd $A | cut -d: -f1-4,6)\" = '$want' ] &&
		[ \"\$(id -gn)\" = '$(id -gn "$A")' ] && getent passwd root >/dev/null &&
		sudo -n true && [ \"\$(sudo -n id -u)\" = 0 ]"
}
no_marker() { # DESCRIPTION: nothing of the host file anywhere in /etc inside or in the layer
	check "$1: the host file's content is nowhere in the layer's /etc" \
		sh -c "! grep -rqs -- '$marker' '$LAYER/etc'"
	works "$1: nor in the container's /etc" "$A" "! sudo -n grep -rqs -- '$marker' /etc"
}

identity_ok "before any attack"

# 1-3. passwd, group, shadow: a symlink to a host file
for f in passwd group shadow; do
	plant "/etc/$f -> a host file" "ln -sfn $HOSTDIR/secret /etc/$f"
	check "the link is in the layer" test -L "$LAYER/etc/$f"
	works "alice logs in over /etc/$f -> host file" "$A" true
	no_marker "/etc/$f"
	check "/etc/$f in the layer is a regular file again" sh -c "[ -f '$LAYER/etc/$f' ] && [ ! -L '$LAYER/etc/$f' ]"
	identity_ok "after /etc/$f -> host file"
done
check "syslog tells the admin the layer's passwd was rebuilt" \
	grep -q "/etc/passwd in the layer is not a regular file" "$JSB_RUN/syslog"

# 4. shadow: a relative link walking up out of the overlay
plant "/etc/shadow -> ../../..$HOSTDIR/secret" "ln -sfn ../../../../../../../../..$HOSTDIR/secret /etc/shadow"
works "alice logs in over a relative link" "$A" true
no_marker "/etc/shadow (relative)"
identity_ok "after the relative link"

# 5. group: a FIFO (the old set-up blocked reading it until it timed out)
plant "/etc/group is a FIFO" "rm -f /etc/group && mkfifo /etc/group"
check "alice logs in over a FIFO at /etc/group, in time" in_container "$A"
identity_ok "after the FIFO"

# 6. passwd: a directory in its place: refused, one line, then reset
plant "/etc/passwd is a directory" "rm -f /etc/passwd && mkdir /etc/passwd && touch /etc/passwd/x"
login_refused "/etc/passwd a directory" "$A" "cannot replace" "/etc/passwd"
check "jsandboxctl reset clears it" "$JSB_CTL" reset "$A"
identity_ok "after the reset"

# 7. sudoers.d/jsandbox: a link to a host file (removed, never written through)
before=$(stat -c '%s %Y %a' "$HOSTDIR/secret")
plant "/etc/sudoers.d/jsandbox -> a host file" "rm -f /etc/sudoers.d/jsandbox; ln -sfn $HOSTDIR/secret /etc/sudoers.d/jsandbox"
works "alice logs in" "$A" true
check "the host file is unchanged" test "$(stat -c '%s %Y %a' "$HOSTDIR/secret")" = "$before"
works "sudoers.d/jsandbox is a file again, and sudo works" "$A" "sudo -n test -f /etc/sudoers.d/jsandbox -a ! -L /etc/sudoers.d/jsandbox"
identity_ok "after sudoers.d/jsandbox -> host file"

# 8. sudoers.d: a link to a host directory: refused, nothing made there
plant "/etc/sudoers.d -> a host directory" "rm -rf /etc/sudoers.d; ln -sfn $HOSTDIR/dir /etc/sudoers.d"
login_refused "/etc/sudoers.d a link" "$A" "sudoers.d" "symbolic link"
check "nothing was written in the host directory" test -z "$(ls -A "$HOSTDIR/dir")"
check "jsandboxctl reset clears it" "$JSB_CTL" reset "$A"
identity_ok "after the reset"

# 9. resolv.conf and hosts: bound from the host over placeholders in the
# layer; being mount points inside, root inside cannot replace them (the
# set-up's handling of a link there is in tests/unit/test_rootfs.c). The
# legitimate feature: the host's files, read-only.
for f in resolv.conf hosts; do
	[ -r /etc/$f ] || continue
	check "/etc/$f inside is the host's" sh -c "[ \"\$(timeout 60 jssh $A 'cat /etc/$f')\" = \"\$(cat /etc/$f)\" ]"
	works "/etc/$f cannot be replaced from inside" "$A" "! sudo -n sh -c 'rm -f /etc/$f' 2>/dev/null"
done

check "the host files are as they were" test "$(find "$HOSTDIR" -printf '%p %m %U %s\n' | sort)" = "$dir_before"
"$JSB_CTL" stop "$A" >/dev/null 2>&1
finish
