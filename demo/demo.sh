#!/bin/bash
# jsandbox end to end, on a fresh Debian 12 machine, as root:
#   build and install into a scratch prefix, build a base image, start a
#   private sshd on a loopback port with two demo users, log in as one of
#   them, `sudo apt-get install -y gcc`, compile and run a hello world inside,
#   and show that the host and the second user are unaffected.
# It installs the build dependencies with apt-get first. Nothing touches the
# system sshd, /etc/pam.d/sshd or /var/lib/jsandbox; everything lives under
# build-demo/ and is removed at the end (the users and the sshd too) unless
# --keep is given.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
keep=0
[ "${1:-}" = --keep ] && keep=1
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it makes users and starts a private sshd)" >&2; exit 1; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "installing build dependencies (apt-get)"
.ci/install-deps

b=$src/build-demo
say "building and installing into $b/prefix"
cmake -S "$src" -B "$b" -DCMAKE_INSTALL_PREFIX="$b/prefix" -DJSANDBOX_CONFIG="$b/etc/jsandbox.conf" \
	-DJSANDBOX_TESTS=OFF >/dev/null
cmake --build "$b" -j"$(nproc)" >/dev/null
cmake --install "$b" >/dev/null

export JSB_BUILD=$b JSB_PREFIX=$b/prefix JSB_CONF=$b/etc/jsandbox.conf JSB_RUN=$b/run-demo
. "$src/tests/e2e/lib.sh"
install -d -m 0755 "$JSB_RUN"
cleanup() {
	[ "$keep" = 1 ] && return
	say "cleaning up"
	for u in jsbt_alice jsbt_bob; do "$JSB_CTL" stop "$u" >/dev/null 2>&1 || true; done
	stop_sshd
	for u in jsbt_alice jsbt_bob; do remove_user "$u"; done
	stop_syslog
	groupdel jsbdemo 2>/dev/null || true
	rm -rf "$JSB_RUN"
}
trap cleanup EXIT

say "policy: $JSB_CONF"
# Only the demo group is sandboxed, so the host's other accounts are not
# part of the demo (and jsandboxctl check judges the demo users alone).
getent group jsbdemo >/dev/null || groupadd jsbdemo
export JSB_DEFAULT_SANDBOX=no
write_config "[group:jsbdemo]
sandbox = yes"
cat "$JSB_CONF"

say "building the base image (mmdebstrap, cached in $JSB_CACHE)"
ensure_image
"$JSB_CTL" image list

say "two users, a private sshd on 127.0.0.1"
make_user jsbt_alice 1
make_user jsbt_bob 2
usermod -aG jsbdemo jsbt_alice
usermod -aG jsbdemo jsbt_bob
start_syslog
start_sshd
# the policy, the users and this sshd's wiring (its config and PAM stack)
# shellcheck disable=SC2119 # (no arguments: the harness wiring as it is)
jsb_check
echo "sshd on port $(cat "$JSB_RUN/port"), ForceCommand $JSB_SHELL"

host_gcc=$(command -v gcc || echo none)
host_dpkg=$(md5sum /var/lib/dpkg/status | cut -d' ' -f1)

say "alice logs in: who is she inside?"
jssh jsbt_alice 'id; echo "sudo -n id -u -> $(sudo -n id -u)"; cat /etc/os-release | head -1'

say "alice: sudo apt-get install -y gcc libc6-dev (inside her container)"
jssh jsbt_alice 'sudo -n apt-get update -qq && sudo -n DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >/dev/null && gcc --version | head -1'

say "alice compiles and runs a hello world inside"
jssh jsbt_alice 'cat > hello.c <<EOF
#include <stdio.h>
int main(void) { printf("hello from %s container\\n", "alice'"'"'s"); return 0; }
EOF
gcc -o hello hello.c && ./hello'

say "the host is unaffected"
echo "host gcc before and after: $host_gcc / $(command -v gcc || echo none)"
[ "$(md5sum /var/lib/dpkg/status | cut -d' ' -f1)" = "$host_dpkg" ] && echo "host dpkg database unchanged"
echo "alice's installs live in her layer: $(du -sh "$JSB_RUN/state/users/jsbt_alice/upper" | cut -f1)"

say "bob logs in: no gcc in his container, no alice in his process list"
jssh jsbt_bob 'command -v gcc || echo "gcc: not installed"; ps -eo user,comm | head -5; ls /home'

say "done"
