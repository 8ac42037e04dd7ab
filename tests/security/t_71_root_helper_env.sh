#!/bin/bash
# Issue 9 part 3: nothing of sshd's environment reaches jsandbox-root. An
# sshd started with LD_PRELOAD naming a library that records, from its
# constructor, every program it is loaded into: sshd's own processes load
# it (the control: the variable works), a sandboxed login through that sshd
# runs jsandbox-root (its syslog line), and the library was never loaded
# into the helper, which the module starts with an empty environment.
. "$(dirname "$0")/lib_sec.sh"
T=$SEC/t71
rm -rf "$T" && install -d -m 0755 "$T"
M=$T/loaded
command -v gcc >/dev/null || skip "gcc is not installed"
cat >"$T/mark.c" <<'EOF2'
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
__attribute__((constructor)) static void mark(void)
{
	char exe[PATH_MAX], line[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n < 0)
		return;
	exe[n] = '\0';
	const char *c = getenv("JSB_T71_CANARY");
	int l = snprintf(line, sizeof line, "%d %s canary=%s\n", (int)getpid(), exe, c ? c : "-");
	int fd = open(getenv("JSB_T71_MARKS") ? getenv("JSB_T71_MARKS") : "/dev/null", O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, line, (size_t)l) < 0) {
		}
		close(fd);
	}
}
EOF2
gcc -shared -fPIC -O1 -o "$T/mark.so" "$T/mark.c" || { echo "FAIL: cannot build the marker library"; exit 1; }
: >"$M"
chmod 0666 "$M"
port2=$(($(cat "$JSB_RUN/port") + 7))
sed -e "s/^Port .*/Port $port2/" -e "s|^PidFile .*|PidFile $T/sshd.pid|" "$JSB_RUN/sshd_config" >"$T/sshd_config"
cleanup() {
	[ -f "$T/sshd.pid" ] && kill "$(cat "$T/sshd.pid")" 2>/dev/null
	stop_all
}
trap cleanup EXIT
stop_all
env LD_PRELOAD="$T/mark.so" JSB_T71_MARKS="$M" JSB_T71_CANARY=set \
	"$JSB_RUN/$SVC" -f "$T/sshd_config" -E "$T/sshd.log" || { echo "FAIL: second sshd"; exit 1; }
wait_for 100 test -s "$T/sshd.pid" || { echo "FAIL: the second sshd does not listen"; cat "$T/sshd.log"; exit 1; }

before=$(wc -l <"$JSB_RUN/syslog")
out=$(tm 60 ssh -F "$JSB_RUN/ssh_config" -p "$port2" -i "$JSB_RUN/keys/id_$A" -l "$A" jsbtest 'echo "in:$(cat /proc/1/comm)"' 2>&1)
check "a sandboxed login through the LD_PRELOAD sshd works ($(oneline "$out"))" \
	sh -c "echo '$out' | grep -q '^in:jsandbox-init'"
check "control: sshd's processes loaded the library, canary set ($(sort -u -k2 "$M" | cut -d' ' -f2- | tr '\n' ' '))" \
	grep -q "sshd.* canary=set" "$M"
check "control: jsandbox-root ran for that login" \
	sh -c "tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -q 'jsandbox-root\[[0-9]*\]: user $A: container started'"
check "the library was never loaded into jsandbox-root" sh -c "! grep -q jsandbox-root '$M'"
check "nor into any other jsandbox program root started" sh -c "! grep -q 'libexec/jsandbox/' '$M'"
finish
