#!/bin/bash
# Attacks on the host's secrets: /etc/shadow, sshd's host keys, host-only
# paths, kernel memory and symbols.
. "$(dirname "$0")/lib_sec.sh"
give_tool "$A"

host_shadow=$(sha256sum /etc/shadow | cut -d' ' -f1)
# The test sshd's key, and the system's if it has one.
keys="$JSB_RUN/hostkey"
key_files=("$JSB_RUN/hostkey")
for k in /etc/ssh/ssh_host_*_key; do [ -f "$k" ] && keys="$keys $k" && key_files+=("$k"); done
key_sums=$(sha256sum "${key_files[@]}" | cut -d' ' -f1 | tr '\n' ' ')

# 1. /etc/shadow as root inside, by every path that might lead to the host's
refused "host /etc/shadow is not what root inside reads (/etc, /proc/1/root, /proc/self/root)" "$A" \
	"for p in /etc/shadow /proc/1/root/etc/shadow /proc/self/root/etc/shadow //etc/../etc/shadow; do
	   s=\$(sudo -n sha256sum \$p 2>/dev/null | cut -d' ' -f1); [ \"\$s\" = $host_shadow ] && { echo \"host shadow at \$p\"; exit 1; }
	 done; echo 'no host shadow'"

# 2. sshd's host keys: at their host paths, and anywhere in the container
refused "no sshd host key of the host is readable anywhere inside" "$A" \
	"for p in $keys /proc/1/root$JSB_RUN/hostkey; do sudo -n cat \$p >/dev/null 2>&1 && { echo \"read \$p\"; exit 1; }; done
	 sudo -n find / -xdev -type f \\( -name '*host*key*' -o -name 'ssh_host_*' \\) -print0 2>/dev/null |
	   sudo -n xargs -0 -r sha256sum | cut -d' ' -f1 | while read s; do
	     case ' $key_sums ' in *\" \$s \"*) echo 'found a host key'; exit 1;; esac; done && echo 'no host key'"

# 3. host-only paths: the build tree, the host's root home, the real state dir
refused "host-only paths do not exist inside (the build tree, /root's files)" "$A" \
	"for p in '$JSB_RUN/sshd_config' '$JSB_BUILD/CMakeCache.txt'; do sudo -n test -e \"\$p\" && { echo \"sees \$p\"; exit 1; }; done; echo none"

# 4. the classic chroot escape as root inside lands in the container's root
attack "chroot escape by chdir(..) does not reach the host's root" "$A" sudo chroot-escape "$JSB_RUN/sshd_config"

# 5-8. kernel memory, kernel symbols, keys and timers read empty
attack "/proc/kcore reads nothing (masked; absent on kernels without it)" "$A" sudo read /proc/kcore
attack "/proc/kallsyms reads nothing (no kernel addresses for an exploit)" "$A" sudo read /proc/kallsyms
attack "/proc/keys reads nothing" "$A" read /proc/keys
attack "/proc/timer_list and sched_debug read nothing (masked or absent)" "$A" "read /proc/timer_list && \$HOME/jsb-attack read /proc/sched_debug"
refused "/sys/firmware is empty (no ACPI tables, no EFI variables)" "$A" "[ -z \"\$(ls -A /sys/firmware)\" ] && echo empty"
refused "no /dev/mem, /dev/kmem, /dev/port or block devices inside" "$A" \
	"for d in /dev/mem /dev/kmem /dev/port /dev/sda /dev/vda /dev/nvme0n1; do [ -e \$d ] && { echo \$d; exit 1; }; done; echo none"
finish
