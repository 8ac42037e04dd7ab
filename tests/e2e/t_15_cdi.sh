#!/bin/bash
# Behaviour 15: GPUs granted through the host's CDI specs. A fake host
# under host_root: three NVIDIA GPUs (as t_14), MIG capability nodes of
# GPU 1, an AMD GPU (a render node and /dev/kfd), the fake driver user
# space (tests/e2e/fakedrv.c), and the specs nvidia-ctk and AMD's
# generator would write: /etc/cdi/nvidia.yaml (YAML, NVIDIA's layout:
# devices by index, MIG instances as <gpu>:<instance> and by MIG UUID,
# the driver's libraries and nvidia-smi as mounts, create-symlinks and
# update-ldcache hooks naming /usr/bin/nvidia-ctk) and
# /var/run/cdi/amd.json (JSON). Through real sshd logins: alice granted
# nvidia.com/gpu=1 sees exactly that GPU with nvidia-smi -L, ldconfig -p
# lists the spec's libraries, which are read-only even for root inside;
# what the hooks ask for is done and their binary never runs; bob
# (gpus = none) sees nothing; an index and a PCI address resolve through
# the spec; a MIG instance by CDI name and by MIG UUID gets its own
# capability nodes and not its sibling's; a driver upgrade (new files, a
# new spec) is what the next start gets, without reset; the AMD GPU by CDI
# name gets its render node and /dev/kfd.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
B=jsbt_bob
FAKE=$JSB_RUN/fakecdi
BUILD=$JSB_RUN/fakecdi-build
LIBDIR=$FAKE_LIBDIR
DRV=/run/jsandbox/driver
V1=535.104.05
V2=550.54.14
UVM_MAJOR=510
CAPS_MAJOR=511
KFD_MAJOR=509
fake_gpu_usable $UVM_MAJOR $CAPS_MAJOR $KFD_MAJOR

hold=
cleanup() {
	[ -n "$hold" ] && kill "$hold" 2>/dev/null
	"$JSB_CTL" stop $A >/dev/null 2>&1
	"$JSB_CTL" stop $B >/dev/null 2>&1
	rm -rf "$FAKE" "$BUILD"
	write_config
}
trap cleanup EXIT

# --- the fake host ------------------------------------------------------
rm -rf "$FAKE" "$BUILD"
install -d -m 0755 "$FAKE" "$FAKE/etc/cdi" "$FAKE/var/run/cdi" "$FAKE/dev/nvidia-caps" "$FAKE/dev/dri"
fake_nv_gpu "$FAKE" 0000:1a:00.0 2 GPU-aaaaaaaa-0000-0000-0000-000000000001
fake_nv_gpu "$FAKE" 0000:3b:00.0 0 GPU-bbbbbbbb-0000-0000-0000-000000000002
fake_nv_gpu "$FAKE" 0000:86:00.0 1 GPU-cccccccc-0000-0000-0000-000000000003
printf 'Character devices:\n  1 mem\n195 nvidia\n%d nvidia-uvm\n%d nvidia-caps\n%d kfd\n226 drm\n\nBlock devices:\n' \
	$UVM_MAJOR $CAPS_MAJOR $KFD_MAJOR >"$FAKE/proc/devices"
mknod -m 0666 "$FAKE/dev/nvidiactl" c 195 255
mknod -m 0666 "$FAKE/dev/nvidia-uvm" c $UVM_MAJOR 0
for m in 21 22 30 31; do mknod -m 0444 "$FAKE/dev/nvidia-caps/nvidia-cap$m" c $CAPS_MAJOR $m; done
# (no nvidia-uvm-tools: the spec lists it, the host lost it since)
# An AMD GPU at 0000:c1:00.0 (index 3): sysfs as the kernel lays it out.
install -d "$FAKE/sys/devices/pci0000:c0/0000:c1:00.0" "$FAKE/sys/class/drm/renderD128"
echo 0x1002 >"$FAKE/sys/devices/pci0000:c0/0000:c1:00.0/vendor"
echo 0x740f >"$FAKE/sys/devices/pci0000:c0/0000:c1:00.0/device"
echo 226:128 >"$FAKE/sys/class/drm/renderD128/dev"
ln -s ../../../devices/pci0000:c0/0000:c1:00.0 "$FAKE/sys/class/drm/renderD128/device"
mknod -m 0666 "$FAKE/dev/dri/renderD128" c 226 128
mknod -m 0666 "$FAKE/dev/kfd" c $KFD_MAJOR 0
# The hooks' binary: it must never run, inside or outside.
MARK=$JSB_RUN/fakecdi-hook-ran
rm -f "$MARK"
install -d "$FAKE/usr/bin"
printf '#!/bin/sh\ntouch %s\n' "$MARK" >"$FAKE/usr/bin/nvidia-ctk"
chmod 0755 "$FAKE/usr/bin/nvidia-ctk"

