#!/bin/bash
# Behaviour 7: INSTALL.md's wiring with the ForceCommand inside the Match
# block for sandboxed accounts. A sandboxed user's commands, shell and sftp
# still land in the container; an exempt user logs in as through a plain
# sshd (no ForceCommand, no jsandbox-shell on the way); `jsandboxctl check`
# accepts the file, and names a sandboxed user the Match block misses.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
E=jsbt_admin
T=$(mktemp -d "$JSB_RUN/t07.XXXXXX")
cleanup() {
	[ -s "$T/sshd.pid" ] && kill "$(cat "$T/sshd.pid")" 2>/dev/null
	"$JSB_CTL" stop $A >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

match_block() { # USERS
	printf 'Match User %s\n\tForceCommand %s\n\tX11Forwarding no\n\tAllowStreamLocalForwarding no\n\tPermitTunnel no\n' \
		"$1" "$JSB_SHELL"
}
match_block "*,!$E,!root" | JSB_EXTRA_NO_FORCECOMMAND=1 start_extra_sshd "$T" ||
	{ echo "FAIL: second sshd: $(tail -3 "$T/sshd.log")"; exit 1; }
port=$(cat "$T/port")
check "the file has no ForceCommand outside the Match block" \
	sh -c "! sed '/^Match /,\$d' '$T/sshd_config' | grep -q ForceCommand"
# m USER ARGS...: ssh to this sshd (a program, for tm)
cat >"$T/m" <<EOF
#!/bin/sh
u=\$1
shift
exec ssh -F "$JSB_RUN/ssh_config" -p "$port" -i "$JSB_RUN/keys/id_\$u" -l "\$u" jsbtest "\$@"
EOF
chmod 0755 "$T/m"

# --- the sandboxed user: inside, for commands, the shell and sftp ----------
out=$(tm 120 "$T/m" $A 'cat /proc/1/comm; echo "orig=${SSH_ORIGINAL_COMMAND+set}"' </dev/null 2>&1)
check "alice's command runs in her container ($(oneline "$out"))" [ "$(echo "$out" | head -1)" = jsandbox-init ]
check "through the ForceCommand (SSH_ORIGINAL_COMMAND is set)" sh -c "echo '$out' | grep -qx orig=set"
out=$(printf 'cat /proc/1/comm\nexit\n' | tm 120 "$T/m" $A 2>&1)
check "alice's shell (no command) runs in her container ($(oneline "$out"))" sh -c "echo '$out' | grep -qx jsandbox-init"
tm 120 "$T/m" $A 'sudo -n sh -c "echo inside > /jsbt-t07-marker"' </dev/null >/dev/null 2>&1
printf 'get /jsbt-t07-marker %s/got\n' "$T" >"$T/batch"
tm 120 sftp -q -F "$JSB_RUN/ssh_config" -P "$port" -i "$JSB_RUN/keys/id_$A" -o User=$A -b "$T/batch" jsbtest \
	>"$T/sftp.out" 2>&1
check "alice's sftp serves her container's files ($(oneline "$(cat "$T/sftp.out")"))" \
	[ "$(cat "$T/got" 2>/dev/null)" = inside ]
check "the host has no such file" [ ! -e /jsbt-t07-marker ]

# --- the exempt user: a plain login ------------------------------------------
out=$(tm 120 "$T/m" $E 'echo "orig=${SSH_ORIGINAL_COMMAND-unset}"; cat /proc/$PPID/comm; cat /proc/1/comm' \
	</dev/null 2>&1)
check "the exempt user gets no ForceCommand ($(oneline "$out"))" sh -c "echo '$out' | grep -qx orig=unset"
check "and runs on the host (PID 1 is the host's: $(oneline "$out"))" \
	sh -c "[ \"\$(echo '$out' | tail -1)\" = '$(cat /proc/1/comm)' ]"
check "nothing of jsandbox's ran for the exempt login ($(oneline "$out"))" sh -c "! echo '$out' | grep -q jsandbox"

# --- jsandboxctl check judges the wiring per sandboxed user ---------------
"$JSB_CTL" check --pam-file "/etc/pam.d/$SVC" --sshd-config "$T/sshd_config" >"$T/check.out" 2>&1
check "jsandboxctl check finds the ForceCommand for every sandboxed user ($(oneline "$(grep -i forcecommand "$T/check.out")"))" \
	sh -c "! grep -qi forcecommand '$T/check.out'"
check "and no unsafe setting for them ($(oneline "$(grep -i 'sshd ' "$T/check.out")"))" \
	sh -c "! grep -q '^.*sshd $T/sshd_config' '$T/check.out'"
sed -i "s/^Match User .*/Match User *,!$E,!root,!$A/" "$T/sshd_config"
"$JSB_CTL" check --pam-file "/etc/pam.d/$SVC" --sshd-config "$T/sshd_config" >"$T/check2.out" 2>&1
rc=$?
check "a Match block that misses a sandboxed user fails check (rc $rc)" [ "$rc" != 0 ]
check "and names the missing ForceCommand ($(oneline "$(grep -i forcecommand "$T/check2.out" | head -1)"))" \
	grep -qi "user $A.*ForceCommand is none" "$T/check2.out"
finish
