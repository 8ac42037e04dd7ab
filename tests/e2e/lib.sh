# shellcheck shell=bash
# Shared set-up for the end-to-end tests: a private sshd on a loopback port
# whose PAM service (sshd-jsbtest, from the program name) runs pam_jsandbox,
# test users with subordinate ranges, a base image built once and cached
# under the build directory, and a config at the path compiled into the
# binaries under test. Nothing here touches the system sshd, /etc/pam.d/sshd
# or /var/lib/jsandbox.
#
# Variables from CTest (tests/CMakeLists.txt):
#   JSB_BUILD   the build directory        JSB_PREFIX  the install prefix
#   JSB_CONF    the compiled-in config path
#
# JSB_INSTALLED=1 (from the caller's environment, as tests/package.sh sets
# it) runs the same tests against the installed Debian package instead:
# /usr/sbin/jsandboxctl, /usr/libexec/jsandbox, the module in the PAM
# directory and its compiled-in /etc/jsandbox.conf, which the harness then
# overwrites with its own config, keeping the package's copy aside in
# JSB_RUN (cleanup.sh puts it back). Only on a throwaway machine.

set -u
JSB_RUN=${JSB_RUN:-$JSB_BUILD/e2e}
export JSB_RUN
PATH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/bin:$PATH
JSB_CACHE=${JSB_CACHE:-$JSB_BUILD/test-cache}
if [ "${JSB_INSTALLED:-}" = 1 ]; then
	JSB_PREFIX=/usr
	JSB_CONF=/etc/jsandbox.conf
	JSB_PAM=$(dpkg-query -L jsandbox 2>/dev/null | grep '/security/pam_jsandbox\.so$' | head -1)
else
	JSB_PAM=$(find "$JSB_PREFIX" -name pam_jsandbox.so -print -quit 2>/dev/null)
fi
JSB_SHELL=$JSB_PREFIX/libexec/jsandbox/jsandbox-shell
JSB_CTL=$JSB_PREFIX/sbin/jsandboxctl
JSB_IMAGE_PKGS=rsync,tmux,python3-minimal
SVC=${JSB_SVC:-sshd-jsbtest}

# shellcheck source=report.sh
. "$(dirname "${BASH_SOURCE[0]}")/report.sh"

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	if [ "${JSB_INSTALLED:-}" = 1 ]; then
		[ "$(dpkg-query -W -f '${Status}' jsandbox 2>/dev/null)" = "install ok installed" ] ||
			skip "JSB_INSTALLED=1 but the jsandbox package is not installed"
		[ -n "$JSB_PAM" ] || skip "the jsandbox package has no pam_jsandbox.so"
		return 0
	fi
	[ -x "$JSB_SHELL" ] || skip "not installed under $JSB_PREFIX (run cmake --install first)"
	case "$JSB_CONF" in
	/etc/jsandbox.conf) skip "this build uses the system config path; configure with -DJSANDBOX_CONFIG=... for tests" ;;
	esac
}

# --- users -------------------------------------------------------------

# Subordinate ranges far above anything useradd hands out.
subid_base() { echo $((1800000000 + $1 * 65536)); }

make_user() { # NAME INDEX [sandboxed-shell|host]
	local name=$1 idx=$2 kind=${3:-sandboxed}
	local shell=$JSB_SHELL
	[ "$kind" = host ] && shell=/bin/bash
	if ! id "$name" >/dev/null 2>&1; then
		useradd -m -s "$shell" "$name"
	else
		usermod -s "$shell" "$name"
	fi
	usermod -p '*' "$name" # not locked (sshd refuses "!"), no password either
	local base
	base=$(subid_base "$idx")
	sed -i "/^$name:/d" /etc/subuid /etc/subgid
	echo "$name:$base:65536" >>/etc/subuid
	echo "$name:$base:65536" >>/etc/subgid
	install -d -m 0755 "$JSB_RUN/keys"
	[ -f "$JSB_RUN/keys/id_$name" ] || ssh-keygen -q -t ed25519 -N '' -f "$JSB_RUN/keys/id_$name"
	install -m 0644 "$JSB_RUN/keys/id_$name.pub" "$JSB_RUN/keys/$name"
}

