#!/bin/bash
# Hostile input at the login path: loader variables sent by the client
# (with the test sshd's AcceptEnv LANG LC_*, and with a second sshd whose
# admin accepts every variable), start-up files planted in the home,
# control characters and huge values in the environment, and commands that
# try to run on the host. Marker files in the host's /tmp tell whether
# anything ran there: the container's /tmp is its own.
. "$(dirname "$0")/lib_sec.sh"
ahome=$(home_of "$A")
auid=$(id -u "$A")
M=/tmp/jsbsec-host-marker
rm -f $M.*
cat >"$SEC/preload.c" <<'C'
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void jsb(void)
{
	char p[64];
	snprintf(p, sizeof p, "/tmp/jsbsec-host-marker.preload.%d", (int)getuid());
	FILE *f = fopen(p, "w");
	if (f)
		fclose(f);
}
C
gcc -shared -fPIC -o "$SEC/preload.so" "$SEC/preload.c" || { echo "FAIL: cannot build the preload library"; exit 1; }
install -o "$A" -m 0755 "$SEC/preload.so" "$ahome/jsbsec-preload.so"
check "control: the library runs its code in a dynamic program of alice's on the host" \
	sh -c "setpriv --reuid=$A --regid=$(id -g "$A") --clear-groups env LD_PRELOAD='$ahome/jsbsec-preload.so' /bin/true && test -e $M.preload.$auid"
rm -f $M.*
# A session held open keeps one container, and its /tmp, across the logins.
tm 600 jssh "$A" "sleep 580" >/dev/null 2>&1 &
holder=$!
trap 'kill $holder 2>/dev/null; rm -f $M.*' EXIT
wait_for 300 container_pid "$A" >/dev/null

# 1. LD_PRELOAD and LD_AUDIT from the client, through the test sshd
out=$(tm 60 jssh "$A" -o "SetEnv=LD_PRELOAD=$ahome/jsbsec-preload.so LD_AUDIT=$ahome/jsbsec-preload.so" \
	'echo "preload=${LD_PRELOAD:-unset}"' 2>&1)
check "LD_PRELOAD via SendEnv: nothing ran on the host ($out)" sh -c "! ls $M.* >/dev/null 2>&1"
check "LD_PRELOAD via SendEnv: not in the session either" test "$out" = "preload=unset"

# 2. the same through an sshd that accepts every variable (AcceptEnv *)
port2=$(($(cat "$JSB_RUN/port") + 1))
sed -e "s/^Port .*/Port $port2/" -e "s|^PidFile .*|PidFile $SEC/sshd2.pid|" -e 's/^AcceptEnv .*/AcceptEnv */' \
	"$JSB_RUN/sshd_config" >"$SEC/sshd2_config"
"$JSB_RUN/$SVC" -f "$SEC/sshd2_config" -E "$SEC/sshd2.log"
wait_for 100 test -s "$SEC/sshd2.pid"
trap 'kill $holder $(cat "$SEC/sshd2.pid" 2>/dev/null) 2>/dev/null; rm -f $M.*' EXIT
out=$(timeout 60 ssh -F "$JSB_RUN/ssh_config" -p $port2 -i "$JSB_RUN/keys/id_$A" -l "$A" \
	-o "SetEnv=LD_PRELOAD=$ahome/jsbsec-preload.so LD_LIBRARY_PATH=$ahome GCONV_PATH=$ahome" jsbtest \
	'echo "in:$(cat /proc/1/comm) preload=${LD_PRELOAD:-unset}"' 2>&1)
check "AcceptEnv *: the login still lands in the container ($out)" sh -c "echo '$out' | grep -q '^in:jsandbox-init preload=unset'"
check "AcceptEnv *: LD_PRELOAD ran nothing on the host (jsandbox-shell has no loader)" sh -c "! ls $M.* >/dev/null 2>&1"
kill "$(cat "$SEC/sshd2.pid")" 2>/dev/null

# 3. start-up files planted from inside: ~/.ssh/rc, ~/.ssh/environment,
# ~/.bashrc, ~/.profile, ~/.bash_logout
works "alice plants start-up files in her home" "$A" "
	mkdir -p ~/.ssh
	for f in ~/.ssh/rc ~/.bashrc ~/.profile ~/.bash_profile ~/.bash_logout; do
	  [ -e \$f ] && cp \$f \$f.jsbsec-saved; echo 'touch $M.startup.\$(id -u)' >>\$f; done
	echo 'LD_PRELOAD=$ahome/jsbsec-preload.so' >~/.ssh/environment"
tm 60 jssh "$A" true >/dev/null 2>&1
echo exit | tm 60 jssh "$A" -tt >/dev/null 2>&1
# shellcheck disable=SC2088 # a description, not a path
check "~/.ssh/rc, ~/.ssh/environment and the shell's start-up files ran nothing on the host" sh -c "! ls $M.* >/dev/null 2>&1"
refused "they ran inside the container instead (rc, profile: the user's own business)" "$A" "ls $M.startup.* && echo inside"
works "alice restores her start-up files" "$A" "
	for f in ~/.ssh/rc ~/.bashrc ~/.profile ~/.bash_profile ~/.bash_logout; do
	  if [ -e \$f.jsbsec-saved ]; then mv \$f.jsbsec-saved \$f; else rm -f \$f; fi; done; rm -f ~/.ssh/environment"

# 4. control characters and huge values in the environment
esc=$(printf 'C.UTF-8\033]0;owned\007\r\nX')
out=$(tm 60 jssh "$A" -o "SetEnv=LC_ALL=$esc" 'echo "lc_all=${LC_ALL:-unset}"' 2>&1 | tr -d '\r')
check "an LC_ALL with escape sequences and newlines is dropped ($out)" test "$out" = "lc_all=unset"
big=$(head -c 100000 /dev/zero | tr '\0' a)
out=$(tm 60 jssh "$A" -o "SetEnv=LC_CTYPE=$big" 'echo "len=${#LC_CTYPE}"' 2>&1)
check "a 100 KB LC_CTYPE is dropped and the login works ($out)" test "$out" = "len=0"
out=$(TERM=$(printf 'xterm\033[2J') tm 60 jssh "$A" -tt 'echo "term=${TERM:-unset}"' 2>&1 </dev/null | tr -d '\r')
if printf '%s' "$out" | grep -q "^term=" && ! printf '%s' "$out" | grep -q $'\033'; then
	ok "a TERM with an escape sequence does not reach the session ($out)"
else
	not_ok "a TERM with an escape sequence does not reach the session (${out//$'\033'/ESC})"
fi

# 5. commands that try to reach the host: substitutions, separators, a
# subsystem name with a tail, control characters, a 200 KB command
for cmd in "\$(touch $M.cmd1)" "; touch $M.cmd2" "internal-sftp; touch $M.cmd3" \
	"$(printf 'true\r\n\033[0mtouch %s.cmd4' $M)" "/usr/lib/openssh/sftp-server -l; touch $M.cmd5"; do
	tm 60 jssh "$A" "$cmd" >/dev/null 2>&1 </dev/null
done
tm 60 jssh "$A" "true # $(head -c 200000 /dev/zero | tr '\0' x); touch $M.cmd6" >/dev/null 2>&1 </dev/null
check "no command ran on the host" sh -c "! ls $M.* >/dev/null 2>&1"
refused "the commands ran as data for the container's shell: \$(...) and a subsystem name with a tail, inside" "$A" \
	"ls $M.cmd1 $M.cmd3"
rm -f "$ahome/jsbsec-preload.so"
finish
