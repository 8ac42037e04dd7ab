#!/bin/bash
# The real-GPU check (registered by -DJSANDBOX_GPU_REAL=ON; run it with
# tests/gpu/real.sh). Through the private sshd: alice is granted GPU 0
# (JSB_REAL_GPUS: another gpus = value, e.g. nvidia.com/gpu=0 to grant it
# through the host's CDI spec; the GPU must be /dev/nvidia0's) and bob
# none. Inside, alice's nvidia-smi -L lists exactly one GPU and a CUDA
# program (tests/gpu/cudaprobe.c: dlopen libcuda.so.1, cuInit,
# cuDeviceGetCount) counts one device; the driver's libraries are in her
# ld cache and read-only for root inside; jsandboxctl gpus --usage names
# her process while it holds a context. Bob has no driver file and no
# node, and a process in his cgroup gets EPERM opening /dev/nvidia0.
. "$(dirname "$0")/../e2e/lib.sh"
need_root
A=jsbt_alice
B=jsbt_bob
nvidia-smi -L >/dev/null 2>&1 || skip "no NVIDIA GPU or driver on this host"
command -v cc >/dev/null || skip "no C compiler"
DRV=/run/jsandbox/driver

cleanup() {
	"$JSB_CTL" stop $A >/dev/null 2>&1
	"$JSB_CTL" stop $B >/dev/null 2>&1
	rm -f "$(getent passwd $A | cut -d: -f6)/cudaprobe" "$(getent passwd $B | cut -d: -f6)/cudaprobe"
	write_config
}
trap cleanup EXIT

echo "host: $(nvidia-smi -L | wc -l) GPU(s), driver $(sed -n 's/.*Kernel Module *\([0-9.]*\).*/\1/p' /proc/driver/nvidia/version)"
find /etc/cdi /var/run/cdi -maxdepth 1 \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) 2>/dev/null | sed 's/^/host CDI spec: /'
write_config "[user:$A]
gpus = ${JSB_REAL_GPUS:-0}
[user:$B]
gpus = none"
for u in $A $B; do
	home=$(getent passwd "$u" | cut -d: -f6)
	cc -O2 -o "$home/cudaprobe" "$(dirname "$0")/cudaprobe.c" -ldl
	chown "$u" "$home/cudaprobe"
done
"$JSB_CTL" gpus | sed 's/^/  | /'

in=$(tm 120 jssh $A "nvidia-smi -L; ~/cudaprobe; /sbin/ldconfig -p | grep -E 'lib(cuda|nvidia-ml)\\.so\\.1 '; ls /dev | grep nvidia | tr '\\n' ' '; echo" 2>&1)
printf '%s\n' "$in" | sed 's/^/  | /'
check "alice: nvidia-smi -L lists exactly one GPU" [ "$(printf '%s\n' "$in" | grep -c '^GPU [0-9]*: ')" = 1 ]
has "alice: a CUDA program counts one device" "$in" -x -- "cuda devices: 1"
has "alice: libcuda.so.1 is in the ld cache from the driver directory" "$in" -- "libcuda.so.1 .*=> $DRV/libcuda.so.1"
has "alice: libnvidia-ml.so.1 too" "$in" -- "libnvidia-ml.so.1 .*=> $DRV/libnvidia-ml.so.1"
ro=$(tm 60 jssh $A "sudo sh -c 'echo x >> $DRV/libcuda.so.1' 2>&1 || echo refused" 2>&1)
has "alice: the library is read-only for root inside" "$ro" -x -- "refused"

# Who is on which GPU, while alice holds a context.
fifo=$JSB_RUN/gpu-hold.fifo
rm -f "$fifo"
mkfifo "$fifo"
tm 120 jssh $A "\$HOME/cudaprobe hold" <"$fifo" >"$JSB_RUN/gpu-hold.out" 2>&1 &
holdpid=$!
exec 9>"$fifo"
wait_for 300 grep -q holding "$JSB_RUN/gpu-hold.out"
us=$("$JSB_CTL" gpus --usage 2>&1)
printf '%s\n' "$us" | sed 's/^/  | /'
has "gpus --usage: alice's CUDA process holds GPU 0" "$(printf '%s\n' "$us" | sed -n '/^gpu 0:/,/^gpu 1:/p')" -- "^  $A pid [0-9]* (container): .*cudaprobe hold"
exec 9>&-
wait $holdpid 2>/dev/null
rm -f "$fifo" "$JSB_RUN/gpu-hold.out"

inb=$(tm 120 jssh $B "nvidia-smi -L 2>&1 | head -1; ~/cudaprobe; ls $DRV 2>&1; ls /dev | grep -c nvidia" 2>&1)
printf '%s\n' "$inb" | sed 's/^/  | /'
has "bob: no CUDA (no libcuda.so.1)" "$inb" -- "cuda error: dlopen"
has "bob: no driver directory" "$inb" -- "No such file or directory"
has "bob: no nvidia node in /dev" "$inb" -x -- "0"
h=$(python3 - "$B" <<'PY'
import errno, glob, os, sys
u = sys.argv[1]
for procs in glob.glob("/sys/fs/cgroup/*/jsandbox/%s/cgroup.procs" % u) + glob.glob("/sys/fs/cgroup/jsandbox/%s/cgroup.procs" % u):
    with open(procs, "w") as f:
        f.write(str(os.getpid()))
try:
    os.close(os.open("/dev/nvidia0", os.O_RDWR)); print("opened")
except OSError as e:
    print(errno.errorcode[e.errno])
PY
)
check "bob: /dev/nvidia0 from his cgroup is refused with EPERM ($h)" [ "$h" = EPERM ]
finish
