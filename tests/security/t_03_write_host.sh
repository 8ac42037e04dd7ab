#!/bin/bash
# Attacks on the host's files and the shared base image, as root inside:
# writes land in the user's own layer or are refused.
. "$(dirname "$0")/lib_sec.sh"
give_tool "$A" "$B"
IMG=$JSB_CACHE/images/jsbtest
env_sum=$(sha256sum "$IMG/usr/bin/env" | cut -d' ' -f1)
up=$JSB_RUN/state/users/$A/upper

# 1. a new file in /usr/bin and a modified image binary
works "root inside writes /usr/bin/jsbsec-evil and appends to /usr/bin/env" "$A" \
	"echo evil | sudo -n tee /usr/bin/jsbsec-evil >/dev/null && echo x | sudo -n tee -a /usr/bin/env >/dev/null"
check "the host's /usr/bin has no jsbsec-evil" test ! -e /usr/bin/jsbsec-evil
check "the base image has no jsbsec-evil" test ! -e "$IMG/usr/bin/jsbsec-evil"
check "the base image's env is unchanged" sh -c "[ \"\$(sha256sum '$IMG/usr/bin/env' | cut -d' ' -f1)\" = $env_sum ]"
check "the write went to alice's own layer" test -e "$up/usr/bin/jsbsec-evil"
refused "bob does not see alice's file" "$B" "test ! -e /usr/bin/jsbsec-evil && echo none"

# 2. the host's files bound into the container are read-only
attack "resolv.conf (the host's, bound) cannot be written" "$A" sudo write /etc/resolv.conf
attack "/etc/hosts (the host's, bound) cannot be written" "$A" sudo write /etc/hosts
# 3. the image mount itself: remounting / or the lower layer read-write
attack "the root cannot be remounted (mount refused)" "$A" sudo mount /usr
# 4. kernel tunables and sysrq
attack "/proc/sys cannot be written (kernel.sysrq)" "$A" sudo write /proc/sys/kernel/sysrq
attack "/proc/sysrq-trigger cannot be written" "$A" sudo write /proc/sysrq-trigger h
attack "/sys cannot be written (a device attribute)" "$A" sudo write /sys/kernel/mm/transparent_hugepage/enabled
finish
