#!/bin/bash
# Issue 13, part 4: jsandboxctl layer import reads a tar archive a user may
# have made (an admin restoring "their backup") as root. Each hostile
# archive below is refused as a whole with a reason naming the entry,
# writes nothing outside the fresh layer (decoy directories stay empty,
# /tmp and the host's /etc untouched), leaves no half-made layer, and the
# user's previous layer stays in place: ".." and absolute names (also
# through a pax long name), a symlink and then a file through it (to a host
# directory, and to ".."), device nodes other than the whiteout c 0:0, hard
# links to absolute names, to ".." and to a symlink, an entry through a
# file, an entry twice, owners and a capability root id outside the user's
# map. Attributes overlayfs must not be handed (trusted.*, redirect,
# metacopy) are dropped; set-id bits survive only on ids of the user's
# range. And export as root over a layer root inside planted links and a
# FIFO into: the links are stored as links, nothing behind them is read,
# the FIFO does not block it.
. "$(dirname "$0")/lib_layer.sh"
STATE=$JSB_RUN/state
W=$SEC/t51
DECOY=$JSB_RUN/sec-t51-decoy
rm -rf "$W" "$DECOY" /tmp/t51-*
install -d -m 0700 "$W"
install -d -m 0755 "$DECOY"
head -c 4194304 /dev/urandom >"$DECOY/big"
EXTRA_CLEANUP="rm -rf '$W' '$DECOY' /tmp/t51-*; '$JSB_CTL' reset $A >/dev/null 2>&1"
UP=$STATE/users/$A/upper

"$JSB_CTL" reset "$A" >/dev/null 2>&1
works "alice marks her layer" "$A" 'sudo -n sh -c "echo keep >/opt/t51-marker"'
wait_for 100 sh -c "! container_pid $A >/dev/null"
marker_ino=$(stat -c %i "$UP/opt/t51-marker")
shadow_sum=$(sha256sum /etc/shadow)

# mk NAME PYTHON: an archive made with Python's tarfile; PYTHON adds
# entries to t (a TarFile) with add(name, type, **fields)
mk() {
	python3 - "$W/$1.tar" "$DECOY" <<EOF
import io, sys, tarfile
decoy = sys.argv[2]
t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
def add(name, type=tarfile.REGTYPE, data=b"x", **kw):
    i = tarfile.TarInfo(name)
    i.type = type
    i.mode = kw.pop("mode", 0o644)
    for k, v in kw.items():
        setattr(i, k, v)
    if type == tarfile.REGTYPE:
        i.size = len(data)
        t.addfile(i, io.BytesIO(data))
    else:
        t.addfile(i)
add(".", tarfile.DIRTYPE, mode=0o755)
$2
t.close()
EOF
}

# refused_import NAME REASON-PATTERN: refused, named, nothing written
refused_import() {
	local n=$1 pat=$2 out rc
	out=$("$JSB_CTL" layer import "$A" "$W/$n.tar" 2>&1)
	rc=$?
	check "$n: refused ($(oneline "$out"))" sh -c "[ $rc != 0 ] && printf '%s' \"\$1\" | grep -Eq -- \"\$2\"" _ "$out" "$pat"
	check "$n: nothing in the decoy directory" [ "$(ls -A "$DECOY")" = big ]
	check "$n: nothing in /tmp" sh -c "! ls -d /tmp/t51-* 2>/dev/null"
	check "$n: the host's /etc/shadow unchanged" [ "$(sha256sum /etc/shadow)" = "$shadow_sum" ]
	check "$n: no half-made layer left" sh -c "! ls -A '$STATE/users' | grep -q import"
	check "$n: alice's layer is the one she had" [ "$(stat -c %i "$UP/opt/t51-marker" 2>/dev/null)" = "$marker_ino" ]
}

mk dotdot 'add("../t51-escape")'
refused_import dotdot 'has a "\.\." component'
mk dotdot-inner 'add("./opt/../../t51-escape")'
refused_import dotdot-inner 'has a "\.\." component'
mk absolute 'add("/tmp/t51-abs")'
refused_import absolute 'has an absolute name'
mk longname 'add("./" + "d" * 200 + "/../../../../tmp/t51-long")'
refused_import longname 'has a "\.\." component'
mk symlink-host 'add("./evil", tarfile.SYMTYPE, linkname=decoy)
add("./evil/pwned")'
refused_import symlink-host 'goes through a symbolic link'
mk symlink-up 'add("./up", tarfile.SYMTYPE, linkname="../../../../../../tmp")
add("./up/t51-up")'
refused_import symlink-up 'goes through a symbolic link'
mk symlink-dir 'add("./opt", tarfile.SYMTYPE, linkname="/tmp")
add("./opt/t51-opt", tarfile.DIRTYPE, mode=0o755)'
refused_import symlink-dir 'goes through a symbolic link'
mk chardev 'add("./t51-null", tarfile.CHRTYPE, devmajor=1, devminor=3)'
refused_import chardev 'device node \(c 1:3\)'
mk blockdev 'add("./t51-sda", tarfile.BLKTYPE, devmajor=8, devminor=0)'
refused_import blockdev 'is a block device'
mk hardlink-abs 'add("./t51-shadow", tarfile.LNKTYPE, linkname="/etc/shadow")'
refused_import hardlink-abs 'hard link to an absolute name'
mk hardlink-up 'add("./t51-shadow", tarfile.LNKTYPE, linkname="../../../../../etc/shadow")'
refused_import hardlink-up 'hard link to a "\.\." component'
mk hardlink-symlink 'add("./s", tarfile.SYMTYPE, linkname="/etc/shadow")
add("./t51-shadow", tarfile.LNKTYPE, linkname="./s")'
refused_import hardlink-symlink 'not an earlier file'
mk through-file 'add("./f")
add("./f/x")'
refused_import through-file 'goes through a non-directory'
mk twice 'add("./f")
add("./f")'
refused_import twice 'in the archive twice'
mk owner 'add("./f", uid=70000)'
refused_import owner 'owner 70000 is outside'
mk group 'add("./f", gid=4000000000)'
refused_import group 'group 4000000000 is outside'
mk caproot 'add("./f", pax_headers={"SCHILY.xattr.security.capability": "\x00\x00\x00\x03\x00\x04\x00\x00" + "\x00" * 12 + "\x70\x11\x01\x00"})'
refused_import caproot "capability's root id is outside"
mk opaque 'add("./o", tarfile.DIRTYPE, pax_headers={"SCHILY.xattr.user.overlay.opaque": "z"})'
refused_import opaque 'user.overlay.opaque is not'

