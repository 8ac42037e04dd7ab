#!/bin/bash
# What a sandboxed user sees, and what the admin sees of them:
#   - an interactive login (a terminal, no command) prints the banner: the
#     policy's memory and process limits, GPUs, that sudo is private, the
#     [global] help_contact; banner = no turns it off;
#   - a command (with or without -t), sftp and scp get no banner and work;
#   - a refused login says what failed and whom to contact (help_contact),
#     nothing of the admin's files, while syslog has the precise reason;
#   - `sudo true` inside is one line in the host's syslog tagged
#     jsandbox[user=NAME] with sudo's COMMAND=, relayed by a process that
#     runs as nobody in the user's cgroup and ends with the container;
#   - the installed jsandboxctl: -V, a command's --help, jsandbox(7), and the
#     installed bash completion completing the real sandboxed users and the
#     real image names.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
B=jsbt_bob
CONTACT="Ops team, ops@example.org, room 2.14"
T=$(mktemp -d "$JSB_RUN/t50.XXXXXX")
trap '"$JSB_CTL" stop $A >/dev/null 2>&1; "$JSB_CTL" stop $B >/dev/null 2>&1; write_config ""; rm -rf "$T"' EXIT
before=$(wc -l <"$JSB_RUN/syslog")
# logged ERE: a syslog line since the test began matches
logged() { tail -n +"$((before + 1))" "$JSB_RUN/syslog" | grep -Eq -- "$1"; }
has() { grep -Fq -- "$2" "$T/$1"; }

# config EXTRA: the harness's config with help_contact in [global]
config() {
	write_config "$1"
	sed -i "/^\[global\]/a help_contact = \"$CONTACT\"" "$JSB_CONF"
}
# alice lingers: her container (and its relay) outlive each login
config "[user:$A]
memory_max = 2G
pids_max = 500
linger = yes
[user:$B]
banner = no"
"$JSB_CTL" stop $A >/dev/null 2>&1
"$JSB_CTL" stop $B >/dev/null 2>&1
"$JSB_CTL" check --file "$JSB_CONF" 2>&1 | grep -q "help_contact\|banner" &&
	not_ok "check reports a problem with help_contact or banner: $("$JSB_CTL" check --file "$JSB_CONF" 2>&1 | grep 'help_contact\|banner')"

# --- the banner ------------------------------------------------------------
# An interactive login on a terminal: ssh -tt, no command, the shell reads
# its commands from the pty.
printf 'echo MARK$((6*7))\nexit\n' | tm 60 jssh $A -tt >"$T/login" 2>&1
check "the interactive login ran its shell (MARK42)" has login MARK42
check "it prints the banner" has login "jsandbox: you are in your own container on"
check "with alice's memory and process limits" has login "memory 2G, processes 500, GPUs none"
check "saying sudo is private" has login "sudo is root in this container only"
check "and whom to ask (help_contact)" has login "Help: $CONTACT"
check "the banner comes before the shell's output" \
	[ "$(grep -n 'you are in your own container' "$T/login" | cut -d: -f1 | head -1)" -lt "$(grep -n MARK42 "$T/login" | cut -d: -f1 | tail -1)" ]

tm 60 jssh $A 'echo cmd-out' >"$T/cmd" 2>&1
check "a command gets no banner: its output is exactly its own ($(oneline "$(cat "$T/cmd")"))" \
	[ "$(cat "$T/cmd")" = cmd-out ]
tm 60 jssh $A -tt 'echo tty-out' >"$T/cmdtty" 2>&1
check "a command on a terminal (-t) gets no banner ($(oneline "$(tr -d '\r' <"$T/cmdtty")"))" \
	[ "$(tr -d '\r' <"$T/cmdtty")" = tty-out ]
echo "sftp-payload" >"$T/up"
printf 'put %s up.t50\nget up.t50 %s\n' "$T/up" "$T/down" | tm 60 jsftp $A -b - >"$T/sftp" 2>&1
check "sftp works, untouched by any banner ($(oneline "$(tail -2 "$T/sftp")"))" cmp -s "$T/up" "$T/down"
tm 60 jscp $A "$T/up" "$A@jsbtest:scp.t50" >"$T/scp" 2>&1 && tm 60 jscp $A "$A@jsbtest:scp.t50" "$T/down2" >>"$T/scp" 2>&1
check "scp works both ways ($(oneline "$(cat "$T/scp")"))" cmp -s "$T/up" "$T/down2"
check "neither sftp nor scp printed a banner" sh -c '! grep -q "own container" "$1" "$2"' _ "$T/sftp" "$T/scp"

printf 'echo MARK$((6*7))\nexit\n' | tm 60 jssh $B -tt >"$T/bob" 2>&1
check "banner = no: bob's interactive login has none ($(oneline "$(tr -d '\r' <"$T/bob" | head -3)"))" \
	sh -c 'grep -q MARK42 "$1" && ! grep -q "own container" "$1"' _ "$T/bob"

