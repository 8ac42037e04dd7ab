#!/bin/bash
# jsandboxctl image build/import/list/remove/update, for real, as root: a
# base image built with mmdebstrap into a scratch images_dir, checked to be
# usable and fit to share; a failed, a refused and an interrupted build leave
# nothing behind; import, --replace and remove work; update upgrades an
# image from a local apt repository served over http by the test, swaps the
# new tree in with a new id, says when nothing changed, leaves the image
# untouched when it fails, and --rebuild rebuilds from the recorded recipe;
# image list shows the layers behind an image. Also check and policy.
#
# Environment:
#   JSB_CTL    the jsandboxctl binary under test
#   JSB_CONF   the config path compiled into it; this test writes it (the
#              previous file, if any, is put back at the end)
# Exit status: 0 all passed, 1 a failure, 77 skipped (1 under CI=true).
set -u

. "$(dirname "$0")/report.sh"

# fails DESCRIPTION COMMAND...: passes when the command fails
fails() {
	local d=$1
	shift
	if "$@"; then not_ok "$d"; else ok "$d"; fi
}

[ "$(id -u)" = 0 ] || skip "needs root"
if [ -z "${JSB_CTL:-}" ] || [ -z "${JSB_CONF:-}" ]; then skip "set JSB_CTL and JSB_CONF"; fi
[ -x "$JSB_CTL" ] || skip "\"$JSB_CTL\" is not installed (run cmake --install first)"
case "$JSB_CONF" in
/etc/jsandbox.conf) skip "this build uses the system config path; configure with -DJSANDBOX_CONFIG=... for tests" ;;
esac
command -v mmdebstrap >/dev/null || skip "mmdebstrap is not installed"

# --- scratch space, and putting everything back ----------------------------

T=$(mktemp -d /var/tmp/jsb-image-test.XXXXXX) || exit 1
IMAGES=$T/images
CONF_SAVED=
BGPID=
HTTPPID=
cleanup() {
	[ -n "$BGPID" ] && kill -KILL "$BGPID" 2>/dev/null
	[ -n "$HTTPPID" ] && kill -KILL "$HTTPPID" 2>/dev/null
	# Nothing of ours may stay mounted; refuse to delete across a mount.
	if grep -q " $T" /proc/mounts; then
		echo "not ok - mounts left under $T:"
		grep " $T" /proc/mounts
	fi
	rm -rf --one-file-system "$T"
	if [ -n "$CONF_SAVED" ]; then
		mv -f "$CONF_SAVED" "$JSB_CONF"
	else
		rm -f "$JSB_CONF"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

if [ -e "$JSB_CONF" ]; then
	CONF_SAVED=$JSB_CONF.test_image-saved.$$
	cp -a "$JSB_CONF" "$CONF_SAVED"
fi
install -d -m 0755 "$(dirname "$JSB_CONF")"
cat >"$JSB_CONF.tmp" <<EOF
[global]
images_dir = $IMAGES
state_dir = $T/state
run_dir = $T/run

[default]
image = jsbimg
# Not sandboxed: check's login-shell and subordinate-range checks are about
# this host's accounts, not about images.
sandbox = no
EOF
chown root:root "$JSB_CONF.tmp"
chmod 0644 "$JSB_CONF.tmp"
mv "$JSB_CONF.tmp" "$JSB_CONF"

SUITE=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release | tr -d '"')

absent() { # PATH...: none of them exists
	local p
	for p; do [ ! -e "$p" ] || return 1; done
}
quiet() { # COMMAND...: its output into the log, for the noisy ones
	echo "# $*" >>"$T/commands.log"
	"$@" >>"$T/commands.log" 2>&1
}
listed() { # NAME [SUITE]: image list shows it
	"$JSB_CTL" image list 2>/dev/null | grep -Eq "^$1 +${2:-}"
}
globs() { # PATTERN: something matches
	compgen -G "$1" >/dev/null
}
no_leftovers() { # NAME: no work or set-aside directory of NAME
	! globs "$IMAGES/.$1.tmp-*" && ! globs "$IMAGES/.$1.old-*"
}
no_globs() { # PATTERN...: nothing matches any
	local p
	for p; do ! globs "$p" || return 1; done
}
oneline() { printf '%s' "$1" | tr '\n' ' '; }
no_build_running() { # NAME: no process of a build of NAME
	! pgrep -f "$IMAGES/.$1.tmp-" >/dev/null
}

