#!/bin/bash
# Issue 10 item 2: the agent relay connects from the host side, so
# SSH_AUTH_SOCK must never make it reach a socket other than the one sshd
# made for this connection. The user can set SSH_AUTH_SOCK: AcceptEnv
# (ssh -o SetEnv), authorized_keys environment= and ~/.ssh/environment
# (PermitUserEnvironment), ~/.pam_environment (Debian's pam_env
# user_readenv=1). Targets: another user's listening socket, a root-owned
# one, and one of the user's own on the host that is not sshd's (what
# /run/user/UID/bus is on a systemd host: the user's host-side manager).
# Each target logs every connection it gets: none may arrive, and the
# helper must say it refused (which also proves the variable reached it).
# Legitimate: ssh -A still forwards the agent (also when SetEnv tries to
# override it), and the relay holds no capability, no_new_privs and a
# seccomp filter (read from the host).
. "$(dirname "$0")/lib_sec.sh"
T=$(mktemp -d /tmp/jsbt60.XXXXXX)
chmod 0755 "$T"
SVC60=sshd-jsbt60
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -f "$T/sshd.pid" ] && kill "$(cat "$T/sshd.pid")" 2>/dev/null
	[ -n "${SSH_AGENT_PID:-}" ] && kill "$SSH_AGENT_PID" 2>/dev/null
	rm -f "/etc/pam.d/$SVC60" "$(home_of "$A")/.pam_environment" "$(home_of "$A")/.ssh/environment"
	rm -rf "$T"
	stop_all
}
trap cleanup EXIT

# --- the targets: listeners that log each connection ------------------------
cat >"$T/listen.py" <<'PY'
import os, socket, sys
os.closerange(3, 65536)
path, log, mode = sys.argv[1], sys.argv[2], int(sys.argv[3], 8)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, mode)
s.listen(16)
while True:
    c, _ = s.accept()
    with open(log, "a") as f:
        f.write("connected\n")
    c.close()
PY
# listener NAME OWNER DIRMODE SOCKMODE: a socket $T/NAME/sock run by OWNER
listener() {
	local name=$1 owner=$2 dmode=$3 smode=$4
	install -d -o "$owner" -m "$dmode" "$T/$name"
	install -o "$owner" -m 0666 /dev/null "$T/$name.log"
	# the system's python3: root's PATH may name one other users cannot run
	setpriv --reuid="$(id -u "$owner")" --regid="$(id -g "$owner")" --clear-groups \
		/usr/bin/python3 "$T/listen.py" "$T/$name/sock" "$T/$name.log" "$smode" </dev/null >/dev/null 2>&1 &
	PIDS+=($!)
	wait_for 100 test -S "$T/$name/sock" || echo "FAIL: listener $name did not start"
}
listener bob "$B" 0755 0666   # another user's service
listener root root 0755 0666 # a root daemon's socket
listener bus "$A" 0700 0600   # the user's own, not sshd's (/run/user/UID/bus)
conns() { wc -l <"$T/$1.log"; }

# --- a private sshd that lets the user set SSH_AUTH_SOCK ------------------------
# The harness's own sshd with: AcceptEnv SSH_AUTH_SOCK, PermitUserEnvironment
# (environment= in authorized_keys, ~/.ssh/environment), and its own PAM
# service with Debian's pam_env lines (~/.pam_environment).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -e "s|^Port .*|Port $port|" -e "s|^PidFile .*|PidFile $T/sshd.pid|" \
	-e "s|^AuthorizedKeysFile .*|AuthorizedKeysFile $T/keys/%u|" \
	-e "s|^Match .*|AcceptEnv SSH_AUTH_SOCK\\nPermitUserEnvironment yes\\n&|" "$JSB_RUN/sshd_config" >"$T/sshd_config"
# (before the harness's Match block, where sshd allows neither keyword;
# appended when there is none)
grep -q '^PermitUserEnvironment yes' "$T/sshd_config" ||
	printf 'AcceptEnv SSH_AUTH_SOCK\nPermitUserEnvironment yes\n' >>"$T/sshd_config"
install -d -m 0755 "$T/keys"
ssh-keygen -q -t ed25519 -N '' -f "$T/envkey"
{
	cat "$JSB_RUN/keys/$A"
	echo "environment=\"SSH_AUTH_SOCK=$T/bus/sock\" $(cat "$T/envkey.pub")"
} >"$T/keys/$A"
cat >"/etc/pam.d/$SVC60" <<EOF
# jsandbox security test t_60 (removed at its end)
@include common-auth
account    required     pam_nologin.so
@include common-account
account    required     $JSB_PAM
@include common-session
session    required     pam_env.so
session    required     pam_env.so user_readenv=1 envfile=/etc/default/locale
session    required     $JSB_PAM debug
EOF
ln -sf /usr/sbin/sshd "$T/$SVC60"
"$T/$SVC60" -f "$T/sshd_config" -E "$T/sshd.log" || skip "the test sshd did not start"
wait_for 100 test -s "$T/sshd.pid"
sed -e "s|^Host jsbtest|Host jsbt60|" -e "s|Port .*|Port $port|" "$JSB_RUN/ssh_config" >"$T/ssh_config"
s60() { # KEY ARGS...: ssh to the private sshd as alice with that key
	local key=$1
	shift
	tm 60 ssh -F "$T/ssh_config" -i "$key" -l "$A" jsbt60 "$@" </dev/null 2>&1
}
INSIDE='echo "sock=${SSH_AUTH_SOCK-unset}"; ssh-add -l >/dev/null 2>&1; echo "add=$?"'

