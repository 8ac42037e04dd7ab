#!/bin/bash
# The container's /dev/log relay (root/logrelay.c) against its user, who
# controls every byte, sender and rate that reaches it (as themselves and
# as root inside):
#   - a forged "jsandbox[user=bob]" tag, in the text or after an embedded
#     newline, never becomes a line tagged with anyone but alice;
#   - oversize datagrams are cut to the bound and marked, binary and escape
#     bytes never reach the log, emerg/alert/crit are lowered to err;
#   - a flood is rate-limited: at most the burst plus the rate over its
#     duration reach the host, every datagram is accounted for (relayed or
#     counted in a "dropped" line), bob's sudo still logs meanwhile, and
#     alice's own logging comes back afterwards;
#   - file descriptors sent along with datagrams do not pile up in the
#     relay; the relay is invisible inside the container.
. "$(dirname "$0")/lib_sec.sh"
HA=$(home_of "$A")
M=T80$$x$RANDOM
trap '"$JSB_CTL" stop "$A" >/dev/null 2>&1; "$JSB_CTL" stop "$B" >/dev/null 2>&1; rm -f "$HA/t80.py"' EXIT
# Both linger: each relay outlives the logins that feed it (and reports
# its drops after the flood's login has ended).
write_config "[user:$A]
linger = yes
[user:$B]
linger = yes"
"$JSB_CTL" stop "$A" >/dev/null 2>&1
"$JSB_CTL" stop "$B" >/dev/null 2>&1
before=$(wc -l <"$JSB_RUN/syslog")
since() { tail -n +"$((before + 1))" "$JSB_RUN/syslog"; }
HDR='^<[0-9]+>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} '

install -o "$A" -m 0644 /dev/stdin "$HA/t80.py" <<'PY'
import array, os, socket, sys, time
mark, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect("/dev/log")
if mode == "forge":
    s.send(b"<34>Dec  3 10:00:00 jsandbox[user=jsbt_bob]: sudo: jsbt_bob : COMMAND=/bin/evil " + mark.encode())
    s.send(b"<34>Dec  3 10:00:00 x " + mark.encode() + b"-nl\n<34>Dec  3 00:00:00 jsandbox[user=jsbt_bob]: injected")
    s.send(b"<34>Dec  3 10:00:00 x " + mark.encode() + b"-cr\r<34>Dec  3 00:00:00 jsandbox[user=jsbt_bob]: injected")
    s.send(mark.encode() + b"-nul\0<34>jsandbox[user=jsbt_bob]: after a NUL")
elif mode == "hostile":
    s.send(b"<13>" + mark.encode() + b"-big " + b"A" * 60000)
    s.send(b"<13>" + mark.encode() + b"-bin " + bytes(range(256)) + b"\x1b]0;title\x07\x1b[2J")
    s.send(b"<0>" + mark.encode() + b"-emerg")
    s.send(b"<9>" + mark.encode() + b"-alert")
elif mode == "flood":
    n = int(sys.argv[3])
    t = time.monotonic()
    for i in range(n):
        s.send(b"<13>" + mark.encode() + b"-flood %d" % i)
    print("elapsed %.3f" % (time.monotonic() - t))
elif mode == "fds":
    r, w = os.pipe()
    for i in range(int(sys.argv[3])):
        s.sendmsg([b"<13>" + mark.encode() + b"-fd %d" % i],
                  [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [r, w]))])
    print("sent")
PY

# --- forged tags ----------------------------------------------------------
out=$(tm 60 jssh "$A" "python3 ~/t80.py $M forge && sudo -n python3 ~/t80.py ${M}r forge && echo done" 2>&1)
check "the forging datagrams were sent, as alice and as root inside ($(oneline "$out"))" [ "$(echo "$out" | tail -1)" = "done" ]
# count ERE: lines since the test began that match
count() { since | grep -ac -E -- "$1"; }
at_least() { [ "$(count "$1")" -ge "$2" ]; }
check "they reached the log" wait_for 100 at_least "$M" 8
lines=$(since | grep -a "$M")
bad=$(printf '%s\n' "$lines" | grep -av -E "${HDR}jsandbox\[user=$A\]: ")
check "every line alice sent is tagged alice, first ($(oneline "$bad"))" [ -z "$bad" ]
bobs=$(since | grep -a -E "${HDR}jsandbox\[user=$B\]")
check "no line is tagged bob ($(oneline "$bobs"))" [ -z "$bobs" ]
inj=$(since | grep -ac "injected\|after a NUL")
nl=$(count "${HDR}jsandbox\[user=$A\]: .*${M}r?-nl\?<34>.*jsandbox\[user=$B\]: injected")
check "an embedded newline stays in its line, as '?' ($nl)" [ "$nl" = 2 ]
check "so does a carriage return and a NUL (the injected text: $inj lines, each in alice's)" \
	[ "$(count "${HDR}jsandbox\[user=$A\]: .*(injected|after a NUL)")" = "$inj" ]
check "which makes 6 such lines" [ "$inj" = 6 ]

