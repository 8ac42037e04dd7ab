#!/bin/bash
# Issue 13, part 1 and 2: disk_max bounds the user's layer, enforced by the
# kernel where the layer lives, on file systems this test makes and mounts
# as state_dir: btrfs with quotas (a subvolume per layer, its qgroup limit)
# and tmpfs (no quotas at all: a per-user ext4 image file, loop-mounted by
# root). For each: jsandboxctl check names the mechanism; alice filling her
# layer gets ENOSPC (or EDQUOT, btrfs's word for a qgroup), her session
# keeps working, and bob's apt-get install at the same moment succeeds; the
# admin gets one syslog line; status shows use against the bound; du names
# the directory that holds it; reset removes the layer; an image grows when
# the bound is raised.
. "$(dirname "$0")/lib.sh"
need_root
command -v mkfs.btrfs >/dev/null || skip "btrfs-progs is not installed (.ci/packages)"
A=jsbt_alice
B=jsbt_bob
T=$JSB_RUN/t80
mounted=()
cleanup() {
	"$JSB_CTL" stop $A >/dev/null 2>&1
	"$JSB_CTL" stop $B >/dev/null 2>&1
	for m in "${mounted[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	rm -rf "$T"
	unset JSB_STATE_DIR
	write_config
}
trap cleanup EXIT
install -d -m 0755 "$T"

since() { tail -n +$(($1 + 1)) "$JSB_RUN/syslog"; }
has() { grep -Eq -- "$1" <<<"$2"; } # PATTERN TEXT
hasnt() { ! grep -Eq -- "$1" <<<"$2"; }
# LAYER column of jsandboxctl status USER
layer_col() { "$JSB_CTL" status "$1" | awk -v u="$1" '$1 == u { print $NF }'; }