no_process_of() { # USER: true when no process (not even a zombie) runs as USER
	! pgrep -u "$1" >/dev/null
}

remove_user() {
	local name=$1
	pkill -KILL -u "$name" 2>/dev/null || true # none left is fine (rc 1)
	# userdel refuses a user with processes: wait (bounded) until the
	# killed ones are gone, zombies reaped.
	wait_for 100 no_process_of "$name" || echo "note: processes of $name outlived SIGKILL: $(pgrep -u "$name" -a)"
	userdel -r "$name" >/dev/null 2>&1 || userdel "$name" >/dev/null 2>&1
	sed -i "/^$name:/d" /etc/subuid /etc/subgid
}

# --- config --------------------------------------------------------------

# JSB_DEFAULT_SANDBOX=no leaves everyone but the sections in the extra text
# unsandboxed (the demo sandboxes one group).
# The package's /etc/jsandbox.conf, kept aside while the tests use the path.
keep_package_config() {
	if [ "${JSB_INSTALLED:-}" = 1 ] && [ -f "$JSB_CONF" ] && [ ! -e "$JSB_RUN/jsandbox.conf.package" ]; then
		install -d -m 0755 "$JSB_RUN"
		cp -p "$JSB_CONF" "$JSB_RUN/jsandbox.conf.package"
	fi
}
restore_package_config() {
	if [ "${JSB_INSTALLED:-}" = 1 ] && [ -f "$JSB_RUN/jsandbox.conf.package" ]; then
		cp -p "$JSB_RUN/jsandbox.conf.package" "$JSB_CONF"
		rm -f "$JSB_RUN/jsandbox.conf.package"
	fi
}

write_config() { # extra text appended after the defaults
	keep_package_config
	install -d -m 0755 "$(dirname "$JSB_CONF")"
	cat >"$JSB_CONF.tmp" <<EOF
[global]
images_dir = $JSB_CACHE/images
state_dir = ${JSB_STATE_DIR:-$JSB_RUN/state}
run_dir = $JSB_RUN/run
${JSB_GLOBAL_EXTRA:-}

[default]
sandbox = ${JSB_DEFAULT_SANDBOX:-yes}
image = jsbtest
sudo = yes
linger = no
pids_max = 2048

[user:jsbt_admin]
sandbox = no
${1:-}
EOF
	chown root:root "$JSB_CONF.tmp"
	chmod 0644 "$JSB_CONF.tmp"
	mv "$JSB_CONF.tmp" "$JSB_CONF"
}

# --- image ---------------------------------------------------------------

ensure_image() {
	install -d -m 0755 "$JSB_CACHE"
	if [ -d "$JSB_CACHE/images/jsbtest/usr" ] && [ "$(cat "$JSB_CACHE/images/.jsbtest.pkgs" 2>/dev/null)" = "$JSB_IMAGE_PKGS" ]; then
		return 0
	fi
	[ -f "$JSB_CONF" ] || write_config ""
	"$JSB_CTL" image build jsbtest --include "$JSB_IMAGE_PKGS" --replace >"$JSB_CACHE/image-build.log" 2>&1 ||
		"$JSB_CTL" image build jsbtest --include "$JSB_IMAGE_PKGS" >"$JSB_CACHE/image-build.log" 2>&1 || {
		tail -20 "$JSB_CACHE/image-build.log"
		return 1
	}
	echo "$JSB_IMAGE_PKGS" >"$JSB_CACHE/images/.jsbtest.pkgs"
}

# --- syslog ----------------------------------------------------------------

