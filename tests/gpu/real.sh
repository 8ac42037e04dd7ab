#!/bin/bash
# The real-GPU check, in one command, as root on a machine with an NVIDIA
# GPU, its driver (nvidia-smi works on the host) and the end-to-end
# suite's dependencies (.ci/packages). It builds this tree into
# build-gpu/, installs it there, starts the private sshd and test users
# as the end-to-end suite does (building the test image on first use,
# cached in JSB_CACHE), runs tests/gpu/t_real.sh and cleans up. Nothing
# outside the build tree, the test users and /etc/pam.d/sshd-jsbtest is
# touched. Well inside 10 minutes with a cached image.
#
#   sudo tests/gpu/real.sh
#   JSB_CACHE=/var/tmp/jsb-test-cache sudo -E tests/gpu/real.sh
#   # through the host's CDI spec (nvidia-ctk cdi generate --output
#   # /etc/cdi/nvidia.yaml first):
#   JSB_REAL_GPUS=nvidia.com/gpu=0 sudo -E tests/gpu/real.sh
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${JSB_GPU_BUILD:-$ROOT/build-gpu}
[ "$(id -u)" = 0 ] || {
	echo "real.sh: run as root (it starts a private sshd and makes test users)" >&2
	exit 2
}
nvidia-smi -L >/dev/null 2>&1 || {
	echo "real.sh: nvidia-smi -L fails on this host: no NVIDIA GPU or driver" >&2
	exit 2
}
start=$(date +%s)
cmake -S "$ROOT" -B "$B" -DJSANDBOX_GPU_REAL=ON -DCMAKE_INSTALL_PREFIX="$B/prefix" \
	-DJSANDBOX_CONFIG="$B/etc/jsandbox.conf" >/dev/null
cmake --build "$B" -j"$(nproc)" >/dev/null
rc=0
ctest --test-dir "$B" -R '^(install|ctl_image|e2e_setup|gpu_real|e2e_cleanup)$' --output-on-failure || rc=$?
echo "real.sh: $(($(date +%s) - start)) s, exit $rc"
exit $rc
