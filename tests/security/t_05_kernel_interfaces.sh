#!/bin/bash
# Attacks through kernel interfaces a container has no business calling,
# as root inside (who holds what the bounding set keeps) unless said
# otherwise. Each would succeed on an unhardened system for that caller.
. "$(dirname "$0")/lib_sec.sh"
give_tool "$A" "$B"

attack "mount a tmpfs" "$A" sudo mount /mnt
attack "mount with the new API (fsopen)" "$A" sudo fsopen
attack "unmount a /proc mask (/proc/kcore)" "$A" sudo umount /proc/kcore
attack "unmount the /sys/firmware mask" "$A" sudo umount /sys/firmware
attack "mknod /dev/mem and open it" "$A" sudo mknod /tmp/jsb-mem
attack "load a kernel module (init_module, finit_module)" "$A" sudo module
attack "kexec a new kernel" "$A" sudo kexec
attack "keyctl/add_key: the host's per-uid keyrings" "$A" keyctl
attack "load an eBPF program or map" "$A" sudo bpf
attack "open_by_handle_at inode 2 (shocker)" "$A" sudo handle /
attack "userfaultfd (race amplifier for kernel exploits)" "$A" userfaultfd
attack "perf_event_open (perf_events = no)" "$A" perf
attack "a nested user namespace (unshare, clone3; nested_userns = no)" "$A" userns
attack "io_uring_setup" "$A" io_uring
attack "set the host's clock" "$A" sudo clock
attack "swapon" "$A" sudo swap
attack "reboot(2)" "$A" sudo reboot
attack "read the kernel log" "$A" sudo klog
attack "setns into another namespace" "$A" sudo setns
attack "the i386 entry points (int 0x80 keyctl, unshare)" "$A" sudo i386
attack "the x32 entry points (keyctl)" "$A" sudo x32
attack "PID 1, which root inside may trace, holds only CAP_KILL under the strictest filter" "$A" sudo init-caps
refused "root inside has no CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_MODULE, CAP_MKNOD, CAP_SYS_RAWIO" "$A" \
	"b=\$(sudo -n sed -n 's/^CapBnd:\\t//p' /proc/self/status); m=\$(( 0x\$b & ((1<<21)|(1<<12)|(1<<16)|(1<<27)|(1<<17)) ))
	 echo \"CapBnd \$b\"; [ \$m = 0 ]"
# TIOCSTI pushes characters into the terminal's input: with a pty (-tt)
out=$(tm 60 jssh "$A" -tt "\$HOME/jsb-attack tiocsti" 2>&1 | tr -d '\r')
if echo "$out" | grep -q '^refused: TIOCSTI'; then
	ok "TIOCSTI into the session's terminal is refused [$(echo "$out" | tail -1)]"
else
	not_ok "TIOCSTI into the session's terminal is refused [$out]"
fi

# The policy keys open what they say, and only for that user.
write_config "[user:$A]
perf_events = yes
nested_userns = yes"
"$JSB_CTL" stop "$A" >/dev/null 2>&1
# Debian's kernels add kernel.perf_event_paranoid = 3 (their default): the
# kernel refuses perf_event_open to every unprivileged process, root in a
# user namespace too. perf_events = yes then lets the call through to the
# kernel, which answers EACCES, where the filter's refusal is EPERM.
paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo 2)
if [ "$paranoid" -le 2 ]; then
	attack_worked "control: perf_events = yes allows perf_event_open" "$A" perf
else
	out=$(tm 120 jssh "$A" "\$HOME/jsb-attack perf" 2>&1)
	has "control: perf_events = yes lets perf_event_open through to the kernel, which refuses it (perf_event_paranoid = $paranoid: EACCES, not the filter's EPERM) [$(oneline "$out")]" \
		"$out" -- "perf_event_open on ourselves: Permission denied"
	# shellcheck disable=SC2119 # (no options: the harness's own files)
	has "jsandboxctl check names perf_event_paranoid = $paranoid" "$(jsb_check 2>&1)" -- "perf_event_paranoid = $paranoid"
fi
attack_worked "control: nested_userns = yes allows a user namespace" "$A" userns
attack "in a nested namespace the masks are locked: no umount, no read-write /proc/sys" "$A" nested-unmask /sys/firmware /proc/sysrq-trigger /proc/sys /proc/kcore
attack "bob's policy is unchanged: perf_event_open refused" "$B" perf
write_config
"$JSB_CTL" stop "$A" >/dev/null 2>&1
attack "back to the default: nested user namespace refused" "$A" userns
finish
