#!/bin/bash
# Behaviour 14: a GPU that computes. A fake NVIDIA host under host_root:
# three GPUs whose nodes are character devices of major 195 with no driver
# behind them (an allowed open fails with ENXIO, a denied one with EPERM),
# and a fake driver user space built here (tests/e2e/fakedrv.c):
# libcuda.so.<V> and libnvidia-ml.so.<V> whose functions count the GPUs the
# process can open, nvidia-smi linked against libnvidia-ml.so.1, the host's
# ld cache made by ldconfig -r, proc/driver/nvidia/version. The host lacks
# the optional nodes (nvidia-modeset, nvidia-uvm-tools, nvidia-caps).
# Through real sshd logins: alice (gpus = 1) runs nvidia-smi -L and sees
# one GPU, CUDA's cuDeviceGetCount says 1, the ld cache lists the driver's
# libraries, which are read-only even for root inside and never copied
# into her layer; a library she plants in her layer does not shadow them;
# bob (gpus = none) has none of it; a driver upgrade on the host is what
# alice's next container start gets, without reset; jsandboxctl gpus
# --usage names the process of alice's that holds her GPU.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
B=jsbt_bob
FAKE=$JSB_RUN/fakedrv
BUILD=$JSB_RUN/fakedrv-build
LIBDIR=$FAKE_LIBDIR
DRV=/run/jsandbox/driver
V1=535.104.05
V2=550.54.14
UVM_MAJOR=510
fake_gpu_usable $UVM_MAJOR

cleanup() {
	"$JSB_CTL" stop $A >/dev/null 2>&1
	"$JSB_CTL" stop $B >/dev/null 2>&1
	rm -rf "$FAKE" "$BUILD"
	rm -f "$(getent passwd $A | cut -d: -f6)"/{libnvidia-ml.so.1,cudaprobe}
	write_config
}
trap cleanup EXIT

# --- the fake host ------------------------------------------------------
# driver VERSION: build and install that version's user space, remove the
# other one's, and rebuild the host's ld cache as an upgrade would.
driver() { fake_nv_driver "$FAKE" "$BUILD" "$1"; }
rm -rf "$FAKE" "$BUILD"
install -d -m 0755 "$FAKE"
fake_nv_gpu "$FAKE" 0000:1a:00.0 2 GPU-aaaaaaaa-0000-0000-0000-000000000001
fake_nv_gpu "$FAKE" 0000:3b:00.0 0 GPU-bbbbbbbb-0000-0000-0000-000000000002
fake_nv_gpu "$FAKE" 0000:86:00.0 1 GPU-cccccccc-0000-0000-0000-000000000003
printf 'Character devices:\n  1 mem\n195 nvidia\n%d nvidia-uvm\n\nBlock devices:\n' $UVM_MAJOR >"$FAKE/proc/devices"
mknod -m 0666 "$FAKE/dev/nvidiactl" c 195 255
mknod -m 0666 "$FAKE/dev/nvidia-uvm" c $UVM_MAJOR 0
# (no nvidia-modeset, nvidia-uvm-tools or nvidia-caps: a headless server)
install -d -m 0755 "$FAKE/$LIBDIR" "$FAKE/etc"
echo "/$LIBDIR" >"$FAKE/etc/ld.so.conf"
# A library of an earlier driver left behind: never handed out.
cc -shared -fPIC -Wl,-soname,libnvidia-cfg.so.1 -o "$FAKE/$LIBDIR/libnvidia-cfg.so.470.00" -x c /dev/null
driver $V1
# nvidia-persistenced running (its socket) and the driver's GSP firmware, as
# nvidia-container-cli lists them.
install -d -m 0755 "$FAKE/run/nvidia-persistenced"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$FAKE/run/nvidia-persistenced/socket"
fw() { # VERSION: that version's firmware only
	rm -rf "$FAKE/lib/firmware/nvidia"
	install -d -m 0755 "$FAKE/lib/firmware/nvidia/$1"
	echo "gsp $1" >"$FAKE/lib/firmware/nvidia/$1/gsp_fake.bin"
}
fw $V1