# nvidia.yaml as nvidia-ctk cdi generate writes it (index names, MIG
# <gpu>:<instance>), plus one MIG device named by its UUID.
nv_spec() { # VERSION
	local v=$1
	cat >"$FAKE/etc/cdi/nvidia.yaml.tmp" <<EOF
---
cdiVersion: 0.5.0
kind: nvidia.com/gpu
devices:
- name: "0"
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia2
- name: "1"
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
- name: "2"
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia1
- name: "1:0"
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
    - path: /dev/nvidia-caps/nvidia-cap21
    - path: /dev/nvidia-caps/nvidia-cap22
- name: MIG-dddddddd-0000-0000-0000-000000000011
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
    - path: /dev/nvidia-caps/nvidia-cap30
    - path: /dev/nvidia-caps/nvidia-cap31
containerEdits:
  env:
  - NVIDIA_VISIBLE_DEVICES=void
  deviceNodes:
  - path: /dev/nvidia-uvm
  - path: /dev/nvidia-uvm-tools
  - path: /dev/nvidiactl
  hooks:
  - hookName: createContainer
    path: /usr/bin/nvidia-ctk
    args:
    - nvidia-ctk
    - hook
    - create-symlinks
    - --link
    - libcuda.so.1::/usr/lib/x86_64-linux-gnu/libcuda.so
  - hookName: createContainer
    path: /usr/bin/nvidia-ctk
    args:
    - nvidia-ctk
    - hook
    - update-ldcache
    - --folder
    - /usr/lib/x86_64-linux-gnu
  mounts:
  - hostPath: /usr/lib/x86_64-linux-gnu/libcuda.so.$v
    containerPath: /usr/lib/x86_64-linux-gnu/libcuda.so.$v
    options: [ro, nosuid, nodev, bind]
  - hostPath: /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.$v
    containerPath: /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.$v
    options: [ro, nosuid, nodev, bind]
  - hostPath: /usr/bin/nvidia-smi
    containerPath: /usr/bin/nvidia-smi
    options: [ro, nosuid, nodev, bind]
  - hostPath: /run/nvidia-persistenced/socket
    containerPath: /run/nvidia-persistenced/socket
    options: [ro, nosuid, nodev, bind, noexec]
  - hostPath: /lib/firmware/nvidia/$v/gsp_fake.bin
    containerPath: /lib/firmware/nvidia/$v/gsp_fake.bin
    options: [ro, nosuid, nodev, bind]
  - hostPath: /etc/vulkan/icd.d/nvidia_icd.json
    containerPath: /etc/vulkan/icd.d/nvidia_icd.json
    options: [ro, nosuid, nodev, bind]
EOF
	mv "$FAKE/etc/cdi/nvidia.yaml.tmp" "$FAKE/etc/cdi/nvidia.yaml"
	rm -rf "$FAKE/lib/firmware/nvidia"
	install -d -m 0755 "$FAKE/lib/firmware/nvidia/$v"
	echo "gsp $v" >"$FAKE/lib/firmware/nvidia/$v/gsp_fake.bin"
}
install -d -m 0755 "$FAKE/run/nvidia-persistenced"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$FAKE/run/nvidia-persistenced/socket"
install -d "$FAKE/etc/vulkan/icd.d"
echo '{}' >"$FAKE/etc/vulkan/icd.d/nvidia_icd.json"
cat >"$FAKE/var/run/cdi/amd.json" <<'EOF'
{"cdiVersion":"0.6.0","kind":"amd.com/gpu","devices":[{"name":"0","containerEdits":{"deviceNodes":[
 {"path":"/dev/dri/renderD128","type":"c","major":226,"minor":128,"permissions":"rw"},
 {"path":"/dev/kfd","type":"c","permissions":"rw"}]}}]}