# attacked DESCRIPTION TARGET OUTPUT: the helper said it refused, nothing
# reached the target, and no agent socket was offered inside.
attacked() {
	local d=$1 target=$2 out=$3
	if echo "$out" | grep -q "agent forwarding is off for this session" &&
		echo "$out" | grep -q '^sock=unset$' && [ "$(conns "$target")" = 0 ]; then
		ok "$d [$(echo "$out" | grep -m1 jsandbox:)]"
	else
		not_ok "$d ($(conns "$target") connections to the target) [$(echo "$out" | tr '\n' ' ')]"
	fi
}
K=$JSB_RUN/keys/id_$A

out=$(s60 "$K" 'echo in')
check "alice logs in through the test sshd ($out)" [ "$out" = in ]

for t in bob root bus; do
	out=$(s60 "$K" -o "SetEnv=SSH_AUTH_SOCK=$T/$t/sock" "$INSIDE")
	attacked "SetEnv SSH_AUTH_SOCK=<$t's socket>: the relay refuses" $t "$out"
done
out=$(s60 "$T/envkey" "$INSIDE")
attacked "authorized_keys environment=SSH_AUTH_SOCK=<the user's own non-sshd socket>" bus "$out"

install -d -o "$A" -g "$(id -gn "$A")" -m 0700 "$(home_of "$A")/.ssh"
echo "SSH_AUTH_SOCK=$T/root/sock" >"$(home_of "$A")/.ssh/environment"
chown "$A" "$(home_of "$A")/.ssh/environment"
out=$(s60 "$K" "$INSIDE")
rm -f "$(home_of "$A")/.ssh/environment"
attacked ".ssh/environment in the home: SSH_AUTH_SOCK=<a root-owned socket>" root "$out"

# .pam_environment: the user writes it from inside (the home is shared).
tm 60 jssh "$A" "printf 'SSH_AUTH_SOCK DEFAULT=%s\n' '$T/bob/sock' >~/.pam_environment" </dev/null
out=$(s60 "$K" "$INSIDE")
rm -f "$(home_of "$A")/.pam_environment"
# (the login itself may be refused because of the file: then too nothing
# may reach the socket, and no relay may be offered)
if ! echo "$out" | grep -q '^sock=/' && [ "$(conns bob)" = 0 ]; then
	ok ".pam_environment SSH_AUTH_SOCK=<bob's socket>: nothing reaches it [$(echo "$out" | grep -m1 jsandbox: || echo 'variable not passed')]"
else
	not_ok ".pam_environment SSH_AUTH_SOCK=<bob's socket> ($(conns bob) connections) [$(echo "$out" | tr '\n' ' ')]"
fi

if [ -f "$JSB_RUN/syslog.ours" ]; then
	check "syslog names the refused SSH_AUTH_SOCK" \
		grep -q "agent forwarding refused: SSH_AUTH_SOCK=$T/bus/sock: not named agent.<pid> after this session's sshd" "$JSB_RUN/syslog"
fi

# --- the legitimate feature ---------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C jsbt-t60 -f "$T/agentkey"
eval "$(ssh-agent -s)" >/dev/null
ssh-add -q "$T/agentkey" 2>/dev/null
fp=$(ssh-keygen -lf "$T/agentkey.pub" | awk '{print $2}')
out=$(tm 60 jssh "$A" -A 'ssh-add -l; echo "rc=$?"' </dev/null 2>&1)
check "ssh -A: ssh-add -l inside lists the forwarded key" sh -c "echo '$out' | grep -q ' $fp ' && echo '$out' | grep -q '^rc=0$'"
out=$(s60 "$K" -A -o "SetEnv=SSH_AUTH_SOCK=$T/bob/sock" 'ssh-add -l; echo "rc=$?"')
check "ssh -A with SetEnv SSH_AUTH_SOCK: sshd's socket wins, the key is listed" \
	sh -c "echo '$out' | grep -q ' $fp ' && echo '$out' | grep -q '^rc=0$'"
check "and bob's socket got nothing" [ "$(conns bob)" = 0 ]

# The relay of a live session, read from the host: no capability, no way to
# gain one, a filter.
mkfifo "$T/hold"
exec 7<>"$T/hold" # read-write: the open does not wait for the other end
# (not tmbg: its background command would get /dev/null as stdin)
timeout -k 5 120 jssh "$A" -A 'ssh-add -l >/dev/null && echo READY; read x' <"$T/hold" >"$T/hold.out" 2>&1 7>&- &
PIDS+=($!)
check "a session with a forwarded agent is up" wait_for 300 grep -q READY "$T/hold.out"
# The relay: the child of the session's helper (the jsandbox-shell whose
# parent is sshd) that stayed in the host's pid namespace; the helper's
# other child, the session, is in the container's.
hostpidns=$(readlink /proc/self/ns/pid)
relay=
for m in $(pgrep -u "$A" -x jsandbox-shell); do
	for c in $(pgrep -P "$m"); do
		[ "$(readlink "/proc/$c/ns/pid")" = "$hostpidns" ] && relay=$c
	done
done
[ -n "$relay" ] || ps -o pid,ppid,uid,comm,args -u "$A" | sed 's/^/    /'
check "the relay is found on the host (pid ${relay:-none})" [ -n "$relay" ]
st=$(grep -E '^(CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' "/proc/${relay:-0}/status" 2>/dev/null | tr -s '\t ' ' ' | tr '\n' ' ')
check "the relay holds no capability ($st)" sh -c "echo '$st' | grep -q 'CapPrm: 0000000000000000 CapEff: 0000000000000000 CapBnd: 0000000000000000 CapAmb: 0000000000000000'"
check "the relay has no_new_privs and a seccomp filter" sh -c "echo '$st' | grep -q 'NoNewPrivs: 1 Seccomp: 2'"
exec 7>&-
finish
