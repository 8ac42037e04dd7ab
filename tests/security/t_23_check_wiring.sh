#!/bin/bash
# Issue 10 items 0 and 4: jsandboxctl check names every unsafe piece of the
# sshd and PAM wiring for sandboxed users, and passes the documented one
# (the harness's: Debian's stock PAM stack with INSTALL.md's jsandbox
# lines, Debian's sshd defaults with INSTALL.md's Match block).
. "$(dirname "$0")/lib_sec.sh"
T=$SEC/t23
rm -rf "$T" && install -d -m 0755 "$T"
PAMF=/etc/pam.d/$SVC
CONF=$JSB_RUN/sshd_config
# wiring PAM-FILE SSHD-CONFIG: check's lines about the wiring
wiring() { "$JSB_CTL" check --pam-file "$1" --sshd-config "$2" 2>&1 | grep -E '^(PAM|sshd) '; }
says() { # DESCRIPTION PAM SSHD PATTERN
	local out
	out=$(wiring "$2" "$3")
	if printf '%s\n' "$out" | grep -Eq -- "$4"; then ok "$1"; else not_ok "$1 [${out:-no wiring problem}]"; fi
}

out=$(wiring "$PAMF" "$CONF")
check "the documented wiring has no problem [${out}]" [ -z "$out" ]
check "check without its options reads the system's files (and says which)" \
	sh -c "'$JSB_CTL' check 2>&1 | grep -Eq '^(PAM /etc/pam.d/sshd|sshd /etc/ssh/sshd_config)' || grep -q pam_jsandbox /etc/pam.d/sshd"
"$JSB_CTL" check --pam-file >/dev/null 2>&1
check "an option without its value is a usage error" [ $? = 2 ]

# --- the PAM stack ------------------------------------------------------------
pam_variant() { # NAME SED-SCRIPT
	sed -e "$2" "$PAMF" >"$T/pam-$1"
	echo "$T/pam-$1"
}
says "no auth line: named" "$(pam_variant noauth '/^auth .*pam_jsandbox/d')" "$CONF" \
	"no \"auth optional pam_jsandbox.so\" line"
says "no auth line, pam_env user_readenv=1 after the session line: named" "$T/pam-noauth" "$CONF" \
	"pam-noauth:[0-9]+: pam_env with user_readenv=1 runs after pam_jsandbox's session line"
f=$(pam_variant authlate '/^auth .*pam_jsandbox/d; /^@include common-auth/a auth optional '"$JSB_PAM")
says "an auth line that is not first: named" "$f" "$CONF" "pam-authlate:[0-9]+: .*is not the first auth line"
f=$(pam_variant sessopt 's/^session *required *\(.*pam_jsandbox.so\)/session optional \1/')
says "an optional session line: named" "$f" "$CONF" "pam-sessopt:[0-9]+: the session line is \"optional\""
f=$(pam_variant noacct '/^account .*pam_jsandbox/d')
says "no account line: named" "$f" "$CONF" "no \"account required pam_jsandbox.so\" line"
f=$(pam_variant nosess '/^session .*pam_jsandbox/d')
says "no session line: named" "$f" "$CONF" "no \"session required pam_jsandbox.so\" line"
f=$(pam_variant authenv '/^@include common-auth/a auth required pam_env.so user_readenv=1')
says "pam_env reading user files in the auth stack: named" "$f" "$CONF" \
	"pam-authenv:[0-9]+: pam_env with user_readenv=1 in the auth stack"
printf '@include %s\n' "$T/pam-nosess" >"$T/pam-inc"
says "includes are followed" "$T/pam-inc" "$CONF" "PAM $T/pam-inc: no \"session required pam_jsandbox.so\""
says "an unreadable PAM file: named" "$T/no-such-file" "$CONF" "PAM $T/no-such-file: No such file"

# --- sshd's effective configuration, per sandboxed user ---------------------
sshd_variant() { # NAME SED-SCRIPT [EXTRA-LINE]
	sed -e "$2" "$CONF" >"$T/sshd-$1"
	[ -n "${3:-}" ] && sed -i "/^Match /i $3" "$T/sshd-$1"
	echo "$T/sshd-$1"
}
f=$(sshd_variant nomatch '/^Match /,$d')
says "no Match block: X11Forwarding named for a sandboxed user" "$PAMF" "$f" \
	"sshd $f \\(users? [^)]*\\): X11Forwarding yes"
says "no Match block: AllowStreamLocalForwarding named" "$PAMF" "$f" "AllowStreamLocalForwarding yes"
out=$(wiring "$PAMF" "$f")
check "the exempt host account is not judged" sh -c "! printf '%s' '$out' | grep -q jsbt_admin"
f=$(sshd_variant userenv '' 'PermitUserEnvironment yes')
says "PermitUserEnvironment yes: named (~/.ssh/environment)" "$PAMF" "$f" "PermitUserEnvironment yes: ~/.ssh/environment"
f=$(sshd_variant acceptall 's/^AcceptEnv .*/AcceptEnv LANG LC_* LD_*/')
says "AcceptEnv beyond the locale: named" "$PAMF" "$f" "AcceptEnv LD_\\*"
f=$(sshd_variant noforce '/^ForceCommand /d')
says "no ForceCommand: named" "$PAMF" "$f" "ForceCommand is none, not .*jsandbox-shell"
f=$(sshd_variant tunnel '/^Match /,$ s/^\tPermitTunnel no/\tPermitTunnel yes/')
says "PermitTunnel yes: named" "$PAMF" "$f" "PermitTunnel yes"
f=$(sshd_variant nopam 's/^UsePAM yes/UsePAM no/')
says "UsePAM no: named" "$PAMF" "$f" "UsePAM no: pam_jsandbox never runs"
printf 'Port 22\nBogusKeyword yes\n' >"$T/sshd-bad"
says "a configuration sshd refuses: named" "$PAMF" "$T/sshd-bad" "sshd $T/sshd-bad: .*printed no configuration"
works "a sandboxed login still works" "$A" 'test "$(cat /proc/1/comm)" = jsandbox-init'
finish