EOF
fake_nv_driver "$FAKE" "$BUILD" $V1
nv_spec $V1

policy() { # alice's gpus, bob's gpus
	write_config "[user:$A]
gpus = $1
[user:$B]
gpus = $2"
	fake_host_root "$FAKE"
}
restart() { "$JSB_CTL" stop $A >/dev/null 2>&1; "$JSB_CTL" stop $B >/dev/null 2>&1; }
probe() { # VERSION
	printf '%s\n' "nvidia-smi -L; nvidia-smi | sed -n 1p" \
		"/sbin/ldconfig -p | grep -E 'lib(cuda|nvidia-ml)\\.so' | sed 's/^[[:space:]]*/ldcache: /'" \
		"echo \"driver dir: \$(ls $DRV | tr '\\n' ' ')\"" \
		"echo \"devs: \$(cd /dev && ls -d nvidia* dri/* kfd 2>/dev/null | tr '\\n' ' ')\"" \
		"echo \"caps: \$(ls /dev/nvidia-caps 2>/dev/null | tr '\\n' ' ')\"" \
		"echo \"icd: \$(ls /etc/vulkan/icd.d 2>&1 | tr '\\n' ' ')\"" \
		"echo \"sock: \$(test -S /run/nvidia-persistenced/socket && echo socket)\"" \
		"echo \"fw: \$(cat /lib/firmware/nvidia/$1/gsp_fake.bin)\"" \
		"echo \"host copy: \$(sha256sum < $DRV/libcuda.so.$1 | cut -d' ' -f1)\""
}
policy nvidia.com/gpu=1 none
restart

# --- alice: nvidia.com/gpu=1 (/dev/nvidia0) ------------------------------
in=$(tm 60 jssh $A "$(probe $V1)" 2>&1)
printf '%s\n' "$in" | sed 's/^/  | /'
has "nvidia-smi -L lists the granted GPU" "$in" -x -- "GPU 0: Fake GPU (/dev/nvidia0)"
check "nvidia-smi -L lists exactly one GPU" [ "$(printf '%s\n' "$in" | grep -c '^GPU [0-9]*: ')" = 1 ]
has "nvidia-smi runs the spec's library (version $V1)" "$in" -x -- "Driver Version: $V1"
has "ldconfig -p lists libcuda.so.1 in the driver directory" "$in" -- "^ldcache: libcuda.so.1 (libc6,x86-64) => $DRV/libcuda.so.1\$"
has "ldconfig -p lists libnvidia-ml.so.1" "$in" -- "^ldcache: libnvidia-ml.so.1 (libc6,x86-64) => $DRV/libnvidia-ml.so.1\$"
has "the driver directory: the spec's libraries, their sonames and the create-symlinks link" "$in" -x -- \
	"driver dir: libcuda.so libcuda.so.1 libcuda.so.$V1 libnvidia-ml.so.1 libnvidia-ml.so.$V1 "
has "/dev: the device's node and the spec's nodes the host has (no nvidia-uvm-tools)" "$in" -x -- \
	"devs: nvidia-uvm nvidia0 nvidiactl "
has "no MIG capability node for a whole GPU" "$in" -x -- "caps: "
has "the library inside is the host's file" "$in" -x -- "host copy: $(sha256sum <"$FAKE/$LIBDIR/libcuda.so.$V1" | cut -d' ' -f1)"
has "a graphics mount of the spec is not bound" "$in" -- "^icd: .*No such file"
has "the spec's persistenced socket is there" "$in" -x -- "sock: socket"
has "the spec's firmware file is there" "$in" -x -- "fw: gsp $V1"
check "the spec's hook binary never ran" [ ! -e "$MARK" ]

