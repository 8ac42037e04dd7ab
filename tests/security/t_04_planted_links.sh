#!/bin/bash
# Links planted by a user in her layer and home, where the root side (the
# PAM module at login, jsandboxctl stop and reset) and the container's init
# do their work: nothing is written, chmodded or removed through them.
. "$(dirname "$0")/lib_sec.sh"
give_tool "$A"
ahome=$(home_of "$A")
DECOY=$JSB_RUN/sec-decoy
rm -rf "$DECOY"
install -d -m 0755 "$DECOY/dir"
echo "decoy" >"$DECOY/file"
echo "decoy" >"$DECOY/dir/file"
chmod 0644 "$DECOY/file"
decoy_state() { find "$DECOY" -printf '%p %m %U %s %T@\n' | sort; cat "$DECOY/file" "$DECOY/dir/file"; }
before=$(decoy_state)
install -o "$A" -m 0644 /dev/null "$ahome/jsbsec-victim"
echo "victim" >"$ahome/jsbsec-victim"
victim_before=$(stat -c '%s %Y %a' "$ahome/jsbsec-victim")

# Symlinks and hardlinks in the layer (as root inside) and in the home:
# where the init rewrites passwd, group, shadow and sudoers at the next
# start, and pointing at host paths the root side might follow.
works "alice plants links in her layer and home" "$A" "
	sudo -n sh -c 'ln -sfn $DECOY /jsbsec-dirlink; ln -sfn $DECOY/file /jsbsec-filelink
	  ln -sfn $ahome/jsbsec-victim /etc/passwd.jsandbox-new
	  ln -sfn $ahome/jsbsec-victim /etc/shadow.jsandbox-new
	  ln -sfn $ahome/jsbsec-victim /etc/group.jsandbox-new
	  rm -f /etc/sudoers.d/jsandbox; ln -sfn $ahome/jsbsec-victim /etc/sudoers.d/jsandbox
	  mkdir -p /var/jsb; ln -sfn / /var/jsb/root; ln -f /etc/shadow /jsbsec-hardlink'
	ln -sfn $DECOY \$HOME/jsbsec-dirlink; ln -sfn / \$HOME/jsbsec-rootlink
	ln -sfn $DECOY/file \$HOME/.jsbsec-filelink"
check "the layer holds the planted links" test -L "$JSB_RUN/state/users/$A/upper/jsbsec-dirlink"

# Trigger every root-side path over them: stop, a fresh start (the init
# rewrites the identity files), a login, a reset.
"$JSB_CTL" stop "$A" >/dev/null 2>&1
works "alice logs in over her planted links" "$A" "id -un"
check "the init's rewrites did not go through the links (victim unchanged)" \
	sh -c "[ \"\$(stat -c '%s %Y %a' '$ahome/jsbsec-victim')\" = '$victim_before' ]"
refused "sudo still works (sudoers rewritten in place, not through the link)" "$A" \
	"sudo -n test ! -L /etc/sudoers.d/jsandbox && sudo -n true && echo fine"
"$JSB_CTL" stop "$A" >/dev/null 2>&1
check "jsandboxctl reset over the planted links succeeds" "$JSB_CTL" reset "$A"
check "the layer is gone" test ! -e "$JSB_RUN/state/users/$A/upper/jsbsec-dirlink"
after=$(decoy_state)
check "the decoy files the links pointed at are untouched" test "$after" = "$before"
check "the host's / is intact after removing a layer with a link to it" test -x /bin/sh
check "the home's links are still there (nobody walked the home)" test -L "$ahome/jsbsec-rootlink"
works "alice logs in to a fresh layer" "$A" "test ! -e /jsbsec-dirlink"
rm -f "$ahome/jsbsec-dirlink" "$ahome/jsbsec-rootlink" "$ahome/.jsbsec-filelink" "$ahome/jsbsec-victim"
rm -rf "$DECOY"
finish