lane() { # FS (btrfs|tmpfs) KIND (btrfs-qgroup|image)
	local fs=$1 kind=$2 mnt=$T/$1
	install -d -m 0755 "$mnt"
	if [ "$fs" = btrfs ]; then
		truncate -s 1200M "$T/btrfs.img"
		mkfs.btrfs -q "$T/btrfs.img"
		mount -o loop "$T/btrfs.img" "$mnt"
		mounted+=("$mnt")
		btrfs quota enable "$mnt"
	else
		mount -t tmpfs -o size=1200M,mode=0755 jsb-t80 "$mnt"
		mounted+=("$mnt")
	fi
	export JSB_STATE_DIR=$mnt
	write_config "[user:$A]
disk_max = 200M

[user:$B]
disk_max = 600M"
	local out note pat=qgroup
	[ "$kind" = image ] && pat='image file'
	out=$("$JSB_CTL" check 2>&1)
	note=$(echo "$out" | grep "note: disk_max on state_dir \"$mnt\"")
	check "$fs: check names the mechanism for state_dir ($note)" sh -c "echo '$note' | grep -q '$pat'"

	# alice's first session holds her container until told: the later
	# sessions join it, and each one's close is when root looks at the
	# layer (a container never starts on a layer full to the last block)
	local hold
	hold=$(getent passwd $A | cut -d: -f6)/t80-release
	rm -f "$hold"
	tmbg 600 jssh $A 'for _ in $(seq 3000); do [ -e ~/t80-release ] && break; sleep 0.1; done' >/dev/null 2>&1
	local holder=$!
	wait_for 200 container_pid $A >/dev/null
	# bob's apt-get runs while alice fills her layer
	local bob_out=$T/$fs.bob
	tmbg 600 jssh $B 'sudo -n apt-get update -qq && sudo -n DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hello >/dev/null && hello' \
		>"$bob_out" 2>&1
	local bob=$!
	local before
	before=$(wc -l <"$JSB_RUN/syslog")
	out=$(tm 300 jssh $A 'sudo -n dd if=/dev/zero of=/var/tmp/fill bs=1M count=400 2>&1; echo "rc=$?"; id -un; echo alive >/tmp/t80 && cat /tmp/t80' 2>&1)
	check "$fs: alice filling her layer gets ENOSPC/EDQUOT ($(oneline "$out"))" \
		has 'No space left on device|Disk quota exceeded' "$out"
	check "$fs: dd says it failed" has '^rc=1$' "$out"
	check "$fs: her session goes on after it" has "^$A\$" "$out"
	check "$fs: her /tmp still works" has '^alive$' "$out"
	wait "$bob"
	check "$fs: bob's apt-get install at the same moment succeeds ($(oneline "$(tail -3 "$bob_out")"))" \
		[ "$(tail -1 "$bob_out")" = "Hello, world!" ]
	wait_for 50 sh -c "tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -q 'layer is full'"
	check "$fs: the admin gets one syslog line ($(oneline "$(since "$before" | grep 'layer is full')"))" \
		[ "$(since "$before" | grep -c "jsandbox: $A's layer is full: .*$kind)")" = 1 ]

	local col
	col=$(layer_col $A)
	# used at 95% of the bound or more; the bound 200M (an image's file
	# system: 200M less ext4's own tables and journal)
	check "$fs: status shows alice's layer used against its bound ($col)" \
		sh -c "echo '$col' | grep -q '($kind)\$' && echo '$col' | awk -F'[M/]' '{ exit !(\$1 >= \$3 * 0.95 && \$3 > 150 && \$3 <= 200) }'"
	out=$("$JSB_CTL" du $A)
	check "$fs: du lists /var/tmp among the biggest directories ($(oneline "$(echo "$out" | head -4)"))" \
		has '^ *(1[0-9]{2}|200)\.[0-9]M  /var/tmp$' "$(echo "$out" | sed -n 2,3p)"

	# still full: another session closing says nothing more
	before=$(wc -l <"$JSB_RUN/syslog")
	check "$fs: alice logs in again while her layer is full" has '^in$' "$(tm 60 jssh $A 'echo in' 2>&1)"
	out=$(tm 60 jssh $A 'sudo -n rm -f /var/tmp/fill; sudo -n dd if=/dev/zero of=/var/tmp/small bs=1M count=20 2>&1; echo "rc=$?"' 2>&1)
	check "$fs: after freeing, writes work again ($(oneline "$out"))" has '^rc=0$' "$out"
	touch "$hold"
	wait "$holder"
	rm -f "$hold"
	wait_for 100 sh -c "! container_pid $A >/dev/null" 2>/dev/null
	check "$fs: no second line while it stayed full, none after ($(oneline "$(since "$before" | grep 'layer is full')"))" \
		[ "$(since "$before" | grep -c "$A's layer is full")" = 0 ]
	col=$(layer_col $A)
	check "$fs: freed space shows in status ($col)" has '^([0-9.]+[BK]|[0-9]\.[0-9]M|[1-4][0-9]\.[0-9]M)/' "$col"

	if [ "$kind" = image ]; then
		local img=$mnt/layers/$A.img
		check "image: the raw image is root's, 0600, in a 0700 root directory" \
			sh -c "[ \"\$(stat -c '%u %a' '$img')\" = '0 600' ] && [ \"\$(stat -c '%u %a' '$mnt/layers')\" = '0 700' ]"
		check "image: it is sparse" sh -c "[ \$(( \$(stat -c %b '$img') * 512 )) -lt \$(stat -c %s '$img') ]"
		out=$(tm 60 jssh $A "ls /dev; ls '$mnt' 2>&1" 2>&1)
		check "image: no loop device inside ($(oneline "$out"))" hasnt '^loop' "$out"
		check "image: state_dir is not there inside" has 'No such file or directory' "$out"
		wait_for 100 sh -c "! container_pid $A >/dev/null" 2>/dev/null
		check "image: nothing of alice's image is mounted on the host" \
			sh -c "! grep -q '$mnt/users/$A' /proc/self/mountinfo"
		write_config "[user:$A]
disk_max = 400M"
		check "image: alice logs in after disk_max is raised" has '^in$' "$(tm 60 jssh $A 'echo in' 2>&1)"
		wait_for 100 sh -c "! container_pid $A >/dev/null" 2>/dev/null
		col=$(layer_col $A)
		check "image: the image file is 400M now" [ "$(stat -c %s "$img")" = 419430400 ]
		check "image: its file system grew to about 400M ($col)" has '/(3[6-9][0-9]|400)\.[0-9]M\(image\)$' "$col"
		check "image: the file kept alice's files" has '^yes$' "$(tm 60 jssh $A 'test -s /var/tmp/small && echo yes' 2>&1)"
		wait_for 100 sh -c "! container_pid $A >/dev/null" 2>/dev/null
	fi

	check "$fs: reset removes alice's layer" "$JSB_CTL" reset $A
	check "$fs: nothing of it is left" sh -c "[ ! -e '$mnt/users/$A' ] && [ ! -e '$mnt/layers/$A.img' ]"
	"$JSB_CTL" reset $B >/dev/null 2>&1
}

lane btrfs btrfs-qgroup
lane tmpfs image
finish
