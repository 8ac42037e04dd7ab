#!/bin/bash
# jsandbox benchmarks against a plain sshd and rootless podman, side by side
# in one run (see docs/benchmarks.md for what is measured and the results).
#
#   bench/run.sh [--quick] [--keep] [--against REV]
#
# On a fresh Debian 12 machine, as root, from a clone of this repository
# (after the README's set-up: nothing else is needed, this script installs
# what it uses with apt-get). It builds and installs this tree into
# build-bench/prefix with its own config build-bench/jsandbox.conf, builds a
# base image (cached in build-bench/images), makes its own users
# (jsbb_u0..9 sandboxed with linger = yes, jsbb_c0 sandboxed with
# linger = no, jsbb_p0..9 plain, jsbb_pod for podman), starts three sshd
# instances on 127.0.0.1 ports 41301-41303 with their own PAM services
# (sshd-jsbbench with pam_jsandbox, sshd-jsbbplain without), imports the same
# image into the podman user's rootless storage, measures (bench/measure.py)
# and writes the table to build-bench/results/table.md. Everything it made
# (users, sshds, PAM files, containers, podman storage) is removed at the end
# unless --keep; the built tree and the image cache stay in build-bench/.
#
# --quick: few repetitions, for development. The full run takes about 10 min.
# --clean: only remove what a --keep (or interrupted) run left, then exit.
# --against REV: also build git revision REV of this repository (into
# build-bench/against-*), start a fourth sshd (port 41304) wired to it, and
# measure its warm and cold logins (users jsbb_o0, jsbb_oc) and the exempt
# user's login through it in the same interleaved repetitions: a
# before/after comparison in one run.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
BD=$src/build-bench
W=$BD/work
QUICK=0
KEEP=0
CLEAN=0
AGAINST=
AGAINST_LABEL=
usage() { echo "usage: bench/run.sh [--quick] [--keep] [--clean] [--against REV]" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--keep) KEEP=1 ;;
	--clean) CLEAN=1 ;;
	--against)
		[ $# -ge 2 ] || usage
		AGAINST=$2
		shift
		;;
	*) usage ;;
	esac
	shift
done
if [ -n "$AGAINST" ]; then
	AGAINST_REV=$(git -C "$src" rev-parse --verify --short "$AGAINST^{commit}") || {
		echo "bench: --against: no revision \"$AGAINST\" in $src" >&2
		exit 2
	}
	AGAINST_LABEL=$AGAINST
	case $AGAINST_REV in "$AGAINST"*) ;; *) AGAINST_LABEL="$AGAINST ($AGAINST_REV)" ;; esac
fi
[ "$(id -u)" = 0 ] || { echo "bench: run as root (it makes users and starts sshd instances)" >&2; exit 1; }

PORT_JS=41301 PORT_PLAIN=41302 PORT_POD=41303 PORT_OLD=41304
SVC_JS=sshd-jsbbench SVC_PLAIN=sshd-jsbbplain SVC_OLD=sshd-jsbbold
JS_USERS="jsbb_u0 jsbb_u1 jsbb_u2 jsbb_u3 jsbb_u4 jsbb_u5 jsbb_u6 jsbb_u7 jsbb_u8 jsbb_u9"
COLD_USER=jsbb_c0
# The noisy neighbour (measure.py's part 2b): sandboxed, lingering, with
# limits small enough that its memory hog, fork bomb and /tmp filler reach
# them within seconds; every other limit at its default.
NB_USER=jsbb_n0 NB_MEMORY_MAX=512M NB_PIDS_MAX=256 NB_TMP_SIZE=256M
PLAIN_USERS="jsbb_p0 jsbb_p1 jsbb_p2 jsbb_p3 jsbb_p4 jsbb_p5 jsbb_p6 jsbb_p7 jsbb_p8 jsbb_p9"
POD_USER=jsbb_pod
# --against: the other revision's warm and cold users.
OLD_WARM=jsbb_o0 OLD_COLD=jsbb_oc
# An exempt user (sandbox = no, bash) logging in through the jsandbox sshd.
EXEMPT_USER=jsbb_e0
ALL_USERS="$JS_USERS $COLD_USER $NB_USER $PLAIN_USERS $POD_USER $OLD_WARM $OLD_COLD $EXEMPT_USER"
IMAGE=jsbbench
# gcc and the headers this repository's sources need (the compile job), and
# pkg-config (the only dependency of the package the apt job installs).
IMAGE_PKGS=build-essential,pkg-config,libpam0g-dev,libcap-dev,libseccomp-dev,libiniparser-dev,libsystemd-dev,libyaml-dev
APT_PKG=libeigen3-dev

