#!/bin/bash
# jsandboxctl status --json (parsed), the human table's new columns,
# apply --all, and the syslog lines of stop, apply and a refused login.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
uid=$(id -u $A)
version=$("$JSB_CTL" --version | awk '{print $2}')
trap 'usermod -s "$JSB_SHELL" $A; "$JSB_CTL" stop $A >/dev/null 2>&1; write_config ""' EXIT
logged() { tail -n +"$((before + 1))" "$JSB_RUN/syslog" | grep -Eq "$1"; }

write_config "[user:$A]
linger = yes
memory_max = 2G
pids_max = 1000
cpu_max = 150%"
"$JSB_CTL" stop $A >/dev/null 2>&1
tm 60 jssh $A 'nohup sleep 300 >/dev/null 2>&1 & mkdir -p /var/tmp/t71 && head -c 1048576 /dev/zero >/var/tmp/t71/blob' >/dev/null
check "alice's container runs (linger)" wait_for 100 container_pid $A
init=$(container_pid $A)

# json_check USER EXPR...: status --json of USER parsed; each python EXPR
# over the entry e and the document d must hold.
json_check() {
	local who=$1
	shift
	status_json "$A" "$who" "$@"
}

check "status --json: running, init pid, one lingering container" \
	json_check "" "e['state'] == 'running'" "e['init_pid'] == $init" "e['uid'] == $uid" "e['linger'] == 'yes'" \
	"e['sessions'] == 0" "e['processes'] >= 2"
check "status --json: memory use against the 2G limit" \
	json_check "" "e['memory']['max_bytes'] == 2 * 1024**3" "0 < e['memory']['current_bytes'] < 2 * 1024**3"
check "status --json: pids use against the limit" \
	json_check "" "e['pids']['max'] == 1000" "2 <= e['pids']['current'] < 1000"
check "status --json: cpu use and the 150% limit" \
	json_check "" "e['cpu']['max_percent'] == 150" "e['cpu']['usage_usec'] >= 0"
check "status --json: GPUs, image, its release and build time" \
	json_check "" "e['gpus'] == 'none'" "e['image'] == 'jsbtest'" "e['image_suite']" "e['image_built']"
check "status --json: the layer's size counts the 1 MiB file" json_check "" "e['layer_bytes'] >= 1024 * 1024"
check "status --json: started by this version" \
	json_check "" "e['started_by_version'] == '$version'" "d['jsandbox_version'] == '$version'"
check "status --json USER gives the same entry" json_check $A "e['state'] == 'running'" "len(d['users']) == 1"
check "the table shows memory and pids against the limits, and the version" \
	sh -c "'$JSB_CTL' status $A | grep -Eq '^$A +$uid +running +$init +0 +[0-9]+ +yes +jsbtest +[0-9.]+[MG]/2.0G +[0-9]+/1000 +none +$version +[^ ]+$'"

# apply --all: a changed limit reaches the running container, logged.
write_config "[user:$A]
linger = yes
memory_max = 2G
pids_max = 900
cpu_max = 150%"
before=$(wc -l <"$JSB_RUN/syslog")
out=$("$JSB_CTL" apply --all 2>&1)
check "apply --all exits 0" [ $? = 0 ]
check "and applies to alice's container" grep -q "^$A: limits and device rules applied" <<<"$out"
check "the new pids limit is in force" json_check "" "e['pids']['max'] == 900"
check "syslog: action=apply" logged "jsandboxctl\[[0-9]+\]: action=apply by_uid=0 user=$A result=ok"

before=$(wc -l <"$JSB_RUN/syslog")
check "stop ends it" "$JSB_CTL" stop $A
check "syslog: action=stop" logged "jsandboxctl\[[0-9]+\]: action=stop by_uid=0 user=$A result=ok"
check "status --json USER: stopped, nulls for what a stopped one lacks" \
	json_check $A "e['state'] == 'stopped'" "e['init_pid'] is None" "e['sessions'] is None" \
	"e['memory']['current_bytes'] is None" "e['started_by_version'] is None"
check "status --json of nothing running is an empty list" \
	sh -c "'$JSB_CTL' status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(any(u[\"user\"] == \"$A\" for u in d[\"users\"]))'"
check "apply --all without a running container of alice does not name her" \
	sh -c "! '$JSB_CTL' apply --all | grep -q '^$A:'"

# A refused login: one event line with the phase and the reason.
usermod -s /bin/bash $A
before=$(wc -l <"$JSB_RUN/syslog")
tm 30 jssh $A true >/dev/null 2>&1
check "syslog: event=login-refused with phase and reason" \
	logged "event=login-refused user=$A phase=account reason=\"login shell \\\\\"/bin/bash\\\\\" would run"
usermod -s "$JSB_SHELL" $A
finish