# check also judges sshd's wiring for sandboxed users: give it a documented
# one of its own (this test starts no sshd).
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
printf 'auth optional pam_jsandbox.so\naccount required pam_jsandbox.so\nsession required pam_jsandbox.so\n' >"$T/pam"
printf 'HostKey %s\nUsePAM yes\nForceCommand %s\nX11Forwarding no\nAllowStreamLocalForwarding no\n' \
	"$T/hostkey" "$JSB_PREFIX/libexec/jsandbox/jsandbox-shell" >"$T/sshd_config"
CHECK=("$JSB_CTL" check --pam-file "$T/pam" --sshd-config "$T/sshd_config")

# --- check and policy before any image --------------------------------------

out=$("${CHECK[@]}" 2>&1)
rc=$?
check "check fails while the default image is missing" [ "$rc" = 1 ]
check "check names the missing image" grep -q '\[default\] image: no image "jsbimg"' <<<"$out"
check "policy root: always exempt" sh -c "'$JSB_CTL' policy root | grep -q 'always exempt'"
fails "policy of a user that does not exist fails" quiet "$JSB_CTL" policy jsbt-no-such-user
out=$("$JSB_CTL" policy nobody)
check "policy shows where the image comes from" grep -Eq '^image += jsbimg +\(from \[default\]\)' <<<"$out"
"$JSB_CTL" image frobnicate >/dev/null 2>&1
check "bad usage exits 2" [ $? = 2 ]

# --- build ----------------------------------------------------------------

echo "# building image jsbimg (mmdebstrap, ${SUITE:-host suite})"
if "$JSB_CTL" image build jsbimg --include rsync >"$T/build.log" 2>&1; then
	ok "image build"
else
	not_ok "image build"
	tail -20 "$T/build.log"
fi
IMG=$IMAGES/jsbimg
check "the image is in place" [ -d "$IMG/usr" ]
check "no work directory left after a build" no_leftovers jsbimg
check "the image is usable (sudo, sftp-server)" \
	chroot "$IMG" /bin/bash -c 'sudo --version >/dev/null 2>&1 && test -x /usr/lib/openssh/sftp-server'
check "--include packages are installed" chroot "$IMG" /bin/sh -c 'test -x /usr/bin/rsync'
check "the image root is root:root 0755" [ "$(stat -c '%u:%g %a' "$IMG")" = "0:0 755" ]
check "images_dir is root:root 0700" [ "$(stat -c '%u:%g %a' "$IMAGES")" = "0:0 700" ]
bad=$(find "$IMG" -xdev ! -type l -perm /022 ! \( -type d -perm -1000 \) -print | head -5)
check "nothing group/other-writable but sticky directories" [ -z "$bad" ]
[ -z "$bad" ] || echo "# $bad"
bad=$(find "$IMG" -xdev \( -uid +65535 -o -gid +65535 \) -print | head -5)
check "every file owned by an id 0-65535" [ -z "$bad" ]
check "no device nodes in the image" [ -z "$(find "$IMG" -xdev \( -type b -o -type c \) -print -quit)" ]
check "metadata beside the image, root-owned 0644" [ "$(stat -c '%u %a' "$IMAGES/.jsbimg.info" 2>/dev/null)" = "0 644" ]
check "metadata records a fresh 32-hex-digit image id" grep -Eq '^id=[0-9a-f]{32}$' "$IMAGES/.jsbimg.info"
check "metadata records suite and packages" \
	sh -c "grep -q '^suite=$SUITE\$' '$IMAGES/.jsbimg.info' && grep -q '^packages=.*rsync' '$IMAGES/.jsbimg.info'"
check "no metadata inside the image" [ ! -e "$IMG/.jsbimg.info" ]
check "image list shows the image, its suite and size" listed jsbimg "$SUITE +[0-9.]+[KMG] "
check "check passes once the image exists" quiet "${CHECK[@]}"

