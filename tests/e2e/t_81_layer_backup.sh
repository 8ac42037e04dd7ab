#!/bin/bash
# Issue 13, part 4: jsandboxctl layer export USER FILE and layer import
# USER FILE, and reset --keep-backup. As root inside her container alice
# makes files owned by other inside ids, one of her own, a file with a
# capability (security.capability written in her namespace), a setuid file,
# a user.* attribute, a FIFO, a hard link, an absolute symlink, deletes a
# file of the image (a whiteout) and replaces a directory of the image (an
# opaque directory). Export, reset, import, log in: everything is back as
# she saw it, with the same inside owners; the archive holds inside ids,
# not host ones. An import while her container runs is refused and changes
# nothing. Then her subordinate range changes: the old layer can no longer
# be exported (its owners would be misread), the archive made before the
# change imports, and her files (the capability's root id included) belong
# to the new range. The same round trip on the bounded kinds: an ext4
# image file layer (tmpfs state_dir) and a btrfs subvolume with a qgroup.
# On each kind, a rebase of the layer (jsandboxctl rebase --force) keeps
# all of it.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
T=$JSB_RUN/t81
HOME_A=$(getent passwd $A | cut -d: -f6)
mounted=()
cleanup() {
	"$JSB_CTL" stop $A >/dev/null 2>&1
	[ -f "$T/keep/subuid" ] && cat "$T/keep/subuid" >/etc/subuid
	[ -f "$T/keep/subgid" ] && cat "$T/keep/subgid" >/etc/subgid
	"$JSB_CTL" reset $A >/dev/null 2>&1
	for m in "${mounted[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	unset JSB_STATE_DIR
	write_config
	"$JSB_CTL" reset $A >/dev/null 2>&1
	rm -rf "$T" "$HOME_A/t81-print.py" "$HOME_A/t81-make.sh" "$HOME_A/t81-release"
}
trap cleanup EXIT
rm -rf "$T"
# the state_dirs below are traversed by alice's init; the archives and
# saved files are root's alone
install -d -m 0755 "$T"
install -d -m 0700 "$T/keep"
cp -p /etc/subuid "$T/keep/subuid"
cp -p /etc/subgid "$T/keep/subgid"
has() { grep -Eq -- "$1" <<<"$2"; } # PATTERN TEXT
gone() { ! container_pid $A >/dev/null; }

# What alice sees, as root inside: type and mode, inside owner, link
# target, content, size, link count, the attributes that matter, mtime.
cat >"$HOME_A/t81-print.py" <<'EOF'
import os, stat, sys
def one(p):
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        print(p, "absent")
        return
    f = [p, oct(st.st_mode), "%d:%d" % (st.st_uid, st.st_gid), "mtime=%d" % int(st.st_mtime)]
    if stat.S_ISLNK(st.st_mode):
        f.append("->" + os.readlink(p))
    elif stat.S_ISREG(st.st_mode):
        f.append("size=%d nlink=%d" % (st.st_size, st.st_nlink))
        with open(p, "rb") as fh:
            f.append(fh.read(64).hex())
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
        for n in sorted(os.listxattr(p, follow_symlinks=False)):
            if n.startswith("user.") or n == "security.capability":
                f.append(n + "=" + os.getxattr(p, n, follow_symlinks=False).hex())
    print(" ".join(f))
for top in sys.argv[1:]:
    one(top)
    if os.path.isdir(top) and not os.path.islink(top):
        for root, dirs, files in os.walk(top):
            dirs.sort()
            for n in sorted(dirs + files):
                one(os.path.join(root, n))