ro=$(tm 60 jssh $A "for c in 'echo x >> $DRV/libcuda.so.$V1' 'rm -f $DRV/libcuda.so.$V1' 'ln -sf /tmp/x $DRV/libcuda.so' \
	'echo x > /usr/bin/nvidia-smi' 'umount $DRV'; do
	if sudo sh -c \"\$c\" 2>/dev/null; then echo \"ALLOWED: \$c\"; else echo \"refused: \$c\"; fi; done" 2>&1)
printf '%s\n' "$ro" | sed 's/^/  | /'
hasnt "root inside can change none of the spec's files" "$ro" -- "^ALLOWED"
check "all five attempts were made" [ "$(printf '%s\n' "$ro" | grep -c '^refused')" = 5 ]
check "the host's library is unchanged" cmp -s "$FAKE/$LIBDIR/libcuda.so.$V1" "$BUILD/$V1/libcuda.so.1"

# --- bob: gpus = none ------------------------------------------------------
# (an earlier grant may have left an empty mount point at /usr/bin/nvidia-smi
# in his layer, as t_14 describes: never the tool)
inb=$(tm 60 jssh $B "ls $DRV 2>&1; test -s /usr/bin/nvidia-smi || echo no-smi; echo \"devs: \$(cd /dev && ls -d nvidia* dri kfd 2>/dev/null | tr '\\n' ' ')\"; echo \"ldcache: \$(/sbin/ldconfig -p | grep -c 'libcuda\\|libnvidia')\"" 2>&1)
printf '%s\n' "$inb" | sed 's/^/  | /'
has "bob: no driver directory" "$inb" -- "No such file or directory"
has "bob: no nvidia-smi" "$inb" -x -- "no-smi"
has "bob: no GPU node" "$inb" -x -- "devs: "
has "bob: nothing of the driver in his ld cache" "$inb" -x -- "ldcache: 0"

# --- an index and a PCI address resolve through the spec -------------------
policy 2 0000:1a:00.0
restart
ia=$(tm 60 jssh $A 'nvidia-smi -L; echo "devs: $(cd /dev && ls -d nvidia* | tr "\n" " ")"' 2>&1)
ib=$(tm 60 jssh $B 'nvidia-smi -L; echo "devs: $(cd /dev && ls -d nvidia* | tr "\n" " ")"' 2>&1)
printf '%s\n' "$ia" "$ib" | sed 's/^/  | /'
has "gpus = 2: the spec's device 2 (/dev/nvidia1)" "$ia" -x -- "devs: nvidia-uvm nvidia1 nvidiactl "
has "gpus = 2: nvidia-smi sees it" "$ia" -x -- "GPU 0: Fake GPU (/dev/nvidia1)"
has "gpus = 0000:1a:00.0: the spec's device 0 (/dev/nvidia2)" "$ib" -x -- "devs: nvidia-uvm nvidia2 nvidiactl "

# --- MIG: one instance, not its sibling --------------------------------------
policy nvidia.com/gpu=1:0 MIG-DDDDDDDD-0000-0000-0000-000000000011
restart
g=$("$JSB_CTL" gpus 2>&1)
printf '%s\n' "$g" | grep CDI | sed 's/^/  | /'
has "jsandboxctl gpus lists alice's MIG instance by CDI name" "$g" -x -- "\[user:$A\] also grants, through the host's CDI specs at login: nvidia.com/gpu=1:0"
has "jsandboxctl gpus lists bob's MIG UUID" "$g" -x -- "\[user:$B\] also grants, through the host's CDI specs at login: MIG-dddddddd-0000-0000-0000-000000000011"
ma=$(tm 60 jssh $A 'echo "devs: $(cd /dev && ls -d nvidia* | tr "\n" " ")"; echo "caps: $(ls /dev/nvidia-caps | tr "\n" " ")"; nvidia-smi -L' 2>&1)
mb=$(tm 60 jssh $B 'echo "caps: $(ls /dev/nvidia-caps | tr "\n" " ")"; nvidia-smi -L' 2>&1)
printf '%s\n' "$ma" "$mb" | sed 's/^/  | /'
has "MIG nvidia.com/gpu=1:0: its GPU's node" "$ma" -x -- "devs: nvidia-caps nvidia-uvm nvidia0 nvidiactl "
has "MIG nvidia.com/gpu=1:0: its own capability nodes only" "$ma" -x -- "caps: nvidia-cap21 nvidia-cap22 "
has "MIG nvidia.com/gpu=1:0: the driver's files too" "$ma" -x -- "GPU 0: Fake GPU (/dev/nvidia0)"
has "MIG by UUID (any case): its own capability nodes only" "$mb" -x -- "caps: nvidia-cap30 nvidia-cap31 "
# The cgroup rules are the nodes granted: from the host, a process in
# alice's cgroup (while a session of hers holds the container).
tmbg 60 jssh $A "sleep 600 # jsbt-cdi-hold" >/dev/null 2>&1
hold=$!
wait_for 200 container_pid $A >/dev/null
h=$(in_cgroup $A "$FAKE"/dev/nvidia0 "$FAKE"/dev/nvidia1 "$FAKE"/dev/nvidia-caps/nvidia-cap2[12] \
	"$FAKE"/dev/nvidia-caps/nvidia-cap3[01] "$FAKE"/dev/nvidia-uvm "$FAKE"/dev/dri/renderD128)
