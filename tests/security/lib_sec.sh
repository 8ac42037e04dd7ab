# shellcheck shell=bash
# Shared by the security suite: the end-to-end set-up (tests/e2e/lib.sh:
# private sshd, users jsbt_alice and jsbt_bob, the cached image) plus the
# attack tool, built here from attack.c and copied into the attackers'
# homes. Every check passes only when the attack fails.
. "$(dirname "$0")/../e2e/lib.sh"
need_root
A=${JSB_USER_A:-jsbt_alice}
B=${JSB_USER_B:-jsbt_bob}
SEC=$JSB_RUN/sec
SEC_SRC=$(cd "$(dirname "$0")" && pwd)
install -d -m 0755 "$SEC"

home_of() { getent passwd "$1" | cut -d: -f6; }

# Build jsb-attack once per run; copy it into USER's home as ~/jsb-attack.
give_tool() { # USER...
	if [ ! -x "$SEC/jsb-attack" ] || [ "$SEC_SRC/attack.c" -nt "$SEC/jsb-attack" ] || [ "$SEC_SRC/probe.h" -nt "$SEC/jsb-attack" ]; then
		command -v gcc >/dev/null || skip "gcc is not installed"
		gcc -static -O1 -o "$SEC/jsb-attack" "$SEC_SRC/attack.c" || {
			echo "FAIL: cannot build the attack tool"
			exit 1
		}
	fi
	local u
	for u in "$@"; do
		install -o "$u" -g "$(id -gn "$u")" -m 0755 "$SEC/jsb-attack" "$(home_of "$u")/jsb-attack"
	done
}

# refused DESCRIPTION USER REMOTE-COMMAND: the command (an attack tool run,
# usually) must exit 0, which the tool does only when the attack failed.
# A command that uses sudo -n first proves that sudo makes it root inside:
# otherwise a loop whose every sudo fails would pass, having found nothing.
refused() {
	local d=$1 u=$2 cmd=$3 out rc
	case $cmd in
	*"sudo -n"*) cmd="[ \"\$(sudo -n id -u)\" = 0 ] || { echo 'FAIL: sudo -n is not root inside'; exit 99; }
$cmd" ;;
	esac
	out=$(tm 120 jssh "$u" "$cmd" 2>&1)
	rc=$?
	if [ "$rc" = 0 ]; then ok "$d [$(echo "$out" | tail -1)]"; else not_ok "$d (rc $rc) [$out]"; fi
}

# works DESCRIPTION USER REMOTE-COMMAND: a control that must succeed (a
# policy that allows something, a login that must still work).
works() {
	local d=$1 u=$2 cmd=$3 out rc
	out=$(tm 120 jssh "$u" "$cmd" 2>&1)
	rc=$?
	if [ "$rc" = 0 ]; then ok "$d"; else not_ok "$d (rc $rc) [$out]"; fi
}

# attack DESCRIPTION USER [sudo] ATTACK ARGS...: jsb-attack in USER's
# container, as the user or as root inside (sudo).
attack() {
	local d=$1 u=$2
	shift 2
	local pre=
	if [ "$1" = sudo ]; then
		pre="sudo -n "
		shift
	fi
	refused "$d" "$u" "${pre}\$HOME/jsb-attack $*"
}

# attack_worked DESCRIPTION USER [sudo] ATTACK ARGS...: the tool must report
# that the operation went through (exit 1): the control for a policy key.
attack_worked() {
	local d=$1 u=$2
	shift 2
	local pre=
	if [ "$1" = sudo ]; then
		pre="sudo -n "
		shift
	fi
	local out rc
	out=$(tm 120 jssh "$u" "${pre}\$HOME/jsb-attack $*" 2>&1)
	rc=$?
	if [ "$rc" = 1 ]; then ok "$d [$(echo "$out" | tail -1)]"; else not_ok "$d (rc $rc) [$out]"; fi
}

stop_all() {
	"$JSB_CTL" stop "$A" >/dev/null 2>&1
	"$JSB_CTL" stop "$B" >/dev/null 2>&1
	return 0
}

# A fingerprint of the host: contents of /etc and of the base image, and
# every entry's metadata under /usr (8 GB of contents would take minutes;
# any write changes size, mtime or ctime-bearing metadata of some entry).
# Links are fingerprinted by their targets (%l), never followed: /etc/mtab
# and the image's dev/stdout point into /proc/self, whose contents are the
# reading process's.
host_fingerprint() { # OUT
	{
		find /etc "$JSB_CACHE/images/jsbtest" -xdev -type f -print0 2>/dev/null | sort -z |
			xargs -0 sha256sum 2>/dev/null
		find /etc "$JSB_CACHE/images/jsbtest" -xdev -printf '%p %y %m %U %G %l\n' 2>/dev/null | sort
		find /usr -xdev -printf '%p %y %m %U %G %s %T@ %l\n' 2>/dev/null | sort
	} >"$1"
}
