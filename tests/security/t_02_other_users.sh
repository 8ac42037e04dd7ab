#!/bin/bash
# Attacks on another user: bob holds SysV and POSIX IPC objects, an abstract
# socket, files in /tmp, /dev/shm and his home, and a process; alice, root
# in her own container, tries to reach each of them. The host holds an
# abstract socket too.
. "$(dirname "$0")/lib_sec.sh"
give_tool "$A" "$B"
KEY=0x4a534254
NAME=jsbsec-bob
bhome=$(home_of "$B")
install -o "$B" -m 0600 /dev/null "$bhome/jsbsec-secret"
echo "bob's secret" >"$bhome/jsbsec-secret"

tm 300 jssh "$B" "\$HOME/jsb-attack hold $KEY $NAME" >"$SEC/bob-hold.out" 2>&1 &
bobssh=$!
python3 -c '
import socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("\0jsbsec-host"); s.listen(4)
while True:
    c, _ = s.accept(); c.sendall(b"host secret\n"); c.close()
' &
hostsock=$!
cleanup() { kill $bobssh $hostsock 2>/dev/null; rm -f "$bhome/jsbsec-secret"; }
trap cleanup EXIT
wait_for 300 grep -q holding "$SEC/bob-hold.out" || { cat "$SEC/bob-hold.out"; echo "FAIL: bob's holder did not start"; exit 1; }
bobpid=$(pgrep -u "$B" -f "jsb-attack hold" | head -1)
check "bob's holder runs on the host as pid $bobpid" test -n "$bobpid"

# Controls: in bob's own container the same look-ups succeed.
attack_worked "control: bob finds his own SysV shared memory" "$B" find shm $KEY
attack_worked "control: bob reaches his own POSIX queue" "$B" find mq $NAME

# 1-3. SysV IPC
attack "alice cannot find bob's SysV shared memory" "$A" sudo find shm $KEY
attack "alice cannot find bob's SysV semaphore" "$A" sudo find sem $KEY
attack "alice cannot find bob's SysV message queue" "$A" sudo find msg $KEY
# 4. POSIX IPC
attack "alice cannot open bob's POSIX message queue" "$A" sudo find mq $NAME
refused "alice does not see bob's /dev/shm or /tmp files" "$A" \
	"sudo -n test -e /dev/shm/$NAME && exit 1; sudo -n test -e /tmp/$NAME && exit 1; echo none"
# 5-6. abstract unix sockets. network = host shares their namespace: a
# Landlock domain scoped to them (ABI 6, Linux 6.12) keeps each session to
# its own. Older kernels (Debian 12's 6.1) cannot: a documented limit
# (docs/security.md) that `jsandboxctl check` names, and network = none
# (a network namespace of the container's own) is what keeps them apart.
abi=$(python3 -c 'import ctypes; print(max(0, ctypes.CDLL(None, use_errno=True).syscall(444, None, 0, 1)))')
if [ "$abi" -ge 6 ]; then
	attack "alice cannot connect to bob's abstract socket (Landlock ABI $abi)" "$A" find abstract $NAME
	attack "alice cannot connect to the host's abstract socket (Landlock ABI $abi)" "$A" sudo find abstract jsbsec-host
else
	# shellcheck disable=SC2119 # (no options: the harness's own files)
	out=$(jsb_check 2>&1)
	has "Landlock ABI $abi: jsandboxctl check names the unscoped abstract sockets" "$out" \
		-- "Landlock ABI $abi (6 needed, Linux 6.12): with network = host, abstract unix sockets are not scoped"
	write_config "[user:$A]
network = none"
	"$JSB_CTL" stop "$A" >/dev/null 2>&1
	attack "network = none: alice cannot connect to bob's abstract socket" "$A" find abstract $NAME
	attack "network = none: alice cannot connect to the host's abstract socket" "$A" sudo find abstract jsbsec-host
	write_config
	"$JSB_CTL" stop "$A" >/dev/null 2>&1
fi
# 7. bob's home and layer
refused "alice, root inside, cannot read bob's home or find his files" "$A" \
	"sudo -n cat '$bhome/jsbsec-secret' 2>/dev/null && exit 1
	 [ -n \"\$(sudo -n find / -xdev -name jsbsec-secret 2>/dev/null)\" ] && exit 1
	 sudo -n test -e '$JSB_RUN/state/users/$B' && exit 1; echo none"
# 8. processes: not visible, not traceable
attack "alice cannot see or ptrace bob's process" "$A" sudo ptrace $NAME "$bobpid"
# 9. signals: root inside kills everything it can reach
tm 60 jssh "$A" "sudo -n kill -KILL -1; sudo -n kill -KILL $bobpid" >/dev/null 2>&1
# Bob's holder answering on its socket after alice's kills returned proves
# they missed it: a process with SIGKILL queued never runs its own code
# again. (kill -0 alone would pass for a process still dying.)
holder_answers() {
	nsenter --net="/proc/$bobpid/ns/net" python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(b"\0" + sys.argv[1].encode())
sys.exit(0 if s.recv(16) == b"secret\n" else 1)' "$NAME"
}
check "bob's process survives alice's kill -KILL -1 and kill of its host pid (it still answers)" holder_answers
check "sshd survives it too" kill -0 "$(cat "$JSB_RUN/sshd.pid")"
check "bob's session is still holding" kill -0 $bobssh
works "alice logs in again after killing her own container's processes" "$A" true
finish
