#!/bin/bash
# Issue 10 item 5: every devpts but the host's draws on one kernel pool
# (kernel.pty.max less kernel.pty.reserve). Without a per-container limit
# one user holding ptys leaves every other user's interactive login without
# a terminal. pty_max (default 128) is the container devpts's max=: the
# user gets exactly that many (ENOSPC after), and another user's `ssh -t`
# still gets a terminal while they are all held.
. "$(dirname "$0")/lib_sec.sh"
D=$(cd "$(dirname "$0")/../e2e" && pwd)
T=$(mktemp -d "$JSB_RUN/t61.XXXXXX")
HOLDERS=()
cleanup() {
	local p
	exec 7>&- 2>/dev/null
	for p in "${HOLDERS[@]}"; do kill "$p" 2>/dev/null; done
	write_config
	stop_all
	rm -rf "$T"
}
trap cleanup EXIT

# Opens /dev/ptmx until the kernel says no (or 4000: more than the shared
# pool), reports "HELD count errno", holds them until stdin ends.
HOLD='import errno, os, sys
fds, err = [], "none"
try:
    while len(fds) < 4000:
        fds.append(os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY))
except OSError as e:
    err = errno.errorcode.get(e.errno, str(e.errno))
print("HELD %d %s" % (len(fds), err), flush=True)
sys.stdin.read()'
holdcmd() { printf 'ulimit -n 4200 2>/dev/null; exec python3 -c %q' "$HOLD"; }
drive() { timeout -k 5 120 python3 "$D/ptydrive.py" "$@"; }
# tty_login DIR USER: `ssh -tt` from a real pty, running tty
tty_login() {
	drive oneshot "$1" -- ssh -F "$JSB_RUN/ssh_config" -i "$JSB_RUN/keys/id_$2" -l "$2" -tt jsbtest 'tty; echo T-OK'
}

# hold USER TAG: a holder in USER's container, its stdin a fifo kept open
# on fd 7 until release; waits for its report, in $HELD.
hold() {
	local u=$1 tag=$2
	mkfifo "$T/$tag.in"
	# read-write: opening the fifo does not wait for the other end
	exec 7<>"$T/$tag.in"
	# not tmbg: a background command without a redirection of its own
	# gets /dev/null as stdin, and the holder would let go at once; and
	# not our end of the fifo, or it would never see the end of its input
	timeout -k 5 180 jssh "$u" "$(holdcmd)" <"$T/$tag.in" >"$T/$tag.out" 2>&1 7>&- &
	HOLDERS+=($!)
	wait_for 600 grep -q '^HELD ' "$T/$tag.out"
	HELD=$(sed -n 's/^HELD //p' "$T/$tag.out")
}
release() {
	exec 7>&-
	wait "${HOLDERS[-1]}" 2>/dev/null
}

stop_all
hold "$A" a1
check "alice gets exactly the default pty_max (128) ptys, then ENOSPC ($HELD)" [ "$HELD" = "128 ENOSPC" ]
tty_login "$T/b1" "$B"
check "meanwhile bob's ssh -t gets a terminal ($(grep -m1 pts "$T/b1/out" 2>/dev/null))" \
	grep -Eq '^/dev/pts/[0-9]+$' "$T/b1/out"
check "and his command runs (rc $(cat "$T/b1/rc" 2>/dev/null))" [ "$(cat "$T/b1/rc" 2>/dev/null)" = 0 ]
tty_login "$T/a2" "$A"
check "alice herself, at her limit, is told in one line why she has no terminal" \
	grep -q 'jsandbox: cannot open a terminal in your container' "$T/a2/out"
grep -q 'jsandbox: cannot open a terminal' "$T/a2/out" ||
	{ cat "$T/a2/out" "$T/a2/rc" "$T/a2/error"; } 2>/dev/null | sed 's/^/    /' 
release
tty_login "$T/a3" "$A"
check "once she lets them go, her ssh -t gets a terminal again" grep -Eq '^/dev/pts/[0-9]+$' "$T/a3/out"

# The key, per user.
write_config "[user:$A]
pty_max = 20"
"$JSB_CTL" stop "$A" >/dev/null 2>&1
hold "$A" a4
check "pty_max = 20: alice gets 20 ptys, then ENOSPC ($HELD)" [ "$HELD" = "20 ENOSPC" ]
gotb=$(tm 120 jssh "$B" "$(holdcmd)" </dev/null 2>&1 | sed -n 's/^HELD //p')
check "bob, not in that section, still gets the default 128 ($gotb)" [ "$gotb" = "128 ENOSPC" ]
release
finish
