#!/bin/bash
# First of the security suite: the host's fingerprint before any attack
# (t_99_host_unchanged compares against it at the end).
. "$(dirname "$0")/lib_sec.sh"
host_fingerprint "$SEC/before"
check "fingerprint of /etc, /usr and the base image taken ($(wc -l <"$SEC/before") entries)" \
	sh -c "[ \$(wc -l <'$SEC/before') -gt 1000 ]"
check "the base image is in it" grep -q "$JSB_CACHE/images/jsbtest/usr/bin/env" "$SEC/before"
give_tool "$A" "$B"
check "the attack tool is in place" test -x "$(home_of "$A")/jsb-attack"
finish
