#!/bin/bash
# Behaviour 12: GPUs and device nodes from the policy, enforced by the
# kernel. A fake host tree (host_root) holds three NVIDIA GPUs whose nodes
# are real character devices of major 195 with no driver behind them: a
# node the cgroup allows fails to open with ENXIO (the missing driver), a
# node it denies fails with EPERM (the device cgroup, checked first).
# Through real sshd logins: alice's container has exactly her GPUs' nodes
# in /dev and only their entries in /proc/driver/nvidia/gpus; a process in
# her cgroup cannot open the others even by their host path, through the v1
# devices controller and, on its own, the v2 eBPF program on the cgroup2
# mount; a policy change reaches her running container at the next login
# and with `jsandboxctl apply`, killing nothing.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
B=jsbt_bob
GRP=jsbt_render
FAKE=$JSB_RUN/fakehost
U2=/sys/fs/cgroup/unified
V1=/sys/fs/cgroup/devices
[ -d "$U2" ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || skip "no cgroup2 mount"
[ -f /sys/fs/cgroup/cgroup.controllers ] && U2=/sys/fs/cgroup
grep -qE '^ *195 ' /proc/devices && skip "this host has a driver on major 195 (a real NVIDIA GPU): the fake nodes would reach it"

hold=
cleanup() {
	[ -n "$hold" ] && kill "$hold" 2>/dev/null
	"$JSB_CTL" stop $A >/dev/null 2>&1
	"$JSB_CTL" stop $B >/dev/null 2>&1
	gpasswd -d $A $GRP >/dev/null 2>&1
	groupdel $GRP >/dev/null 2>&1
	rm -rf "$FAKE"
	write_config
}
trap cleanup EXIT

# has DESCRIPTION TEXT GREP-ARGS...: TEXT has a line matching

# --- the fake host: PCI order 1a, 3b, 86 with device minors 2, 0, 1, so
# index 0 = /dev/nvidia2, 1 = /dev/nvidia0, 2 = /dev/nvidia1 (the index is
# the PCI order, never the minor).
groupadd -f $GRP
usermod -aG $GRP $A
rm -rf "$FAKE"
gpu() { # PCI MINOR UUID
	install -d "$FAKE/proc/driver/nvidia/gpus/$1"
	printf 'Model:\t\t Fake H100\nIRQ:\t\t 1\nGPU UUID:\t %s\nVideo BIOS:\t 00.00\nBus Type:\t PCIe\nDMA Size:\t 47 bits\nDevice Minor:\t %d\nBus Location:\t %s\n' \
		"$3" "$2" "$1" >"$FAKE/proc/driver/nvidia/gpus/$1/information"
}
gpu 0000:1a:00.0 2 GPU-aaaaaaaa-0000-0000-0000-000000000001
gpu 0000:3b:00.0 0 GPU-bbbbbbbb-0000-0000-0000-000000000002
gpu 0000:86:00.0 1 GPU-cccccccc-0000-0000-0000-000000000003
printf 'Character devices:\n  1 mem\n195 nvidia\n\nBlock devices:\n' >"$FAKE/proc/devices"
install -d "$FAKE/dev"
for m in 0 1 2; do mknod "$FAKE/dev/nvidia$m" c 195 $m; done
mknod "$FAKE/dev/nvidiactl" c 195 255
mknod "$FAKE/dev/nvidia-modeset" c 195 254
chown root:$GRP "$FAKE"/dev/nvidia*
chmod 0660 "$FAKE"/dev/nvidia*

policy() { # alice's gpus, bob's gpus; [global] host_root = the fake tree
	write_config "[user:$A]
gpus = $1
[user:$B]
gpus = $2"
	# (a second [global] section would be a duplicate; sed -i replaces
	# the file by a rename, keeping its owner and mode)
	sed -i "/^\[global\]\$/a host_root = $FAKE" "$JSB_CONF"
}
policy 0,2 none

# --- jsandboxctl gpus and policy: the mapping an admin checks ------------
out=$("$JSB_CTL" gpus 2>&1)
printf '%s\n' "$out" | sed 's/^/  | /'
has "gpus: three GPUs under host_root" "$out"  -- "^3 GPUs under host_root $FAKE"
has "gpus: index 0 is PCI 1a (minor 2), granted to alice" "$out"  -- "^gpu 0: pci 0000:1a:00.0 vendor nvidia uuid GPU-aaaaaaaa-0000-0000-0000-000000000001"
g0=$(printf '%s\n' "$out" | sed -n '/^gpu 0:/,/^gpu 1:/p')
g1=$(printf '%s\n' "$out" | sed -n '/^gpu 1:/,/^gpu 2:/p')
has "gpus: index 0 node /dev/nvidia2" "$g0" -- "node c 195:2 rw .*/dev/nvidia2"
has "gpus: index 0 granted by [user:$A]" "$g0" -x -- "  granted by: \[user:$A\]"
has "gpus: index 1 (minor 0) has node /dev/nvidia0" "$g1" -- "node c 195:0 rw .*/dev/nvidia0"
has "gpus: index 1 granted by nobody" "$g1" -x -- "  granted by: nobody"
has "gpus: shared nvidiactl listed" "$out"  -- "node c 195:255 rw .*/dev/nvidiactl"
pol=$("$JSB_CTL" policy $A 2>&1)
has "policy alice lists /dev/nvidia2" "$pol" -- "c 195:2 rw .*/dev/nvidia2"
has "policy alice lists /dev/nvidia1" "$pol" -- "c 195:1 rw .*/dev/nvidia1"
hasnt "policy alice does not list /dev/nvidia0" "$pol" -- "/dev/nvidia0"

# --- inside alice's container --------------------------------------------
probe='import errno, os
for p in ("/dev/nvidia2", "/dev/nvidia1", "/dev/nvidiactl", "/dev/nvidia0"):
    try:
        os.close(os.open(p, os.O_RDWR)); print(p, "opened")
    except OSError as e:
        print(p, errno.errorcode[e.errno])
print("gpus:", " ".join(sorted(os.listdir("/proc/driver/nvidia/gpus"))) if os.path.isdir("/proc/driver/nvidia/gpus") else "absent")
print("devs:", " ".join(sorted(n for n in os.listdir("/dev") if n.startswith("nvidia"))))
print("groups:", " ".join(os.popen("id -Gn").read().split()))'
tmbg 60 jssh $A "sleep 600 # jsbt-devices-hold" >/dev/null 2>&1
hold=$!
wait_for 200 container_pid $A >/dev/null
in=$(tm 60 jssh $A "python3 -c '$probe'" 2>&1)
printf '%s\n' "$in" | sed 's/^/  | /'
has "inside: granted /dev/nvidia2 opens with ENXIO (allowed, no driver)" "$in" -x -- "/dev/nvidia2 ENXIO"
has "inside: granted /dev/nvidia1 opens with ENXIO" "$in" -x -- "/dev/nvidia1 ENXIO"
has "inside: shared /dev/nvidiactl opens with ENXIO" "$in" -x -- "/dev/nvidiactl ENXIO"
has "inside: denied /dev/nvidia0 is absent" "$in" -x -- "/dev/nvidia0 ENOENT"
has "inside: /dev has exactly the granted nvidia nodes" "$in" -x -- "devs: nvidia-modeset nvidia1 nvidia2 nvidiactl"
has "inside: /proc/driver/nvidia/gpus lists only the granted GPUs" "$in" -x -- "gpus: 0000:1a:00.0 0000:86:00.0"
has "inside: the supplementary group $GRP survives (root:$GRP 0660 nodes open)" "$in"  -- "^groups:.* $GRP"
inb=$(tm 60 jssh $B "python3 -c '$probe'" 2>&1)
has "bob (gpus = none): no nvidia node in /dev" "$inb" -x -- "devs: "
has "bob: no /proc/driver/nvidia/gpus" "$inb" -x -- "gpus: absent"
has "bob: /dev/nvidia2 absent" "$inb" -x -- "/dev/nvidia2 ENOENT"

# --- the kernel, from the host: a process in alice's cgroup ---------------
h=$(in_cgroup $A "$FAKE/dev/nvidia0" "$FAKE/dev/nvidia2")
has "host path of the denied node from alice's cgroup: EPERM" "$h" -x -- "nvidia0 EPERM"
has "host path of a granted node from alice's cgroup: ENXIO" "$h" -x -- "nvidia2 ENXIO"
check "v1 devices.list of alice is the allow-list" sh -c "grep -qx 'c 195:2 rw' $V1/jsandbox/$A/devices.list && ! grep -q '195:0 ' $V1/jsandbox/$A/devices.list"
ap=$("$JSB_CTL" apply $A 2>&1)
printf '%s\n' "$ap" | sed 's/^/  | /'
has "apply shows the v1 devices list in force" "$ap"  -- "cgroup v1 devices $V1/jsandbox/$A: .* rules"
has "apply shows our eBPF program attached on the cgroup2 mount" "$ap"  -- "cgroup v2 $U2/jsandbox/$A: eBPF program id [0-9]* attached"
# The v2 program on its own: let v1 allow nvidia0 behind jsandbox's back;
# the eBPF program must still refuse it.
echo 'c 195:0 rw' >"$V1/jsandbox/$A/devices.allow"
h=$(in_cgroup $A "$FAKE/dev/nvidia0")
check "with v1 opened up by hand, the v2 eBPF program alone still denies: EPERM" [ "$h" = "nvidia0 EPERM" ]
"$JSB_CTL" apply $A >/dev/null
check "apply takes the hand-made v1 exception away again" sh -c "grep -q '195:2 ' $V1/jsandbox/$A/devices.list && ! grep -q '195:0 ' $V1/jsandbox/$A/devices.list"

# --- a policy change reaches the running container --------------------------
policy 1 none
out=$(tm 60 jssh $A 'echo in' 2>&1)
check "a new login of alice with gpus = 1 works ($out)" [ "$out" = in ]
h=$(in_cgroup $A "$FAKE/dev/nvidia0" "$FAKE/dev/nvidia2")
has "after re-login: nvidia0 now allowed (ENXIO)" "$h" -x -- "nvidia0 ENXIO"
has "after re-login: nvidia2 now denied (EPERM)" "$h" -x -- "nvidia2 EPERM"
in=$(tm 60 jssh $A "python3 -c '$probe'" 2>&1)
has "inside the running container the old node stays but is denied (EPERM)" "$in" -x -- "/dev/nvidia2 EPERM"
check "the running sleep was not killed by the re-apply" kill -0 $hold
policy 0,2 none
out=$("$JSB_CTL" apply $A 2>&1)
has "jsandboxctl apply says it applied to the running container" "$out"  -- "applied to the running container"
h=$(in_cgroup $A "$FAKE/dev/nvidia0" "$FAKE/dev/nvidia2")
has "after apply: nvidia2 allowed again" "$h" -x -- "nvidia2 ENXIO"
has "after apply: nvidia0 denied again" "$h" -x -- "nvidia0 EPERM"
check "the running sleep survived the apply" kill -0 $hold
# A policy whose device list cannot be built: the running container keeps
# the standard nodes only, never the old GPUs.
policy 7 none
out=$("$JSB_CTL" apply $A 2>&1)
check "apply of a policy naming a missing GPU fails ($out)" sh -c "! '$JSB_CTL' apply $A >/dev/null 2>&1"
has "the failure names the GPU" "$out" -- "GPU 7 does not exist"
h=$(in_cgroup $A "$FAKE/dev/nvidia2" /dev/null)
has "the old GPU is denied now (EPERM)" "$h" -x -- "nvidia2 EPERM"
has "the standard nodes still open" "$h" -x -- "null opened"
check "the running sleep survived that too" kill -0 $hold
policy 0,2 none
kill $hold 2>/dev/null
wait $hold 2>/dev/null
"$JSB_CTL" stop $A >/dev/null

# --- fail closed: a bad GPU name, a missing node ---------------------------
refused() { # USER WHAT SYSLOG-PATTERN
	local before out
	before=$(wc -l <"$JSB_RUN/syslog")
	out=$(tm 60 jssh "$1" 'echo "in:$(cat /proc/1/comm)"' 2>&1)
	hasnt "$2: no shell ($out)" "$out" -- "^in:"
	has "$2: one line to the user" "$out"  -- "^jsandbox: "
	check "$2: syslog names it" sh -c "tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -q '$3'"
}
# check_says WHAT PATTERN: jsandboxctl check names the section's problem.
# (Its exit status alone proves nothing here: the host's other accounts may
# be reported too.)
check_says() {
	local out
	out=$("$JSB_CTL" check 2>&1)
	has "$1: jsandboxctl check names it" "$out" -- "$2"
}
policy 0,2 7
refused $B "gpus = 7 on a three-GPU host" "refused: .*GPU.*7"
check_says "gpus = 7" "^\[user:$B\] gpus/devices: .*7"
policy 0,2 GPU-dddddddd-0000-0000-0000-000000000009
refused $B "an unknown GPU UUID" "refused: .*GPU-dddddddd"
check_says "an unknown GPU UUID" "^\[user:$B\] gpus/devices: .*GPU-dddddddd"
mv "$FAKE/dev/nvidia1" "$FAKE/dev/nvidia1.gone"
policy 0,2 none
refused $A "a granted node missing from host_root/dev" "refused: .*/dev/nvidia1"
check_says "a missing node" "^\[user:$A\] gpus/devices: .*nvidia1"
mv "$FAKE/dev/nvidia1.gone" "$FAKE/dev/nvidia1"
out=$("$JSB_CTL" check 2>&1)
hasnt "once the node is back, check has no device problem" "$out" -- "gpus/devices"
out=$(tm 60 jssh $A 'ls /dev/nvidia1' 2>&1)
check "alice recovers once the node is back ($out)" [ "$out" = /dev/nvidia1 ]
finish
