#!/bin/bash
# Issue 10 item 6: names that become file names as root. jsandboxctl reset
# for an account named "." removed every user's layer (state_dir/users/.),
# ".." would have walked all of state_dir, and a name with a '/' reaches
# into another user's layer. Such accounts exist only in a directory (NSS),
# never from useradd: the test adds them to /etc/passwd for its run. Every
# subcommand that takes a USER refuses them before touching a file; a
# normal reset still works.
. "$(dirname "$0")/lib_layer.sh"
USERS=$JSB_RUN/state/users
keep_file /etc/passwd
# uids no one has, shells that cannot log in
add_line /etc/passwd ".:x:4242001:4242001::/nonexistent:/usr/sbin/nologin"
add_line /etc/passwd "..:x:4242002:4242002::/nonexistent:/usr/sbin/nologin"
add_line /etc/passwd "$A/upper:x:4242003:4242003::/nonexistent:/usr/sbin/nologin"
add_line /etc/passwd "-rf:x:4242004:4242004::/nonexistent:/usr/sbin/nologin"
check "the odd accounts resolve (NSS lists them)" sh -c "getent passwd . && getent passwd .. && getent passwd '$A/upper'" >/dev/null

# both users have a layer with a marker in it
works "alice marks her layer" "$A" "sudo -n touch /jsbsec-marker-a"
works "bob marks his layer" "$B" "sudo -n touch /jsbsec-marker-b"
stop_all
check "the markers are in the layers" test -e "$USERS/$A/upper/jsbsec-marker-a" -a -e "$USERS/$B/upper/jsbsec-marker-b"
state_before=$(find "$JSB_RUN/state" -maxdepth 3 | sort)

for name in . .. "$A/upper" -rf; do
	for cmd in reset stop apply status; do
		out=$("$JSB_CTL" "$cmd" -- "$name" 2>&1)
		rc=$?
		check "jsandboxctl $cmd '$name' is refused (rc $rc)" test "$rc" = 1
		check "jsandboxctl $cmd '$name' says why in one line ($out)" \
			sh -c "[ \$(printf '%s\n' \"\$1\" | wc -l) = 1 ] && printf '%s\n' \"\$1\" | grep -q 'cannot be used as a file name'" _ "$out"
	done
done
check "alice's layer is intact" test -e "$USERS/$A/upper/jsbsec-marker-a"
check "bob's layer is intact" test -e "$USERS/$B/upper/jsbsec-marker-b"
check "nothing under state_dir changed" test "$(find "$JSB_RUN/state" -maxdepth 3 | sort)" = "$state_before"

# image names go through the same rule
for name in . .. a/b -x; do
	out=$("$JSB_CTL" image remove -- "$name" 2>&1)
	check "jsandboxctl image remove '$name' is refused ($out)" sh -c "! printf '%s' \"\$1\" | grep -q removed" _ "$out"
done
check "the test image is still there" test -d "$JSB_CACHE/images/jsbtest/usr"

# the legitimate commands on real users
check "jsandboxctl reset $B works" "$JSB_CTL" reset "$B"
check "bob's layer is gone" test ! -e "$USERS/$B/upper/jsbsec-marker-b"
check "alice's layer is still there" test -e "$USERS/$A/upper/jsbsec-marker-a"
works "bob logs in to a fresh layer" "$B" "test ! -e /jsbsec-marker-b && sudo -n true"
works "alice still has her marker" "$A" "test -e /jsbsec-marker-a && sudo -n rm /jsbsec-marker-a"
restore_kept
stop_all
check "jsandboxctl status $A works (stopped)" sh -c "'$JSB_CTL' status $A | grep -q '^$A .* stopped '"
finish
