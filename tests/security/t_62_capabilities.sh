#!/bin/bash
# Issue 10 item 8: root inside keeps no more than rootless podman's default
# capabilities (CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID, SETUID,
# SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, SETFCAP); CAP_SYS_PTRACE is what
# let root inside trace PID 1 and rewrite the init (item 3). More only
# through capabilities_add, per user or group. The session's filter refuses
# modify_ldt, memfd_secret, process_vm_writev and personality flags beyond
# ADDR_NO_RANDOMIZE/UNAME26. Legitimate: sudo works (without AUDIT_WRITE),
# gdb's ways into one's own processes work. (sudo apt-get install and dpkg:
# e2e t_02_apt.) The relay's capabilities: t_60.
. "$(dirname "$0")/lib_sec.sh"
cleanup() {
	write_config
	stop_all
}
trap cleanup EXIT
if [ ! -x "$SEC/jsb-caps" ] || [ "$SEC_SRC/caps_probe.c" -nt "$SEC/jsb-caps" ] || [ "$SEC_SRC/probe.h" -nt "$SEC/jsb-caps" ]; then
	command -v gcc >/dev/null || skip "gcc is not installed"
	gcc -static -O1 -o "$SEC/jsb-caps" "$SEC_SRC/caps_probe.c" || {
		echo "FAIL: cannot build the probe"
		exit 1
	}
fi
for u in "$A" "$B"; do
	install -o "$u" -g "$(id -gn "$u")" -m 0755 "$SEC/jsb-caps" "$(home_of "$u")/jsb-caps"
done
PODMAN=00000000800405fb # bits 0 1 3 4 5 6 7 8 10 18 31
BND="sed -n 's/^CapBnd:\t//p' /proc/self/status"

stop_all
out=$(tm 60 jssh "$A" "$BND; sudo -n sh -c \"$BND\"" </dev/null 2>&1)
check "CapBnd of the user inside is podman's set ($(echo "$out" | tr '\n' ' '))" [ "$(echo "$out" | sed -n 1p)" = $PODMAN ]
check "CapBnd of root inside (sudo) is podman's set" [ "$(echo "$out" | sed -n 2p)" = $PODMAN ]
refused "root inside cannot attach to PID 1, open /proc/1/mem for writing or process_vm_writev it" "$A" \
	"sudo -n \$HOME/jsb-caps init"
refused "root inside cannot trace a process of another uid (no CAP_SYS_PTRACE)" "$A" \
	"sleep 300 & p=\$!; sudo -n \$HOME/jsb-caps other-uid \$p; r=\$?; kill \$p; exit \$r"
refused "the filter refuses modify_ldt, memfd_secret, personality(READ_IMPLIES_EXEC), process_vm_writev" "$A" \
	"\$HOME/jsb-caps seccomp"
refused "the same for root inside" "$A" "sudo -n \$HOME/jsb-caps seccomp"

# What must keep working.
works "sudo works without CAP_AUDIT_WRITE" "$A" "[ \"\$(sudo -n id -u)\" = 0 ] && sudo -n true"
works "dpkg as root inside (dpkg --audit, dpkg-query)" "$A" "sudo -n dpkg --audit && dpkg-query -W dpkg >/dev/null"
out=$(tm 60 jssh "$A" "\$HOME/jsb-caps gdb-own" </dev/null 2>&1)
rc=$?
if [ $rc = 1 ]; then ok "gdb's ways into one's own process work: $out"; else not_ok "debugging one's own process (rc $rc) [$out]"; fi
out=$(tm 60 jssh "$A" "sudo -n \$HOME/jsb-caps gdb-own" </dev/null 2>&1)
rc=$?
if [ $rc = 1 ]; then ok "the same as root inside on root's own process"; else not_ok "root debugging its own process (rc $rc) [$out]"; fi

# network = none: no Landlock domain (it scopes abstract sockets only for
# network = host), which on Linux 6.12+ also happens to keep the session
# from tracing PID 1. Without it only the init's non-dumpability and the
# missing CAP_SYS_PTRACE stand between root inside and PID 1.
write_config "[user:$A]
network = none"
stop_all
refused "network = none: root inside still cannot attach to PID 1 or open /proc/1/mem for writing" "$A" \
	"sudo -n \$HOME/jsb-caps init"
works "network = none: sudo still works" "$A" "[ \"\$(sudo -n id -u)\" = 0 ]"

# capabilities_add: what the admin adds appears, for that user only.
write_config "[user:$A]
capabilities_add = SYS_PTRACE"
stop_all
out=$(tm 60 jssh "$A" "sudo -n sh -c \"$BND\"" </dev/null 2>&1)
check "capabilities_add = SYS_PTRACE: root inside has podman's set plus SYS_PTRACE ($out)" [ "$out" = 00000000800c05fb ]
out=$(tm 60 jssh "$A" "sleep 300 & p=\$!; sudo -n \$HOME/jsb-caps other-uid \$p; r=\$?; kill \$p; exit \$r" </dev/null 2>&1)
rc=$?
if [ $rc = 1 ]; then ok "control: with it root inside traces the user's process"; else not_ok "control: SYS_PTRACE added (rc $rc) [$out]"; fi
out=$(tm 60 jssh "$B" "sudo -n sh -c \"$BND\"" </dev/null 2>&1)
check "bob, not in that section, keeps podman's set ($out)" [ "$out" = $PODMAN ]
finish
