#!/bin/bash
# Issue 10 item 1, the home's parent chain: a user whose home lives under a
# path the image lacks (/srv/jsbsec-homes/USER) gets that chain made in her
# layer at each start. Root inside can leave a link in it; before
# pivot_root an absolute link resolves on the HOST, and the old set-up made
# directories there (in the host's /tmp) and ignored every error. Now no
# directory is made through a link and the login fails closed, saying why;
# the legitimate home under such a path works before and after.
. "$(dirname "$0")/lib_layer.sh"
HOMES=/srv/jsbsec-homes
bhome=$HOMES/$B
buid=$(id -u "$B")
bgid=$(id -g "$B")
rm -f "/tmp/$B"
EXTRA_CLEANUP="rm -rf '$HOMES' '/tmp/$B'"
keep_file /etc/passwd
stop_all
# bob's home moves (for this test) under a path the image lacks
install -d -m 0755 $HOMES
install -d -o "$B" -g "$bgid" -m 0750 "$bhome"
echo "bob's file" >"$bhome/jsbsec-mine"
chown "$B" "$bhome/jsbsec-mine"
sed "s|^$B:\([^:]*\):\([^:]*\):\([^:]*\):\([^:]*\):[^:]*:|$B:\1:\2:\3:\4:$bhome:|" /etc/passwd >"$SEC/passwd.$$"
cat "$SEC/passwd.$$" >/etc/passwd
rm -f "$SEC/passwd.$$"
check "bob's home is now $bhome" test "$(getent passwd "$B" | cut -d: -f6)" = "$bhome"

# the legitimate feature: the chain is made in the layer, the home bound there
home_ok() {
	works "$1: bob's home is $bhome inside, with his file, writable" "$B" "
		[ \"\$HOME\" = '$bhome' ] && [ \"\$(getent passwd $B | cut -d: -f6)\" = '$bhome' ] &&
		[ \"\$(cat $bhome/jsbsec-mine)\" = \"bob's file\" ] && [ \"\$(stat -c %u $bhome)\" = $buid ] &&
		touch $bhome/jsbsec-written && rm $bhome/jsbsec-written && sudo -n true"
}
home_ok "first start"

# the attack: /srv/jsbsec-homes in the layer becomes a link to the host's /tmp
works "plant: /srv/jsbsec-homes -> /tmp (as root inside)" "$B" \
	"cd / && sudo -n sh -c 'mv $HOMES /srv/jsbsec-homes.x && ln -s /tmp $HOMES'"
"$JSB_CTL" stop "$B" >/dev/null 2>&1
check "the link is in bob's layer" test -L "$JSB_RUN/state/users/$B/upper$HOMES"
login_refused "a link in the home's parent chain" "$B" "jsbsec-homes" "symbolic link"
check "no directory was made through the link on the host (/tmp/$B)" test ! -e "/tmp/$B"
check "bob's real home is untouched" test "$(cat "$bhome/jsbsec-mine")" = "bob's file"

# a relative link climbing out of the overlay: the same
"$JSB_CTL" reset "$B" >/dev/null
works "bob starts afresh after a reset" "$B" true
works "plant: /srv/jsbsec-homes -> ../../../../../../../../../tmp" "$B" \
	"cd / && sudo -n sh -c 'mv $HOMES /srv/jsbsec-homes.x && ln -s ../../../../../../../../../tmp $HOMES'"
"$JSB_CTL" stop "$B" >/dev/null 2>&1
login_refused "a relative link in the chain" "$B" "jsbsec-homes" "symbolic link"
check "no directory was made through it on the host (/tmp/$B)" test ! -e "/tmp/$B"

# a file where a directory of the chain goes: refused, not ignored
"$JSB_CTL" reset "$B" >/dev/null
works "plant: /srv/jsbsec-homes is a file" "$B" \
	"cd / && sudo -n sh -c 'mv $HOMES /srv/jsbsec-homes.x && echo x >$HOMES'"
"$JSB_CTL" stop "$B" >/dev/null 2>&1
login_refused "a file in the chain" "$B" "jsbsec-homes" "not a directory"

# recovery
check "jsandboxctl reset $B" "$JSB_CTL" reset "$B"
home_ok "after the reset"
"$JSB_CTL" stop "$B" >/dev/null 2>&1
restore_kept
check "bob's home is back" test "$(getent passwd "$B" | cut -d: -f6)" = "$(home_of "$B")"
check "bob logs in with his usual home" in_container "$B"
"$JSB_CTL" reset "$B" >/dev/null 2>&1
finish