# No syslog daemon on a bare CI machine: collect /dev/log ourselves for the
# run so tests can check what the admin would read.
start_syslog() {
	JSB_SYSLOG=$JSB_RUN/syslog
	: >"$JSB_SYSLOG"
	# A socket nobody listens on (a collector that died, another run's
	# clean-up cut short) is stale: take it over.
	if [ -S /dev/log ] && ! python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.connect("/dev/log")
except OSError:
    sys.exit(1)' 2>/dev/null; then
		rm -f /dev/log "$JSB_RUN/syslog.ours"
	fi
	if [ -S /dev/log ] && [ ! -f "$JSB_RUN/syslog.ours" ]; then
		echo "note: a syslog daemon owns /dev/log; syslog checks read $JSB_SYSLOG only if it is ours"
		return 0
	fi
	python3 - "$JSB_SYSLOG" <<'PY' >/dev/null 2>&1 &
import os, socket, sys
# Inherited descriptors (a test runner's lock or output pipe) must not live
# on in this daemon.
os.closerange(3, 65536)
path = "/dev/log"
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(sys.argv[1], "ab", buffering=0) as out:
    while True:
        data = s.recv(65536)
        out.write(data.rstrip(b"\0\n") + b"\n")
PY
	echo $! >"$JSB_RUN/syslog.pid"
	touch "$JSB_RUN/syslog.ours"
	for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.05; done
}

stop_syslog() {
	if [ -f "$JSB_RUN/syslog.pid" ]; then
		kill "$(cat "$JSB_RUN/syslog.pid")" 2>/dev/null
		rm -f "$JSB_RUN/syslog.pid" "$JSB_RUN/syslog.ours" /dev/log
	fi
}

# --- sshd ------------------------------------------------------------------

# The test sshd's configuration, listening on PORT.
write_sshd_config() { # PORT
	cat >"$JSB_RUN/sshd_config" <<EOF
Port $1
ListenAddress 127.0.0.1
HostKey $JSB_RUN/hostkey
PidFile $JSB_RUN/sshd.pid
UsePAM yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $JSB_RUN/keys/%u
StrictModes no
AllowAgentForwarding yes
AllowTcpForwarding yes
X11Forwarding yes
PermitRootLogin prohibit-password
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
ForceCommand $JSB_SHELL
MaxStartups 200:30:400
MaxSessions 50
LogLevel VERBOSE
# INSTALL.md's block for sandboxed users (everyone but the host account)
Match User *,!jsbt_admin,!root
	X11Forwarding no
	AllowStreamLocalForwarding no
	PermitTunnel no
EOF
}

# True once the sshd just started (in DIR, default the harness's) either
# listens (its pid file is written after it bound) or gave up binding.
sshd_settled() { # [DIR]
	local d=${1:-$JSB_RUN}
	[ -s "$d/sshd.pid" ] || grep -q 'Cannot bind any address' "$d/sshd.log"
}

# A second private sshd for a test that needs other settings (X11 with a
# recording xauth): the harness's configuration without INSTALL.md's
# Match block, with Debian's X11Forwarding default, plus the lines on
# stdin. Its configuration, pid file, log and port go in DIR; a port that
# is taken gets another, as for the harness's sshd. With
# JSB_EXTRA_NO_FORCECOMMAND=1 the global ForceCommand goes too (the lines
# on stdin then say whom it applies to).
start_extra_sshd() { # DIR
	local dir=$1 extra port try nofc=
	extra=$(cat)
	[ "${JSB_EXTRA_NO_FORCECOMMAND:-}" = 1 ] && nofc='/^ForceCommand /d'
	for try in $(seq 10); do
		port=$((20000 + RANDOM % 20000))
		sed -e "s/^Port .*/Port $port/" -e "s|^PidFile .*|PidFile $dir/sshd.pid|" -e '/^Match /,$d' \
			-e 's/^X11Forwarding .*/X11Forwarding yes/' -e "${nofc:-/^\$/d}" "$JSB_RUN/sshd_config" \
			>"$dir/sshd_config"
		printf '%s\n' "$extra" >>"$dir/sshd_config"
		rm -f "$dir/sshd.pid"
		: >"$dir/sshd.log"
		"$JSB_RUN/$SVC" -f "$dir/sshd_config" -E "$dir/sshd.log" || return 1
		wait_for 100 sshd_settled "$dir" || return 1
		if [ -s "$dir/sshd.pid" ]; then
			echo "$port" >"$dir/port"
			return 0
		fi
		echo "note: port $port is taken (try $try)"
	done
	return 1
}

