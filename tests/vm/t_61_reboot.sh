# shellcheck shell=bash
# t_61 (VM lane, sourced by run-lane.sh): a reboot with a container
# running comes back clean. The shutdown finishes (systemd stops the
# logins and what they hold without waiting out its stop timeouts), and
# after the boot: no container, cgroup or run-time state of before is left,
# jsandboxctl check is content, the user logs in again into a fresh
# container whose layer kept what they installed.

hold=$WORK/t61-hold.out
: >"$hold"
ussh 'echo ready; exec sleep 600' >"$hold" 2>&1 &
t61_hold=$!
t0=$SECONDS
until grep -q ready "$hold" || ((SECONDS - t0 > 60)); do sleep 1; done
check "t_61: a container runs before the reboot" \
	vm_ssh "jsandboxctl status $USER_A | grep -qw running && ussh_marker=\$(cat /var/lib/jsandbox/users/$USER_A/upper/etc/jsbvm-marker) && [ \"\$ussh_marker\" = from-inside ]"
old_boot=$(vm_ssh 'cat /proc/sys/kernel/random/boot_id')
if vm_reboot; then
	wait "$t61_hold" 2>/dev/null
	new_boot=$(vm_ssh 'cat /proc/sys/kernel/random/boot_id')
	check "t_61: the guest rebooted (shutdown took ${VM_SHUTDOWN_S}s, boot ${VM_BOOT_S}s)" \
		test -n "$new_boot" -a "$new_boot" != "$old_boot"
	# systemd's default stop timeout is 90 s: a shutdown that waited on a
	# login or a container that would not stop takes longer than that.
	check "t_61: the shutdown did not wait out a stop timeout (${VM_SHUTDOWN_S}s < 90s)" [ "$VM_SHUTDOWN_S" -lt 90 ]
	vm_ssh "journalctl -b -1 -q --no-pager | grep -Ei 'jsandbox|timed out|killing' | tail -8" 2>&1 | sed 's/^/#   previous boot: /'
	check "t_61: after the boot no container, cgroup or run-time state is left" \
		vm_ssh "! pgrep -x jsandbox-init && [ -z \"\$(ls -A /run/jsandbox 2>/dev/null)\" ] &&
			[ -z \"\$(find /sys/fs/cgroup -name '$USER_A' -o -name 'jsandbox-*.scope' | head -1)\" ] &&
			! jsandboxctl status $USER_A | grep -qw running"
	check "t_61: jsandboxctl check is content after the reboot" vm_ssh "jsandboxctl check >/dev/null 2>&1"
	check "t_61: the user logs in again, what they installed is still there" \
		[ "$(ussh cat /etc/jsbvm-marker 2>/dev/null)" = from-inside ]
else
	not_ok "t_61: the guest did not come back from its reboot"
	kill "$t61_hold" 2>/dev/null
	wait "$t61_hold" 2>/dev/null
	exit 1
fi
