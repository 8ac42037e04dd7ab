#!/bin/bash
# Issue 9 part 3: the module fails closed when jsandbox-root cannot answer.
# With the helper missing, exiting without an answer, crashing, or writing
# a short answer, a sandboxed user gets no shell at all (the account phase
# refuses the login; a syslog line says why), the exempt admin is refused too (without
# the helper nothing can tell exempt from sandboxed), and root logs in as
# always: uid 0 never needs the helper. The real helper back, alice logs in.
. "$(dirname "$0")/lib_sec.sh"
H=$JSB_PREFIX/libexec/jsandbox/jsandbox-root
T=$SEC/t72
rm -rf "$T" && install -d -m 0755 "$T"
cp -a "$H" "$T/jsandbox-root.real"
host_init=$(cat /proc/1/comm)
probe='echo "in:$(cat /proc/1/comm)"'
cleanup() {
	install -m 0700 "$T/jsandbox-root.real" "$H"
	rm -f "$JSB_RUN/keys/root"
	stop_all
}
trap cleanup EXIT
install -m 0644 "$JSB_RUN/keys/id_jsbt_admin.pub" "$JSB_RUN/keys/root"
stop_all

as_root() { tm 60 ssh -F "$JSB_RUN/ssh_config" -i "$JSB_RUN/keys/id_jsbt_admin" -l root jsbtest "$probe" 2>&1; }

# broken WHAT SYSLOG-PATTERN: alice and the admin refused, root in
broken() {
	local what=$1 pat=$2 before out rc
	before=$(wc -l <"$JSB_RUN/syslog")
	out=$(tm 60 jssh "$A" "$probe" 2>&1)
	rc=$?
	check "$what: alice gets no shell at all ($(oneline "$out"))" sh -c "! echo '$out' | grep -q '^in:'"
	check "$what: her login fails (rc $rc)" [ "$rc" != 0 ]
	check "$what: syslog says why" sh -c "tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -q '$pat'"
	out=$(tm 60 jssh jsbt_admin "$probe" 2>&1)
	check "$what: the exempt admin is refused too ($(oneline "$out"))" sh -c "! echo '$out' | grep -q '^in:'"
	out=$(as_root)
	check "$what: root logs in to the host ($(oneline "$out"))" [ "$out" = "in:$host_init" ]
	check "$what: no container was made" sh -c "! ls '$JSB_RUN/run/$(id -u "$A")/state' 2>/dev/null"
}

rm -f "$H"
broken "helper missing" "jsandbox-root is missing"
printf '#!/bin/sh\nexit 0\n' >"$H"
chmod 0700 "$H"
broken "helper exits without an answer" "no valid answer from"
printf '#!/bin/sh\nkill -SEGV $$\n' >"$H"
broken "helper crashes" "no valid answer from"
printf '#!/bin/sh\nprintf garbage >&3\n' >"$H"
broken "helper writes a short answer" "no valid answer from"
install -m 0700 "$T/jsandbox-root.real" "$H"
chmod 0777 "$H"
broken "helper writable by others" "not a root-owned file writable only by root"
chmod 0700 "$H"
out=$(tm 60 jssh "$A" "$probe" 2>&1)
check "the real helper back: alice logs in to her container ($(oneline "$out"))" [ "$out" = "in:jsandbox-init" ]
out=$(tm 60 jssh jsbt_admin "$probe" 2>&1)
check "and the admin to the host" [ "$out" = "in:$host_init" ]
finish