# names that become file names as root go through the one rule (t_42)
for name in . .. "$A/upper" -rf; do
	out=$("$JSB_CTL" layer export -- "$name" "$W/named.tar" 2>&1)
	check "layer export '$name' is refused ($(oneline "$out"))" \
		sh -c "printf '%s' \"\$1\" | grep -q 'cannot be used as a file name' && [ ! -e '$W/named.tar' ]" _ "$out"
	out=$("$JSB_CTL" layer import -- "$name" "$W/dotdot.tar" 2>&1)
	check "layer import '$name' is refused ($(oneline "$out"))" \
		sh -c "printf '%s' \"\$1\" | grep -q 'cannot be used as a file name'" _ "$out"
done
check "after them alice's layer is the one she had" [ "$(stat -c %i "$UP/opt/t51-marker")" = "$marker_ino" ]

# accepted, with what overlayfs must not be handed dropped
mk dropped 'add("./redir", tarfile.DIRTYPE, mode=0o755, pax_headers={"SCHILY.xattr.trusted.overlay.redirect": "/etc", "SCHILY.xattr.user.overlay.redirect": "/etc", "SCHILY.xattr.user.overlay.metacopy": "", "SCHILY.xattr.user.ok": "v"})
add("./suid", mode=0o4755, uid=0)
add("./mine", mode=0o6755, uid=5, gid=5)
add("./p", tarfile.FIFOTYPE, mode=0o6777)'
out=$("$JSB_CTL" layer import "$A" "$W/dropped.tar" 2>&1)
check "dropped: imported, saying what was left out ($(oneline "$out"))" \
	sh -c "printf '%s' \"\$1\" | grep -q 'extended attributes left out'" _ "$out"
attrs=$(python3 -c "import os; print(sorted(os.listxattr('$UP/redir')))" 2>&1)
check "dropped: only user.ok is on the directory ($attrs)" [ "$attrs" = "['user.ok']" ]
base=$(sed -n "s/^$A:\([0-9]*\):.*/\1/p" /etc/subuid)
check "set-id: the inside root's setuid file is owned by her range's first id, not host root" \
	[ "$(stat -c '%u %a' "$UP/suid")" = "$base 4755" ]
check "set-id: inside uid 5's setuid-setgid file is in her range" \
	[ "$(stat -c '%u %g %a' "$UP/mine")" = "$((base + 5)) $((base + 5)) 6755" ]
check "set-id: a FIFO keeps no set-id bit" [ "$(stat -c '%a' "$UP/p")" = 777 ]
check "no file of the layer belongs to an id outside her range or her own" \
	sh -c "! find '$UP' \( ! -uid $(id -u "$A") \) \( -uid -$base -o -uid +$((base + 65535)) \) -print | grep -q ."
check "the layer's host path is still not reachable by other users (users/$A 0700)" \
	[ "$(stat -c '%a %u' "$STATE/users/$A")" = "700 $base" ]
works "alice logs in on the imported layer" "$A" 'test -d /redir && test -p /p'
wait_for 100 sh -c "! container_pid $A >/dev/null"

# export over planted links and a FIFO
"$JSB_CTL" reset "$A" >/dev/null 2>&1
works "root inside plants links to the host and a FIFO" "$A" \
	"sudo -n sh -c 'ln -s $DECOY /var/tmp/t51-decoy && ln -s / /var/tmp/t51-root && mkfifo /var/tmp/t51-fifo'"
wait_for 100 sh -c "! container_pid $A >/dev/null"
out=$(tm 60 "$JSB_CTL" layer export "$A" "$W/planted.tar" 2>&1)
check "export finishes, the FIFO notwithstanding ($(oneline "$out"))" grep -q . "$W/planted.tar"
l=$(tar --warning=no-unknown-keyword -tvf "$W/planted.tar")
check "the links are stored as links" \
	sh -c "printf '%s' \"\$1\" | grep -q '^l.* ./var/tmp/t51-decoy -> $DECOY\$' && printf '%s' \"\$1\" | grep -q '^l.* ./var/tmp/t51-root -> /\$'" _ "$l"
check "nothing behind them was read (the archive is far below the decoy's 4 MiB)" \
	[ "$(stat -c %s "$W/planted.tar")" -lt 1048576 ]
check "no host file is in it" sh -c "! printf '%s' \"\$1\" | grep -Eq 't51-(decoy|root)/'" _ "$l"
finish