# check tries this kernel's features for real (ctl/check_kernel.c): on this
# host all are there, and its note names them; its scratch space is gone.
out=$("${CHECK[@]}" 2>&1 >/dev/null)
check "check tried the kernel: user namespaces, idmapped mounts, overlay, eBPF ($(oneline "$out"))" \
	grep -Eq 'note: kernel: Linux [^:]+: user namespaces, idmapped mounts, overlay \((lowerdir\+|classic lowerdir)\), cgroup [^,]+, device eBPF' <<<"$out"
check "check leaves no scratch directory" no_globs "$IMAGES/.jsandbox-check.*" "$T/state/.jsandbox-check.*" "$T/.jsandbox-check.*"
# An images_dir on a file system that cannot be idmapped (sysfs) is a
# problem check names, and the overlay probe fails there too.
cp -a "$JSB_CONF" "$T/conf.good"
sed "s|^images_dir = .*|images_dir = /sys/fs/jsbt-no-idmap/images|" "$T/conf.good" >"$JSB_CONF"
out=$("${CHECK[@]}" 2>&1)
rc=$?
cp -a "$T/conf.good" "$JSB_CONF"
check "check fails for an images_dir that cannot be idmapped" [ "$rc" = 1 ]
check "... naming the idmapped mount ($(oneline "$out"))" \
	grep -q '^kernel: \[global\] images_dir: cannot make an idmapped mount of "/sys/fs"' <<<"$out"

# --- refusals and failures leave nothing ------------------------------------

ino=$(stat -c %i "$IMG")
fails "building an existing name without --replace fails" quiet "$JSB_CTL" image build jsbimg
check "... and the image is untouched" [ "$(stat -c %i "$IMG")" = "$ino" ]
fails "an invalid package name is refused" quiet "$JSB_CTL" image build jsbbad --include 'Bad_Pkg'
fails "an invalid image name is refused" quiet "$JSB_CTL" image build '../jsbbad'
fails "an invalid mirror is refused" quiet "$JSB_CTL" image build jsbbad --mirror /etc/passwd
check "... and nothing is left" no_leftovers jsbbad
fails "a build with a package that does not exist fails" \
	quiet "$JSB_CTL" image build jsbbad --include jsb-no-such-package-xyz
check "... and leaves no work directory" no_leftovers jsbbad
check "... and no image" absent "$IMAGES/jsbbad" "$IMAGES/.jsbbad.info"

# --- an interrupted build --------------------------------------------------

"$JSB_CTL" image build jsbintr >"$T/intr.log" 2>&1 &
BGPID=$!
# Interrupt it once mmdebstrap has written into the new root (it then
# downloads and unpacks for a minute): wait for that, bounded, not a guess.
build_under_way() {
	globs "$IMAGES/.jsbintr.tmp-*/root/*" || ! kill -0 "$BGPID" 2>/dev/null
}
for _ in $(seq 1200); do build_under_way && break; sleep 0.1; done
check "the interrupted build was under way" globs "$IMAGES/.jsbintr.tmp-*/root/*"
check "... and still running" kill -0 "$BGPID"
kill -TERM "$BGPID"
wait "$BGPID"
rc=$?
BGPID=
check "SIGTERM ends the build by that signal (status $rc)" [ "$rc" = 143 ]
check "... leaves no work directory" no_leftovers jsbintr
check "... and no image" absent "$IMAGES/jsbintr" "$IMAGES/.jsbintr.info"
check "... and no process of the build" no_build_running jsbintr
check "... and no mount" sh -c "! grep -q ' $IMAGES' /proc/mounts"

# --- import ----------------------------------------------------------------

if command -v zstd >/dev/null; then TARBALL=$T/rootfs.tar.zst; else TARBALL=$T/rootfs.tar.gz; fi
tar --numeric-owner --xattrs --xattrs-include='*' -C "$IMG" -caf "$TARBALL" . ||
	not_ok "packing the image for import"
