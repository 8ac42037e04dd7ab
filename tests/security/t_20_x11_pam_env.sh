#!/bin/bash
# Issue 10 item 0: code on the host through X11 forwarding. With Debian's
# stock sshd_config (X11Forwarding yes) a client's `ssh -X` makes sshd run
# xauth through /bin/sh on the host, as the user, before the login shell,
# with the session's environment; Debian's /etc/pam.d/sshd fills that from
# ~/.pam_environment (pam_env user_readenv=1), which the user writes from
# inside the container. LD_PRELOAD there ran the user's code on the host,
# and a setsid child of it outlived logout and teardown.
#
# Here against a second private sshd with the stock settings and without
# INSTALL.md's Match block (an admin who forgot it), its XAuthLocation a
# root-owned wrapper that records the environment sshd gave xauth and
# leaves a detached process behind (as a payload would) before running the
# real xauth. Layers that must hold: pam_jsandbox strips the PAM
# environment to the locale (setcred, after the whole session stack), and
# the last logout kills every process in the user's cgroup, host-side ones
# included. Then the documented config: no X11 for sandboxed users at all.
. "$(dirname "$0")/lib_sec.sh"
ahome=$(home_of "$A")
auid=$(id -u "$A")
M=/tmp/jsbsec-t20
T=$SEC/t20
rm -rf "$T" && install -d -m 0755 "$T"
rm -f $M.*

# The payload: on load it records where it runs and leaves a setsid child.
cat >"$T/payload.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
unsigned int la_version(unsigned int v) { return v; } /* loadable by LD_AUDIT too */
__attribute__((constructor)) static void jsb(void)
{
	if (getenv("JSBT20_CHILD"))
		return;
	char p[96], ns[64] = "?";
	ssize_t n = readlink("/proc/self/ns/mnt", ns, sizeof ns - 1);
	if (n > 0)
		ns[n] = '\0';
	snprintf(p, sizeof p, "/tmp/jsbsec-t20.ran.%d.%d", (int)getuid(), (int)getpid());
	FILE *f = fopen(p, "w");
	if (f) {
		fprintf(f, "mnt=%s\n", ns);
		fclose(f);
	}
	if (fork() == 0) {
		setsid();
		setenv("JSBT20_CHILD", "1", 1);
		unsetenv("LD_PRELOAD");
		unsetenv("LD_AUDIT");
		execl("/bin/sleep", "sleep", "7209", (char *)NULL);
		_exit(127);
	}
}
C
gcc -shared -fPIC -o "$T/payload.so" "$T/payload.c" || { echo "FAIL: cannot build the payload"; exit 1; }
install -o "$A" -m 0755 "$T/payload.so" "$ahome/jsbt20.so"

# XAuthLocation for the second sshd: runs as the user on the host.
cat >"$T/xauth" <<EOF
#!/bin/sh
env >$M.xauth-env.\$\$
setsid sleep 7207 </dev/null >/dev/null 2>&1 &
exec /usr/bin/xauth "\$@"
EOF
chmod 0755 "$T/xauth"

cleanup() {
	[ -f "$T/sshd.pid" ] && kill "$(cat "$T/sshd.pid")" 2>/dev/null
	rm -f "$ahome/.pam_environment" "$ahome/jsbt20.so" "$ahome/.Xauthority" $M.*
	pkill -KILL -u "$A" -f '^sleep 72(07|09)$' 2>/dev/null
	stop_all
}
trap cleanup EXIT

check "control: the payload runs its code when loaded on the host as alice" \
	sh -c "setpriv --reuid=$A --regid=$(id -g "$A") --clear-groups env LD_PRELOAD='$ahome/jsbt20.so' /bin/true && ls $M.ran.$auid.* >/dev/null"
pkill -KILL -u "$A" -f '^sleep 7209$'
rm -f $M.*

# The second sshd: the harness's config without the Match block, with
# Debian's X11 default and the recording xauth.
echo "XAuthLocation $T/xauth" | start_extra_sshd "$T" || { echo "FAIL: second sshd: $(tail -3 "$T/sshd.log")"; exit 1; }
port2=$(cat "$T/port")
# xssh USER ARGS...: ssh -X to the second sshd (a program, for tm)
cat >"$T/xssh" <<EOF
#!/bin/sh
u=\$1
shift
DISPLAY=:99 exec ssh -F "$JSB_RUN/ssh_config" -p "$port2" -i "$JSB_RUN/keys/id_\$u" -l "\$u" \\
	-o ForwardX11=yes -o ForwardX11Trusted=yes jsbtest "\$@"
