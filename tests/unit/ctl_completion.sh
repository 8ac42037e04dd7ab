#!/bin/bash
# SPDX-License-Identifier: MIT
# The bash completion of jsandboxctl (ctl/jsandboxctl.bash-completion),
# driven as bash drives it: COMP_WORDS/COMP_CWORD set, the function
# called, COMPREPLY read back.
#   - commands: exactly those of the built jsandboxctl's --help, plus help;
#   - each command's options as its --help lists them;
#   - users: the accounts database is a fixed passwd/group (getent is a
#     function here), so which user goes with which command is checked
#     exactly: sandboxed users (login shell jsandbox-shell) for
#     stop/reset/du/apply/status/disable, regular accounts for policy,
#     not-yet-sandboxed accounts and @groups for enable, no system ones;
#   - images: whatever `PROG image list --names` prints (PROG is the
#     program word, a function here; the end-to-end test t_50 runs the
#     real one against real images).
# Usage: ctl_completion.sh SCRIPT JSANDBOXCTL
set -u
export LC_ALL=C
script=$1
ctl=$2
fail=0
check() { # DESC WANT GOT
	if [ "$2" = "$3" ]; then echo "ok   $1"; else
		echo "FAIL $1: want [$2] got [$3]"
		fail=1
	fi
}

# shellcheck disable=SC2317 # called by the completion functions
getent() {
	case $1 in
	passwd)
		printf '%s\n' 'root:x:0:0:root:/root:/bin/bash' \
			'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin' \
			'alice:x:1001:1001::/home/alice:/usr/libexec/jsandbox/jsandbox-shell' \
			'bob:x:1002:1002::/home/bob:/usr/local/libexec/jsandbox/jsandbox-shell' \
			'carol:x:1003:1003::/home/carol:/bin/bash' \
			'sysacct:x:999:999::/:/usr/lib/jsandbox-shell-not' \
			'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin'
		;;
	group) printf '%s\n' 'root:x:0:' 'users:x:100:' 'students:x:1500:alice,carol' 'gpu:x:1501:bob' ;;
	*) return 2 ;;
	esac
}
# shellcheck disable=SC2317 # called by the completion function as the program
fakectl() {
	[ "$*" = "image list --names" ] && printf '%s\n' default trixie cuda-12
}

# shellcheck source=../../ctl/jsandboxctl.bash-completion
. "$script"
check "the script registers _jsandboxctl for jsandboxctl" "complete -F _jsandboxctl jsandboxctl" \
	"$(complete -p jsandboxctl)"

comp() { # PROG WORD... (the last one is being completed): sorted COMPREPLY
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_jsandboxctl
	printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd' '
}

cmds=$("$ctl" --help | sed -n '/^Commands:/,/^$/{/^  [a-z]/s/^  \([a-z]*\) .*/\1/p}')
want=$(printf '%s\nhelp\n' "$cmds" | sort | paste -sd' ')
check "commands: those of --help, and help" "$want" "$(comp jsandboxctl '')"
check "commands by prefix" "stop status" "$(comp jsandboxctl st | tr ' ' '\n' | sort -r | paste -sd' ')"
check "global options" "--help --version -V" "$(comp jsandboxctl -)"
check "help COMMAND" "disable du" "$(comp jsandboxctl help d)"

# Each command's options: what its own --help names (the image command's
# options belong to its sub-commands, checked below).
for c in check status gpus apply disable rebase; do
	opts=$("$ctl" "$c" --help | grep -o -- '--[a-z][a-z-]*' | sort -u)
	got=$(comp jsandboxctl "$c" -- | tr ' ' '\n' | grep -v '^--help$' | sort -u)
	check "$c's options are those of its --help" "$(paste -sd' ' <<<"$opts")" "$(paste -sd' ' <<<"$got")"
done
check "image sub-commands" "--help build import list remove update" "$(comp jsandboxctl image '')"
check "image build options" "--help --include --mirror --replace --suite" "$(comp jsandboxctl image build x --)"
check "image list options" "--help --json --names" "$(comp jsandboxctl image list -)"
check "image update options" "--help --rebuild" "$(comp jsandboxctl image update x --)"

for c in stop reset rebase du apply status disable; do
	extra=
	[ "$c" = disable ] && extra="@gpu @students "
	check "$c USER: the sandboxed users" "${extra}alice bob" "$(comp jsandboxctl "$c" '')"
done
check "stop takes one USER" "" "$(comp jsandboxctl stop alice '')"
check "policy USER: the regular accounts" "alice bob carol" "$(comp jsandboxctl policy '')"
check "enable: accounts not sandboxed yet, and groups" "@gpu @students carol" "$(comp jsandboxctl enable '')"
check "enable @: the groups" "@gpu @students" "$(comp jsandboxctl enable @)"
check "a user prefix" "bob" "$(comp jsandboxctl reset b)"

check "image remove NAME: the images" "cuda-12 default trixie" "$(comp fakectl image remove '')"
check "image build NAME: the images" "trixie" "$(comp fakectl image build t)"
check "image import NAME: the images" "cuda-12" "$(comp fakectl image import c)"
check "image update NAME: the images" "default" "$(comp fakectl image update d)"
check "no image names when the program lists none" "" "$(comp jsandboxctl-absent image remove '')"
exit "$fail"
