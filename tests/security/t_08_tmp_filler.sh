#!/bin/bash
# A user fills her /tmp and /dev/shm to the last byte while another user
# logs in and works: his login, his /tmp and the host's /tmp are unaffected.
. "$(dirname "$0")/lib_sec.sh"
give_tool "$A"
write_config "[user:$A]
tmp_size = 64M"
"$JSB_CTL" stop "$A" >/dev/null 2>&1
host_free_before=$(df -k --output=avail /tmp | tail -1)

tm 300 jssh "$A" "\$HOME/jsb-attack fill /tmp; \$HOME/jsb-attack fill /dev/shm; echo filled; sleep 60" >"$SEC/filler.out" 2>&1 &
filler=$!
trap 'kill $filler 2>/dev/null' EXIT
check "alice filled her /tmp and /dev/shm" wait_for 600 grep -q '^filled$' "$SEC/filler.out"
check "her /tmp stopped at its size (64M): $(head -1 "$SEC/filler.out")" \
	sh -c "head -1 '$SEC/filler.out' | awk '{exit !(\$2 <= 67108864 && \$2 > 60000000)}'"
t0=$(date +%s%N)
works "bob logs in meanwhile and writes 16M to his /tmp and /dev/shm" "$B" \
	"dd if=/dev/zero of=/tmp/jsbsec-bob bs=1M count=16 status=none && dd if=/dev/zero of=/dev/shm/jsbsec-bob bs=1M count=16 status=none && df -k /tmp | tail -1"
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
check "bob's login and work took ${ms} ms (under 20 s)" test "$ms" -lt 20000
host_free_after=$(df -k --output=avail /tmp | tail -1)
check "the host's /tmp lost no space to alice (${host_free_before}K -> ${host_free_after}K free)" \
	test $((host_free_before - host_free_after)) -lt 32768
check "no jsb-fill file on the host's /tmp" sh -c "! ls /tmp/jsb-fill.* >/dev/null 2>&1"
kill $filler 2>/dev/null
write_config
"$JSB_CTL" stop "$A" >/dev/null 2>&1
finish