EOF
# security.capability v2 (as setcap writes it): effective, permitted
# cap_net_bind_service; written in her namespace the kernel stores v3 with
# her inside root's host id
cat >"$HOME_A/t81-make.sh" <<'EOF'
set -e
u=$SUDO_UID
mkdir -p /opt/t81/sub
echo data >/opt/t81/file
chown 1234:2345 /opt/t81/file
python3 -c "import os; os.setxattr('/opt/t81/file', 'user.t81', b'kept')"
install -o "$u" -g "$u" -m 0640 /dev/null /opt/t81/hers
echo hers >>/opt/t81/hers
cp /bin/true /opt/t81/capbin
python3 -c "import os; os.setxattr('/opt/t81/capbin', 'security.capability', bytes.fromhex('0100000200040000000000000000000000000000'))"
cp /bin/true /opt/t81/suid
chmod 4755 /opt/t81/suid
chown 0:3000 /opt/t81/sub
chmod 2775 /opt/t81/sub
mkfifo -m 0620 /opt/t81/sub/fifo
ln /opt/t81/file /opt/t81/sub/hard
ln -s /etc/passwd /opt/t81/link
printf x >"/opt/t81/$(printf 'caf\303\251 \001')"
rm /etc/debian_version
rm -rf /usr/share/doc/rsync
mkdir /usr/share/doc/rsync
echo only >/usr/share/doc/rsync/only
touch -d '2001-02-03 04:05:06' /opt/t81/file /opt/t81/sub /opt/t81
EOF
chmod 0644 "$HOME_A/t81-print.py" "$HOME_A/t81-make.sh"
PRINT="sudo -n python3 ~/t81-print.py /opt/t81 /usr/share/doc/rsync /etc/debian_version"

# PRINT's output without link counts (a rebase copies hard links apart)
no_nlink() { awk '{ gsub(/ nlink=[0-9]+/, "") } 1' <<<"$1"; }

# tar's listing of the archive: "uid/gid type path"
listing() { tar --warning=no-unknown-keyword --numeric-owner -tvf "$1" | awk '{ print $2, substr($1, 1, 1), $NF }'; }

