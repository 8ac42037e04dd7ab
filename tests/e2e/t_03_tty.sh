#!/bin/bash
# Behaviour 3: interactive `ssh -t`. `tty` names a device of the container
# (no host pty visible inside), $TERM and the window size come through and
# follow a resize, Ctrl-C interrupts, job control works, `exit 3` gives the
# client exit status 3. The client side is a real pty (ptydrive.py).
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
D=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "$JSB_RUN/t03.XXXXXX")
cleanup() {
	pkill -KILL -u $A -fx 'sleep 100[0-9]' 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
SSH=(ssh -F "$JSB_RUN/ssh_config" -i "$JSB_RUN/keys/id_$A" -l "$A")
drive() { timeout -k 5 300 python3 "$D/ptydrive.py" "$@"; }
# r DIR FILE: one observation of the driver (empty when it never got there)
r() { cat "$T/$1/$2" 2>/dev/null; }
# has DIR FILE ERE: the observation matches
has() { grep -Eq -- "$3" "$T/$1/$2" 2>/dev/null; }

# --- one interactive login, driven step by step ---------------------------
drive session "$T/s" $A -- "${SSH[@]}" -tt jsbtest
if [ -s "$T/s/error" ]; then
	echo "driver: $(r s error); transcript tail:"
	tail -c 2000 "$T/s/transcript" | tr -d '\r' | sed 's/^/    /'
fi
check "an interactive login gets a shell prompt" [ "$(r s started)" = yes ]
tty_in=$(r s tty)
check "tty names a device ($tty_in)" sh -c "echo '$tty_in' | grep -Eqx '/dev/pts/[0-9]+'"
check "SSH_TTY inside names the same device ($(r s ssh_tty))" [ -n "$tty_in" -a "$(r s ssh_tty)" = "$tty_in" ]
check "TERM comes through ($(r s term))" [ "$(r s term)" = xterm-256color ]
check "the window size comes through ($(r s size1))" [ "$(r s size1)" = "33 111" ]

# Only the container's own ptys inside: its own devpts, holding just this
# session's terminal, while the host has at least the client's and sshd's.
pts_in=$(r s pts_in | grep -Ex '[0-9]+' | tr '\n' ' ')
pts_host=$(r s pts_host | grep -Ex '[0-9]+' | tr '\n' ' ')
check "/dev/pts inside is not the host's devpts" [ -n "$(r s ptsdev_in)" -a "$(r s ptsdev_in)" != "$(r s ptsdev_host)" ]
check "/dev/pts inside holds only the session's terminal (inside: $pts_in; host: $pts_host)" \
	[ "$pts_in" = "${tty_in#/dev/pts/} " ]
check "the host's ptys are not listed inside" [ "$pts_in" != "$pts_host" ]
check "the login shell has job control" [ "$(r s jobctl)" = monitor-on ]
check "bash did not complain about the terminal" \
	sh -c "! grep -Eq 'no job control|cannot set terminal process group|Inappropriate ioctl' '$T/s/transcript'"

# Ctrl-C
check "the foreground sleep started" [ "$(r s ctrlc_started)" = yes ]
secs=$(r s ctrlc_seconds)
check "Ctrl-C brings the prompt back quickly (${secs:-never} s)" \
	awk -v s="${secs:-x}" 'BEGIN { exit !(s ~ /^[0-9.]+$/ && s < 5) }'
check "Ctrl-C ended the foreground command" [ "$(r s ctrlc_gone)" = yes ]
check "the interrupted command's status is 130 ($(r s ctrlc_rc))" [ "$(r s ctrlc_rc)" = 130 ]
check "the session goes on after Ctrl-C" [ "$(r s alive_after_ctrlc)" = still-here ]

# job control: &, jobs, kill %1, Ctrl-Z, bg, fg
check "sleep & reports a job ($(r s bg_start | tr '\n' ' '))" has s bg_start '^\[1\] [0-9]+'
check "jobs lists it running" has s jobs1 '^\[1\]\+ +Running +sleep 1002'
check "kill %1 ends it" [ "$(r s bg_gone)" = yes ]
check "the sleep for Ctrl-Z started" [ "$(r s ctrlz_started)" = yes ]
check "Ctrl-Z stops the foreground job" has s ctrlz_out 'Stopped +sleep 1003'
check "the stopped job is really stopped (state $(r s ctrlz_state))" [ "$(r s ctrlz_state)" = T ]
check "bg resumes it in the background" has s bg_out '^\[1\]\+ sleep 1003 &'
check "the resumed job runs (state $(r s bg_state))" [ "$(r s bg_state)" = S ]
check "jobs shows it running" has s jobs3 '^\[1\]\+ +Running +sleep 1003'
check "fg gives the job the terminal" [ "$(r s fg_foreground)" = yes ]
check "fg and Ctrl-C give the prompt back" [ "$(r s fg_back)" = yes ]
check "and end the job" [ "$(r s fg_gone)" = yes ]

# window-size change
check "a window-size change reaches the inner terminal ($(r s size2))" [ "$(r s size2)" = "40 120" ]
check "the shell sees the new width (COLUMNS=$(r s columns))" [ "$(r s columns)" = 120 ]

# exit status
check "exit 3 gives the client exit status 3 ($(r s exit_rc))" [ "$(r s exit_rc)" = 3 ]
check "no sleep of the session is left" sh -c "! pgrep -u $A -fx 'sleep 100[0-9]' >/dev/null"

# --- ssh -t with a command ---------------------------------------------------
drive oneshot "$T/c" -- "${SSH[@]}" -tt jsbtest 'tty; stty size; echo "T=$TERM"; exit 4'
check "ssh -t CMD: tty names a device" has c out '^/dev/pts/[0-9]+$'
check "ssh -t CMD: the window size comes through" has c out '^33 111$'
check "ssh -t CMD: TERM comes through" has c out '^T=xterm-256color$'
check "ssh -t CMD: exit status 4 ($(r c rc))" [ "$(r c rc)" = 4 ]

drive oneshot "$T/i" --interrupt-after 'READY2' --running "$A:sleep 1004" -- "${SSH[@]}" -tt jsbtest 'echo READY$((1+1)); exec sleep 1004'
check "ssh -t CMD: the command runs before Ctrl-C" [ "$(r i running)" = yes ]
secs=$(r i seconds)
check "ssh -t CMD: Ctrl-C ends the command quickly (${secs:-never} s)" \
	awk -v s="${secs:-x}" 'BEGIN { exit !(s ~ /^[0-9.]+$/ && s < 5) }'
rc=$(r i rc)
check "ssh -t CMD: an interrupted command is a failure (${rc:-no status})" [ -n "$rc" -a "$rc" != 0 ]
check "ssh -t CMD: the interrupted command is gone" wait_for 50 sh -c "! pgrep -u $A -fx 'sleep 1004' >/dev/null"

# the client vanishing hangs up the inner terminal
drive oneshot "$T/k" --kill-after 'READY2' --running "$A:sleep 1005" -- "${SSH[@]}" -tt jsbtest 'echo READY$((1+1)); exec sleep 1005'
check "the command was running when the client vanished" [ "$(r k running)/$(r k rc)" = yes/killed ]
check "a vanished client hangs up the inner terminal: its command ends" \
	wait_for 100 sh -c "! pgrep -u $A -fx 'sleep 1005' >/dev/null"

# --- no terminal without -t ------------------------------------------------
out=$(tm 30 jssh $A -T 'tty; echo rc=$?' </dev/null 2>&1)
check "without -t there is no terminal ($(oneline "$out"))" [ "$out" = "not a tty
rc=1" ]
finish