policy() { # alice's gpus, bob's gpus
	write_config "[user:$A]
gpus = $1
[user:$B]
gpus = $2"
	fake_host_root "$FAKE"
}
policy 1 none
"$JSB_CTL" stop $A >/dev/null 2>&1
"$JSB_CTL" stop $B >/dev/null 2>&1

# --- alice: GPU 1 (PCI 3b, /dev/nvidia0) ----------------------------------
home=$(getent passwd $A | cut -d: -f6)
cc -O2 -DCUDAPROBE -o "$home/cudaprobe" "$(dirname "$0")/fakedrv.c" -ldl
chown $A "$home/cudaprobe"
probe() { # VERSION: what alice's shell reports
	printf '%s\n' "nvidia-smi -L; nvidia-smi | sed -n 1p; ~/cudaprobe" \
		"/sbin/ldconfig -p | grep -E 'lib(cuda|nvidia-ml)\\.so' | sed 's/^[[:space:]]*/ldcache: /'" \
		"echo \"driver dir: \$(ls $DRV | tr '\\n' ' ')\"" \
		"echo \"devs: \$(cd /dev && ls -d nvidia* | tr '\\n' ' ')\"" \
		"echo \"sock: \$(test -S /run/nvidia-persistenced/socket && echo socket)\"" \
		"echo \"fw: \$(cat /lib/firmware/nvidia/$1/gsp_fake.bin), files: \$(find /lib/firmware/nvidia -type f | wc -l)\"" \
		"echo \"host copy: \$(sha256sum < $DRV/libcuda.so.$1 | cut -d' ' -f1)\""
}
in=$(tm 60 jssh $A "$(probe $V1)" 2>&1)
printf '%s\n' "$in" | sed 's/^/  | /'
has "alice logs in on a host without the optional nodes" "$in" -- "^devs: "
has "nvidia-smi -L lists the granted GPU" "$in" -x -- "GPU 0: Fake GPU (/dev/nvidia0)"
check "nvidia-smi -L lists exactly one GPU" [ "$(printf '%s\n' "$in" | grep -c '^GPU [0-9]*: ')" = 1 ]
has "nvidia-smi runs the driver's own library (version $V1)" "$in" -x -- "Driver Version: $V1"
has "a CUDA program (dlopen libcuda.so.1, cuDeviceGetCount) sees one device" "$in" -x -- "cuda devices: 1"
has "/sbin/ldconfig -p lists libcuda.so.1 in the driver directory" "$in" -- "^ldcache: libcuda.so.1 (libc6,x86-64) => $DRV/libcuda.so.1\$"
has "/sbin/ldconfig -p lists libnvidia-ml.so.1" "$in" -- "^ldcache: libnvidia-ml.so.1 (libc6,x86-64) => $DRV/libnvidia-ml.so.1\$"
has "the driver directory: the libraries of version $V1 and their links, nothing stale" "$in" -x -- \
	"driver dir: libcuda.so.1 libcuda.so.$V1 libnvidia-ml.so.1 libnvidia-ml.so.$V1 "
has "/dev: the GPU's node, nvidiactl and nvidia-uvm, no absent optional node" "$in" -x -- "devs: nvidia-uvm nvidia0 nvidiactl "
has "nvidia-persistenced's socket is there" "$in" -x -- "sock: socket"
has "the firmware of version $V1, only" "$in" -x -- "fw: gsp $V1, files: 1"
has "the library inside is the host's file" "$in" -x -- "host copy: $(sha256sum <"$FAKE/$LIBDIR/libcuda.so.$V1" | cut -d' ' -f1)"

