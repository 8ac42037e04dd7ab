#!/bin/bash
# SPDX-License-Identifier: MIT
# jsandboxctl's own help and version, as any user, without a configuration:
#   - every command's --help (and -h, and `help COMMAND`) prints that
#     command's usage, and only that command's, and exits 0;
#   - the global --help lists every command; an unknown command exits 2
#     and points at --help;
#   - -V and --version print the version the build was configured with.
# The command list is read from the global --help, so a command added
# later without its own help fails here.
# Usage: ctl_cli.sh JSANDBOXCTL VERSION
set -u
ctl=$1
version=$2
fail=0
check() { # DESC CMD...
	local d=$1
	shift
	if "$@"; then echo "ok   $d"; else
		echo "FAIL $d"
		fail=1
	fi
}

out=$("$ctl" --help)
rc=$?
check "--help exits 0" [ "$rc" = 0 ]
mapfile -t cmds < <(printf '%s\n' "$out" | sed -n '/^Commands:/,/^$/{/^  [a-z]/s/^  \([a-z]*\) .*/\1/p}')
check "--help lists the commands (${#cmds[@]})" [ "${#cmds[@]}" -ge 11 ]

for c in "${cmds[@]}"; do
	for form in "$c --help" "$c -h" "help $c"; do
		# shellcheck disable=SC2086 # form is two words on purpose
		o=$("$ctl" $form 2>&1)
		rc=$?
		check "'$form' exits 0 (rc $rc)" [ "$rc" = 0 ]
		check "'$form' prints its own usage line" grep -q "^  jsandboxctl $c\( \|$\)" <<<"$o"
		others=$(grep '^  jsandboxctl ' <<<"$o" | grep -vc "^  jsandboxctl $c\( \|$\)")
		check "'$form' prints no other command's usage ($others lines)" [ "$others" = 0 ]
		check "'$form' says who may run it" grep -q "may run it\. See jsandboxctl(8)\.$" <<<"$o"
	done
	# Each command's help differs from the global one and from the others'.
	"$ctl" "$c" --help >"${TMPDIR:-/tmp}/ctl_cli.$$.$c"
done
n=$(for c in "${cmds[@]}"; do md5sum <"${TMPDIR:-/tmp}/ctl_cli.$$.$c"; done | sort -u | wc -l)
rm -f "${TMPDIR:-/tmp}/ctl_cli.$$."*
check "every command's help is its own ($n distinct of ${#cmds[@]})" [ "$n" = "${#cmds[@]}" ]

# A sub-command's help comes before anything that needs root or a config.
o=$("$ctl" image build x --help 2>&1)
rc=$?
check "'image build x --help' exits 0 (rc $rc)" [ "$rc" = 0 ]
check "'image build x --help' is image's help" grep -q "^  jsandboxctl image build NAME" <<<"$o"

for v in -V --version; do
	o=$("$ctl" "$v")
	rc=$?
	check "$v exits 0 (rc $rc)" [ "$rc" = 0 ]
	check "$v prints 'jsandboxctl $version' ($o)" [ "$o" = "jsandboxctl $version" ]
done

o=$("$ctl" no-such-command 2>&1)
rc=$?
check "an unknown command exits 2 (rc $rc)" [ "$rc" = 2 ]
check "an unknown command points at --help" grep -q "Try 'jsandboxctl --help'" <<<"$o"
o=$("$ctl" check --bogus 2>&1)
rc=$?
check "a bad option exits 2 (rc $rc)" [ "$rc" = 2 ]
check "a bad option points at the command's --help" grep -q "Try 'jsandboxctl check --help'" <<<"$o"
o=$("$ctl" help no-such-command 2>&1)
rc=$?
check "help of an unknown command exits 2 (rc $rc)" [ "$rc" = 2 ]
exit "$fail"