printf '%s\n' "$h" | sed 's/^/  | /'
check "alice's cgroup (nvidia.com/gpu=1:0): exactly her instance's nodes and the shared ones open" \
	[ "$(oneline "$h")" = "nvidia0 ENXIO nvidia1 EPERM nvidia-cap21 ENXIO nvidia-cap22 ENXIO nvidia-cap30 EPERM nvidia-cap31 EPERM nvidia-uvm ENXIO renderD128 EPERM" ]
kill $hold 2>/dev/null
wait $hold 2>/dev/null

# --- a driver upgrade: new files, a new spec; the next start, no reset --------
policy nvidia.com/gpu=1 none
restart
tm 60 jssh $A true >/dev/null 2>&1
fake_nv_driver "$FAKE" "$BUILD" $V2
nv_spec $V2
restart
in=$(tm 60 jssh $A "$(probe $V2)" 2>&1)
printf '%s\n' "$in" | sed 's/^/  | /'
has "after the upgrade: nvidia-smi runs version $V2" "$in" -x -- "Driver Version: $V2"
has "after the upgrade: the new spec's firmware" "$in" -x -- "fw: gsp $V2"
has "after the upgrade: the driver directory has version $V2 only" "$in" -x -- \
	"driver dir: libcuda.so libcuda.so.1 libcuda.so.$V2 libnvidia-ml.so.1 libnvidia-ml.so.$V2 "
upper=$JSB_RUN/state/users/$A/upper
# (t_14 leaves a libnvidia-ml.so.1 of her own there: only the driver's
# versioned files count)
found=$(find "$upper" \( -name "*.so.$V1" -o -name "*.so.$V2" \) -print 2>/dev/null)
check "no driver library in her layer ($(oneline "$found"))" [ -z "$found" ]

# --- AMD through its JSON spec -------------------------------------------------
policy amd.com/gpu=0 3
restart
aa=$(tm 60 jssh $A 'echo "devs: $(cd /dev && ls -d nvidia* dri/* kfd 2>/dev/null | tr "\n" " ")"; ls /run/jsandbox/driver 2>&1 | head -1' 2>&1)
ab=$(tm 60 jssh $B 'echo "devs: $(cd /dev && ls -d nvidia* dri/* kfd 2>/dev/null | tr "\n" " ")"' 2>&1)
printf '%s\n' "$aa" "$ab" | sed 's/^/  | /'
has "amd.com/gpu=0: its render node and /dev/kfd, nothing of NVIDIA" "$aa" -x -- "devs: dri/renderD128 kfd "
has "amd.com/gpu=0: no NVIDIA driver files" "$aa" -- "No such file or directory"
has "gpus = 3 (the AMD GPU by index) resolves through the AMD spec" "$ab" -x -- "devs: dri/renderD128 kfd "
check "the spec's hook binary never ran, all along" [ ! -e "$MARK" ]
finish