check "image import" quiet "$JSB_CTL" image import jsbimp "$TARBALL"
check "the imported image is usable" \
	chroot "$IMAGES/jsbimp" /bin/bash -c 'sudo --version >/dev/null 2>&1 && test -x /usr/lib/openssh/sftp-server'
check "the imported image root is root:root 0755" [ "$(stat -c '%u:%g %a' "$IMAGES/jsbimp")" = "0:0 755" ]
check "no work directory left after an import" no_leftovers jsbimp
check "image list shows the imported image" listed jsbimp "$SUITE "
imgid() { sed -n 's/^id=//p' "$IMAGES/.$1.info"; }
check "import writes an image id" grep -Eq '^id=[0-9a-f]{32}$' "$IMAGES/.jsbimp.info"
check "... not the built image's" [ "$(imgid jsbimp)" != "$(imgid jsbimg)" ]
ino=$(stat -c %i "$IMAGES/jsbimp")
id=$(imgid jsbimp)
check "import --replace" quiet "$JSB_CTL" image import jsbimp "$TARBALL" --replace
check "... replaced the tree" [ "$(stat -c %i "$IMAGES/jsbimp")" != "$ino" ]
check "... with a new id" sh -c "[ '$(imgid jsbimp)' != '$id' ] && grep -Eq '^id=[0-9a-f]{32}\$' '$IMAGES/.jsbimp.info'"
check "... and removed the old one (no container uses it)" no_leftovers jsbimp
mkdir -p "$T/notroot/etc" && echo hello >"$T/notroot/etc/motd"
tar -C "$T/notroot" -czf "$T/notroot.tar.gz" .
fails "importing something that is not a root filesystem fails" \
	quiet "$JSB_CTL" image import jsbnot "$T/notroot.tar.gz"
check "... and leaves nothing" absent "$IMAGES/jsbnot" "$IMAGES/.jsbnot.info"
check "... not even a work directory" no_leftovers jsbnot

# --- remove --------------------------------------------------------------------

check "image remove" quiet "$JSB_CTL" image remove jsbimp
check "... removed the tree and its metadata" absent "$IMAGES/jsbimp" "$IMAGES/.jsbimp.info"
check "... and left nothing aside" no_leftovers jsbimp
fails "removing it again fails" quiet "$JSB_CTL" image remove jsbimp
fails "image list no longer shows it" listed jsbimp

# --- update -----------------------------------------------------------------

