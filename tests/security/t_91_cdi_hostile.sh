#!/bin/bash
# CDI specs are root's input, checked all the same, and never a way to run
# anything. A fake NVIDIA host with a valid spec (alice: gpus =
# nvidia.com/gpu=0; bob: gpus = none), then, one at a time: a spec with a
# device node outside /dev, a spec file writable by others, a spec file
# alice owns, a mount whose host file is reached through a link into
# alice's home, a node that is a symlink on the host, numbers that differ
# from the host node's, a YAML alias. Each refuses alice's login
# with one line naming the spec and a syslog entry, and bob still logs
# in; once the spec is fixed alice's GPU works again. A hook naming a
# program (the host's or alice's own) is never run, inside or outside.
. "$(dirname "$0")/lib_sec.sh"
FAKE=$JSB_RUN/sec-fakecdi
BUILD=$JSB_RUN/sec-fakecdi-build
LIBDIR=$FAKE_LIBDIR
SPEC=$FAKE/etc/cdi/nvidia.yaml
V=535.104.05
# shellcheck disable=SC2119 # no major besides 195 to check
fake_gpu_usable

cleanup() {
	"$JSB_CTL" stop "$A" >/dev/null 2>&1
	"$JSB_CTL" stop "$B" >/dev/null 2>&1
	rm -rf "$FAKE" "$BUILD"
	rm -f "$(home_of "$A")/evil-hook" "$(home_of "$A")/hook-ran"
	write_config
}
trap cleanup EXIT

rm -rf "$FAKE" "$BUILD"
install -d -m 0755 "$FAKE/etc/cdi" "$FAKE/dev"
fake_nv_gpu "$FAKE" 0000:3b:00.0 0 GPU-bbbbbbbb-0000-0000-0000-000000000002
printf 'Character devices:\n195 nvidia\n' >"$FAKE/proc/devices"
mknod -m 0666 "$FAKE/dev/nvidiactl" c 195 255
fake_nv_driver "$FAKE" "$BUILD" $V
homeA=$(home_of "$A")
MARK=$JSB_RUN/sec-fakecdi-hook-ran
rm -f "$MARK" "$homeA/hook-ran"
printf '#!/bin/sh\ntouch %s\n' "$MARK" >"$FAKE/usr/bin/nvidia-ctk"
chmod 0755 "$FAKE/usr/bin/nvidia-ctk"
printf '#!/bin/sh\ntouch %s/hook-ran %s\n' "$homeA" "$MARK" >"$homeA/evil-hook"
chown "$A" "$homeA/evil-hook"
chmod 0755 "$homeA/evil-hook"

# spec NODE-LINES [MOUNT-HOST]: the spec with device 0's node lines and
# the library's host path.
spec() {
	local nodes=$1 lib=${2:-/$LIBDIR/libcuda.so.$V}
	cat >"$SPEC.tmp" <<EOF
cdiVersion: 0.5.0
kind: nvidia.com/gpu
devices:
- name: "0"
  containerEdits:
    deviceNodes:
$nodes
containerEdits:
  deviceNodes:
  - path: /dev/nvidiactl
  hooks:
  - hookName: createContainer
    path: /usr/bin/nvidia-ctk
    args: [nvidia-ctk, hook, update-ldcache]
  - hookName: prestart
    path: $homeA/evil-hook
    args: [evil-hook, create-symlinks, --link, "libcuda.so.1::/usr/lib/x86_64-linux-gnu/libcuda.so"]
  - hookName: poststop
    path: /bin/sh
    args: [sh, -c, "touch $MARK"]
  mounts:
  - {hostPath: $lib, containerPath: /usr/lib/x86_64-linux-gnu/libcuda.so.$V}
  - {hostPath: /$LIBDIR/libnvidia-ml.so.$V, containerPath: /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.$V}
  - {hostPath: /usr/bin/nvidia-smi, containerPath: /usr/bin/nvidia-smi}
EOF
	chmod 0644 "$SPEC.tmp"
	mv "$SPEC.tmp" "$SPEC"
}
GOOD='    - path: /dev/nvidia0'
spec "$GOOD"
write_config "[user:$A]
gpus = nvidia.com/gpu=0
[user:$B]
gpus = none"
fake_host_root "$FAKE"
"$JSB_CTL" stop "$A" >/dev/null 2>&1
"$JSB_CTL" stop "$B" >/dev/null 2>&1