start_sshd() {
	install -d -m 0755 "$JSB_RUN"
	[ -f "$JSB_RUN/hostkey" ] || ssh-keygen -q -t ed25519 -N '' -f "$JSB_RUN/hostkey"
	ln -sf /usr/sbin/sshd "$JSB_RUN/$SVC"
	# Debian 12's stock /etc/pam.d/sshd (pam_env reads ~/.pam_environment,
	# a file the user writes from inside) with the jsandbox lines where
	# INSTALL.md puts them; the selinux, loginuid, keyinit and motd lines
	# are left out (nothing here for them to do, and motd would print).
	cat >"/etc/pam.d/$SVC" <<EOF
# jsandbox end-to-end tests (removed by the tests' clean-up)
auth       optional     $JSB_PAM
@include common-auth
account    required     pam_nologin.so
@include common-account
account    required     $JSB_PAM
@include common-session
session    required     $JSB_PAM debug
session    optional     pam_mail.so standard noenv
session    required     pam_limits.so
session    required     pam_env.so
session    required     pam_env.so user_readenv=1 envfile=/etc/default/locale
EOF
	mkdir -p /run/sshd
	# A port picked at random may be taken: sshd daemonises before it
	# binds, so it says so only in its log. Wait for the pid file (written
	# once it listens) or that message, and try another port on the latter.
	local port try
	for try in $(seq 10); do
		port=$((20000 + RANDOM % 20000))
		write_sshd_config "$port"
		rm -f "$JSB_RUN/sshd.pid"
		: >"$JSB_RUN/sshd.log"
		"$JSB_RUN/$SVC" -f "$JSB_RUN/sshd_config" -E "$JSB_RUN/sshd.log" || return 1
		wait_for 100 sshd_settled || {
			echo "sshd neither listens nor failed to bind in 10 s:"
			cat "$JSB_RUN/sshd.log"
			return 1
		}
		[ -s "$JSB_RUN/sshd.pid" ] && break
		echo "note: port $port is taken (try $try): $(tail -2 "$JSB_RUN/sshd.log" | tr '\n' ' ')"
	done
	[ -s "$JSB_RUN/sshd.pid" ] || return 1
	cat >"$JSB_RUN/ssh_config" <<EOF
Host jsbtest
	HostName 127.0.0.1
	Port $port
	StrictHostKeyChecking no
	UserKnownHostsFile /dev/null
	BatchMode yes
	LogLevel ERROR
	IdentitiesOnly yes
	ConnectTimeout 20
EOF
	echo "$port" >"$JSB_RUN/port"
}

# jsandboxctl check judging this harness's sshd and PAM wiring (it reads
# the system's /etc/pam.d/sshd and /etc/ssh/sshd_config unless told).
jsb_check() {
	"$JSB_CTL" check --pam-file "/etc/pam.d/$SVC" --sshd-config "$JSB_RUN/sshd_config" "$@"
}

stop_sshd() {
	[ -f "$JSB_RUN/sshd.pid" ] && kill "$(cat "$JSB_RUN/sshd.pid")" 2>/dev/null
	rm -f "/etc/pam.d/$SVC" "$JSB_RUN/sshd.pid"
}

# jssh, jsftp and jscp (tests/e2e/bin) reach the private sshd as a test user;
# they are programs so that timeout and sh -c can run them too.
# tm SECONDS COMMAND...: run a command (jssh, jsftp, ...) under a time limit,
# so a hang fails the test instead of blocking it.
tm() {
	local s=$1
	shift
	timeout -k 5 "$s" "$@"
}
# tmbg SECONDS COMMAND...: the same in the background; $! is timeout's own
# pid, so killing it ends the command as well.
tmbg() {
	local s=$1
	shift
	timeout -k 5 "$s" "$@" &
}

