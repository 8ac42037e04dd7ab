# shellcheck shell=bash
# t_62 (VM lane, sourced by run-lane.sh): on a systemd host the container
# lives in a systemd-managed, delegated unit: jsandbox-UID.scope in
# user-UID.slice (lib/sdscope.c). Proves: the container's and the
# session's processes are in it, it is delegated and visible to loginctl
# and systemd-cgls, nothing is made at the v2 root; `jsandboxctl stop`
# leaves nothing behind (not even an empty group); `loginctl
# terminate-user` and `systemctl stop user-UID.slice` stop the container.

uid_a=$(vm_ssh "id -u $USER_A")
scope=jsandbox-$uid_a.scope
scope_dir=/sys/fs/cgroup/user.slice/user-$uid_a.slice/$scope
hold=$WORK/t62-hold.out

# t62_hold: a session held open in the background; waits (bounded) until in.
t62_hold() {
	: >"$hold"
	ussh 'echo ready; exec sleep 600' >"$hold" 2>&1 &
	T62_HOLD=$!
	local t0=$SECONDS
	until grep -q ready "$hold" || ((SECONDS - t0 > 60)); do sleep 1; done
	grep -q ready "$hold"
}
# t62_release: end the held session's ssh (it has ended already when the
# stop worked; when it did not, the lane must not wait on it) and reap it.
t62_release() {
	kill "$T62_HOLD" 2>/dev/null
	wait "$T62_HOLD" 2>/dev/null
	# the container stays up if the stop failed: end it for the next step
	vm_ssh "jsandboxctl stop $USER_A" >/dev/null 2>&1
}
# t62_gone: bounded wait until no process of the container and no scope
# (unit or group) is left.
t62_gone() {
	vm_ssh "for i in \$(seq 100); do
		! pgrep -u $uid_a >/dev/null && ! pgrep -x jsandbox-init >/dev/null && [ ! -e $scope_dir ] &&
			[ ! -e /sys/fs/cgroup/jsandbox/$USER_A ] &&
			[ \"\$(systemctl is-active $scope)\" != active ] && exit 0
		sleep 0.2
	done; exit 1"
}

check "t_62: a session is open" t62_hold
vm_ssh "systemd-cgls --no-pager -u user-$uid_a.slice; loginctl user-status --no-pager $USER_A | head -20" 2>&1 | sed 's/^/#   /'
check "t_62: the container's init is in $scope/$USER_A" \
	vm_ssh "for p in \$(pgrep -x jsandbox-init); do grep -qx '0::/user.slice/user-$uid_a.slice/$scope/$USER_A' /proc/\$p/cgroup || exit 1; done; pgrep -x jsandbox-init >/dev/null"
check "t_62: so are the session's processes (its sleep) and its sshd processes" \
	vm_ssh "p=\$(pgrep -u $uid_a -x sleep | head -1) && grep -qx '0::/user.slice/user-$uid_a.slice/$scope/$USER_A' /proc/\$p/cgroup &&
		for s in \$(pgrep -f '^sshd: $USER_A'); do grep -qx '0::/user.slice/user-$uid_a.slice/$scope/$USER_A' /proc/\$s/cgroup || exit 1; done"
check "t_62: $scope is active, delegated, in user-$uid_a.slice" \
	vm_ssh "[ \"\$(systemctl show -P ActiveState $scope)\" = active ] && [ \"\$(systemctl show -P Delegate $scope)\" = yes ] &&
		[ \"\$(systemctl show -P Slice $scope)\" = user-$uid_a.slice ]"
check "t_62: loginctl user-status and systemd-cgls show it" \
	vm_ssh "loginctl user-status --no-pager $USER_A | grep -q '$scope' && systemd-cgls --no-pager -u $scope | grep -q jsandbox-init"
check "t_62: the limits are in the user's group below the scope (memory.max, pids.max there)" \
	vm_ssh "[ -f $scope_dir/$USER_A/memory.max ] && [ -f $scope_dir/$USER_A/pids.max ]"
check "t_62: nothing of jsandbox's at the v2 root (/sys/fs/cgroup/jsandbox)" vm_ssh "[ ! -e /sys/fs/cgroup/jsandbox ]"

# jsandboxctl stop: the processes, our group and the scope go.
vm_ssh "jsandboxctl stop $USER_A" >/dev/null 2>&1
check "t_62: jsandboxctl stop ends the container and leaves no group, empty or not, nor the unit" t62_gone
t62_release

# loginctl terminate-user stops the container (through BindsTo= on
# user-runtime-dir@UID.service, which logind stops).
if t62_hold; then
	vm_ssh "systemctl show -p BindsTo -p After -p ActiveState $scope; systemctl is-active user-runtime-dir@$uid_a.service" |
		sed 's/^/#   before terminate-user: /'
	vm_ssh "loginctl terminate-user $USER_A"
	if t62_gone; then
		ok "t_62: loginctl terminate-user stops the container"
	else
		not_ok "t_62: loginctl terminate-user stops the container"
		vm_ssh "systemctl status --no-pager $scope user-runtime-dir@$uid_a.service; loginctl user-status --no-pager $USER_A; journalctl -q --no-pager -n 25" 2>&1 |
			sed 's/^/#   after terminate-user: /'
	fi
else
	not_ok "t_62: cannot open a session for terminate-user"
fi
t62_release

# Stopping the user's slice stops it too.
if t62_hold; then
	vm_ssh "systemctl stop user-$uid_a.slice"
	check "t_62: systemctl stop user-$uid_a.slice stops the container" t62_gone
else
	not_ok "t_62: cannot open a session for the slice stop"
fi
t62_release
check "t_62: the user logs in again afterwards" [ "$(ussh id -u 2>/dev/null)" = "$uid_a" ]

# linger = yes: the scope follows the user's units, so the container
# outlives the last logout only where logind lingers for the user too
# (check names the missing piece).
vm_ssh "printf '\n[user:$USER_A]\nlinger = yes\n' >>/etc/jsandbox.conf"
check "t_62: check names linger = yes without logind's linger" \
	vm_ssh "jsandboxctl check 2>/dev/null | grep -q '^systemd: user $USER_A has linger = yes but logind does not linger'"
vm_ssh "loginctl enable-linger $USER_A"
ussh true
# bounded: logind has the user as lingering once the login is gone
vm_ssh "for i in \$(seq 150); do [ \"\$(loginctl show-user -P State $USER_A 2>/dev/null)\" = lingering ] && exit 0; sleep 0.2; done; exit 1"
check "t_62: with logind lingering, the container outlives the last logout in its scope" \
	vm_ssh "[ \"\$(loginctl show-user -P State $USER_A)\" = lingering ] && jsandboxctl status $USER_A | grep -qw running &&
		[ \"\$(systemctl is-active $scope)\" = active ]"
check "t_62: and check is content" vm_ssh "jsandboxctl check >/dev/null 2>&1"
vm_ssh "jsandboxctl stop $USER_A; loginctl disable-linger $USER_A; sed -i '/^\[user:$USER_A\]\$/,\$d' /etc/jsandbox.conf" >/dev/null 2>&1
check "t_62: stopped again, nothing left" t62_gone