out=$(tm 60 jssh "$A" 'nvidia-smi -L; ls /run/jsandbox/driver | tr "\n" " "' 2>&1)
printf '%s\n' "$out" | sed 's/^/  | /'
has "the valid spec: alice's GPU works" "$out" -x -- "GPU 0: Fake GPU (/dev/nvidia0)"

# refused DESCRIPTION SYSLOG-PATTERN: alice gets no shell, one line naming
# the spec's problem, syslog has it; bob logs in.
refused() {
	local d=$1 pat=$2 before out outb log
	"$JSB_CTL" stop "$A" >/dev/null 2>&1
	before=$(wc -l <"$JSB_RUN/syslog")
	out=$(tm 60 jssh "$A" 'echo "in:$(cat /proc/1/comm)"' 2>&1)
	printf '%s\n' "$out" | sed 's/^/  | /'
	hasnt "$d: alice gets no shell" "$out" -- "^in:"
	# What failed and whom to contact; the spec and the reason are the
	# admin's, in syslog (docs/config.md, help_contact).
	has "$d: one line to alice" "$out" -- "^jsandbox: .*For help, contact"
	log=$(tail -n +$((before + 1)) "$JSB_RUN/syslog")
	printf '%s\n' "$log" | sed 's/^/  syslog| /'
	has "$d: syslog says why" "$log" -- "$pat"
	outb=$(tm 60 jssh "$B" 'echo "in:$(cat /proc/1/comm)"' 2>&1)
	has "$d: bob (no GPU) logs in all the same" "$outb" -- "^in:"
}

spec '    - path: /etc/shadow'
refused "a device node outside /dev" "CDI spec /etc/cdi/nvidia.yaml: line 7: deviceNodes path \"/etc/shadow\""

spec "$GOOD"
chmod 0666 "$SPEC"
refused "a spec file writable by others" "CDI spec /etc/cdi/nvidia.yaml: .*nvidia.yaml\" is writable by group or other"

spec "$GOOD"
chown "$A" "$SPEC"
refused "a spec file alice owns" "CDI spec /etc/cdi/nvidia.yaml: .*nvidia.yaml\" is not owned by root"

spec "$GOOD"
install -d -o "$A" "$FAKE/alice"
install -m 0644 -o "$A" "$BUILD/$V/libcuda.so.1" "$FAKE/alice/libevil.so"
ln -sf ../../../alice/libevil.so "$FAKE/$LIBDIR/libevil.so"
spec "$GOOD" "/$LIBDIR/libevil.so"
refused "a mount reached through a link into alice's home" "CDI spec /etc/cdi/nvidia.yaml: mount /$LIBDIR/libevil.so"
rm -rf "$FAKE/$LIBDIR/libevil.so" "$FAKE/alice"

ln -s nvidia0 "$FAKE/dev/nvidia9"
spec '    - path: /dev/nvidia9'
refused "a node that is a symlink on the host" "CDI spec /etc/cdi/nvidia.yaml: /dev/nvidia9 is not a device node"
rm -f "$FAKE/dev/nvidia9"

spec '    - {path: /dev/nvidia0, major: 195, minor: 7}'
refused "numbers other than the host node's" "/dev/nvidia0 is 195:0 on the host, the spec says 195:7"

# An alias makes one node count twice (nested, a billion laughs).
printf 'cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ncontainerEdits:\n  mounts: &m [{hostPath: /a, containerPath: /a}]\ndevices:\n- name: "0"\n  containerEdits: {mounts: *m}\n' >"$SPEC"
refused "a YAML alias" "CDI spec /etc/cdi/nvidia.yaml: line [0-9]*: .*YAML aliases are not accepted"

spec "$GOOD"
"$JSB_CTL" stop "$A" >/dev/null 2>&1
out=$(tm 60 jssh "$A" 'nvidia-smi -L' 2>&1)
check "once fixed, alice's GPU works again ($(oneline "$out"))" [ "$out" = "GPU 0: Fake GPU (/dev/nvidia0)" ]
"$JSB_CTL" stop "$A" >/dev/null 2>&1
check "no hook program ever ran (host's, alice's, /bin/sh)" sh -c "[ ! -e '$MARK' ] && [ ! -e '$homeA/hook-ran' ]"
finish
