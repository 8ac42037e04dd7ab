#!/bin/bash
# The GPU driver's files against a hostile user. Inside: root of alice's
# container replaces the image's /sbin/ldconfig, which the init runs at
# the next start to list the driver's libraries; it must run with no
# capability (effective, permitted, bounding), no_new_privs, unable to
# unmount or remount the driver directory, and its failure must not stop
# the login. On the host: a driver library reached through a link into a
# directory alice owns, or listed in the ld cache from such a directory,
# is never handed to a container (the login is refused, naming it).
. "$(dirname "$0")/lib_sec.sh"
FAKE=$JSB_RUN/sec-fakedrv
LIBDIR=$FAKE_LIBDIR
DRV=/run/jsandbox/driver
V=535.104.05
# shellcheck disable=SC2119 # no major besides 195 to check
fake_gpu_usable

cleanup() {
	"$JSB_CTL" stop "$A" >/dev/null 2>&1
	rm -rf "$FAKE" "$FAKE-build"
	write_config
}
trap cleanup EXIT

rm -rf "$FAKE" "$FAKE-build"
install -d -m 0755 "$FAKE"
fake_nv_gpu "$FAKE" 0000:3b:00.0 0 GPU-bbbbbbbb-0000-0000-0000-000000000002
printf 'Character devices:\n195 nvidia\n' >"$FAKE/proc/devices"
fake_nv_driver "$FAKE" "$FAKE-build" $V
write_config "[user:$A]
gpus = 0"
fake_host_root "$FAKE"
"$JSB_CTL" stop "$A" >/dev/null 2>&1

# --- inside: the image's ldconfig replaced by root of the container --------
out=$(tm 60 jssh "$A" "nvidia-smi | sed -n 1p; sudo sh -c 'mv /sbin/ldconfig /sbin/ldconfig.real && cat > /sbin/ldconfig && chmod 0755 /sbin/ldconfig' <<'EOS'
#!/bin/sh
{
	grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs):' /proc/self/status
	umount $DRV 2>/dev/null && echo 'umount: done' || echo 'umount: refused'
	mount -o remount,rw $DRV 2>/dev/null && echo 'remount: done' || echo 'remount: refused'
	echo x 2>/dev/null >>$DRV/libcuda.so.$V && echo 'write: done' || echo 'write: refused'
} >/etc/jsb-ldconfig-was-here 2>&1
exit 3
EOS
echo replaced" 2>&1)
printf '%s\n' "$out" | sed 's/^/  | /'
check "set-up: the driver works and ldconfig was replaced ($(oneline "$out"))" [ "$out" = "Driver Version: $V
replaced" ]
"$JSB_CTL" stop "$A" >/dev/null
before=$(wc -l <"$JSB_RUN/syslog")
in=$(tm 60 jssh "$A" "cat /etc/jsb-ldconfig-was-here; nvidia-smi | sed -n 1p" 2>&1)
printf '%s\n' "$in" | sed 's/^/  | /'
has "the replaced ldconfig ran at the start" "$in" -- "^CapEff:"
has "it had no effective capability" "$in" -x -- "CapEff:	0000000000000000"
has "no permitted capability" "$in" -x -- "CapPrm:	0000000000000000"
has "an empty bounding set" "$in" -x -- "CapBnd:	0000000000000000"
has "no_new_privs" "$in" -x -- "NoNewPrivs:	1"
has "it could not unmount the driver directory" "$in" -x -- "umount: refused"
has "it could not remount it read-write" "$in" -x -- "remount: refused"
has "it could not write a driver library" "$in" -x -- "write: refused"
has "its failure did not stop the login; the driver still works" "$in" -x -- "Driver Version: $V"
check "syslog says the ld cache was not rebuilt" sh -c "tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -q 'ldconfig exited with 3'"
tm 60 jssh "$A" "sudo mv /sbin/ldconfig.real /sbin/ldconfig; sudo rm -f /etc/jsb-ldconfig-was-here" >/dev/null 2>&1
"$JSB_CTL" stop "$A" >/dev/null

# --- on the host: driver files reached through a user's directory ----------
refused() { # WHAT SYSLOG-PATTERN
	local before out
	before=$(wc -l <"$JSB_RUN/syslog")
	out=$(tm 60 jssh "$A" 'echo "in:$(cat /proc/1/comm)"' 2>&1)
	has "$1: no shell ($(oneline "$out"))" "$out" -- "^jsandbox: "
	check "$1: syslog names it" sh -c "tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -q '$2'"
}
# a link to a directory of alice's, inside host_root
install -d -o "$A" -m 0755 "$FAKE/srv-alice"
install -o "$A" -m 0644 "$FAKE/$LIBDIR/libcuda.so.$V" "$FAKE/srv-alice/libcuda.so.$V"
ln -sf "/srv-alice/libcuda.so.$V" "$FAKE/$LIBDIR/libcuda.so.1"
refused "libcuda.so.1 linking into a directory alice owns" "libcuda.so.1.*srv-alice.*not owned by root"
ln -sf "libcuda.so.$V" "$FAKE/$LIBDIR/libcuda.so.1"
# the ld cache listing a directory alice owns
printf '/srv-alice\n/%s\n' "$LIBDIR" >"$FAKE/etc/ld.so.conf"
rm -f "$FAKE/$LIBDIR/libcuda.so.1" "$FAKE/$LIBDIR/libcuda.so.$V"
ldconfig -r "$FAKE"
refused "an ld cache entry in a directory alice owns" "srv-alice.*not owned by root"
out=$("$JSB_CTL" gpus 2>&1)
has "jsandboxctl gpus still lists the GPU" "$out" -- "^gpu 0: pci 0000:3b:00.0"
finish
