#!/bin/bash
# Fixture clean-up: everything setup.sh and the tests made, except the
# cached image.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || exit 0
for u in jsbt_alice jsbt_bob jsbt_admin jsbt_carol; do
	id "$u" >/dev/null 2>&1 && "$JSB_CTL" stop "$u" >/dev/null 2>&1
done
stop_sshd
for u in jsbt_alice jsbt_bob jsbt_admin jsbt_carol; do remove_user "$u"; done
stop_syslog
# Nothing may be left behind: no init, no cgroup, no runtime file.
left=$(pgrep -f jsandbox-init | wc -l)
check "no container init left" [ "$left" = 0 ]
check "no user cgroup left" sh -c '! ls -d /sys/fs/cgroup/*/jsandbox/jsbt_* 2>/dev/null | grep -q .'
check "no runtime dir left" sh -c "! ls '$JSB_RUN/run' 2>/dev/null | grep -qv '^lock$'"
rm -rf "$JSB_RUN/state" "$JSB_RUN/run"
finish
