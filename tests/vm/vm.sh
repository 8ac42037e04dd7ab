# shellcheck shell=bash
# Boot, reach and stop the lane's Debian 12 VM (sourced by run-lane.sh).
#
# vm_boot DISK_DIR WORK_DIR KERNEL: boot a copy-on-write overlay of
#   DISK_DIR's disk.raw with QEMU (TCG unless JSB_VM_ACCEL says otherwise)
#   on the disk's kernel KERNEL (6.1 or 6.12: DISK_DIR/vmlinuz-KERNEL and
#   initrd.img-KERNEL) and wait, bounded, until the guest's sshd answers as
#   root. Sets VM_PORT, VM_PID.
# vm_reboot: reboot the guest, wait for its shutdown and boot it again.
# vm_ssh ARGS...: ssh to the guest as root.
# vm_stop: power the guest off and wait for QEMU (bounded), then kill it.

VM_PID=
VM_PORT=
VM_KEY=
VM_WORK=
VM_DISK=
VM_KERNEL=

vm_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

vm_ssh_opts() {
	printf '%s\n' -i "$VM_KEY" -p "$VM_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=10 -o IdentitiesOnly=yes
}

vm_ssh() {
	local o
	mapfile -t o < <(vm_ssh_opts)
	# shellcheck disable=SC2029 # the command is meant for the guest's shell
	ssh "${o[@]}" root@127.0.0.1 "$@"
}

vm_boot() {
	local disk
	disk=$(realpath "$1")
	VM_WORK=$2
	VM_DISK=$disk
	VM_KERNEL=$3
	[ -s "$disk/vmlinuz-$VM_KERNEL" ] || {
		echo "vm: no kernel $VM_KERNEL in $disk ($(cat "$disk/kernels" 2>/dev/null))" >&2
		return 1
	}
	VM_KEY=$VM_WORK/id_ed25519
	install -m 0600 "$disk/id_ed25519" "$VM_KEY"
	qemu-img create -q -f qcow2 -F raw -b "$disk/disk.raw" "$VM_WORK/disk.qcow2"
	VM_PORT=$(vm_free_port)
	vm_start
}

# vm_start: start QEMU on the overlay vm_boot made (again, after a reboot:
# -no-reboot makes a guest's reboot end QEMU) and wait for sshd.
#
# One vCPU under TCG (JSB_VM_CPUS overrides; 2 under KVM). With two, QEMU
# 7.2's multi-threaded TCG lets one vCPU run kernel text the other has just
# patched: when a static key flips (text_poke_bp's int3 protocol), a vCPU
# still executed the int3 after the patch was done and the kernel died with
# "Oops: int3" in __alloc_pages (6.12 guest, e2e_t_13_limits; on a systemd
# host cpusets_enabled flips as users' scopes come and go). The oops killed
# the task it hit (in CI, it seems, the root session running the suites) or panicked the
# guest. A single vCPU cannot race with itself; the 6.12 lane took 1142 s
# against 983 s on two.
# oops=panic panic=1: an oops ends the guest at once (QEMU exits, -no-reboot)
# instead of leaving a half-dead kernel under the tests; console.log has it.
vm_start() {
	local accel=${JSB_VM_ACCEL:-tcg,thread=multi} cpus=1
	case $accel in kvm*) cpus=2 ;; esac
	qemu-system-x86_64 -machine q35 -accel "$accel" -cpu max -smp "${JSB_VM_CPUS:-$cpus}" -m 2048 \
		-kernel "$VM_DISK/vmlinuz-$VM_KERNEL" -initrd "$VM_DISK/initrd.img-$VM_KERNEL" \
		-append "root=/dev/vda rw console=ttyS0 net.ifnames=0 oops=panic panic=1" \
		-drive "file=$VM_WORK/disk.qcow2,if=virtio,format=qcow2" \
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$VM_PORT-:22" -device virtio-net-pci,netdev=n0 \
		-display none -serial "file:$VM_WORK/console.log" -no-reboot &
	VM_PID=$!
	local t0=$SECONDS
	# Bounded wait for the guest's sshd (TCG boots Debian 12 in well under
	# this; a guest that never answers fails the lane, console.log says why).
	vm_wait_ssh "${JSB_VM_BOOT_TIMEOUT:-300}" || return 1
	VM_BOOT_S=$((SECONDS - t0))
	echo "vm: booted, sshd answers after ${VM_BOOT_S}s (port $VM_PORT)"
}

# vm_reboot: reboot the guest; wait (bounded) until its QEMU ends, which
# -no-reboot makes happen when the guest's shutdown is complete; start it
# again. Sets VM_SHUTDOWN_S (reboot command to QEMU's end).
vm_reboot() {
	local t0=$SECONDS
	vm_ssh 'systemctl reboot' >/dev/null 2>&1
	while kill -0 "$VM_PID" 2>/dev/null && ((SECONDS - t0 < ${JSB_VM_SHUTDOWN_TIMEOUT:-240})); do
		sleep 1
	done
	if kill -0 "$VM_PID" 2>/dev/null; then
		echo "vm: the guest did not finish its reboot's shutdown in time; console:" >&2
		tail -n 30 "$VM_WORK/console.log" >&2
		return 1
	fi
	wait "$VM_PID" 2>/dev/null
	# shellcheck disable=SC2034 # read by the lane's tests
	VM_SHUTDOWN_S=$((SECONDS - t0))
	mv "$VM_WORK/console.log" "$VM_WORK/console.before-reboot.log"
	vm_start
}

# vm_wait_ssh SECONDS: poll, bounded, until the guest's sshd lets root in
# (after boot, or after `systemctl reload ssh`, which re-executes sshd:
# for a moment nothing listens and a connection is reset).
vm_wait_ssh() {
	local t0=$SECONDS
	while ! vm_ssh true 2>/dev/null; do
		if ! kill -0 "$VM_PID" 2>/dev/null; then
			echo "vm: QEMU exited; console:" >&2
			tail -n 30 "$VM_WORK/console.log" >&2
			return 1
		fi
		if ((SECONDS - t0 > $1)); then
			echo "vm: sshd does not answer after $1s; console:" >&2
			tail -n 30 "$VM_WORK/console.log" >&2
			return 1
		fi
		sleep 1
	done
}

vm_stop() {
	[ -n "$VM_PID" ] || return 0
	vm_ssh 'systemctl poweroff' >/dev/null 2>&1 || true
	local t0=$SECONDS
	while kill -0 "$VM_PID" 2>/dev/null && ((SECONDS - t0 < 60)); do
		sleep 1
	done
	kill -KILL "$VM_PID" 2>/dev/null || true
	wait "$VM_PID" 2>/dev/null || true
	VM_PID=
}
