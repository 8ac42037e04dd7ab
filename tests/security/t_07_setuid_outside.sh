#!/bin/bash
# Root inside makes setuid-root binaries and a binary with a file
# capability, in her home (the host's file system) and in her layer. On the
# host they must confer nothing: root inside is an unprivileged subordinate
# uid there, and a namespaced file capability is void outside.
. "$(dirname "$0")/lib_sec.sh"
give_tool "$A"
ahome=$(home_of "$A")
up=$JSB_RUN/state/users/$A/upper
subroot=$(subid_base 1)

works "root inside makes setuid-root and file-capability binaries" "$A" "
	h=\$HOME; sudo -n sh -c \"cp \$h/jsb-attack \$h/jsbsec-suid && chown 0:0 \$h/jsbsec-suid && chmod 4755 \$h/jsbsec-suid &&
	  mkdir -p /usr/local/bin && cp \$h/jsb-attack /usr/local/bin/jsbsec-suid && chmod 4755 /usr/local/bin/jsbsec-suid &&
	  cp \$h/jsb-attack \$h/jsbsec-fcap && \$h/jsb-attack setfcap \$h/jsbsec-fcap\" &&
	ls -ln \$HOME/jsbsec-suid /usr/local/bin/jsbsec-suid"
check "in the home, the setuid file is owned by root inside's host uid $subroot, not 0" \
	sh -c "[ \"\$(stat -c %u '$ahome/jsbsec-suid')\" = $subroot ]"
check "in the layer, likewise" sh -c "[ \"\$(stat -c %u '$up/usr/local/bin/jsbsec-suid')\" = $subroot ]"
check "no file owned by host root is setuid in alice's home or layer" \
	sh -c "[ -z \"\$(find '$ahome' '$up' -xdev -uid 0 -perm /6000 2>/dev/null)\" ]"

# Run them on the host as an unrelated unprivileged user.
T=$(mktemp -d /var/tmp/jsbsec.XXXXXX)
chmod 0755 "$T"
cp -a "$ahome/jsbsec-suid" "$ahome/jsbsec-fcap" "$T/"
cp -a "$up/usr/local/bin/jsbsec-suid" "$T/jsbsec-suid-layer"
asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
check "the home's setuid binary reads no /etc/shadow on the host" asnobody "$T/jsbsec-suid" read /etc/shadow
check "the layer's setuid binary reads no /etc/shadow on the host" asnobody "$T/jsbsec-suid-layer" read /etc/shadow
check "the file capability (cap_dac_override, namespaced) is void on the host" asnobody "$T/jsbsec-fcap" read /etc/shadow
check "control: the file capability is set (namespaced to root inside)" \
	python3 -c 'import os, sys; os.getxattr(sys.argv[1], "security.capability")' "$T/jsbsec-fcap"
rm -rf "$T"
rm -f "$ahome/jsbsec-suid" "$ahome/jsbsec-fcap"
finish
