#!/bin/bash
# Issue 13, part 3: the rebase of a user's layer (jsandboxctl rebase, and a
# container start after an image change) reads a layer the user made as
# root inside. Alice plants: a dpkg status that claims an image package
# (bash) at an old version, so that its files are "left out", with a file
# list naming "..", absolute and host paths; links where the rebase reads
# merged files (apt's extended_states to the host's /etc/shadow path, her
# /etc/group to /etc/gshadow: carried as links, never merged through); a
# FIFO as a trigger file; a symlink to a host
# path; a name with control bytes; a tree deeper than the rebase walks. The
# rebase ends (no hang), carries the links as links without reading what
# they point to, reports what it could not carry with control bytes made
# harmless, writes nothing outside her new layer (decoy directory, /tmp,
# the host's /etc unchanged) and her login works on the result. Then a
# status file larger than the rebase reads (sparse): the rebase is refused
# with the reason, her layer is kept as it was, no work directory is left,
# and a login after an image change still works (the failure is logged and
# not retried at every start).
. "$(dirname "$0")/lib_layer.sh"
STATE=$JSB_RUN/state
UP=$STATE/users/$A/upper
DECOY=$JSB_RUN/sec-t52-decoy
rm -rf "$DECOY" /tmp/t52-*
install -d -m 0777 "$DECOY"
EXTRA_CLEANUP="rm -rf '$DECOY' /tmp/t52-*; '$JSB_CTL' reset $A >/dev/null 2>&1"
"$JSB_CTL" reset "$A" >/dev/null 2>&1
shadow_sum=$(sha256sum /etc/shadow /etc/gshadow)
gone() { ! container_pid "$A" >/dev/null; }

HOME_A=$(home_of "$A")
cat >"$HOME_A/t52-plant.sh" <<EOF
set -e
st=/var/lib/dpkg/status
awk -v RS= -v ORS='\n\n' '/^Package: bash\n/ { sub(/\nVersion: [^\n]*/, "\nVersion: 0.1") } { print }' \$st >\$st.new
mv \$st.new \$st
awk -v RS= '/^Package: bash\n/' \$st | grep -q '^Version: 0.1\$'
printf '/etc/../../../../etc/shadow\n/../../tmp/t52-x\n/etc/passwd\n$DECOY/planted\n' >/var/lib/dpkg/info/bash.list
rm -f /var/lib/apt/extended_states
ln -s /etc/shadow /var/lib/apt/extended_states
rm /etc/group && ln -s /etc/gshadow /etc/group
mkdir -p /var/lib/dpkg/triggers && rm -f /var/lib/dpkg/triggers/File && mkfifo /var/lib/dpkg/triggers/File
ln -s $DECOY /opt/t52-decoy
printf x >"/opt/t52-\$(printf 'bad\033[2J\001name')"
d=/opt/t52-deep; for i in \$(seq 300); do d=\$d/d; done; mkdir -p \$d
echo planted
EOF
chmod 0644 "$HOME_A/t52-plant.sh"
EXTRA_CLEANUP="$EXTRA_CLEANUP; rm -f '$HOME_A/t52-plant.sh'"
out=$(tm 120 jssh "$A" 'sudo -n sh ~/t52-plant.sh' 2>&1)
check "alice plants her hostile layer ($(echo "$out" | tail -1))" [ "$(echo "$out" | tail -1)" = planted ]
wait_for 200 gone

out=$(timeout 120 "$JSB_CTL" rebase --force "$A" 2>&1)
rc=$?
check "the rebase ends, rc 0 ($rc: $(echo "$out" | head -3 | tr '\n' ' '))" [ "$rc" = 0 ]
check "bash follows the image (her claimed version loses)" grep -q "followed=1\|1 packages follow the image" <<<"$out"
check "what it could not carry is reported: the tree deeper than it walks" grep -q "not-carried /opt/t52-deep/.*deeper than 256" <<<"$out"
check "no control byte reaches the admin's terminal" sh -c "! printf '%s' \"\$1\" | grep -q \"\$(printf '\033')\"" _ "$out"
check "the links are carried as links" \
	sh -c "[ \"\$(readlink '$UP/var/lib/apt/extended_states')\" = /etc/shadow ] && [ \"\$(readlink '$UP/etc/group')\" = /etc/gshadow ] &&
		[ \"\$(readlink '$UP/opt/t52-decoy')\" = '$DECOY' ]"
check "the FIFO stayed a FIFO (never opened)" test -p "$UP/var/lib/dpkg/triggers/File"
check "nothing was written outside her layer" \
	sh -c "[ -z \"\$(ls -A '$DECOY')\" ] && ! ls /tmp/t52-* >/dev/null 2>&1"
check "the host's /etc/shadow and /etc/gshadow are unchanged" [ "$(sha256sum /etc/shadow /etc/gshadow)" = "$shadow_sum" ]
check "no work directory is left" [ ! -e "$STATE/users/.$A.rebase" ]
works "she logs in on the rebased layer" "$A" 'test -L /opt/t52-decoy && bash -c true'
wait_for 200 gone

# a status file larger than the rebase reads
works "alice makes her dpkg status a 100 MB sparse file" "$A" 'sudo -n truncate -s 100M /var/lib/dpkg/status'
wait_for 200 gone
ino=$(stat -c %i "$UP")
out=$(timeout 120 "$JSB_CTL" rebase --force "$A" 2>&1)
rc=$?
check "the rebase is refused with the reason ($(echo "$out" | head -2 | tr '\n' ' '))" \
	sh -c "[ $rc != 0 ] && printf '%s' \"\$1\" | grep -q 'your /var/lib/dpkg/status cannot be read: File too large'" _ "$out"
check "her layer is kept as it was" [ "$(stat -c %i "$UP")" = "$ino" ]
check "no work directory is left" [ ! -e "$STATE/users/.$A.rebase" ]
# the image "changes" (her record names another id): the start tries once,
# logs the failure, and her login works on her layer
sed -i 's/^id=.*/id=t52-older-image/' "$STATE/layers/$A.base"
before=$(wc -l <"$JSB_RUN/syslog")
works "after an image change her login still works" "$A" 'test -L /opt/t52-decoy'
check "syslog: event=rebase result=failed with the reason" \
	sh -c "tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -q 'event=rebase user=$A image=jsbtest .*result=failed reason=.*File too large'"
check "the failure is recorded, not retried at every start" grep -q '^failed=' "$STATE/layers/$A.base"
wait_for 200 gone
before=$(wc -l <"$JSB_RUN/syslog")
works "the next login" "$A" 'true'
check "... does not try again" sh -c "! tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -q 'event=rebase user=$A'"
finish