# --- oversize, binary, priorities ------------------------------------------
out=$(tm 60 jssh "$A" "python3 ~/t80.py $M hostile && echo done" 2>&1)
check "the hostile datagrams were sent ($(oneline "$out"))" [ "$(echo "$out" | tail -1)" = "done" ]
check "they reached the log" wait_for 100 at_least "$M-alert" 1
big=$(since | grep -a "$M-big")
check "a 60 kB datagram is one line ($(echo "$big" | grep -c .))" [ "$(echo "$big" | grep -c .)" = 1 ]
check "cut to the bound (${#big} bytes <= 1024 + header)" [ "${#big}" -le 1120 ]
check "and marked [truncated]" sh -c 'printf "%s" "$1" | grep -q " \[truncated\]$"' _ "$big"
bin=$(since | grep -a "$M-bin")
check "binary and escape bytes: one line" [ "$(echo "$bin" | grep -c .)" = 1 ]
check "of printable ASCII only" sh -c '! printf "%s" "$1" | LC_ALL=C grep -aq "[^ -~]"' _ "$bin"
check "emerg (kern.emerg) arrives as user.err, not emerg" [ "$(count "^<11>.*$M-emerg$")" = 1 ]
check "alert (user.alert) arrives as user.err" [ "$(count "^<11>.*$M-alert$")" = 1 ]

# --- fds sent along ------------------------------------------------------------
relay_of() { # USER: the pid of USER's relay
	local p
	for p in $(pgrep -x jsandbox-logrel); do
		[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" = "jsandbox-logrelay $1 " ] && echo "$p"
	done
}
r=$(relay_of "$A" | head -1)
check "alice's relay runs ($r)" [ -n "$r" ]
out=$(tm 120 jssh "$A" "python3 ~/t80.py $M fds 50" 2>&1)
check "50 datagrams carrying 2 fds each were sent ($(oneline "$out"))" [ "$out" = sent ]
check "they reached the log" wait_for 100 at_least "$M-fd 49$" 1
nfd=$(find "/proc/$r/fd" -mindepth 1 2>/dev/null | wc -l)
fds_as_started() { [ -n "$r" ] && [ "$nfd" -ge 5 ] && [ "$nfd" -le 6 ]; }
check "the relay holds no fd it was sent ($nfd open: 0-2, its two, the log)" fds_as_started
check "the same relay is still running" [ "$(relay_of "$A" | head -1)" = "$r" ]
inside=$(tm 60 jssh "$A" 'sudo -n cat /proc/[0-9]*/comm 2>/dev/null' 2>&1)
check "the relay is not visible inside (root's view of /proc)" sh -c '! printf "%s\n" "$1" | grep -q logrel' _ "$inside"

# --- a flood ------------------------------------------------------------------
N=3000
flood_at=$(wc -l <"$JSB_RUN/syslog")
after_flood() { tail -n +"$((flood_at + 1))" "$JSB_RUN/syslog"; }
# the counts of the "N messages dropped" lines under alice's tag, summed
dropped_sum() {
	after_flood | grep -a -E "${HDR}jsandbox\[user=$A\]: [0-9]+ messages dropped" |
		sed -E 's/.*: ([0-9]+) messages dropped.*/\1/' | awk '{s += $1} END {print s + 0}'
}
start=$(date +%s%N)
out=$(tm 120 jssh "$A" "python3 ~/t80.py $M flood $N" 2>&1)
took_ms=$((($(date +%s%N) - start) / 1000000))
check "the flood was sent ($(oneline "$out"), ${took_ms} ms with the login)" sh -c 'printf "%s" "$1" | grep -q "^elapsed "' _ "$out"
# every datagram accounted for: relayed, or counted in a "dropped" line
accounted() { [ $(($(count "$M-flood ") + $(dropped_sum))) -ge "$N" ]; }
check "every flood datagram is relayed or counted as dropped" wait_for 100 accounted
relayed=$(count "$M-flood ")
dropped=$(dropped_sum)
echo "  | flood of $N in ${took_ms} ms: $relayed relayed, $dropped dropped"
check "relayed + dropped = $N exactly ($relayed + $dropped)" [ $((relayed + dropped)) = "$N" ]
bound=$((100 + 20 * (took_ms / 1000 + 2)))
check "at most the burst plus the rate reached the host ($relayed <= $bound)" [ "$relayed" -le "$bound" ]
check "the drops are reported under alice's tag" \
	[ "$(after_flood | grep -acE "${HDR}jsandbox\[user=$A\]: [0-9]+ messages dropped \(more than 20 a second\)")" -ge 1 ]

# bob is not affected: his sudo logs under his tag right away
out=$(tm 60 jssh "$B" 'sudo -n true && echo ok' 2>&1)
check "bob's sudo works ($(oneline "$out"))" [ "$out" = ok ]
bob_logged() { after_flood | grep -aEq "${HDR}jsandbox\[user=$B\]: +sudo: +$B : .*COMMAND=/usr/bin/true"; }
check "and is logged under bob's tag" wait_for 100 bob_logged
# alice's logging comes back once the bucket refills (bounded polling)
alice_sudo_logged() {
	tm 30 jssh "$A" 'sudo -n true' >/dev/null 2>&1
	after_flood | grep -aEq "${HDR}jsandbox\[user=$A\]: +sudo: +$A : .*COMMAND=/usr/bin/true"
}
check "alice's sudo is logged again after the flood" wait_for 30 alice_sudo_logged
check "no line of alice's (flood included) lacks her tag" [ "$(since | grep -a "$M" | grep -acvE "${HDR}jsandbox\[user=$A\]: ")" = 0 ]
finish