EOF
chmod 0755 "$T/xssh"

# Alice writes her ~/.pam_environment from inside her container.
works "alice writes ~/.pam_environment from inside" "$A" "cat >~/.pam_environment <<'E'
LD_PRELOAD DEFAULT=$ahome/jsbt20.so
LD_AUDIT DEFAULT=$ahome/jsbt20.so
GCONV_PATH DEFAULT=$ahome
BASH_ENV DEFAULT=$ahome/.jsbt20rc
ENV DEFAULT=$ahome/.jsbt20rc
SHELLOPTS DEFAULT=xtrace
PATH DEFAULT=$ahome:/usr/bin:/bin
TMPDIR DEFAULT=$ahome
XDG_RUNTIME_DIR DEFAULT=$ahome
SSH_AUTH_SOCK DEFAULT=/run/jsbt20.sock
LC_ALL DEFAULT=/tmp/jsbt20locale
LANGUAGE DEFAULT=en_US:en
E
echo 'touch $M.rc.\$(id -u)' >~/.jsbt20rc"
stop_all
before=$(wc -l <"$JSB_RUN/syslog")

out=$(tm 60 "$T/xssh" "$A" 'echo "in:$(cat /proc/1/comm) language=${LANGUAGE:-unset} preload=${LD_PRELOAD:-unset}"' 2>&1 </dev/null)
check "ssh -X lands in the container ($out)" sh -c "echo '$out' | grep -q '^in:jsandbox-init '"
envf=$(compgen -G "$M.xauth-env.*" | head -1)
check "the trigger fired: sshd ran xauth on the host for the session" test -n "$envf"
check "LD_PRELOAD/LD_AUDIT from ~/.pam_environment ran nothing on the host" sh -c "! ls $M.ran.* >/dev/null 2>&1"
check "BASH_ENV/ENV ran nothing on the host" sh -c "! ls $M.rc.* >/dev/null 2>&1"
# no_var NAME: xauth's recorded environment exists and has no NAME
no_var() { [ -s "$envf" ] && ! grep -q "^$1=" "$envf"; }
for v in LD_PRELOAD LD_AUDIT GCONV_PATH BASH_ENV ENV SHELLOPTS TMPDIR XDG_RUNTIME_DIR SSH_AUTH_SOCK LC_ALL; do
	check "$v from ~/.pam_environment is not in xauth's environment" no_var "$v"
done
check "PATH in xauth's environment is not alice's" sh -c "grep -q '^PATH=' '$envf' && ! grep -q '^PATH=.*$ahome' '$envf'"
check "a plain locale from ~/.pam_environment still reaches xauth" grep -q '^LANGUAGE=en_US:en$' "$envf"
check "and the session inside ($out)" sh -c "echo '$out' | grep -q 'language=en_US:en preload=unset'"
check "syslog names what was dropped" sh -c "tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -q 'not passed to programs sshd runs on the host: .*LD_PRELOAD'"

# The wrapper's setsid child (what a payload leaves) dies with the session.
no_container() { ! container_pid "$A" >/dev/null; }
check "the container ends at logout (linger = no)" wait_for 100 no_container
check "the detached host-side process of the session is gone after logout" wait_for 100 sh -c "! pgrep -u $A -f '^sleep 7207$' >/dev/null"
check "no process of alice is left on the host" wait_for 50 sh -c "! pgrep -u $A >/dev/null"
check "and no cgroup of hers" wait_for 50 cg_none "$A"
rm -f $M.*

# The documented configuration (the harness's, with INSTALL.md's Match
# block): no X11 forwarding for a sandboxed user, so no xauth at all.
out=$(DISPLAY=:99 tm 60 jssh "$A" -o ForwardX11=yes 'echo "display=${DISPLAY:-unset}"' 2>&1 </dev/null)
check "documented config: ssh -X gets no X11 forwarding ($out)" sh -c "echo '$out' | grep -q '^display=unset$'"
check "documented config: nothing ran on the host" sh -c "! ls $M.* >/dev/null 2>&1"
works "sudo still works inside" "$A" 'test "$(sudo -n id -u)" = 0'
works "alice removes her ~/.pam_environment" "$A" 'rm -f ~/.pam_environment ~/.jsbt20rc'
finish
