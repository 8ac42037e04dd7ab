#!/bin/bash
# Behaviour 6: `ssh -A` forwards the agent into the container (`ssh-add -l`
# inside sees it, through a socket in the container's own /tmp); `ssh -L`
# reaches a port a process inside has opened.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
T=$(mktemp -d "$JSB_RUN/t06.XXXXXX")
BG=()
cleanup() {
	local p
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "${SSH_AGENT_PID:-}" ] && kill "$SSH_AGENT_PID" 2>/dev/null
	pkill -u $A -f 'jsbt-t06-server' 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
matches() { printf '%s\n' "$1" | grep -Eq -- "$2"; }
contains() { printf '%s\n' "$1" | grep -Fq -- "$2"; }

# --- agent forwarding --------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C jsbt-t06 -f "$T/agentkey"
eval "$(ssh-agent -s)" >/dev/null
check "a client agent runs" [ -n "${SSH_AGENT_PID:-}" ]
ssh-add -q "$T/agentkey" 2>/dev/null
fp=$(ssh-keygen -lf "$T/agentkey.pub" | awk '{print $2}')

out=$(tm 60 jssh $A -A 'ssh-add -l; echo "rc=$?"; echo "sock=$SSH_AUTH_SOCK"' </dev/null 2>&1)
check "ssh -A: ssh-add -l inside succeeds ($(oneline "$out"))" matches "$out" '^rc=0$'
check "ssh -A: and lists the forwarded key" contains "$out" " $fp "
sock=$(printf '%s\n' "$out" | sed -n 's/^sock=//p')
check "the agent socket is in the container's /tmp ($sock)" matches "$sock" '^/tmp/[^/]+/[^/]+$'
check "it is not sshd's socket on the host" sh -c "! echo '$sock' | grep -q '^/tmp/ssh-'"
check "it does not exist on the host" [ -n "$sock" -a ! -e "$sock" ]
info=$(tm 60 jssh $A -A 'stat -c "%F %U %a" "$SSH_AUTH_SOCK"; ls -d /tmp/ssh-* 2>/dev/null | wc -l; ps -eo comm= | grep -c "^jsandbox-shell"' </dev/null)
check "inside it is a socket, the user's, mode 0600 ($(oneline "$info"))" matches "$info" "^socket $A 600\$"
check "sshd's host socket directory is not visible inside" [ "$(printf '%s\n' "$info" | sed -n 2p)" = 0 ]
check "the relay is not visible inside" [ "$(printf '%s\n' "$info" | sed -n 3p)" = 0 ]

# Signing through the forwarded agent: the private key never leaves the client.
echo "message $$" >"$T/msg"
tm 60 jssh $A -A 'cat >/tmp/t06.pub && printf "message %s\n" '$$' | ssh-keygen -Y sign -q -f /tmp/t06.pub -n jsbt-test; rm -f /tmp/t06.pub' \
	<"$T/agentkey.pub" >"$T/msg.sig" 2>"$T/sign.err"
echo "jsbt-t06 $(cut -d' ' -f1,2 "$T/agentkey.pub")" >"$T/allowed"
check "a signature made inside through the agent verifies on the client" \
	ssh-keygen -Y verify -q -f "$T/allowed" -I jsbt-t06 -n jsbt-test -s "$T/msg.sig" <"$T/msg"
[ -s "$T/msg.sig" ] || sed 's/^/    /' "$T/sign.err"

out=$(tm 60 jssh $A 'echo "[${SSH_AUTH_SOCK-unset}]"; ls -d /tmp/jsandbox-agent.* 2>/dev/null | wc -l' </dev/null)
check "without -A SSH_AUTH_SOCK is unset inside ($(oneline "$out"))" matches "$out" '^\[unset\]$'
check "without -A no agent directory is made" [ "$(printf '%s\n' "$out" | sed -n 2p)" = 0 ]
check "the agent relay ends with its session" wait_for 100 sh -c "! pgrep -u $A -x jsandbox-shell >/dev/null"

# --- local port forwarding -----------------------------------------------------
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# fetch_token PORT: the line a server on 127.0.0.1:PORT sends
fetch_token() {
	timeout 15 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.settimeout(5)
print(s.makefile().readline().strip())' "$1" 2>/dev/null
}
# a tiny TCP server for inside (python3 -c CODE jsbt-t06-server PORT TOKEN):
# sends TOKEN to every client; the marker in its argv lets pgrep find it
SERVER='import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[2])))
s.listen(8)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.sendall((sys.argv[3] + "\n").encode())
    c.close()'
srv() { # PORT TOKEN: the remote command running the server
	printf 'python3 -c %q jsbt-t06-server %s %s' "$SERVER" "$1" "$2"
}

# 1. the server runs in the session that holds the forward
P=$(free_port)
L=$(free_port)
tok=tok-$RANDOM$RANDOM
tmbg 120 jssh $A -o ExitOnForwardFailure=yes -L "$L:127.0.0.1:$P" "exec $(srv "$P" "$tok")" </dev/null >"$T/srv1.out" 2>&1
BG+=($!)
check "the server inside starts listening" wait_for 200 grep -q listening "$T/srv1.out"
got=$(fetch_token "$L")
check "ssh -L reaches the port opened inside (${got:-nothing})" [ "$got" = "$tok" ]
spid=$(pgrep -u $A -f "jsbt-t06-server $P" | head -1)
check "the server runs as the user (pid ${spid:-none})" [ -n "$spid" ]
check "in the container's pid namespace, not the host's" \
	[ -n "$spid" -a "$(readlink "/proc/${spid:-0}/ns/pid")" != "$(readlink /proc/self/ns/pid)" ]
check "a second connection through the forward works too" [ "$(fetch_token "$L")" = "$tok" ]
kill "${BG[-1]}" 2>/dev/null
wait "${BG[-1]}" 2>/dev/null
check "the server is gone after its session (the container ended)" wait_for 100 sh -c "! pgrep -u $A -f 'jsbt-t06-server $P' >/dev/null"

# 2. a forward held by one session reaches a server another session left
# running with nohup setsid
P=$(free_port)
L=$(free_port)
tok=tok-$RANDOM$RANDOM
tmbg 120 jssh $A -o ExitOnForwardFailure=yes -L "$L:127.0.0.1:$P" 'echo forwarding; sleep 90' </dev/null >"$T/fwd.out" 2>&1
BG+=($!)
check "the forwarding session is up" wait_for 200 grep -q forwarding "$T/fwd.out"
# The session ends once the server says it listens (bounded wait inside).
tm 60 jssh $A "rm -f /tmp/t06-srv.log; nohup setsid $(srv "$P" "$tok") >/tmp/t06-srv.log 2>&1 </dev/null &
	for _ in \$(seq 100); do grep -q listening /tmp/t06-srv.log && echo started && break; sleep 0.1; done" \
	</dev/null >"$T/start.out" 2>&1
check "a detached server is started inside" grep -q started "$T/start.out"
got=""
for _ in $(seq 50); do
	got=$(fetch_token "$L")
	[ "$got" = "$tok" ] && break
	sleep 0.2
done
check "ssh -L reaches a port a detached process inside opened (${got:-nothing})" [ "$got" = "$tok" ]
kill "${BG[-1]}" 2>/dev/null
wait "${BG[-1]}" 2>/dev/null
check "with the last session gone the detached server goes too" \
	wait_for 100 sh -c "! pgrep -u $A -f 'jsbt-t06-server' >/dev/null"
finish
