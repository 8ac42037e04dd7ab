#!/bin/bash
# Issue 10 item 4: sshd's own channels (-W, -L, -R) are served on the host
# side by sshd, outside the container. For network = none the session's
# sshd monitor joins the container's network namespace, so its channels
# reach what the container reaches: its own loopback, nothing of the
# host's. Unix-socket forwarding (host paths) is off for sandboxed users in
# INSTALL.md's sshd block, which the harness uses. Legit use keeps working:
# -L to a service inside the container, -R to the client, sudo.
. "$(dirname "$0")/lib_sec.sh"
T=$SEC/t22
rm -rf "$T" && install -d -m 0755 "$T"
S=/tmp/jsbsec-t22
rm -f $S.*
port=$(cat "$JSB_RUN/port")
BG=()
cleanup() {
	local p
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
	rm -f $S.*
	stop_all
	write_config
}
trap cleanup EXIT
rport() { echo $((30000 + RANDOM % 20000)); }
# serve PORT|PATH TOKEN: a server on the host (the client
# side) that sends TOKEN to each of up to 4 clients; prints "listening" once it does.
serve() {
	python3 - "$1" "$2" <<'P' &
import os, socket, sys
where, tok = sys.argv[1], sys.argv[2].encode()
if where.isdigit():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(where)))
else:
    s = socket.socket(socket.AF_UNIX)
    s.bind(where)
    os.chmod(where, 0o666)
s.listen(4)
s.settimeout(100)
print("listening", flush=True)
for _ in range(4):
    try:
        c, _ = s.accept()
        c.sendall(tok)
        c.close()
    except OSError:
        break
P
	BG+=($!)
}
# fetch PORT: what a connection to 127.0.0.1:PORT on the host receives
fetch() {
	python3 -c "import socket, sys
try:
    print(socket.create_connection(('127.0.0.1', $1), timeout=10).recv(100).decode())
except OSError as e:
    print('refused:', e)"
}

write_config "[user:$A]
network = none"
stop_all
tmbg 300 jssh "$A" 'sleep 280' >/dev/null 2>&1
BG+=($!)
wait_for 300 container_pid "$A" >/dev/null

# --- -W to the host's loopback ---------------------------------------------
out=$(tm 30 jssh "$A" -W "127.0.0.1:$port" </dev/null 2>&1 | head -c 300 | tr -d '\0')
check "ssh -W 127.0.0.1:$port (the host's sshd) reaches nothing ($(echo "$out" | cut -c1-80))" \
	sh -c "! printf '%s' '$out' | grep -q 'SSH-2.0'"
out=$(tm 30 jssh "$A" -W "127.0.0.1:22" </dev/null 2>&1 | head -c 300 | tr -d '\0')
check "ssh -W 127.0.0.1:22 reaches nothing either" sh -c "! printf '%s' '$out' | grep -q 'SSH-2.0'"

# --- -R: the listener is the container's, not the host's -------------------
cp=$(rport)
rp=$(rport)
tok=jsbt22-r-$RANDOM
serve "$cp" "$tok" >"$T/srv-r.out"
wait_for 50 grep -q listening "$T/srv-r.out"
tmbg 120 jssh "$A" -o ExitOnForwardFailure=yes -R "127.0.0.1:$rp:127.0.0.1:$cp" 'echo ready; sleep 90' \
	</dev/null >"$T/r.out" 2>&1
BG+=($!)
check "ssh -R is set up" wait_for 200 grep -q ready "$T/r.out"
check "ssh -R opened no listener on the host's loopback (port $rp)" sh -c "! ss -ltnH 'sport = :$rp' | grep -q ."
out=$(tm 60 jssh "$A" "python3 -c \"import socket; print(socket.create_connection(('127.0.0.1', $rp), timeout=10).recv(100).decode())\"" 2>&1)
check "inside the container, -R's port reaches the client's service ($out)" [ "$out" = "$tok" ]

# --- -L: to a service inside the container ---------------------------------
p=$(rport)
lp=$(rport)
tok=jsbt22-l-$RANDOM
tmbg 120 jssh "$A" -o ExitOnForwardFailure=yes -L "127.0.0.1:$lp:127.0.0.1:$p" "python3 -c \"
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $p))
s.listen(1)
print('listening', flush=True)
c, _ = s.accept()
c.sendall(b'$tok')
\"" </dev/null >"$T/l.out" 2>&1
BG+=($!)
check "a service inside listens" wait_for 200 grep -q listening "$T/l.out"
got=$(fetch "$lp")
check "ssh -L reaches the service inside the container's own loopback ($got)" [ "$got" = "$tok" ]

# --- unix sockets: host paths are out of reach -------------------------------
tok=jsbt22-u-$RANDOM
serve $S.sock "$tok" >"$T/srv-u.out"
wait_for 50 grep -q listening "$T/srv-u.out"
got=$(python3 -c "import socket; s = socket.socket(socket.AF_UNIX); s.connect('$S.sock'); print(s.recv(100).decode())")
check "control: the host's unix socket answers on the host" [ "$got" = "$tok" ]
lp=$(rport)
tmbg 60 jssh "$A" -L "127.0.0.1:$lp:$S.sock" 'echo ready; sleep 30' </dev/null >"$T/u.out" 2>&1
BG+=($!)
wait_for 200 grep -q ready "$T/u.out"
got=$(fetch "$lp")
check "ssh -L to a host unix socket gets nothing ($got)" [ "$got" != "$tok" ]
tmbg 60 jssh "$A" -R "$S.r.sock:127.0.0.1:$cp" 'echo ready; sleep 5' </dev/null >"$T/ur.out" 2>&1
BG+=($!)
wait_for 200 grep -q ready "$T/ur.out"
check "ssh -R to a host path creates no socket there" [ ! -e "$S.r.sock" ]
works "sudo still works inside" "$A" 'test "$(sudo -n id -u)" = 0'
finish
