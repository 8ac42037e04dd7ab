#!/bin/bash
# How long moving layers onto an image takes (docs/benchmarks.md, "Rebase"):
#   1. one layer with 50 packages the user installed (real Debian packages,
#      apt-get install inside the container through the private sshd):
#      `jsandboxctl rebase --force USER`, REPS times, median;
#   2. `jsandboxctl rebase --all --force` over 20 users holding that layer
#      (copied with layer export/import), REPS times, median.
# --force redoes the whole move (the same work as after an image update:
# every file of the layer copied into a fresh one and the dpkg database
# merged) whether or not the image changed.
#
# Usage, as root on a build tree (cmake --build build):
#   bench/rebase.sh [BUILD-DIR]          (REPS=5 by default)
# It uses the end-to-end fixture (tests/e2e/setup.sh: test users, a private
# sshd on loopback, the cached test image) and removes what it made.
set -u
B=${1:-build}
B=$(cd "$B" && pwd) || exit 1
SRC=$(cd "$(dirname "$0")/.." && pwd)
export JSB_BUILD=$B
# the build's own prefix and config path, as the end-to-end tests use them
JSB_PREFIX=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$B/CMakeCache.txt")
JSB_CONF=$(sed -n 's/^JSANDBOX_CONFIG:[A-Z]*=//p' "$B/CMakeCache.txt")
export JSB_PREFIX JSB_CONF
case "$JSB_PREFIX" in
"$B"/*) ;;
*)
	echo "configure $B with its prefix inside it, as tests/run-all.sh does (-DCMAKE_INSTALL_PREFIX=$B/prefix -DJSANDBOX_CONFIG=$B/etc/jsandbox.conf)"
	exit 1
	;;
esac
REPS=${REPS:-5}
NUSERS=${NUSERS:-20}
. "$SRC/tests/e2e/lib.sh"
need_root
cmake --install "$B" >/dev/null || exit 1
"$SRC/tests/e2e/setup.sh" >/dev/null || {
	echo "the end-to-end fixture did not come up"
	exit 1
}
A=jsbt_alice
USERS=()
cleanup() {
	for u in "${USERS[@]}"; do
		"$JSB_CTL" reset "$u" >/dev/null 2>&1
		remove_user "$u"
	done
	"$JSB_CTL" reset $A >/dev/null 2>&1
	rm -f "$JSB_RUN/bench-rebase.tar"
	"$SRC/tests/e2e/cleanup.sh" >/dev/null 2>&1
}
trap cleanup EXIT

# 50 small leaf packages not in the test image (their dependencies come
# along and are marked automatic, as for any user)
PKGS="bc dc ed jq tree file less lsof zip unzip strace ltrace gawk nano
sl cowsay fortune-mod figlet toilet hello cmatrix units bsdextrautils
patch diffstat colordiff dos2unix pv moreutils ncdu htop iotop sysstat
screen tmux rsync socat netcat-openbsd telnet ftp whois dnsutils
iputils-ping traceroute mtr-tiny tcpdump ethtool psmisc time rename"
PKGS=$(tr -s ' \n' '  ' <<<"$PKGS")
n=$(wc -w <<<"$PKGS")
[ "$n" = 50 ] || {
	echo "the package list has $n entries, not 50"
	exit 1
}
"$JSB_CTL" reset $A >/dev/null 2>&1
echo "installing $n packages into $A's layer (apt-get, from the image's mirror)..."
out=$(tm 900 jssh $A "dpkg-query -W | wc -l && sudo -n apt-get -q update >/dev/null 2>&1 && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get -q -y install $PKGS >/dev/null 2>&1 && apt-mark showmanual | wc -l && dpkg-query -W | wc -l" 2>&1)
base=$(echo "$out" | sed -n 1p)
manual=$(echo "$out" | sed -n 2p)
total=$(echo "$out" | sed -n 3p)
case "$base$manual$total" in
'' | *[!0-9]*)
	echo "the install failed: $out"
	exit 1
	;;
esac
[ -n "$total" ] || {
	echo "the install failed: $out"
	exit 1
}
gone() { ! container_pid $A >/dev/null; }
wait_for 200 gone
UP=$JSB_RUN/state/users/$A/upper
size=$(du -sh "$UP" | cut -f1)
files=$(find "$UP" | wc -l)

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ms() { # COMMAND...: wall milliseconds, the command's output to /dev/null
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || {
		echo "failed: $*" >&2
		return 1
	}
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

one=()
for _ in $(seq "$REPS"); do
	sync
	one+=("$(ms "$JSB_CTL" rebase --force $A)") || exit 1
done

"$JSB_CTL" layer export $A "$JSB_RUN/bench-rebase.tar" >/dev/null 2>&1 || exit 1
for i in $(seq -w 1 "$NUSERS"); do
	u=jsbb_r$i
	make_user "$u" $((60 + 10#$i))
	USERS+=("$u")
	"$JSB_CTL" reset "$u" >/dev/null 2>&1
	"$JSB_CTL" layer import "$u" "$JSB_RUN/bench-rebase.tar" >/dev/null 2>&1 || {
		echo "layer import for $u failed"
		exit 1
	}
done
all=()
for _ in $(seq "$REPS"); do
	sync
	all+=("$(ms "$JSB_CTL" rebase --all --force)") || exit 1
done
layers=$("$JSB_CTL" rebase --all --force 2>/dev/null | tail -1)

echo
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ { printf "%d GiB", $2 / 1048576 }' /proc/meminfo)"
echo "kernel: $(uname -r); state_dir on $(stat -f -c %T "$JSB_RUN/state")"
echo "layer: $n packages asked for, $((total - base)) installed beyond the image's $base (dependencies included; $manual marked manual in all), $files entries, $size"
echo "rebase one layer (ms, $REPS runs): ${one[*]}; median $(printf '%s\n' "${one[@]}" | median)"
echo "rebase --all, $layers (ms, $REPS runs): ${all[*]}; median $(printf '%s\n' "${all[@]}" | median)"
