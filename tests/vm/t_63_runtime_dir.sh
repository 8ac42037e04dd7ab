# shellcheck shell=bash
# t_63 (VM lane, sourced by run-lane.sh): the sandboxed user's login keeps
# what pam_systemd gives a login on a systemd host, without a host-side
# user manager: a logind session (session tracking) and, inside the
# container, XDG_RUNTIME_DIR set to /run/user/UID, a directory that is
# theirs, mode 0700, usable (files, a fifo), shared by their sessions of
# one container, and not the host's /run/user/UID.

uid_a=$(vm_ssh "id -u $USER_A")
gid_a=$(vm_ssh "id -g $USER_A")
hold=$WORK/t63-hold.out
: >"$hold"
# A first session makes a file in its runtime dir, says so and waits.
ussh 'echo first >"$XDG_RUNTIME_DIR/t63" && echo ready; exec sleep 600' \
	>"$hold" 2>&1 &
t63_hold=$!
t0=$SECONDS
until grep -q ready "$hold" || ((SECONDS - t0 > 60)); do sleep 1; done
check "t_63: a session wrote into its XDG_RUNTIME_DIR ($(tr '\n' ' ' <"$hold"))" grep -qx ready "$hold"

out=$(ussh 'echo "env=$XDG_RUNTIME_DIR"; stat -c "stat=%u %g %a %F" "$XDG_RUNTIME_DIR";
	cat "$XDG_RUNTIME_DIR/t63"; mkfifo "$XDG_RUNTIME_DIR/fifo" && echo fifo-ok; rm -f "$XDG_RUNTIME_DIR/fifo";
	stat -c "run=%a" /run/user; stat -fc "fs=%T" "$XDG_RUNTIME_DIR"' 2>&1)
while IFS= read -r l; do echo "#   t_63 inside: $l"; done <<<"$out"
check "t_63: XDG_RUNTIME_DIR is set to /run/user/$uid_a inside" grep -qx "env=/run/user/$uid_a" <<<"$out"
check "t_63: it is the user's directory, mode 0700" grep -qx "stat=$uid_a $gid_a 700 directory" <<<"$out"
check "t_63: it is usable: a fifo made in it" grep -qx fifo-ok <<<"$out"
check "t_63: it is on the container's own /run, a tmpfs" grep -qx fs=tmpfs <<<"$out"
check "t_63: a second session of the same container sees the first one's file" grep -qx first <<<"$out"
check "t_63: the host's /run/user/$uid_a is not what they see inside (the file is not there)" \
	vm_ssh "[ ! -e /run/user/$uid_a/t63 ]"
# Session tracking on the host: logind has a session for the login (while
# held), and no systemd --user runs for them (t_60).
check "t_63: logind tracks the login: a session of $USER_A ($(vm_ssh "loginctl list-sessions --no-legend | grep -w $USER_A | head -2 | tr '\n' ';'"))" \
	vm_ssh "loginctl list-sessions --no-legend | grep -qw $USER_A"
check "t_63: pam_systemd ran for it: logind's runtime dir for the user is up on the host ($(vm_ssh "loginctl show-user $USER_A -p RuntimePath -p State | tr '\n' ' '"))" \
	vm_ssh "[ \"\$(systemctl is-active user-runtime-dir@$uid_a.service)\" = active ] && [ -d /run/user/$uid_a ]"
kill "$t63_hold" 2>/dev/null
wait "$t63_hold" 2>/dev/null
