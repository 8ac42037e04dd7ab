#!/bin/bash
# The steps of the package upgrade test (tests/package_upgrade.sh runs them
# between its dpkg -i calls, with JSB_INSTALLED=1 and the e2e fixture up):
#   start VERSION        package VERSION installed: alice's container starts
#                        and lingers
#   compatible OLD NEW   package NEW (same protocol) installed over OLD: the
#                        container OLD started runs on, a new login joins it
#   incompatible OLD NEW package NEW (another protocol) installed: the login
#                        is refused with the documented message, the old
#                        container is left alone; jsandboxctl stop ends it
#                        and the next login starts a NEW one
# Not a t_*.sh test: it needs the packages its caller installs.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
uid=$(id -u $A)
step=${1:?usage: upgrade_steps.sh start|compatible|incompatible VERSION [NEW]}
saved=$JSB_RUN/upgrade.init
logged() { tail -n +"$((before + 1))" "$JSB_RUN/syslog" | grep -Eq "$1"; }
not_logged() { ! logged "$1"; }
# A version as an ERE (package versions have "+" and ".").
re() { printf '%s' "$1" | sed 's/[.+~]/\\&/g'; }
# A pid that is gone or a zombie (the host's PID 1 reaps the init late).
gone() { [ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
running() { wait_for 100 container_pid $A >/dev/null; }

# json_check EXPR...: status --json of alice parsed; each python EXPR over
# the entry e and the document d must hold.
json_check() { status_json "$A" "$A" "$@"; }
# The protocol this tree speaks (root/proto.h).
proto=$(sed -n 's/^#define JS_PROTO_VERSION \([0-9]*\)u$/\1/p' "$(dirname "$0")/../../root/proto.h")

case $step in
start)
	v=${2:?}
	check "jsandboxctl reports the package's version $v" sh -c "'$JSB_CTL' --version | grep -qx 'jsandboxctl $v'"
	write_config "[user:$A]
linger = yes"
	"$JSB_CTL" stop $A >/dev/null 2>&1
	before=$(wc -l <"$JSB_RUN/syslog")
	check "alice logs in under $v" sh -c "timeout -k 5 60 jssh $A 'echo in' | grep -qx in"
	check "her container lingers" running
	container_pid $A >"$saved"
	init=$(cat "$saved")
	check "status --json: running, started by $v, protocol $proto" \
		json_check "e['state'] == 'running'" "e['init_pid'] == $init" "e['started_by_version'] == '$v'" \
		"e['protocol'] == $proto" "d['protocol'] == $proto" "e['gpus_granted'] == 'none'"
	check "syslog: container-start with version=$v protocol=$proto" \
		logged "event=container-start user=$A uid=$uid session_pid=[0-9]+ version=$(re "$v") protocol=$proto "
	;;
compatible)
	old=${2:?} new=${3:?}
	init=$(cat "$saved")
	check "jsandboxctl is now $new" sh -c "'$JSB_CTL' --version | grep -qx 'jsandboxctl $new'"
	check "the container $old started still runs" [ "$(container_pid $A)" = "$init" ]
	check "status --json (by $new): running, started by $old, same protocol" \
		json_check "e['state'] == 'running'" "e['init_pid'] == $init" "e['started_by_version'] == '$old'" \
		"e['protocol'] == $proto" "d['jsandbox_version'] == '$new'" "e['sessions'] == 0"
	before=$(wc -l <"$JSB_RUN/syslog")
	out=$(timeout -k 5 60 jssh $A 'cat /proc/1/comm; echo joined' 2>&1)
	check "a login through the upgraded module joins it ($(oneline "$out"))" \
		sh -c "printf '%s\n' \"\$1\" | grep -qx joined" _ "$out"
	check "the same init: joined, not restarted" [ "$(container_pid $A)" = "$init" ]
	check "syslog: no new container, nothing incompatible" \
		not_logged "event=container-(start|incompatible|stop) user=$A"
	check "the runtime state still says who started it" \
		json_check "e['started_by_version'] == '$old'" "e['init_pid'] == $init"
	;;
incompatible)
	old=${2:?} new=${3:?}
	init=$(cat "$saved")
	check "jsandboxctl is now $new" sh -c "'$JSB_CTL' --version | grep -qx 'jsandboxctl $new'"
	newproto=$("$JSB_CTL" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["protocol"])')
	check "$new speaks another protocol ($newproto, the container $proto)" [ "$newproto" != "$proto" ]
	check "status --json: incompatible, the old init, started by $old" \
		json_check "e['state'] == 'incompatible'" "e['init_pid'] == $init" "e['started_by_version'] == '$old'" \
		"e['protocol'] == $proto" "d['protocol'] == $newproto"
	check "the table says incompatible" sh -c "'$JSB_CTL' status $A | grep -Eq '^$A +$uid +incompatible +$init '"
	before=$(wc -l <"$JSB_RUN/syslog")
	out=$(timeout -k 5 60 jssh $A 'echo inside' 2>&1) && rc=0 || rc=$?
	check "the login is refused ($(oneline "$out"))" [ "$rc" != 0 ]
	check "and never lands anywhere" sh -c "! printf '%s\n' \"\$1\" | grep -qx inside" _ "$out"
	check "one line tells the user what to do" \
		sh -c "printf '%s\n' \"\$1\" | grep -Fq \"jsandbox: cannot start your container: your running container was started by jsandbox $old, which this jsandbox ($new) cannot join; it lingers after logout: ask the administrator to run 'jsandboxctl stop $A'\"" _ "$out"
	check "syslog: event=container-incompatible with both versions and protocols" \
		logged "event=container-incompatible user=$A uid=$uid init_pid=$init started_by_version=$(re "$old") container_protocol=$proto version=$(re "$new") protocol=$newproto min_protocol=$newproto action=refused$"
	check "syslog: event=login-refused phase=session" logged "event=login-refused user=$A phase=session reason="
	check "the old container is left alone" [ "$(container_pid $A)" = "$init" ]
	before=$(wc -l <"$JSB_RUN/syslog")
	check "jsandboxctl stop (by $new) ends it" "$JSB_CTL" stop $A
	check "syslog: container-stop reason=stop" logged "event=container-stop user=$A uid=$uid reason=stop by_uid=0"
	check "its init is gone" gone "$init"
	check "the next login works" sh -c "timeout -k 5 60 jssh $A 'echo fresh' | grep -qx fresh"
	check "in a container $new started" running
	check "status --json: running, started by $new, protocol $newproto" \
		json_check "e['state'] == 'running'" "e['started_by_version'] == '$new'" "e['protocol'] == $newproto"
	"$JSB_CTL" stop $A >/dev/null
	write_config ""
	;;
*)
	echo "unknown step $step"
	exit 2
	;;
esac
finish
