#!/bin/bash
# Why a container ended, as syslog says it (event=container-stop reason=):
# the last logout, jsandboxctl stop and reset, an init that does not answer
# (terminate), an init killed from outside (crash) and one the OOM killer
# took (oom); container-start with the limits and the GPUs granted; status
# --json with the GPUs granted, the protocol and the starting version.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
uid=$(id -u $A)
version=$("$JSB_CTL" --version | awk '{print $2}')
trap '"$JSB_CTL" stop $A >/dev/null 2>&1; write_config ""' EXIT
logged() { tail -n +"$((before + 1))" "$JSB_RUN/syslog" | grep -Eq "$1"; }
count() { tail -n +"$((before + 1))" "$JSB_RUN/syslog" | grep -Ec "$1"; }
# A pid that is gone or a zombie (the host's PID 1 reaps the init late).
gone() { [ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
# The protocol this tree speaks (root/proto.h).
proto=$(sed -n 's/^#define JS_PROTO_VERSION \([0-9]*\)u$/\1/p' "$(dirname "$0")/../../root/proto.h")

json_check() { status_json "$A" "$A" "$@"; } # EXPR...: over alice's entry e and the document d

linger_conf() {
	write_config "[user:$A]
linger = yes
memory_max = 160M
pids_max = 700
cpu_max = 120%"
}
start_lingering() { # a container that stays after the login
	"$JSB_CTL" stop $A >/dev/null 2>&1
	tm 60 jssh $A true >/dev/null
	wait_for 100 container_pid $A >/dev/null
}

# --- start: limits and GPUs granted, in syslog and in status -------------
linger_conf
"$JSB_CTL" stop $A >/dev/null 2>&1
before=$(wc -l <"$JSB_RUN/syslog")
check "a lingering container starts" start_lingering
init=$(container_pid $A)
check "syslog: container-start with version, protocol, limits and GPUs granted" \
	logged "event=container-start user=$A uid=$uid session_pid=[0-9]+ version=$version protocol=$proto image=jsbtest gpus=none devices=[^ ]* memory_max=160M pids_max=700 cpu_max=120% tmp_size=[^ ]+ network=[^ ]+ gpus_granted=none$"
check "status --json: GPUs granted, protocol, image and the starting version" \
	json_check "e['gpus_granted'] == 'none'" "e['gpus'] == 'none'" "e['protocol'] == $proto" \
	"d['protocol'] == $proto" "e['image'] == 'jsbtest'" "e['started_by_version'] == '$version'" \
	"e['init_pid'] == $init"
check "the table has the GPUS column" \
	sh -c "'$JSB_CTL' status $A | grep -Eq '^$A +$uid +running +$init .* none +$version +[^ ]+$'"
check "the runtime state records protocol and GPUs" \
	sh -c "grep -qx 'proto=$proto' '$JSB_RUN/run/$uid/state' && grep -qx 'gpus=none' '$JSB_RUN/run/$uid/state'"

# --- stop and reset: the admin's action and the container's end ----------
before=$(wc -l <"$JSB_RUN/syslog")
check "jsandboxctl stop" "$JSB_CTL" stop $A
check "syslog: container-stop reason=stop" logged "event=container-stop user=$A uid=$uid reason=stop by_uid=0$"
check "syslog: action=stop" logged "action=stop by_uid=0 user=$A result=ok"
before=$(wc -l <"$JSB_RUN/syslog")
check "jsandboxctl stop with nothing running" "$JSB_CTL" stop $A
check "logs the action but no container-stop" sh -c "[ \$(tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -Ec 'event=container-stop user=$A ') = 0 ]"
check "and the action line once" [ "$(count "action=stop by_uid=0 user=$A result=ok")" = 1 ]
check "a lingering container again" start_lingering
before=$(wc -l <"$JSB_RUN/syslog")
check "jsandboxctl reset" sh -c "'$JSB_CTL' reset $A >/dev/null"
check "syslog: container-stop reason=reset" logged "event=container-stop user=$A uid=$uid reason=reset by_uid=0$"
check "syslog: action=reset" logged "action=reset by_uid=0 user=$A result=ok"

# --- the other admin actions: one line each --------------------------------
before=$(wc -l <"$JSB_RUN/syslog")
check "apply with nothing running" sh -c "'$JSB_CTL' apply $A >/dev/null"
check "syslog: action=apply running=no" logged "action=apply by_uid=0 user=$A result=ok running=no$"
mkdir -p "$JSB_RUN/t72img/etc" "$JSB_RUN/t72img/usr/bin"
printf 'ID=debian\nVERSION_CODENAME=bookworm\n' >"$JSB_RUN/t72img/etc/os-release"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$JSB_RUN/t72img/etc/passwd"
printf '#!/bin/true\n' >"$JSB_RUN/t72img/usr/bin/sh"
chmod 0755 "$JSB_RUN/t72img/usr/bin/sh"
tar -C "$JSB_RUN/t72img" -cf "$JSB_RUN/t72img.tar" .
"$JSB_CTL" image remove t72img >/dev/null 2>&1
before=$(wc -l <"$JSB_RUN/syslog")
check "image import" sh -c "'$JSB_CTL' image import t72img '$JSB_RUN/t72img.tar' >/dev/null"
check "image remove" sh -c "'$JSB_CTL' image remove t72img >/dev/null"
check "image remove of what is gone fails" sh -c "! '$JSB_CTL' image remove t72img 2>/dev/null"
check "syslog: action=image-import" logged "action=image-import by_uid=0 image=t72img replace=no id=[0-9a-f]{32} result=ok$"
check "syslog: action=image-remove, ok then failed" \
	sh -c "tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -Eo 'action=image-remove by_uid=0 image=t72img result=[a-z]+$' | tr '\n' ' ' | grep -qx 'action=image-remove by_uid=0 image=t72img result=ok action=image-remove by_uid=0 image=t72img result=failed '"
rm -rf "$JSB_RUN/t72img" "$JSB_RUN/t72img.tar"

# --- the last logout ------------------------------------------------------
write_config "[user:$A]
linger = no"
before=$(wc -l <"$JSB_RUN/syslog")
check "a login without linger" sh -c "timeout -k 5 60 jssh $A 'echo in' | grep -qx in"
check "syslog: container-stop reason=last-logout" \
	wait_for 100 logged "event=container-stop user=$A uid=$uid reason=last-logout session_pid=[0-9]+$"
check "one container-start and one container-stop" \
	sh -c "[ $(count "event=container-start user=$A ") = 1 ] && [ $(count "event=container-stop user=$A ") = 1 ]"

# --- crash: the init killed from outside, found by the next login --------
linger_conf
check "a lingering container" start_lingering
init=$(container_pid $A)
kill -KILL "$init"
check "its init is gone" wait_for 100 gone "$init"
before=$(wc -l <"$JSB_RUN/syslog")
check "the next login works" sh -c "timeout -k 5 60 jssh $A 'echo again' | grep -qx again"
check "syslog: container-stop reason=crash found_by=login" \
	logged "event=container-stop user=$A uid=$uid reason=crash init_pid=$init oom_kills=0 found_by=login started_by_version=$version$"
check "then a new container-start" logged "event=container-start user=$A "

# --- terminate: an init that does not answer is ended for a new one -------
init=$(container_pid $A)
kill -STOP "$init"
before=$(wc -l <"$JSB_RUN/syslog")
check "a login while the init is stopped gets a new container" \
	sh -c "timeout -k 5 90 jssh $A 'echo fresh' | grep -qx fresh"
check "syslog: container-stop reason=terminate why=init-not-answering" \
	logged "event=container-stop user=$A uid=$uid reason=terminate init_pid=$init why=init-not-answering$"
check "the stopped init was killed" wait_for 100 gone "$init"
check "a new init runs" sh -c "p=\$(sed -n 's/^pid=//p' '$JSB_RUN/run/$uid/state'); [ -n \"\$p\" ] && [ \"\$p\" != $init ] && kill -0 \"\$p\""

# --- oom: the OOM killer takes the init ------------------------------------
init=$(container_pid $A)
# The init made the OOM killer's first choice (raising a score needs no
# privilege), then the group's memory filled with what no process holds
# in its RSS: files in the container's /tmp (tmpfs, charged to the user's
# group). The OOM kill takes the init, and the container with it.
echo 1000 >"/proc/$init/oom_score_adj"
before=$(wc -l <"$JSB_RUN/syslog")
tm 120 jssh $A 'head -c 400M /dev/zero >/tmp/fill' >/dev/null 2>&1
check "the init is gone" wait_for 300 gone "$init"
# Found at that session's logout; should the OOM killer have taken the
# session's sshd too (it is in the group), by the next login.
tm 60 jssh $A true >/dev/null 2>&1
check "syslog: container-stop reason=oom, counted kills, found at the logout or the next login" \
	logged "event=container-stop user=$A uid=$uid reason=oom init_pid=$init oom_kills=[1-9][0-9]* found_by=(logout|login) started_by_version=$version$"
check "once" [ "$(count "event=container-stop user=$A uid=$uid reason=oom init_pid=$init ")" = 1 ]
finish