# A local apt repository over http on 127.0.0.1 (flat, unsigned: the image
# trusts it with [trusted=yes]) with the test package jsbt-upd.
REPO=$T/repo
mkdir -p "$REPO"
publish() { # VERSION [broken]: jsbt-upd VERSION is the repository's only package
	local d=$T/pkg-$1
	mkdir -p "$d/DEBIAN" "$d/usr/share/jsbt-upd"
	printf 'Package: jsbt-upd\nVersion: %s\nArchitecture: all\nMaintainer: jsandbox tests <root@localhost>\nDescription: jsandbox image update test\n' \
		"$1" >"$d/DEBIAN/control"
	echo "$1" >"$d/usr/share/jsbt-upd/version"
	if [ "${2:-}" = broken ]; then
		printf '#!/bin/sh\nexit 1\n' >"$d/DEBIAN/postinst"
		chmod 0755 "$d/DEBIAN/postinst"
	fi
	rm -f "$REPO"/*.deb
	dpkg-deb -Zgzip --root-owner-group --build "$d" "$REPO/jsbt-upd_$1_all.deb" >/dev/null &&
		(cd "$REPO" && dpkg-scanpackages . /dev/null >Packages.new 2>/dev/null && mv Packages.new Packages)
}
publish 1.0 || not_ok "making the test package"
/usr/bin/python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$REPO" >"$T/http.log" 2>&1 &
HTTPPID=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's/^Serving HTTP on 127.0.0.1 port \([0-9]*\) .*/\1/p' "$T/http.log")
	[ -n "$port" ] && break
	kill -0 "$HTTPPID" 2>/dev/null || break
	sleep 0.1
done
check "the test's apt repository is served on 127.0.0.1:${port:-?}" [ -n "$port" ]

# The image to update: the built one with jsbt-upd 1.0 installed and the
# local repository as its only apt source, imported.
UT=$T/updtree
cp -a "$IMG" "$UT"
cp "$REPO/jsbt-upd_1.0_all.deb" "$UT/tmp/"
quiet chroot "$UT" dpkg -i /tmp/jsbt-upd_1.0_all.deb || not_ok "installing jsbt-upd 1.0 into the tree to import"
rm -f "$UT/tmp/jsbt-upd_1.0_all.deb" "$UT"/etc/apt/sources.list.d/*
: >"$UT/etc/apt/sources.list"
echo "deb [trusted=yes] http://127.0.0.1:$port/ ./" >"$UT/etc/apt/sources.list.d/jsbt.list"
tar --numeric-owner --xattrs --xattrs-include='*' -C "$UT" -cf "$T/upd.tar" . || not_ok "packing the tree to update"
rm -rf --one-file-system "$UT"
check "image import of the image to update" quiet "$JSB_CTL" image import jsbupd "$T/upd.tar"
U=$IMAGES/jsbupd
pkgver() { chroot "$U" dpkg-query -W -f '${Version}' jsbt-upd 2>/dev/null; }
info_but_update() { grep -Ev '^(id|updated|jsandboxctl-update)=' "$IMAGES/.jsbupd.info"; }
check "jsbt-upd 1.0 is in the image" [ "$(pkgver)" = 1.0 ]
id0=$(imgid jsbupd)
ino0=$(stat -c %i "$U")
info_but_update >"$T/info0"
resolv0=$(cat "$U/etc/resolv.conf" 2>/dev/null)

publish 2.0 || not_ok "publishing jsbt-upd 2.0"
t0=$(date +%s%N)
"$JSB_CTL" image update jsbupd >"$T/update.out" 2>"$T/update.err"
rc=$?
t1=$(date +%s%N)
echo "# image update took $(((t1 - t0) / 1000000)) ms"
check "image update (status $rc)" [ "$rc" = 0 ]
check "... printed the changed package, then the count, nothing else ($(oneline "$(cat "$T/update.out")"))" \
	sh -c "[ \"\$(head -1 '$T/update.out')\" = 'jsbt-upd 1.0 -> 2.0' ] &&
		sed -n '2p' '$T/update.out' | grep -q '^updated image \"jsbupd\" (.*): 1 package changed, id ' &&
		[ \$(wc -l <'$T/update.out') = 2 ]"
check "... the new version is in the image" [ "$(pkgver)" = 2.0 ]
check "... and its files" [ "$(cat "$U/usr/share/jsbt-upd/version")" = 2.0 ]
id1=$(imgid jsbupd)
check "... a new id ($id0 -> $id1)" sh -c "[ '$id1' != '$id0' ] && echo '$id1' | grep -Eqx '[0-9a-f]{32}'"
check "... a new tree in place" [ "$(stat -c %i "$U")" != "$ino0" ]
check "... the metadata kept the rest (source, archive, suite, date)" diff "$T/info0" <(info_but_update)
check "... and records the update" grep -Eq '^updated=[0-9-]+T[0-9:]+Z$' "$IMAGES/.jsbupd.info"
check "... the old tree is removed (no container uses it)" no_leftovers jsbupd
check "... nothing of the chroot stays: no policy-rc.d, the image's resolv.conf" \
	sh -c "[ ! -e '$U/usr/sbin/policy-rc.d' ] && [ \"\$(cat '$U/etc/resolv.conf' 2>/dev/null)\" = '$resolv0' ]"
check "... no device node, no apt lists, no downloaded package" \
	sh -c "[ -z \"\$(find '$U' -xdev \( -type b -o -type c \) -print -quit)\" ] &&
		! ls '$U/var/lib/apt/lists' | grep -q Packages && [ -z \"\$(find '$U/var/cache/apt/archives' -name '*.deb')\" ]"
check "... no mount left" sh -c "! grep -q ' $T' /proc/mounts"
check "... the result is fit to share" [ "$(stat -c '%u:%g %a' "$U")" = "0:0 755" ]

ino1=$(stat -c %i "$U")
out=$("$JSB_CTL" image update jsbupd 2>/dev/null)
rc=$?
check "a second update: up to date (status $rc: $out)" \
	sh -c "[ $rc = 0 ] && echo '$out' | grep -qx 'image \"jsbupd\" is up to date (no package changed; id $id1)'"
check "... the tree and the id stay" sh -c "[ '$(imgid jsbupd)' = '$id1' ] && [ '$(stat -c %i "$U")' = '$ino1' ]"
check "... and nothing is left aside" no_leftovers jsbupd

# image list: the layers made for an image, and those behind its id.
install -d -m 0700 "$T/state" "$T/state/layers"
printf 'image=jsbupd\nid=%s\n' "$id0" >"$T/state/layers/jsbt_x.base"
printf 'image=jsbupd\nid=%s\n' "$id1" >"$T/state/layers/jsbt_y.base"
printf 'image=jsbupd\nid=%s\n' "$id0" >"$T/state/layers/.jsbt_z.base.tmp"
chmod 0600 "$T"/state/layers/*
out=$("$JSB_CTL" image list 2>&1)
check "image list shows two layers on jsbupd, jsbt_x behind ($(oneline "$out"))" \
	grep -Eq '^jsbupd +[^ ]+ +[0-9.]+[KMG] .* 2  behind: jsbt_x$' <<<"$out"
check "... and no layer on jsbimg" grep -Eq '^jsbimg +.* 0  -$' <<<"$out"
out=$("$JSB_CTL" image list --json 2>&1)
check "image list --json: id, layers, behind" \
	grep -q "\"name\": \"jsbupd\", .*\"id\": \"$id1\", \"layers\": 2, \"behind\": \[\"jsbt_x\"\]" <<<"$out"
check "image list --names is still the names alone" [ "$("$JSB_CTL" image list --names | tr '\n' ' ')" = "jsbimg jsbupd " ]

# A failed update (a package whose postinst fails; then an unreachable
# source) leaves the image, its id and its metadata as they were.
publish 3.0 broken || not_ok "publishing a broken jsbt-upd 3.0"
cp -a "$IMAGES/.jsbupd.info" "$T/info1"
"$JSB_CTL" image update jsbupd >/dev/null 2>"$T/fail.err"
rc=$?
check "an update whose package fails to install fails (status $rc)" [ "$rc" = 1 ]
check "... saying why in one line ($(tail -1 "$T/fail.err"))" \
	grep -q '^jsandboxctl: apt-get full-upgrade failed (exit status 100); image "jsbupd" not updated' "$T/fail.err"
check "... the image is untouched: tree, id, metadata, version" \
	sh -c "[ '$(stat -c %i "$U")' = '$ino1' ] && cmp -s '$T/info1' '$IMAGES/.jsbupd.info' && [ \"\$(chroot '$U' dpkg-query -W -f '\${Version}' jsbt-upd)\" = 2.0 ]"
check "... no work directory left" no_leftovers jsbupd
kill "$HTTPPID" && wait "$HTTPPID" 2>/dev/null
HTTPPID=
"$JSB_CTL" image update jsbupd >/dev/null 2>"$T/fail.err"
rc=$?
check "an update from an unreachable source fails (status $rc)" [ "$rc" = 1 ]
check "... saying why ($(tail -1 "$T/fail.err"))" grep -q '^jsandboxctl: apt-get update failed' "$T/fail.err"
check "... the image is untouched" sh -c "[ '$(stat -c %i "$U")' = '$ino1' ] && cmp -s '$T/info1' '$IMAGES/.jsbupd.info'"
check "... no work directory, no mount left" sh -c "! ls -a '$IMAGES' | grep -q '^\.jsbupd\.\(tmp\|old\)-' && ! grep -q ' $T' /proc/mounts"

# An update interrupted while apt waits for a source that never answers
# (a listener on the repository's port that accepts nothing): SIGTERM ends
# it by that signal, with nothing left of it, the image untouched.
/usr/bin/python3 -u -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
print("listening", flush=True)
time.sleep(600)' "$port" >"$T/hang.log" 2>&1 &
HTTPPID=$!
for _ in $(seq 100); do grep -q listening "$T/hang.log" && break; kill -0 "$HTTPPID" 2>/dev/null || break; sleep 0.1; done
check "a listener that never answers on 127.0.0.1:$port" grep -q listening "$T/hang.log"
"$JSB_CTL" image update jsbupd >/dev/null 2>"$T/intr-upd.err" &
BGPID=$!
apt_waiting() { pgrep -f 'APT::Update::Error-Mode=any update' >/dev/null || ! kill -0 "$BGPID" 2>/dev/null; }
for _ in $(seq 600); do apt_waiting && break; sleep 0.1; done
check "the update to interrupt is in apt-get update" pgrep -f 'APT::Update::Error-Mode=any update'
kill -TERM "$BGPID"
wait "$BGPID"
rc=$?
BGPID=
check "SIGTERM ends the update by that signal (status $rc)" [ "$rc" = 143 ]
no_apt_update() { ! pgrep -f 'APT::Update::Error-Mode=any update' >/dev/null; }
check "... no process of it is left" no_apt_update
check "... the image is untouched, no work directory, no mount" \
	sh -c "[ '$(stat -c %i "$U")' = '$ino1' ] && cmp -s '$T/info1' '$IMAGES/.jsbupd.info' &&
		! ls -a '$IMAGES' | grep -q '^\.jsbupd\.\(tmp\|old\)-' && ! grep -q ' $T' /proc/mounts"
kill "$HTTPPID" && wait "$HTTPPID" 2>/dev/null
HTTPPID=

"$JSB_CTL" image update jsbt-no-such-image >/dev/null 2>"$T/fail.err"
rc=$?
check "updating an image that does not exist fails (status $rc: $(oneline "$(cat "$T/fail.err")"))" \
	sh -c "[ $rc = 1 ] && grep -q 'no image \"jsbt-no-such-image\"' '$T/fail.err'"
check "... and makes nothing" sh -c "! ls -a '$IMAGES' | grep -q 'jsbt-no-such-image'"

# --rebuild: refused without a recipe (imported), else mmdebstrap from the
# recorded recipe (here with hello added to it).
"$JSB_CTL" image update jsbupd --rebuild >/dev/null 2>"$T/rb.err"
rc=$?
check "update --rebuild of an imported image is refused (status $rc: $(oneline "$(cat "$T/rb.err")"))" \
	sh -c "[ $rc = 1 ] && grep -q 'has no recipe to rebuild from (it was imported)' '$T/rb.err'"
check "... and leaves it alone" sh -c "[ '$(stat -c %i "$U")' = '$ino1' ] && cmp -s '$T/info1' '$IMAGES/.jsbupd.info'"
sed -i 's/^packages=.*/&,hello/' "$IMAGES/.jsbimg.info"
id=$(imgid jsbimg)
ino=$(stat -c %i "$IMG")
t0=$(date +%s%N)
"$JSB_CTL" image update jsbimg --rebuild >"$T/rb.out" 2>"$T/rb.err"
rc=$?
t1=$(date +%s%N)
echo "# image update --rebuild took $(((t1 - t0) / 1000000)) ms"
check "update --rebuild from the recipe (status $rc)" [ "$rc" = 0 ]
check "... reports the package added ($(oneline "$(grep -- '->' "$T/rb.out")"))" grep -Eq '^hello \(none\) -> [0-9]' "$T/rb.out"
check "... hello is in the image" chroot "$IMG" /bin/sh -c 'test -x /usr/bin/hello'
check "... a new tree with a new id" sh -c "[ '$(stat -c %i "$IMG")' != '$ino' ] && [ '$(imgid jsbimg)' != '$id' ]"
check "... the recipe kept" grep -q '^packages=.*rsync.*hello' "$IMAGES/.jsbimg.info"
check "... nothing left aside" no_leftovers jsbimg

if [ "$FAIL" -gt 0 ] && [ -s "$T/commands.log" ]; then
	echo "# last commands and their output:"
	tail -40 "$T/commands.log" | sed 's/^/#   /'
fi
finish
