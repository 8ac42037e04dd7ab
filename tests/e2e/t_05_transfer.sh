#!/bin/bash
# Behaviour 5: sftp and scp work (put and get, in the user's home; files are
# the user's on the host), and rsync works when the image has it (the test
# image does).
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
R=$A@jsbtest
H=$(getent passwd $A | cut -d: -f6)
G=$(id -gn $A)
T=$(mktemp -d "$JSB_RUN/t05.XXXXXX")
cleanup() {
	rm -rf "$T" "$H"/t05-* /tmp/jsbt-t05-marker /tmp/jsbt-t05-put
}
trap cleanup EXIT
sha() { sha256sum <"$1" | cut -d' ' -f1; }
same() { [ -f "$1" ] && [ -f "$2" ] && [ "$(sha "$1")" = "$(sha "$2")" ]; }
owned() { [ "$(stat -c %U:%G "$1" 2>/dev/null)" = "$A:$G" ]; }
# all_owned DIR: everything under DIR is the user's
all_owned() { [ -d "$1" ] && [ -z "$(find "$1" ! -user $A -o ! -group "$G" | head -1)" ]; }
# manifest DIR: names, types, modes, sizes, link targets
manifest() {
	(cd "$1" && find . -mindepth 1 \( -type d -printf '%P d %m\n' \) -o -printf '%P %y %m %s %l\n' | LC_ALL=C sort)
}
same_tree() { diff -r --no-dereference "$1" "$2" >/dev/null && [ "$(manifest "$1")" = "$(manifest "$2")" ]; }

head -c 3145728 /dev/urandom >"$T/up.bin"
echo "some text" >"$T/up.txt"
# a tree for the recursive copies
S=$T/tree
mkdir -p "$S/a/b/c" "$S/with space" "$S/empty"
head -c 1048576 /dev/urandom >"$S/a/b/c/big.bin"
echo one >"$S/a/one"
echo two >"$S/with space/two words.txt"
printf '#!/bin/sh\n' >"$S/a/run.sh"
chmod 0755 "$S/a/run.sh"
chmod 0640 "$S/a/one"
: >"$S/a/b/zero"

# --- sftp ------------------------------------------------------------------
cat >"$T/batch" <<EOF
pwd
mkdir t05-sftp
cd t05-sftp
put $T/up.bin up.bin
put $T/up.txt
rename up.bin moved.bin
ls -1
get moved.bin $T/got.bin
rm up.txt
EOF
tm 120 jsftp $A -b "$T/batch" >"$T/sftp.out" 2>&1
rc=$?
check "an sftp batch (mkdir, cd, put, rename, ls, get, rm) succeeds ($rc)" [ "$rc" = 0 ]
[ "$rc" = 0 ] || sed 's/^/    /' "$T/sftp.out"
check "sftp starts in the user's home" grep -q "^Remote working directory: $H\$" "$T/sftp.out"
check "sftp put lands in the home on the host" same "$T/up.bin" "$H/t05-sftp/moved.bin"
check "owned by the user" owned "$H/t05-sftp/moved.bin"
check "sftp mkdir makes the user's directory" owned "$H/t05-sftp"
check "sftp rename renamed it" test ! -e "$H/t05-sftp/up.bin"
check "sftp ls lists it" grep -qx 'moved.bin' "$T/sftp.out"
check "sftp rm removed the other file" test ! -e "$H/t05-sftp/up.txt"
check "sftp get brings it back intact" same "$T/up.bin" "$T/got.bin"
# sftp-server runs in the container: / is the container's, as for ssh
printf 'cd /\nls -1\n' >"$T/batch4"
sftp_root=$(tm 60 jsftp $A -b "$T/batch4" 2>/dev/null | grep -v '^sftp>' | LC_ALL=C sort)
ssh_root=$(tm 60 jssh $A 'ls -1 /' </dev/null | LC_ALL=C sort)
check "sftp sees the container's / ($(oneline "$sftp_root"))" [ -n "$ssh_root" -a "$sftp_root" = "$ssh_root" ]
# sftp-server runs in the container: the host's /tmp is not what it sees
echo host >/tmp/jsbt-t05-marker
printf 'ls /tmp/jsbt-t05-marker\n' >"$T/batch2"
tm 60 jsftp $A -b "$T/batch2" >"$T/sftp2.out" 2>&1
check "sftp does not see the host's /tmp" [ $? != 0 ]
printf 'put %s /tmp/jsbt-t05-put\nls /tmp/jsbt-t05-put\n' "$T/up.txt" >"$T/batch3"
tm 60 jsftp $A -b "$T/batch3" >"$T/sftp3.out" 2>&1
check "sftp writes to the container's /tmp" [ $? = 0 ]
check "not to the host's" test ! -e /tmp/jsbt-t05-put