say() { printf '\n== %s\n' "$*" >&2; }
PY=/usr/bin/python3

# ---- packages --------------------------------------------------------------
say "installing packages (apt-get)"
export DEBIAN_FRONTEND=noninteractive
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d && made_policy=1
fi
need_pkgs="$(grep -v '^#' "$src/.ci/packages" | tr '\n' ' ') podman runc uidmap slirp4netns catatonit conmon"
missing=$(for p in $need_pkgs; do dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q ' installed$' || echo "$p"; done)
if [ -n "$missing" ]; then
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
[ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d

# ---- build -----------------------------------------------------------------
say "building and installing into $BD/prefix (config $BD/jsandbox.conf)"
cmake -S "$src" -B "$BD" -DCMAKE_INSTALL_PREFIX="$BD/prefix" -DJSANDBOX_CONFIG="$BD/jsandbox.conf" \
	-DJSANDBOX_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BD" -j"$(nproc)" >/dev/null
cmake --install "$BD" >/dev/null
CTL=$BD/prefix/sbin/jsandboxctl
SHELL_BIN=$BD/prefix/libexec/jsandbox/jsandbox-shell
PAM_MOD=$(find "$BD/prefix" -name pam_jsandbox.so -print -quit)
OLD_SHELL=
if [ -n "$AGAINST" ]; then
	say "building $AGAINST ($AGAINST_REV) into $BD/against-prefix"
	rm -rf "$BD/against-src" "$BD/against-prefix"
	mkdir -p "$BD/against-src"
	git -C "$src" archive "$AGAINST_REV" | tar -x -C "$BD/against-src"
	# Its own prefix, PAM directory and libexec (compiled into its module),
	# the same config file, so both revisions serve the same policy.
	cmake -S "$BD/against-src" -B "$BD/against-build" -DCMAKE_INSTALL_PREFIX="$BD/against-prefix" \
		-DPAM_MODULE_DIR="$BD/against-prefix/lib/security" -DJSANDBOX_CONFIG="$BD/jsandbox.conf" \
		-DJSANDBOX_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$BD/against-build" -j"$(nproc)" >/dev/null
	cmake --install "$BD/against-build" >/dev/null
	OLD_SHELL=$BD/against-prefix/libexec/jsandbox/jsandbox-shell
	OLD_PAM_MOD=$BD/against-prefix/lib/security/pam_jsandbox.so
	if [ ! -x "$OLD_SHELL" ] || [ ! -f "$OLD_PAM_MOD" ]; then
		echo "bench: $AGAINST did not install a shell and a module" >&2
		exit 1
	fi
fi

write_config() {
	cat >"$BD/jsandbox.conf.tmp" <<EOF
# jsandbox benchmark (bench/run.sh)
[global]
images_dir = $BD/images
state_dir = $W/state
run_dir = $W/run

# Only the benchmark's own users are sandboxed: the host's other accounts
# are none of its business (and jsandboxctl check judges them otherwise).
[default]
sandbox = no
image = $IMAGE
sudo = yes
linger = yes

$(for u in $JS_USERS; do printf '[user:%s]\nsandbox = yes\n\n' "$u"; done)
[user:$COLD_USER]
sandbox = yes
linger = no

[user:$NB_USER]
sandbox = yes
memory_max = $NB_MEMORY_MAX
pids_max = $NB_PIDS_MAX
tmp_size = $NB_TMP_SIZE

[user:$OLD_WARM]
sandbox = yes

[user:$OLD_COLD]
sandbox = yes
linger = no
EOF
	chown root:root "$BD/jsandbox.conf.tmp"
	chmod 0644 "$BD/jsandbox.conf.tmp"
	mv "$BD/jsandbox.conf.tmp" "$BD/jsandbox.conf"
}

# ---- clean-up (also of a run that was interrupted) ---------------------------
stop_all() {
	for u in $JS_USERS $COLD_USER $NB_USER $OLD_WARM $OLD_COLD; do
		if id "$u" >/dev/null 2>&1; then "$CTL" stop "$u" >/dev/null 2>&1 || true; fi
	done
	for s in js plain pod old; do
		if [ -s "$W/sshd-$s.pid" ]; then
			kill "$(cat "$W/sshd-$s.pid")" 2>/dev/null || true
			rm -f "$W/sshd-$s.pid"
		fi
	done
	if id "$POD_USER" >/dev/null 2>&1; then
		(cd / && runuser -u "$POD_USER" -- podman rm -f -t 0 jsbb >/dev/null 2>&1) || true
		(cd / && runuser -u "$POD_USER" -- podman system reset -f >/dev/null 2>&1) || true
	fi
	rm -f "/etc/pam.d/$SVC_JS" "/etc/pam.d/$SVC_PLAIN" "/etc/pam.d/$SVC_OLD"
	for u in $ALL_USERS; do
		if id "$u" >/dev/null 2>&1; then
			local uid
			uid=$(id -u "$u")
			pkill -KILL -u "$u" 2>/dev/null || true
			sleep 0.1
			userdel -r "$u" >/dev/null 2>&1 || userdel "$u" >/dev/null 2>&1 || true
			rm -rf "/tmp/containers-user-$uid" "/tmp/podman-run-$uid" "/run/user/$uid/containers"
		fi
		sed -i "/^$u:/d" /etc/subuid /etc/subgid
	done
	rm -rf "$W/state" "$W/run"
}

cleanup() {
	local rc=$?
	set +e
	if [ "$KEEP" = 1 ]; then
		echo "bench: --keep: users, sshds (ports $PORT_JS $PORT_PLAIN $PORT_POD) and containers left running" >&2
		return
	fi
	say "cleaning up"
	stop_all
	local left
	left=$(find /sys/fs/cgroup/*/jsandbox -maxdepth 1 -name 'jsbb_*' 2>/dev/null | wc -l)
	[ "$left" = 0 ] || echo "bench: warning: $left cgroups left under jsandbox/jsbb_*" >&2
	stop_syslog
	rm -rf "$W"
	return $rc
}

# Without a syslog daemon, pam_jsandbox's reasons for a refusal would be
# lost: collect /dev/log into $W/syslog for the run if nobody owns it.
start_syslog() {
	[ -S /dev/log ] && return 0
	"$PY" - "$W/syslog" <<'PY' >/dev/null 2>&1 &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
with open(sys.argv[1], "ab", buffering=0) as out:
    while True:
        out.write(s.recv(65536).rstrip(b"\0\n") + b"\n")
PY
	echo $! >"$W/syslog.pid"
	for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.05; done
}
stop_syslog() {
	if [ -s "$W/syslog.pid" ]; then
		kill "$(cat "$W/syslog.pid")" 2>/dev/null
		rm -f "$W/syslog.pid" /dev/log
	fi
	[ -f "$W/syslog" ] && cp "$W/syslog" "$BD/results/syslog"
	return 0
}

mkdir -p "$W"
write_config
stop_all # whatever an interrupted run left
if [ "$CLEAN" = 1 ]; then
	stop_syslog
	rm -rf "$W"
	exit 0
fi
trap cleanup EXIT
install -d -m 0755 "$W/keys" "$BD/results"
start_syslog

# ---- image -----------------------------------------------------------------
install -d -m 0700 "$BD/images"
if [ -d "$BD/images/$IMAGE/usr" ] && [ "$(cat "$BD/images/.$IMAGE.pkgs" 2>/dev/null)" = "$IMAGE_PKGS" ]; then
	say "image $IMAGE: cached"
else
	say "building image $IMAGE (mmdebstrap: $IMAGE_PKGS)"
	"$CTL" image build "$IMAGE" --include "$IMAGE_PKGS" --replace >"$BD/image-build.log" 2>&1 ||
		"$CTL" image build "$IMAGE" --include "$IMAGE_PKGS" >"$BD/image-build.log" 2>&1 || {
		tail -20 "$BD/image-build.log"
		exit 1
	}
	echo "$IMAGE_PKGS" >"$BD/images/.$IMAGE.pkgs"
fi

# ---- users -----------------------------------------------------------------
say "users"
rm -f "$W/keys/client" "$W/keys/client.pub" "$W/keys/hostkey" "$W/keys/hostkey.pub"
ssh-keygen -q -t ed25519 -N '' -f "$W/keys/client"
ssh-keygen -q -t ed25519 -N '' -f "$W/keys/hostkey"
cp "$W/keys/client.pub" "$W/keys/authorized_keys"
chmod 0644 "$W/keys/authorized_keys"
idx=1
for u in $ALL_USERS; do
	sh=/bin/bash
	case " $JS_USERS $COLD_USER $NB_USER " in *" $u "*) sh=$SHELL_BIN ;; esac
	case " $OLD_WARM $OLD_COLD " in *" $u "*)
		[ -n "$AGAINST" ] || continue
		sh=$OLD_SHELL
		;;
	esac
	useradd -m -s "$sh" "$u"
	usermod -p '*' "$u" # not locked (sshd refuses "!"), no password either
	base=$((1900000000 + idx * 65536))
	sed -i "/^$u:/d" /etc/subuid /etc/subgid
	echo "$u:$base:65536" >>/etc/subuid
	echo "$u:$base:65536" >>/etc/subgid
	idx=$((idx + 1))
done

# ---- sshd instances --------------------------------------------------------
say "sshd instances on 127.0.0.1:$PORT_JS (jsandbox) :$PORT_PLAIN (plain) :$PORT_POD (podman exec)"
cat >"/etc/pam.d/$SVC_JS" <<EOF
# jsandbox benchmark (bench/run.sh removes it); the lines INSTALL.md documents
auth       optional     $PAM_MOD
@include common-auth
account    required     pam_nologin.so
@include common-account
account    required     $PAM_MOD
@include common-session
session    required     $PAM_MOD
EOF
cat >"/etc/pam.d/$SVC_PLAIN" <<EOF
# jsandbox benchmark, the same stack without pam_jsandbox (bench/run.sh removes it)
@include common-auth
account    required     pam_nologin.so
@include common-account
@include common-session
EOF
ln -sf /usr/sbin/sshd "$W/$SVC_JS"
ln -sf /usr/sbin/sshd "$W/$SVC_PLAIN"
if [ -n "$AGAINST" ]; then
	sed "s#$PAM_MOD#$OLD_PAM_MOD#" "/etc/pam.d/$SVC_JS" >"/etc/pam.d/$SVC_OLD"
	ln -sf /usr/sbin/sshd "$W/$SVC_OLD"
fi
sshd_config() { # NAME PORT [ForceCommand [for these users only]]
	cat <<EOF
Port $2
ListenAddress 127.0.0.1
HostKey $W/keys/hostkey
PidFile $W/sshd-$1.pid
UsePAM yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $W/keys/authorized_keys
StrictModes no
X11Forwarding no
AllowStreamLocalForwarding no
PrintMotd no
PermitRootLogin no
MaxStartups 400:30:800
MaxSessions 50
LogLevel INFO
EOF
	if [ -n "${4:-}" ]; then
		# As INSTALL.md wires it: the ForceCommand for the sandboxed
		# accounts only; exempt users log in as through a plain sshd.
		printf 'Match User %s\n\tForceCommand %s\n' "$4" "$3"
	elif [ -n "${3:-}" ]; then
		echo "ForceCommand $3"
	fi
	return 0
}
sandboxed_list=$(echo "$JS_USERS $COLD_USER $NB_USER $OLD_WARM $OLD_COLD" | tr ' ' ',')
sshd_config js "$PORT_JS" "$SHELL_BIN" "$sandboxed_list" >"$W/sshd-js.conf"
sshd_config plain "$PORT_PLAIN" >"$W/sshd-plain.conf"
# The podman user's login shell is bash; sshd runs `bash -c FORCECOMMAND`.
sshd_config pod "$PORT_POD" \
	'exec podman exec -i -w / jsbb /bin/bash -c "${SSH_ORIGINAL_COMMAND:-exec bash -l}"' >"$W/sshd-pod.conf"
mkdir -p /run/sshd
"$W/$SVC_JS" -f "$W/sshd-js.conf" -E "$W/sshd-js.log"
"$W/$SVC_PLAIN" -f "$W/sshd-plain.conf" -E "$W/sshd-plain.log"
"$W/$SVC_PLAIN" -f "$W/sshd-pod.conf" -E "$W/sshd-pod.log"
sshds="js plain pod"
if [ -n "$AGAINST" ]; then
	sshd_config old "$PORT_OLD" "$OLD_SHELL" "$OLD_WARM,$OLD_COLD" >"$W/sshd-old.conf"
	"$W/$SVC_OLD" -f "$W/sshd-old.conf" -E "$W/sshd-old.log"
	sshds="$sshds old"
fi
for s in $sshds; do
	for _ in $(seq 100); do [ -s "$W/sshd-$s.pid" ] && break; sleep 0.05; done
	[ -s "$W/sshd-$s.pid" ] || { echo "bench: sshd $s did not start" >&2; cat "$W/sshd-$s.log" >&2; exit 1; }
done
# The policy and the jsandbox sshd's wiring as INSTALL.md documents them.
"$CTL" check --pam-file "/etc/pam.d/$SVC_JS" --sshd-config "$W/sshd-js.conf" >"$W/check.log" 2>&1 || {
	echo "bench: jsandboxctl check fails:" >&2
	cat "$W/check.log" >&2
	exit 1
}

# ---- rootless podman ---------------------------------------------------------
say "rootless podman for $POD_USER: importing $IMAGE (runc, overlay, keep-id, host network)"
pod_home=$(getent passwd "$POD_USER" | cut -d: -f6)
install -d -o "$POD_USER" -g "$POD_USER" "$pod_home/.config" "$pod_home/.config/containers"
# No systemd here: cgroupfs and a file event log. crun refuses this
# machine's hybrid cgroups, runc works.
cat >"$pod_home/.config/containers/containers.conf" <<'EOF'
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
EOF
printf '[storage]\ndriver = "overlay"\n' >"$pod_home/.config/containers/storage.conf"
chown "$POD_USER:" "$pod_home/.config/containers/"*
pod() { (cd / && runuser -u "$POD_USER" -- podman "$@"); }
t0=$(date +%s%N)
tar -C "$BD/images/$IMAGE" --numeric-owner -cf - . | pod import -q - "localhost/$IMAGE" >/dev/null
t1=$(date +%s%N)
pod run -d -q --name jsbb --runtime runc --userns keep-id --network host "localhost/$IMAGE" sleep infinity >/dev/null
t2=$(date +%s%N)
echo "podman_import_ms=$(((t1 - t0) / 1000000))" >"$W/podman-setup.env"
echo "podman_run_ms=$(((t2 - t1) / 1000000))" >>"$W/podman-setup.env"

# ---- work inside vs host: inputs ---------------------------------------------
say "inputs for the compile and apt jobs"
# The compile job: this repository's C sources, compiled with gcc -O2.
w0_home=$(getent passwd jsbb_u0 | cut -d: -f6)
install -d -o jsbb_u0 -g jsbb_u0 "$w0_home/jsbb-src"
(cd "$src" && tar -cf - lib conf root helper ctl pam_module) | runuser -u jsbb_u0 -- tar -C "$w0_home/jsbb-src" -xf -
install -o jsbb_u0 -g jsbb_u0 -m 0755 "$src/bench/compile.sh" "$w0_home/jsbb-src/compile.sh"
# The apt job: the package's .deb downloaded once; installed from that file
# (no network) on the host and inside, purged after each run.
install -d -o _apt -m 0755 "$W/debs"
(cd "$W/debs" && runuser -u _apt -- apt-get download -q "$APT_PKG" >/dev/null 2>&1) ||
	(cd "$W/debs" && apt-get download -q "$APT_PKG" >/dev/null)
install -d -o jsbb_u0 -g jsbb_u0 "$w0_home/jsbb-debs"
install -o jsbb_u0 -g jsbb_u0 -m 0644 "$W/debs/"*.deb "$w0_home/jsbb-debs/"
APT_HOST=1
if dpkg-query -W -f '${Status}' "$APT_PKG" 2>/dev/null | grep -q 'install ok installed'; then
	echo "bench: $APT_PKG is installed on this host; the apt job is skipped (it would purge it)" >&2
	APT_HOST=0
fi

# ---- measure -----------------------------------------------------------------
cat >"$W/env.json" <<EOF
{
  "src": "$src", "bd": "$BD", "work": "$W", "quick": $QUICK,
  "ports": {"js": $PORT_JS, "plain": $PORT_PLAIN, "pod": $PORT_POD, "old": $PORT_OLD},
  "against": "$AGAINST_LABEL", "old_warm": "$OLD_WARM", "old_cold": "$OLD_COLD",
  "js_users": "$JS_USERS", "cold_user": "$COLD_USER", "plain_users": "$PLAIN_USERS",
  "nb_user": "$NB_USER", "exempt_user": "$EXEMPT_USER", "nb_memory_max": "$NB_MEMORY_MAX", "nb_pids_max": "$NB_PIDS_MAX", "nb_tmp_size": "$NB_TMP_SIZE",
  "pod_user": "$POD_USER", "image": "$IMAGE", "image_pkgs": "$IMAGE_PKGS",
  "ctl": "$CTL", "state_dir": "$W/state", "run_dir": "$W/run",
  "apt_pkg": "$APT_PKG", "apt_host": $APT_HOST, "compile_user": "jsbb_u0",
  "compile_dir": "$w0_home/jsbb-src", "debs_dir": "$w0_home/jsbb-debs",
  "podman_setup": "$W/podman-setup.env", "command": "bench/run.sh$([ "$QUICK" = 1 ] && echo ' --quick')"
}
EOF
say "measuring"
"$PY" "$src/bench/measure.py" "$W/env.json" "$BD/results"
if [ -z "${JSBB_ONLY:-}" ]; then
	say "table: $BD/results/table.md"
	cat "$BD/results/table.md"
fi