# --- sudo logs to the host ---------------------------------------------------
tm 60 jssh $A 'sudo -n true && echo sudo-ok' >"$T/sudo" 2>&1
check "sudo true inside works ($(oneline "$(cat "$T/sudo")"))" has sudo sudo-ok
check "the host's syslog has it, tagged with the user and sudo's command" \
	wait_for 100 logged "jsandbox\[user=$A\]: +sudo: +$A : .*COMMAND=/usr/bin/true"
check "and the tag is the line's own (nothing before it but the header)" \
	wait_for 10 logged "^<[0-9]+>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} jsandbox\[user=$A\]: "
# The relay: one per container, nobody, in the user's cgroup.
relay_of() { # USER: pids of the relays for USER
	local p
	for p in $(pgrep -x jsandbox-logrel); do
		[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" = "jsandbox-logrelay $1 " ] && echo "$p"
	done
}
relays=$(relay_of $A)
check "one relay for alice's container ($(oneline "$relays"))" [ "$(echo "$relays" | grep -c .)" = 1 ]
r=$(echo "$relays" | head -1)
check "it runs as nobody ($(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$r/status" 2>/dev/null))" \
	[ "$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$r/status" 2>/dev/null)" = 65534655346553465534 ]
check "with no capabilities and no new privileges" \
	sh -c 'grep -q "^CapEff:[[:space:]]*0*$" "$1" && grep -q "^NoNewPrivs:[[:space:]]*1" "$1"' _ "/proc/$r/status"
check "in alice's cgroup ($(oneline "$(head -3 "/proc/$r/cgroup" 2>/dev/null)"))" \
	grep -q "/jsandbox/$A\(/\|$\)\|jsandbox-$(id -u $A)\.scope" "/proc/$r/cgroup"
"$JSB_CTL" stop $A >/dev/null 2>&1
# gone, or a zombie its new parent has not reaped yet
relay_gone() { [ ! -e "/proc/$r" ] || grep -q '^State:[[:space:]]*Z' "/proc/$r/status" 2>/dev/null; }
check "the relay ends with the container" wait_for 50 relay_gone

# --- a refused login says whom to contact ------------------------------------
config "[user:$A]
image = no-such-image-t50"
tm 60 jssh $A 'echo in:' >"$T/refused" 2>&1
check "the refused login gets no shell ($(oneline "$(cat "$T/refused")"))" sh -c '! grep -q "^in:" "$1"' _ "$T/refused"
check "it is told whom to contact" has refused "jsandbox: your container could not be started. For help, contact $CONTACT."
check "and nothing of the admin's files or settings" sh -c '! grep -Eq "no-such-image|images_dir|/var/|PAM|pam_" "$1"' _ "$T/refused"
check "syslog has the precise reason" wait_for 50 logged "event=login-refused .*no-such-image-t50"
config "[user:$A]
memory_max = bogus"
tm 60 jssh $A 'echo in:' >"$T/unusable" 2>&1
check "a policy unusable for the user: whom to contact ($(oneline "$(cat "$T/unusable")"))" \
	has unusable "For help, contact $CONTACT."
config ""

# --- the installed CLI --------------------------------------------------------
check "jsandboxctl -V ($("$JSB_CTL" -V))" sh -c '"$1" -V | grep -Eqx "jsandboxctl [0-9]+\.[0-9]+\.[0-9]+"' _ "$JSB_CTL"
check "jsandboxctl stop --help is stop's own" sh -c '"$1" stop --help | grep -qx "  jsandboxctl stop USER"' _ "$JSB_CTL"
man7=$(find "$JSB_PREFIX/share/man/man7" -name 'jsandbox.7*' 2>/dev/null | head -1)
check "jsandbox(7) is installed ($man7)" [ -n "$man7" ]
comp=$JSB_PREFIX/share/bash-completion/completions/jsandboxctl
check "the bash completion is installed ($comp)" [ -f "$comp" ]
complete_words() { # WORD... (the last one is completed)
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _jsandboxctl; printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$comp" "$JSB_CTL" "$@"
}
users=$(complete_words stop '')
check "stop USER completes the sandboxed test users ($(oneline "$users"))" \
	sh -c 'printf "%s\n" "$1" | grep -qx jsbt_alice && printf "%s\n" "$1" | grep -qx jsbt_bob' _ "$users"
check "and not the exempt admin (host shell)" sh -c '! printf "%s\n" "$1" | grep -qx jsbt_admin' _ "$users"
images=$(complete_words image remove '')
check "image remove NAME completes the real images ($(oneline "$images"))" \
	sh -c 'printf "%s\n" "$1" | grep -qx jsbtest' _ "$images"
check "the same names as image list --names" [ "$images" = "$("$JSB_CTL" image list --names)" ]
finish