# --- scp (sftp protocol, the default) -----------------------------------------
tm 120 jscp $A "$T/up.bin" "$R:t05-scp.bin"
check "scp put succeeds" [ $? = 0 ]
check "scp put lands in the home, intact" same "$T/up.bin" "$H/t05-scp.bin"
check "owned by the user" owned "$H/t05-scp.bin"
tm 120 jscp $A "$R:t05-scp.bin" "$T/scp-down.bin"
check "scp get brings it back intact" same "$T/up.bin" "$T/scp-down.bin"
tm 60 jscp $A "$T/up.txt" "$R:~/t05-tilde.txt"
check "scp to ~/path lands in the home" same "$T/up.txt" "$H/t05-tilde.txt"
tm 120 jscp $A -r "$S" "$R:t05-rtree"
check "scp -r put succeeds" [ $? = 0 ]
check "scp -r copies the tree" diff -r "$S" "$H/t05-rtree"
check "every copied file is the user's" all_owned "$H/t05-rtree"
tm 120 jscp $A -r "$R:t05-rtree" "$T/rback"
check "scp -r get brings the tree back" diff -r "$S" "$T/rback"

# --- scp -O (the legacy scp protocol: scp runs inside the container) -------
tm 120 jscp $A -O "$T/up.bin" "$R:t05-scpO.bin"
check "scp -O put succeeds" [ $? = 0 ]
check "scp -O put lands in the home, intact" same "$T/up.bin" "$H/t05-scpO.bin"
check "owned by the user" owned "$H/t05-scpO.bin"
tm 120 jscp $A -O "$R:t05-scpO.bin" "$T/scpO-down.bin"
check "scp -O get brings it back intact" same "$T/up.bin" "$T/scpO-down.bin"
tm 120 jscp $A -O -rp "$S" "$R:t05-rtreeO"
check "scp -O -rp put copies the tree" diff -r "$S" "$H/t05-rtreeO"
check "with modes kept (-p)" [ "$(manifest "$S")" = "$(manifest "$H/t05-rtreeO")" ]
check "every copied file is the user's" all_owned "$H/t05-rtreeO"
tm 120 jscp $A -O -r "$R:t05-rtreeO" "$T/rbackO"
check "scp -O -r get brings the tree back" diff -r "$S" "$T/rbackO"

# --- rsync ------------------------------------------------------------------
check "the image has rsync" tm 60 jssh $A 'command -v rsync >/dev/null' </dev/null
RSH="ssh -F $JSB_RUN/ssh_config -i $JSB_RUN/keys/id_$A"
ln -s a/b/c/big.bin "$S/link"
rs() { timeout -k 5 120 rsync -e "$RSH" "$@"; }
rs -a "$S/" "$R:t05-rsync/"
check "rsync -a to the container succeeds" [ $? = 0 ]
check "rsync -a copies the tree (contents, modes, links)" same_tree "$S" "$H/t05-rsync"
check "every copied file is the user's" all_owned "$H/t05-rsync"
check "modification times are kept" [ "$(stat -c %Y "$S/a/b/c/big.bin")" = "$(stat -c %Y "$H/t05-rsync/a/b/c/big.bin")" ]
# an incremental run: a change, a new file, a deletion
echo changed >>"$S/a/one"
echo new >"$S/new.txt"
rm "$S/a/b/zero"
rs -a --delete --itemize-changes "$S/" "$R:t05-rsync/" >"$T/rs.out"
check "an incremental rsync succeeds" [ $? = 0 ]
check "and sends only what changed" [ "$(grep -c '^<f' "$T/rs.out")" = 2 ]
check "the trees are the same again" same_tree "$S" "$H/t05-rsync"
check "a checksum run finds nothing to send" [ -z "$(rs -anic "$S/" "$R:t05-rsync/")" ]
rs -a "$R:t05-rsync/" "$T/rsback/"
check "rsync -a from the container succeeds" [ $? = 0 ]
check "rsync -a brings the tree back" same_tree "$S" "$T/rsback"
finish
