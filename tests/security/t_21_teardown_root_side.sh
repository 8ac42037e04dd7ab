#!/bin/bash
# Issue 10 items 0 and 3: no process of a sandboxed user outlives the
# container or hides from jsandboxctl, and no teardown decision depends on
# anything root inside can change.
#  1. A host-side process that sshd started for a session (here the X11
#     xauth step of a second sshd, a root-owned wrapper that leaves a
#     setsid'd process, as a payload would) is in the user's cgroup:
#     status counts it, stop kills it, and with the init killed from the
#     host status still shows it rather than "stopped".
#  2. Root inside flips the init's linger flag through /proc/1/mem
#     (network = none: there Landlock does not stop it) and starts
#     background work: after the last logout, with linger = no, nothing of
#     the user's is left, whatever the init's memory says.
. "$(dirname "$0")/lib_sec.sh"
T=$SEC/t21
rm -rf "$T" && install -d -m 0755 "$T"
M=/tmp/jsbsec-t21
rm -f $M.*
cat >"$T/xauth" <<EOF
#!/bin/sh
setsid sleep 7307 </dev/null >/dev/null 2>&1 &
echo started >$M.xauth.\$\$
exec /usr/bin/xauth "\$@"
EOF
chmod 0755 "$T/xauth"
echo "XAuthLocation $T/xauth" | start_extra_sshd "$T" || { echo "FAIL: second sshd: $(tail -3 "$T/sshd.log")"; exit 1; }
port2=$(cat "$T/port")
cat >"$T/xssh" <<EOF
#!/bin/sh
u=\$1
shift
DISPLAY=:99 exec ssh -F "$JSB_RUN/ssh_config" -p "$port2" -i "$JSB_RUN/keys/id_\$u" -l "\$u" \\
	-o ForwardX11=yes jsbtest "\$@"
EOF
chmod 0755 "$T/xssh"
BG=()
cleanup() {
	local p
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
	[ -f "$T/sshd.pid" ] && kill "$(cat "$T/sshd.pid")" 2>/dev/null
	pkill -KILL -u "$A" -f '^sleep 73(07|08)$' 2>/dev/null
	rm -f $M.* "$(home_of "$A")/.Xauthority"
	stop_all
	write_config
}
trap cleanup EXIT

cg_procs() { # distinct processes in the user's cgroup, over every hierarchy
	local d
	for d in $(cg_dirs "$A"); do cat "$d/cgroup.procs"; done 2>/dev/null | sort -u | grep -c .
}
status_field() { # N: field N of jsandboxctl status USER's line
	"$JSB_CTL" status "$A" | awk -v u="$A" -v n="$1" '$1 == u { print $n }'
}
host_sleep() { pgrep -u "$A" -f '^sleep 7307$' >/dev/null; }
has_container() { container_pid "$A" >/dev/null; }

# --- 1. host-side processes: counted by status, killed by stop ------------
write_config "[user:$A]
linger = yes"
stop_all
out=$(tm 60 "$T/xssh" "$A" 'echo "in:$(cat /proc/1/comm)"' 2>&1 </dev/null)
check "ssh -X logs in ($out)" sh -c "echo '$out' | grep -q '^in:jsandbox-init'"
check "the trigger fired: sshd ran the session's xauth on the host" sh -c "ls $M.xauth.* >/dev/null 2>&1"
check "the process it left runs on the host" wait_for 50 host_sleep
check "with linger = yes the container stays after logout" wait_for 50 has_container
n=$(cg_procs)
procs=$(status_field 6)
check "status counts every process in the user's cgroup, the host-side one too ($procs = $n)" \
	sh -c "[ '$procs' = '$n' ] && [ '$n' -ge 2 ]"
init=$(container_pid "$A")
kill -KILL "$init"
check "the init is gone once killed from the host" wait_for 50 sh -c "! kill -0 $init 2>/dev/null"
state=$(status_field 3)
check "status does not say stopped while a process of the user runs ($state)" [ "$state" = leftover ]
check "jsandboxctl stop succeeds" "$JSB_CTL" stop "$A"
check "stop killed the host-side process" wait_for 50 sh -c "! pgrep -u $A -f '^sleep 7307$' >/dev/null"
check "nothing of alice's runs any more" wait_for 50 sh -c "! pgrep -u $A >/dev/null"
check "status says stopped" [ "$(status_field 3)" = stopped ]
check "no cgroup of hers is left" cg_none "$A"

# --- 2. linger flipped in the init's memory --------------------------------
write_config "[user:$A]
linger = no
network = none"
init_bin=$JSB_PREFIX/libexec/jsandbox/jsandbox-init
off=$(nm "$init_bin" 2>/dev/null | awk '$3 == "linger" { print $1 }')
check "the init's linger flag is found in its symbol table" [ -n "$off" ]
tmbg 300 jssh "$A" 'sleep 280' >/dev/null 2>&1
BG+=($!)
holder=$!
wait_for 300 container_pid "$A" >/dev/null
out=$(tm 60 jssh "$A" "nohup sleep 7308 >/dev/null 2>&1 & sudo -n python3 - <<'P'
base = None
for l in open('/proc/1/maps'):
    f = l.split()
    if len(f) > 5 and f[5].endswith('jsandbox-init') and int(f[2], 16) == 0:
        base = int(f[0].split('-')[0], 16)
        break
try:
    with open('/proc/1/mem', 'r+b', buffering=0) as m:
        m.seek(base + 0x$off)
        m.write(b'\\x01')
        m.seek(base + 0x$off)
        print('flip:', m.read(1).hex())
except Exception as e:
    print('flip: refused (%s)' % e)
P" 2>&1)
echo "# root inside writing /proc/1/mem: $out"
job_runs() { pgrep -u "$A" -f '^sleep 7308$' >/dev/null; }
check "the background job runs" wait_for 50 job_runs
works "sudo still works inside" "$A" 'test "$(sudo -n id -u)" = 0'
check "status shows the policy's linger, not the init's memory ($(status_field 7))" [ "$(status_field 7)" = no ]
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
no_container() { ! container_pid "$A" >/dev/null; }
check "after the last logout the container is gone, linger flag or not" wait_for 100 no_container
check "and its background job with it" wait_for 50 sh -c "! pgrep -u $A -f '^sleep 7308$' >/dev/null"
check "nothing of alice's runs any more" wait_for 50 sh -c "! pgrep -u $A >/dev/null"
finish