# oneline TEXT: TEXT with its newlines as spaces, for a check's description.
oneline() { printf '%s' "$1" | tr '\n' ' '; }

# Wait until COMMAND succeeds (up to N tenths of a second).
wait_for() {
	local n=$1
	shift
	for _ in $(seq "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

container_pid() { # USER: the init pid from the runtime state, if alive
	local uid
	uid=$(id -u "$1")
	local f=$JSB_RUN/run/$uid/state
	[ -f "$f" ] || return 1
	local pid
	pid=$(sed -n 's/^pid=//p' "$f")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# --- where a container's cgroup is, on either layout ------------------------
# Hosts without systemd: /jsandbox/USER in every hierarchy (the v1
# controllers and the v2 tree). systemd hosts: USER below the user's
# delegated scope, user.slice/user-UID.slice/jsandbox-UID.scope/USER
# (lib/sdscope.h). The tests ask these instead of spelling either out.
cg_scope_rel() { # USER: the systemd layout's group, relative to the v2 root
	local uid
	uid=$(id -u "$1" 2>/dev/null) || uid=none
	echo "/user.slice/user-$uid.slice/jsandbox-$uid.scope/$1"
}
cg_dirs() { # USER: the directories of USER's group, one per hierarchy
	ls -d /sys/fs/cgroup/*/jsandbox/"$1" /sys/fs/cgroup/jsandbox/"$1" \
		"/sys/fs/cgroup$(cg_scope_rel "$1")" 2>/dev/null
}
cg_dir() { # USER FILE: the directory of USER's group whose hierarchy has FILE
	local d
	for d in $(cg_dirs "$1"); do
		[ -e "$d/$2" ] && { echo "$d"; return 0; }
	done
	return 1
}
cg_rel() { # USER: the group's path as /proc/PID/cgroup spells it (v2 line)
	if [ -d "/sys/fs/cgroup$(cg_scope_rel "$1")" ]; then
		cg_scope_rel "$1"
	else
		echo "/jsandbox/$1"
	fi
}
cg_none() { # USER: true when USER has no group left in any hierarchy
	! cg_dirs "$1" | grep -q .
}
systemd_host() { # systemd as PID 1 on a pure cgroup v2 tree: the scope layout
	[ -d /run/systemd/system ] && [ -e /sys/fs/cgroup/cgroup.controllers ]
}

# --- a fake NVIDIA host (the GPU tests: t_14, t_15, t_90, t_91) -----------
# Device nodes are character devices of major 195 with no driver behind
# them on this machine (an allowed open fails with ENXIO, a denied one
# with EPERM); the driver's user space is tests/e2e/fakedrv.c built as
# libcuda.so.<V>, libnvidia-ml.so.<V> and nvidia-smi.
FAKE_LIBDIR=usr/lib/x86_64-linux-gnu
fake_gpu_usable() { # skip unless the fake driver can be built and its majors are free
	[ "$(uname -m)" = x86_64 ] || skip "the fake driver is built for x86_64"
	grep -qE '^ *195 ' /proc/devices && skip "this host has a driver on major 195 (a real NVIDIA GPU): the fake nodes would reach it"
	local m
	for m in "$@"; do
		grep -qE "^ *$m " /proc/devices && skip "major $m is in use on this host"
	done
	command -v cc >/dev/null || skip "no C compiler"
}
fake_nv_gpu() { # ROOT PCI MINOR UUID: a GPU as the driver lists it, and its node
	install -d "$1/proc/driver/nvidia/gpus/$2" "$1/dev"
	printf 'Model:\t\t Fake H100\nGPU UUID:\t %s\nDevice Minor:\t %d\nBus Location:\t %s\n' \
		"$4" "$3" "$2" >"$1/proc/driver/nvidia/gpus/$2/information"
	[ -e "$1/dev/nvidia$3" ] || mknod -m 0666 "$1/dev/nvidia$3" c 195 "$3"
}
fake_nv_driver() { # ROOT BUILD VERSION: that version's user space replaces the other's; the ld cache rebuilt
	local root=$1 build=$2/$3 v=$3 src
	src=$(dirname "${BASH_SOURCE[0]}")/fakedrv.c
	install -d -m 0755 "$build" "$root/$FAKE_LIBDIR" "$root/usr/bin" "$root/etc" "$root/proc/driver/nvidia"
	cc -shared -fPIC -O2 -DFAKE_VERSION="\"$v\"" -Wl,-soname,libnvidia-ml.so.1 -o "$build/libnvidia-ml.so.1" "$src"
	cc -shared -fPIC -O2 -DFAKE_VERSION="\"$v\"" -Wl,-soname,libcuda.so.1 -o "$build/libcuda.so.1" "$src"
	cc -O2 -DSMI -o "$build/nvidia-smi" "$src" "$build/libnvidia-ml.so.1"
	rm -f "$root/$FAKE_LIBDIR"/libcuda.so* "$root/$FAKE_LIBDIR"/libnvidia-ml.so*
	install -m 0644 "$build/libnvidia-ml.so.1" "$root/$FAKE_LIBDIR/libnvidia-ml.so.$v"
	install -m 0644 "$build/libcuda.so.1" "$root/$FAKE_LIBDIR/libcuda.so.$v"
	install -m 0755 "$build/nvidia-smi" "$root/usr/bin/nvidia-smi"
	printf 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  %s  Fake Build\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n' \
		"$v" >"$root/proc/driver/nvidia/version"
	[ -f "$root/etc/ld.so.conf" ] || echo "/$FAKE_LIBDIR" >"$root/etc/ld.so.conf"
	ldconfig -r "$root"
}
fake_host_root() { # ROOT: the config's [global] host_root (after write_config)
	sed -i "/^\[global\]\$/a host_root = $1" "$JSB_CONF"
}
# in_cgroup USER NODE...: join USER's cgroup in every hierarchy, then open
# each host path; prints NODE ERRNO per line (the device cgroup answers
# EPERM before a driverless node's ENXIO).
in_cgroup() {
	local u=$1
	shift
	JSB_CG_DIRS=$(cg_dirs "$u") python3 - "$@" <<'PY'
import errno, os, sys
for d in os.environ["JSB_CG_DIRS"].split():
    with open(d + "/cgroup.procs", "w") as f:
        f.write(str(os.getpid()))
for p in sys.argv[1:]:
    try:
        os.close(os.open(p, os.O_RDWR)); print(os.path.basename(p), "opened")
    except OSError as e:
        print(os.path.basename(p), errno.errorcode[e.errno])
PY
}

# status_json USER WHO EXPR...: `jsandboxctl status --json WHO` (everyone's
# when WHO is "") parsed; each python EXPR over USER's entry e and the
# whole document d must hold. What does not is printed with the document.
status_json() {
	local user=$1 who=$2
	shift 2
	"$JSB_CTL" status --json ${who:+"$who"} >"$JSB_RUN/status.json" || return 1
	python3 - "$JSB_RUN/status.json" "$user" "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
e = [u for u in d["users"] if u["user"] == sys.argv[2]]
if len(e) != 1:
    print("no single entry for", sys.argv[2], d)
    sys.exit(1)
e = e[0]
for expr in sys.argv[3:]:
    if not eval(expr):
        print("does not hold:", expr, "in", json.dumps(d))
        sys.exit(1)
PY
}

# has DESCRIPTION TEXT GREP-ARGS...: ok when grep finds its pattern in TEXT;
# hasnt: ok when it does not. (A test may define its own.)
has() {
	local d=$1 t=$2
	shift 2
	if printf '%s\n' "$t" | grep -q "$@"; then ok "$d"; else not_ok "$d"; fi
}
hasnt() {
	local d=$1 t=$2
	shift 2
	if printf '%s\n' "$t" | grep -q "$@"; then not_ok "$d"; else ok "$d"; fi
}
