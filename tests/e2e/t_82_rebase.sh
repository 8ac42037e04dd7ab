#!/bin/bash
# Issue 13, part 3: a user's layer follows an updated image without losing
# what they installed. Image v1 has jsbt-upd 1.0 (a package of a local apt
# repository served on loopback, with a conffile). Alice, as root inside,
# installs hello, writes /opt/x and /usr/local/bin/y, edits the conffile,
# deletes a file of the image and one of jsbt-upd. The repository gets
# jsbt-upd 2.0 and the admin updates the image; image list shows alice
# behind. At her next login her layer is rebased: jsbt-upd is 2.0 (its
# files too, the one she deleted back as the new version's), hello is still
# installed, her files, her conffile edit and her deletion of the image's
# file are kept, dpkg --audit and apt-get check are clean, syslog and her
# /var/log/jsandbox-rebase.log say what happened. Then: rebase refuses a
# running container; a layer whose dpkg status is a link (hostile) makes
# the rebase fail with a reason, the layer unchanged and her login working;
# rebase --all.
. "$(dirname "$0")/lib.sh"
need_root
command -v dpkg-scanpackages >/dev/null || skip "dpkg-scanpackages (dpkg-dev) is not installed"
A=jsbt_alice
T=$JSB_RUN/t82
HOME_A=$(getent passwd $A | cut -d: -f6)
SRV=
cleanup() {
	"$JSB_CTL" stop $A >/dev/null 2>&1
	"$JSB_CTL" reset $A >/dev/null 2>&1
	[ -n "$SRV" ] && kill "$SRV" 2>/dev/null
	write_config
	"$JSB_CTL" image remove jsbrebase >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
rm -rf "$T"
install -d -m 0755 "$T" "$T/repo"
gone() { ! container_pid $A >/dev/null; }
found() { grep -Eq -- "$1" <<<"$2"; } # PATTERN TEXT
logged() { tail -n +"$((before + 1))" "$JSB_RUN/syslog" | grep -Eq "$1"; }

# --- the local repository ------------------------------------------------------
mk_deb() { # VERSION
	local d=$T/pkg-$1
	install -d "$d/DEBIAN" "$d/usr/share/jsbt-upd" "$d/etc"
	cat >"$d/DEBIAN/control" <<EOF
Package: jsbt-upd
Version: $1
Architecture: all
Maintainer: jsandbox tests <dev@jsandbox.invalid>
Description: jsandbox rebase test package
EOF
	echo /etc/jsbt-upd.conf >"$d/DEBIAN/conffiles"
	echo "setting = default" >"$d/etc/jsbt-upd.conf"
	echo "version $1" >"$d/usr/share/jsbt-upd/version"
	dpkg-deb --root-owner-group -b "$d" "$T/repo/jsbt-upd_$1_all.deb" >/dev/null
	(cd "$T/repo" && dpkg-scanpackages -m . >Packages 2>/dev/null)
}
mk_deb 1.0
python3 - "$T/repo" "$T/port" <<'PY' >/dev/null 2>&1 &
import functools, http.server, os, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s.serve_forever()
PY
SRV=$!
wait_for 100 test -s "$T/port"
PORT=$(cat "$T/port")

# --- image v1: the test image with jsbt-upd 1.0 and the repository ----------------
cp -a "$JSB_CACHE/images/jsbtest" "$T/v1"
dpkg --root="$T/v1" -i "$T/repo/jsbt-upd_1.0_all.deb" >/dev/null
echo "deb [trusted=yes] http://127.0.0.1:$PORT/ ./" >"$T/v1/etc/apt/sources.list.d/jsbt.list"
tar --numeric-owner --xattrs -C "$T/v1" -cf "$T/v1.tar" .
rm -rf "$T/v1"
out=$("$JSB_CTL" image import jsbrebase "$T/v1.tar" 2>&1)
check "image v1 imported ($(oneline "$out" | tail -c 200))" "$JSB_CTL" image list --names
rm -f "$T/v1.tar"
write_config "[user:$A]
image = jsbrebase"
"$JSB_CTL" reset $A >/dev/null 2>&1

# --- alice installs and changes things --------------------------------------------
cat >"$HOME_A/t82-make.sh" <<'EOF'
set -e
apt-get -q update >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get -q -y install hello >/dev/null 2>&1
mkdir -p /opt/x
echo mine >/opt/x/file
printf '#!/bin/sh\necho y\n' >/usr/local/bin/y
chmod 0755 /usr/local/bin/y
echo "setting = mine" >/etc/jsbt-upd.conf
rm /etc/debian_version /usr/share/jsbt-upd/version
echo made
EOF
chmod 0644 "$HOME_A/t82-make.sh"
out=$(tm 300 jssh $A 'cat /usr/share/jsbt-upd/version; sudo -n sh ~/t82-make.sh' 2>&1)
check "alice on v1 sees jsbt-upd 1.0, installs hello and makes her files ($(oneline "$out" | tail -c 300))" \
	[ "$out" = "version 1.0
made" ]
wait_for 200 gone

# --- the admin updates the image ----------------------------------------------------
mk_deb 2.0
out=$("$JSB_CTL" image list 2>&1)
check "image list: no one behind yet ($(oneline "$out" | tail -c 200))" found "^jsbrebase .* 1 +-$" "$out"
out=$("$JSB_CTL" image update jsbrebase 2>&1)
check "image update brings jsbt-upd 2.0 ($(oneline "$out" | tail -c 300))" found "^jsbt-upd 1.0 -> 2.0$" "$out"
out=$("$JSB_CTL" image list 2>&1)
check "image list: alice's layer is behind ($(oneline "$out" | tail -c 200))" found "^jsbrebase .* 1 +behind: $A$" "$out"

# --- her next login rebases her layer -----------------------------------------------
before=$(wc -l <"$JSB_RUN/syslog")
out=$(tm 300 jssh $A 'cat /usr/share/jsbt-upd/version; dpkg-query -W -f "\${Package} \${Version} \${Status}\n" jsbt-upd hello | sed "s/^hello [^ ]* install ok installed$/hello installed/";
	hello; cat /opt/x/file; y; cat /etc/jsbt-upd.conf; test -e /etc/debian_version || echo deleted;
	sudo -n dpkg --audit && echo audit-clean; sudo -n apt-get check -qq && echo check-clean' 2>&1)
check "after the update: jsbt-upd 2.0, hello kept, her files, conffile and deletion kept, dpkg and apt clean ($(oneline "$out"))" \
	[ "$out" = "version 2.0
hello installed
jsbt-upd 2.0 install ok installed
Hello, world!
mine
y
setting = mine
deleted
audit-clean
check-clean" ]
check "syslog: event=rebase with what followed and what was carried" \
	logged "event=rebase user=$A image=jsbrebase from=[^ ]+ to=[^ ]+ followed=[1-9][0-9]* carried=1 newer=0 not_carried=0 problems=0 ms=[0-9]+ result=ok"
out=$(tm 60 jssh $A 'cat /var/log/jsandbox-rebase.log' 2>&1)
check "her /var/log/jsandbox-rebase.log says what happened ($(oneline "$out" | tail -c 300))" \
	found "^followed jsbt-upd 1.0 -> 2.0\$" "$out"
check "  ... and that hello was carried" found "^carried hello " "$out"
check "  ... and that her conffile was kept" found "^note /etc/jsbt-upd.conf: your changed configuration file is kept" "$out"
wait_for 200 gone
out=$("$JSB_CTL" rebase $A 2>&1)
check "rebase USER: already on the image ($(oneline "$out"))" found "^$A: layer already on image \"jsbrebase\"" "$out"

# --- refused while running; a hostile layer fails cleanly ----------------------------
rm -f "$HOME_A/t82-release"
tmbg 300 jssh $A 'for _ in $(seq 3000); do [ -e ~/t82-release ] && break; sleep 0.1; done' >/dev/null 2>&1
holder=$!
wait_for 200 container_pid $A >/dev/null
out=$("$JSB_CTL" rebase --force $A 2>&1)
check "rebase while the container runs is deferred ($(oneline "$out"))" found "container running" "$out"
out=$(tm 60 jssh $A 'sudo -n ln -sf /etc/hostname /var/lib/dpkg/status.jsb && sudo -n mv -f /var/lib/dpkg/status.jsb /var/lib/dpkg/status && echo planted' 2>&1)
check "alice makes her dpkg status a link ($(oneline "$out"))" [ "$out" = planted ]
touch "$HOME_A/t82-release"
wait "$holder"
wait_for 200 gone
UP=$JSB_RUN/state/users/$A/upper
ino=$(stat -c %i "$UP")
out=$("$JSB_CTL" rebase --force $A 2>&1)
rc=$?
check "rebase of the hostile layer fails with the reason ($(oneline "$out"))" \
	found "your /var/lib/dpkg/status cannot be read: Too many levels of symbolic links" "$out"
check "  ... and exits non-zero" [ "$rc" != 0 ]
check "her layer is unchanged" [ "$(stat -c %i "$UP")" = "$ino" ]
check "no rebase work left behind" [ ! -e "$JSB_RUN/state/users/.$A.rebase" ]
out=$(tm 60 jssh $A 'cat /opt/x/file' 2>&1)
check "she still logs in, on her layer ($(oneline "$out"))" [ "$out" = mine ]
wait_for 200 gone
out=$(tm 60 jssh $A 'sudo -n rm /var/lib/dpkg/status && sudo -n cp /var/lib/dpkg/status-old /var/lib/dpkg/status && echo fixed' 2>&1)
check "she puts her dpkg status back ($(oneline "$out"))" [ "$out" = fixed ]
wait_for 200 gone
out=$("$JSB_CTL" rebase --all --force 2>&1)
check "rebase --all ($(oneline "$out"))" found "layer moved onto image \"jsbrebase\"" "$out"
rm -f "$HOME_A/t82-make.sh" "$HOME_A/t82-release"
finish
