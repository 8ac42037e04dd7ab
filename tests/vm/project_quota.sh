# shellcheck shell=bash
# Sourced by t_64 (ext4) and t_65 (XFS) of the VM lane: issue 13's
# disk_max enforced by project quotas, on a Debian kernel that has them
# (the build machines' kernel has neither CONFIG_QFMT_V2 nor
# CONFIG_XFS_QUOTA, so only here). state_dir moves to a file system of the
# kind made with project quotas and mounted `prjquota`; jsandboxctl check
# names the mechanism; a user's layer is the directory tagged with their
# uid as project id, its limit set; filling it from inside fails (ext4:
# EDQUOT; XFS: ENOSPC, its answer for a project over its limit) while the
# session goes on and another user's write succeeds; root inside cannot
# move a file out of the project; the admin gets one journal line; status
# shows the use against the bound; reset removes the layer and clears the
# limit. Then state_dir goes back.

# prj_limit DIR ID: the block hard limit (1K blocks) of project ID on
# DIR's file system, read by root in the guest through quotactl_fd(2)
# (Q_GETQUOTA, PRJQUOTA: perl-base is on every Debian system); 0 also when
# the file system keeps no record of the project (XFS drops the record of
# a project with no limit and no use: ENOENT)
prj_limit() {
	vm_ssh "perl -e 'open(my \$d, \"<\", \$ARGV[0]) or die \"\$ARGV[0]: \$!\n\"; my \$q = \"\\0\" x 72;
		if (syscall(443, fileno(\$d), 0x80000702, \$ARGV[1] + 0, \$q) != 0) {
			\$!{ENOENT} or die \"quotactl_fd: \$!\n\"; print \"0\n\"; exit 0 }
		print unpack(\"Q\", \$q), \"\n\"' $1 $2"
}
has() { grep -Eq -- "$1" <<<"$2"; } # PATTERN TEXT
hasnt() { ! grep -Eq -- "$1" <<<"$2"; }
oneline() { tr '\n' ' ' <<<"$1" | cut -c1-200; }

# project_quota_lane TAG FS MKFS SAYS: TAG names the checks (t_64), FS the
# file system, MKFS the command that makes it on an image file (appended),
# SAYS what a write over the limit fails with.
project_quota_lane() {
	local tag=$1 fs=$2 mkfs=$3 says=$4
	local USER_B P_IMG P_MNT uid_a out note hold t0 lim since bob_out used full col
	USER_B=jsbvm_bob
	P_IMG=/var/tmp/jsb-$tag.img
	P_MNT=/srv/jsb-$tag
	# shellcheck disable=SC2153 # USER_A is the lane's
	uid_a=$(vm_ssh "id -u $USER_A")
	vm_ssh "set -e
	jsandboxctl stop $USER_A >/dev/null 2>&1 || true
	id $USER_B >/dev/null 2>&1 || useradd -m -G sandboxed -s /usr/libexec/jsandbox/jsandbox-shell $USER_B
	install -d -o $USER_B -g $USER_B -m 0700 /home/$USER_B/.ssh
	install -o $USER_B -g $USER_B -m 0600 /root/.ssh/authorized_keys /home/$USER_B/.ssh/authorized_keys
	truncate -s 1G $P_IMG
	$mkfs $P_IMG
	install -d -m 0755 $P_MNT
	mount -o loop,prjquota $P_IMG $P_MNT
	cp /etc/jsandbox.conf /root/jsandbox.conf.$tag
	sed -i 's|^state_dir = .*|state_dir = $P_MNT|' /etc/jsandbox.conf
	grep -qx 'state_dir = $P_MNT' /etc/jsandbox.conf
	printf '\n[user:$USER_A]\ndisk_max = 200M\n\n[user:$USER_B]\ndisk_max = 600M\n' >>/etc/jsandbox.conf" ||
		not_ok "$tag: cannot set up the $fs file system with project quotas as state_dir"

	out=$(vm_ssh 'jsandboxctl check 2>&1')
	note=$(grep "note: disk_max on state_dir \"$P_MNT\"" <<<"$out")
	check "$tag: check names project quotas as the mechanism for state_dir ($note)" grep -q 'project quotas enforced' <<<"$note"
	check "$tag: check is content with disk_max there" vm_ssh 'jsandboxctl check >/dev/null 2>&1'

	# alice's first session holds her container until released (a file in her
	# home), so that the fill below and bob's write overlap her container.
	hold=$WORK/$tag-hold.out
	: >"$hold"
	ussh 'echo ready; for _ in $(seq 3000); do [ -e ~/pq-release ] && break; sleep 0.1; done' >"$hold" 2>&1 &
	pq_hold=$!
	t0=$SECONDS
	until grep -q ready "$hold" || ((SECONDS - t0 > 60)); do sleep 1; done
	check "$tag: alice logs in with her layer on the new state_dir" grep -qx ready "$hold"
	check "$tag: her layer is the directory tagged with project $uid_a, inherited ($(vm_ssh "lsattr -pd $P_MNT/users/$USER_A 2>&1"))" \
		vm_ssh "lsattr -pd $P_MNT/users/$USER_A | grep -Eq '^ *$uid_a +[^ ]*P[^ ]* +$P_MNT/users/$USER_A\$' &&
			lsattr -pd $P_MNT/users/$USER_A/upper | grep -Eq '^ *$uid_a '"

	lim=$(prj_limit "$P_MNT" "$uid_a" 2>&1)
	check "$tag: root set project $uid_a's hard limit to disk_max, 200M = 204800 blocks ($lim)" [ "$lim" = 204800 ]

	since=$(vm_ssh 'date +%s')
	out=$(ussh 'sudo -n dd if=/dev/zero of=/var/tmp/fill bs=1M count=400 conv=fsync 2>&1; echo "rc=$?"; id -un; echo alive >/tmp/pq && cat /tmp/pq' 2>&1)
	check "$tag: alice filling her layer gets $says ($(oneline "$out"))" has "$says" "$out"
	check "$tag: dd says it failed" has '^rc=1$' "$out"
	check "$tag: her session goes on after it" has "^$USER_A\$" "$out"
	check "$tag: her /tmp still works" has '^alive$' "$out"
	# bob writes while alice's layer is full (her container holds it so)
	bob_out=$(vm_user_ssh "$USER_B" 'sudo -n dd if=/dev/zero of=/var/tmp/bobs bs=1M count=150 conv=fsync 2>&1; echo "rc=$?"' 2>&1)
	check "$tag: bob's write of 150M while alice's layer is full succeeds ($(oneline "$bob_out"))" has '^rc=0$' "$bob_out"
	used=$(vm_ssh "du -sm $P_MNT/users/$USER_A | cut -f1")
	check "$tag: the quota holds alice's layer at its bound (${used}M on disk)" \
		test "${used:-0}" -ge 150 -a "${used:-999}" -le 201

	# Root inside cannot take a file out of the project (a user namespace may
	# not change project ids): FS_IOC_FSGETXATTR, then FS_IOC_FSSETXATTR with
	# project 0, through perl (the image has no chattr).
	out=$(ussh 'sudo -n perl -e '"'"'open(my $f, "<", "/var/tmp/fill") or die "open: $!\n"; my $b = "\0" x 28;
		ioctl($f, 0x801c581f, $b) or die "get: $!\n"; print "projid=", unpack("L", substr($b, 12, 4)), "\n";
		substr($b, 12, 4) = pack("L", 0); ioctl($f, 0x401c5820, $b) or die "set: $!\n"; print "set\n"'"'"' 2>&1; echo "rc=$?"' 2>&1)
	check "$tag: root inside sees the file's project $uid_a ($(oneline "$out"))" has "^projid=$uid_a\$" "$out"
	check "$tag: and cannot change it" hasnt '^set$' "$out"
	check "$tag: the file is still in project $uid_a" \
		vm_ssh "lsattr -p $P_MNT/users/$USER_A/upper/var/tmp/fill | grep -Eq '^ *$uid_a '"

	# alice's sessions close: root notes the full layer, once
	ussh 'touch ~/pq-release'
	wait "$pq_hold"
	vm_ssh "for i in \$(seq 100); do pgrep -u $USER_A -x jsandbox-init >/dev/null || exit 0; sleep 0.2; done" >/dev/null 2>&1
	full=$(vm_ssh "journalctl -q --no-pager --since=@$since | grep \"jsandbox: $USER_A's layer is full\"")
	check "$tag: the admin gets one journal line ($(oneline "$full"))" \
		[ "$(grep -c "layer is full: .*(disk_max, project-quota)" <<<"$full")" = 1 ]
	col=$(vm_ssh "jsandboxctl status $USER_A" | awk -v u="$USER_A" '$1 == u { print $NF }')
	check "$tag: status shows alice's layer used against its bound, project-quota ($col)" \
		sh -c "echo '$col' | grep -q '(project-quota)\$' && echo '$col' | awk -F'[M/]' '{ exit !(\$1 >= \$3 * 0.95 && \$3 == 200) }'"
	out=$(ussh 'sudo -n rm -f /var/tmp/fill; sudo -n dd if=/dev/zero of=/var/tmp/small bs=1M count=20 2>&1; echo "rc=$?"' 2>&1)
	check "$tag: after freeing, writes work again ($(oneline "$out"))" has '^rc=0$' "$out"

	vm_ssh "jsandboxctl stop $USER_A; jsandboxctl stop $USER_B" >/dev/null 2>&1
	check "$tag: reset removes alice's layer" vm_ssh "jsandboxctl reset $USER_A >/dev/null && [ ! -e $P_MNT/users/$USER_A ]"
	lim=$(prj_limit "$P_MNT" "$uid_a" 2>&1)
	check "$tag: and clears her project's limit ($lim)" [ "$lim" = 0 ]

	# state_dir back to the disk for what follows
	vm_ssh "jsandboxctl reset $USER_B >/dev/null 2>&1; cp /root/jsandbox.conf.$tag /etc/jsandbox.conf && umount $P_MNT && rm -f $P_IMG" ||
		not_ok "$tag: cannot put state_dir back"
}
