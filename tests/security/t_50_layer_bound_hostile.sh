#!/bin/bash
# Issue 13: the bounded layer (an ext4 image file on this state_dir) as
# root inside would attack it. jsandboxctl du reads the layer as root: a
# link planted there must not lead it to the host (a 64M decoy it must not
# count), a directory name must not forge an output line or a terminal
# sequence, and a tree deeper than its walk is said, not followed. The raw
# image is out of reach: no loop or other block device inside, mknod of
# one refused, the image 0600 root in a 0700 root directory. reset removes
# it all, following nothing.
. "$(dirname "$0")/lib_layer.sh"
STATE=$JSB_RUN/state
DECOY=$JSB_RUN/sec-t50-decoy
rm -rf "$DECOY"
install -d -m 0755 "$DECOY"
head -c $((64 << 20)) /dev/zero >"$DECOY/big"
EXTRA_CLEANUP="rm -rf '$DECOY'; '$JSB_CTL' reset $A >/dev/null 2>&1; write_config"

"$JSB_CTL" reset "$A" >/dev/null 2>&1
write_config "[user:$A]
disk_max = 256M"
check "alice's first login makes an image layer" in_container "$A"
check "the layer is an image file" test -f "$STATE/layers/$A.img"

# as root inside: a link to the host's decoy, a name made to forge a line
# and clear the screen, 1 MiB under it, and a tree 200 levels deep
script=$(home_of "$A")/t50-plant.sh
cat >"$script" <<EOF
set -e
ln -s '$DECOY' /var/tmp/t50-link
ln -s / /var/tmp/t50-root
d=\$(printf '/var/tmp/x\n   999.9G  /forged\033[2J')
mkdir -p "\$d"
head -c 1048576 /dev/urandom >"\$d/f"
cd /var/tmp && mkdir t50-deep && cd t50-deep
for i in \$(seq 200); do mkdir d && cd d; done
head -c 100000 /dev/zero >bottom
EOF
chmod 0644 "$script"
EXTRA_CLEANUP="$EXTRA_CLEANUP; rm -f '$script'"
works "root inside plants links, forged names and a deep tree" "$A" 'sudo -n sh ~/t50-plant.sh'
out=$("$JSB_CTL" du "$A" 2>&1)
rc=$?
total=$(echo "$out" | head -1 | awk '{ print $1 }')
check "du succeeds ($(oneline "$(echo "$out" | head -5)"))" [ "$rc" = 0 ]
check "du does not follow the planted links (total $total below the 64M decoy)" \
	sh -c "echo '$total' | grep -Eq '^([0-9.]+[BK]|[0-9]\.[0-9]M|[1-5][0-9]\.[0-9]M)$'"
check "no forged line" sh -c "! printf '%s\n' \"\$1\" | grep -q '^ *999.9G  /forged'" _ "$out"
check "no escape byte reaches the terminal" sh -c "! printf '%s' \"\$1\" | grep -q \"\$(printf '\033')\"" _ "$out"
check "the forged name is shown escaped" sh -c "printf '%s\n' \"\$1\" | grep -qF '/var/tmp/x\\012'" _ "$out"
check "the walk says what it did not walk" sh -c "printf '%s\n' \"\$1\" | grep -q 'deeper than 128 levels not counted'" _ "$out"

# the raw image is out of reach from inside
out=$(tm 60 jssh "$A" 'ls /dev; ls -d /sys/block/loop* 2>/dev/null | head -1; sudo -n mknod /tmp/t50-loop b 7 0 2>&1; echo "mknod=$?"' 2>&1)
check "no loop device node inside ($(oneline "$out"))" sh -c "! printf '%s\n' \"\$1\" | grep -Eq '^loop[0-9]'" _ "$out"
check "root inside cannot make a block device node" sh -c "printf '%s\n' \"\$1\" | grep -q 'mknod=1'" _ "$out"
check "the image is root's and 0600, its directory root's and 0700" \
	sh -c "[ \"\$(stat -c '%u %a' '$STATE/layers/$A.img')\" = '0 600' ] && [ \"\$(stat -c '%u %a' '$STATE/layers')\" = '0 700' ]"
check "the host mounts nothing of it" sh -c "! grep -q ' $STATE/users/$A ' /proc/self/mountinfo"

check "reset removes the layer" "$JSB_CTL" reset "$A"
check "image and mount point are gone" sh -c "[ ! -e '$STATE/layers/$A.img' ] && [ ! -e '$STATE/users/$A' ]"
check "the decoy is untouched" [ "$(stat -c %s "$DECOY/big")" = $((64 << 20)) ]
finish