lane() { # NAME STATE_DIR: the round trip on the layer kind state_dir gives
	local n=$1 state=$2 out before after
	"$JSB_CTL" reset $A >/dev/null 2>&1
	out=$(tm 120 jssh $A 'sudo -n sh ~/t81-make.sh && echo made' 2>&1)
	check "$n: alice makes her files as root inside ($(oneline "$out"))" has '^made$' "$out"
	before=$(tm 60 jssh $A "$PRINT" 2>&1)
	printf '%s' "$before" >"$T/keep/$n.print"
	check "$n: she sees them (the capability as v2, the whiteout as absent)" \
		bash -c "grep -q '^/opt/t81/capbin .*security.capability=0100000200040000' <<<'$before' &&
			grep -q '^/etc/debian_version absent' <<<'$before' &&
			grep -q '^/opt/t81/file 0o100644 1234:2345 .*user.t81=6b657074' <<<'$before'"
	wait_for 100 gone
	out=$("$JSB_CTL" layer export $A "$T/keep/$n.tar" 2>&1)
	check "$n: layer export ($(oneline "$out"))" has "exported $A's layer: .* [1-9][0-9]* whiteouts, 1 file capabilities" "$out"
	check "$n: the archive is root's, 0600" [ "$(stat -c '%u %a' "$T/keep/$n.tar")" = '0 600' ]
	local l
	l=$(listing "$T/keep/$n.tar")
	check "$n: the archive holds inside ids (1234/2345, 0/3000, alice's own)" \
		bash -c "grep -Eq '^1234/2345 - ./opt/t81/(file|sub/hard)\$' <<<'$l' && grep -q '^0/3000 d ./opt/t81/sub/\$' <<<'$l' &&
			grep -q '^$(id -u $A)/$(id -g $A) - ./opt/t81/hers\$' <<<'$l'"
	check "$n: no host subordinate id in it" bash -c "! grep -q '^18[0-9]\{8\}/' <<<'$l'"
	check "$n: the whiteout is a character device 0,0" \
		sh -c "tar --warning=no-unknown-keyword --numeric-owner -tvf '$T/keep/$n.tar' | grep -q '^c--------- 0/0 *0,0 .* ./etc/debian_version\$'"
	check "$n: export does not overwrite a file" sh -c "! '$JSB_CTL' layer export $A '$T/keep/$n.tar' 2>/dev/null"

	out=$("$JSB_CTL" reset $A --keep-backup 2>&1)
	local bk
	bk=$(sed -n "s|^$A: \(/.*\.tar\)\$|\1|p" <<<"$out")
	check "$n: reset --keep-backup prints the backup's path ($(oneline "$out"))" test -f "$bk"
	check "$n: the backup is in state_dir/backups, 0600 root" \
		sh -c "[ '$(dirname "$bk")' = '$state/backups' ] && [ \"\$(stat -c '%u %a' '$bk')\" = '0 600' ] &&
			[ \"\$(stat -c '%u %a' '$state/backups')\" = '0 700' ]"
	check "$n: the backup holds the same entries as the export" [ "$(listing "$bk" | sort)" = "$(listing "$T/keep/$n.tar" | sort)" ]
	out=$(tm 60 jssh $A 'test -e /opt/t81 && echo still; test -e /etc/debian_version && echo image' 2>&1)
	check "$n: after the reset her files are gone, the image's back ($(oneline "$out"))" [ "$out" = image ]
	wait_for 100 gone
	out=$("$JSB_CTL" layer import $A "$bk" 2>&1)
	check "$n: layer import of the backup ($(oneline "$out"))" has "imported $A's layer" "$out"
	after=$(tm 60 jssh $A "$PRINT" 2>&1)
	check "$n: she sees everything back as it was" [ "$after" = "$before" ]
	[ "$after" = "$before" ] || diff <(echo "$before") <(echo "$after")
	out=$(tm 60 jssh $A 'sudo -n apt-get check -qq && echo apt-ok; cat /opt/t81/sub/hard' 2>&1)
	check "$n: the container works on it ($(oneline "$out"))" [ "$out" = "apt-ok
data" ]
	wait_for 100 gone
	# the same layer moved onto its image again (jsandboxctl rebase, issue
	# 13 part 3): a fresh layer of this kind filled by the rebase worker
	out=$("$JSB_CTL" rebase --force $A 2>&1)
	check "$n: rebase --force of the layer ($(oneline "$out"))" has "layer moved onto image" "$out"
	after=$(tm 60 jssh $A "$PRINT" 2>&1)
	check "$n: after the rebase she sees everything as before (hard links are copies now)" \
		[ "$(no_nlink "$after")" = "$(no_nlink "$before")" ]
	[ "$(no_nlink "$after")" = "$(no_nlink "$before")" ] || diff <(echo "$before") <(echo "$after")
	wait_for 100 gone
}

# --- the plain directory layer (no disk_max) ---------------------------------
STATE=$JSB_RUN/state
lane dir "$STATE"
UP=$STATE/users/$A/upper
# the keep-id map: inside ids above alice's own uid sit one lower in her
# range (her uid maps to itself)
inside_to_host() { echo $(($1 + $2 - ($2 > $(id -u $A) ? 1 : 0))); } # BASE ID
base=$(sed -n "s/^$A:\([0-9]*\):.*/\1/p" /etc/subuid)
check "dir: on the host the layer's files are in alice's range (1234 -> $(inside_to_host "$base" 1234))" \
	[ "$(stat -c %u "$UP/opt/t81/file")" = "$(inside_to_host "$base" 1234)" ]
check "dir: the whiteout on the host is c 0:0, the replaced directory opaque" \
	sh -c "[ \"\$(stat -c '%F %t:%T' '$UP/etc/debian_version')\" = 'character special file 0:0' ] &&
		python3 -c \"import os,sys; sys.exit(os.getxattr('$UP/usr/share/doc/rsync', 'user.overlay.opaque') != b'y')\""

# an import while her container runs is refused and changes nothing
rm -f "$HOME_A/t81-release"
tmbg 300 jssh $A 'for _ in $(seq 2000); do [ -e ~/t81-release ] && break; sleep 0.1; done' >/dev/null 2>&1
holder=$!
wait_for 200 container_pid $A >/dev/null
ino=$(stat -c %i "$UP")
out=$("$JSB_CTL" layer import $A "$T/keep/dir.tar" 2>&1)
check "import while the container runs is refused ($(oneline "$out"))" has "container is running" "$out"
check "the running layer was not touched" [ "$(stat -c %i "$UP")" = "$ino" ]
touch "$HOME_A/t81-release"
wait "$holder"
wait_for 100 gone

# her subordinate range changes
nb=$(subid_base 40)
sed -i "s/^$A:[0-9]*:/$A:$nb:/" /etc/subuid /etc/subgid
out=$("$JSB_CTL" layer export $A "$T/keep/after-change.tar" 2>&1)
check "export of a layer made for the old range is refused ($(oneline "$out"))" \
	has "belongs to the subordinate ids $base:$base" "$out"
check "and leaves no file" test ! -e "$T/keep/after-change.tar"
"$JSB_CTL" reset $A >/dev/null
out=$("$JSB_CTL" layer import $A "$T/keep/dir.tar" 2>&1)
check "the archive made before the change imports ($(oneline "$out"))" has "imported $A's layer" "$out"
check "her files are in the new range now (1234 -> $(inside_to_host "$nb" 1234))" \
	[ "$(stat -c %u "$UP/opt/t81/file")" = "$(inside_to_host "$nb" 1234)" ]
check "her own file is still hers on the host" [ "$(stat -c %u "$UP/opt/t81/hers")" = "$(id -u $A)" ]
check "the capability's root id is the new range's inside root" \
	python3 -c "import os,sys; v=os.getxattr('$UP/opt/t81/capbin','security.capability'); sys.exit(not (len(v) == 24 and int.from_bytes(v[20:24],'little') == $nb))"
after=$(tm 60 jssh $A "$PRINT" 2>&1)
check "she sees everything as before the change" [ "$after" = "$(cat "$T/keep/dir.print")" ]
wait_for 100 gone
"$JSB_CTL" reset $A >/dev/null
cat "$T/keep/subuid" >/etc/subuid
cat "$T/keep/subgid" >/etc/subgid

# --- an ext4 image file layer (tmpfs state_dir, disk_max) --------------------
install -d -m 0755 "$T/tmpfs"
mount -t tmpfs -o size=800M,mode=0755 jsb-t81 "$T/tmpfs"
mounted+=("$T/tmpfs")
export JSB_STATE_DIR=$T/tmpfs
write_config "[user:$A]
disk_max = 300M"
lane image "$T/tmpfs"
check "image: the imported layer is an image file again" test -f "$T/tmpfs/layers/$A.img"
check "image: nothing of the import is left beside it" \
	sh -c "[ -z \"\$(ls -A '$T/tmpfs/layers' | grep -Ev '^$A\.(img|base)\$')\" ] && [ \"\$(ls -A '$T/tmpfs/users')\" = '$A' ]"
"$JSB_CTL" reset $A >/dev/null 2>&1

# --- a btrfs subvolume with a qgroup --------------------------------------------
if command -v mkfs.btrfs >/dev/null; then
	truncate -s 1G "$T/btrfs.img"
	mkfs.btrfs -q "$T/btrfs.img"
	install -d -m 0755 "$T/btrfs"
	mount -o loop "$T/btrfs.img" "$T/btrfs"
	mounted+=("$T/btrfs")
	btrfs quota enable "$T/btrfs"
	export JSB_STATE_DIR=$T/btrfs
	write_config "[user:$A]
disk_max = 300M"
	lane btrfs "$T/btrfs"
	check "btrfs: the imported layer is a subvolume" [ "$(stat -c %i "$T/btrfs/users/$A")" = 256 ]
	check "btrfs: with its limit" has '/300\.0M\(btrfs-qgroup\)$' "$("$JSB_CTL" status $A | awk -v u=$A '$1 == u { print $NF }')"
	check "btrfs: nothing of the import is left beside it" [ "$(ls -A "$T/btrfs/users")" = "$A" ]
	"$JSB_CTL" reset $A >/dev/null 2>&1
else
	check "btrfs-progs is installed (.ci/packages)" false
fi
finish