# --- who is on which GPU ------------------------------------------------------
# A process of alice's holds her GPU's node (O_PATH: without a driver behind
# major 195 a real open cannot succeed; the fd refers to the node all the
# same, as a CUDA context's does).
tmbg 120 jssh $A "python3 -c 'import os, sys, time; fd = os.open(\"/dev/nvidia0\", os.O_PATH); print(\"holding\", flush=True); time.sleep(100)' jsbt-gpu-hold" >/dev/null 2>&1
holdjob=$!
held() { "$JSB_CTL" gpus --usage 2>/dev/null | grep -q 'jsbt-gpu-hold'; }
wait_for 300 held
us=$("$JSB_CTL" gpus --usage 2>&1)
printf '%s\n' "$us" | sed 's/^/  | /'
g1=$(printf '%s\n' "$us" | sed -n '/^gpu 1:/,/^gpu 2:/p')
has "gpus --usage: GPU 1 (/dev/nvidia0) is held by alice's process, in her container" "$g1" -- \
	"^  $A pid [0-9]* (container): python3 -c .* jsbt-gpu-hold\$"
has "gpus --usage: GPU 0 is held by nobody" "$(printf '%s\n' "$us" | sed -n '/^gpu 0:/,/^gpu 1:/p')" -x -- "  nobody"
js=$("$JSB_CTL" gpus --usage --json 2>&1)
jq=$(printf '%s' "$js" | python3 -c 'import json, sys
d = json.load(sys.stdin)
for g in d["gpus"]:
    for p in g["processes"]:
        if "jsbt-gpu-hold" in p["command"]:
            print(g["index"], g["node"], p["user"], p["container"], p["uid"])' 2>&1)
check "gpus --usage --json: valid JSON naming GPU 1, alice, her container ($jq)" [ "$jq" = "1 /dev/nvidia0 $A True $(id -u $A)" ]
kill $holdjob 2>/dev/null
wait $holdjob 2>/dev/null
not_held() { ! held; }
wait_for 300 not_held

# Read-only even for root inside (sudo = yes for the test users).
ro=$(tm 60 jssh $A "for c in 'echo x >> $DRV/libcuda.so.$V1' 'rm -f $DRV/libcuda.so.$V1' 'ln -sf /tmp/x $DRV/libcuda.so.1' \
	'touch $DRV/new' 'echo x > /usr/bin/nvidia-smi' 'rm -f /usr/bin/nvidia-smi' 'umount $DRV' \
	'echo x >> /lib/firmware/nvidia/$V1/gsp_fake.bin'; do
	if sudo sh -c \"\$c\" 2>/dev/null; then echo \"ALLOWED: \$c\"; else echo \"refused: \$c\"; fi; done" 2>&1)
printf '%s\n' "$ro" | sed 's/^/  | /'
hasnt "root inside can change none of the driver files" "$ro" -- "^ALLOWED"
check "all eight attempts were made" [ "$(printf '%s\n' "$ro" | grep -c '^refused')" = 8 ]
check "the host's library is unchanged" cmp -s "$FAKE/$LIBDIR/libcuda.so.$V1" "$BUILD/$V1/libcuda.so.1"

# Nothing of the driver in alice's layer (the tool's mount point, if the
# image has no /usr/bin/nvidia-smi, is an empty file).
upper=$JSB_RUN/state/users/$A/upper
check "her layer exists" [ -d "$upper" ]
found=$(find "$upper" \( -name 'libcuda*' -o -name 'libnvidia-ml*' \) -print 2>/dev/null)
check "no driver library in her layer ($(oneline "$found"))" [ -z "$found" ]
check "nvidia-smi in her layer is at most an empty mount point" sh -c "[ ! -e '$upper/usr/bin/nvidia-smi' ] || [ ! -s '$upper/usr/bin/nvidia-smi' ]"

# A library of the same soname she installs herself does not shadow the
# driver's at the next start.
install -m 0644 -o $A "$BUILD/$V1/libnvidia-ml.so.1" "$home/libnvidia-ml.so.1"
tm 60 jssh $A "sudo cp ~/libnvidia-ml.so.1 /$LIBDIR/libnvidia-ml.so.1 && sudo /sbin/ldconfig" >/dev/null 2>&1
"$JSB_CTL" stop $A >/dev/null
out=$(tm 60 jssh $A "ls /$LIBDIR/libnvidia-ml.so.1 && /sbin/ldconfig -p | grep -m1 'libnvidia-ml.so.1 ' && nvidia-smi | sed -n 1p" 2>&1)
printf '%s\n' "$out" | sed 's/^/  | /'
has "her own copy is in her layer" "$out" -x -- "/$LIBDIR/libnvidia-ml.so.1"
has "the ld cache still finds the driver's first" "$out" -- "=> $DRV/libnvidia-ml.so.1\$"

# --- bob: gpus = none ------------------------------------------------------
inb=$(tm 60 jssh $B "ls $DRV 2>&1; ls /run/nvidia-persistenced /lib/firmware/nvidia 2>&1 | sed 's/^/nv: /'; command -v nvidia-smi || echo no-smi; echo \"ldcache: \$(/sbin/ldconfig -p | grep -c 'libcuda\\|libnvidia')\"; ls /etc/ld.so.conf.d" 2>&1)
printf '%s\n' "$inb" | sed 's/^/  | /'
has "bob: no driver directory" "$inb" -- "No such file or directory"
has "bob: no nvidia-smi" "$inb" -x -- "no-smi"
check "bob: no persistenced socket, no firmware" [ "$(printf '%s\n' "$inb" | grep -c '^nv: .*No such file or directory')" = 2 ]
has "bob: nothing of the driver in his ld cache" "$inb" -x -- "ldcache: 0"
hasnt "bob: no ld.so.conf.d entry for it" "$inb" -- "jsandbox-driver"

# --- a driver upgrade on the host, then alice's next start (no reset) ------
driver $V2
fw $V2
"$JSB_CTL" stop $A >/dev/null
in=$(tm 60 jssh $A "$(probe $V2)" 2>&1)
printf '%s\n' "$in" | sed 's/^/  | /'
has "after the upgrade: nvidia-smi runs version $V2" "$in" -x -- "Driver Version: $V2"
has "after the upgrade: the driver directory has version $V2 only" "$in" -x -- \
	"driver dir: libcuda.so.1 libcuda.so.$V2 libnvidia-ml.so.1 libnvidia-ml.so.$V2 "
has "after the upgrade: still one GPU" "$in" -x -- "cuda devices: 1"
has "after the upgrade: the firmware of version $V2, only" "$in" -x -- "fw: gsp $V2, files: 1"

# --- the GPU taken away: the next start has none of it ------------------------
policy none none
"$JSB_CTL" stop $A >/dev/null
out=$(tm 60 jssh $A "ls $DRV 2>&1; echo \"ldcache: \$(/sbin/ldconfig -p | grep -c 'libcuda\\|libnvidia-ml.so.1 .*$DRV')\"" 2>&1)
has "alice without a GPU: no driver directory" "$out" -- "No such file or directory"
has "alice without a GPU: the driver gone from her ld cache" "$out" -x -- "ldcache: 0"

# --- a driver file a user could have swapped is refused, naming it ------------
policy 1 none
"$JSB_CTL" stop $A >/dev/null
chmod 0666 "$FAKE/$LIBDIR/libcuda.so.$V2"
before=$(wc -l <"$JSB_RUN/syslog")
out=$(tm 60 jssh $A 'echo "in:$(cat /proc/1/comm)"' 2>&1)
hasnt "a world-writable driver library: no shell ($(oneline "$out"))" "$out" -- "^in:"
has "a world-writable driver library: one line to the user" "$out" -- "^jsandbox: "
check "syslog names the file" sh -c "tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -q 'libcuda.so.$V2.*writable by group or other'"
chmod 0644 "$FAKE/$LIBDIR/libcuda.so.$V2"
out=$(tm 60 jssh $A 'nvidia-smi -L' 2>&1)
check "once fixed, alice's GPU works again ($(oneline "$out"))" [ "$out" = "GPU 0: Fake GPU (/dev/nvidia0)" ]
finish
