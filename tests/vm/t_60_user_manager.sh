# shellcheck shell=bash
# t_60 (VM lane, sourced by run-lane.sh): no host-side systemd --user
# manager for a sandboxed user, with Debian's stock common-session
# (pam_systemd kept: the login has its logind session and /run/user/UID).
#
# A unit planted from inside the container in ~/.config/systemd/user (and
# an environment.d file) never runs on the host: not at the next login
# (pam_systemd), not when root starts user@UID.service (what lingering
# does). Positive control: the same unit planted for an exempt user runs
# at their login, so the probe can see a run. And `jsandboxctl check`
# notices when the drop-in is gone.

uid_a=$(vm_ssh "id -u $USER_A")
uid_x=$(vm_ssh "id -u $USER_X")
# The plant: a oneshot unit wanted by default.target that leaves a mark in
# the host's /var/tmp (inside, /var/tmp is the container's own).
PLANT='set -e
d=$HOME/.config/systemd/user
mkdir -p "$d/default.target.wants" "$HOME/.config/environment.d"
printf "[Service]\nType=oneshot\nExecStart=/bin/sh -c \"id -u >/var/tmp/jsb-planted-ran.%%u\"\n[Install]\nWantedBy=default.target\n" >"$d/jsb-planted.service"
ln -sf ../jsb-planted.service "$d/default.target.wants/jsb-planted.service"
echo JSB_PLANTED=1 >"$HOME/.config/environment.d/50-jsb.conf"'

# Positive control first: the exempt user, planted on the host, logs in.
vm_ssh "HOME=/home/$USER_X setpriv --reuid=$USER_X --regid=$USER_X --init-groups sh -c '$PLANT'" ||
	not_ok "t_60: cannot plant the exempt user's unit"
t0=$SECONDS
vm_user_ssh "$USER_X" true
vm_ssh "for i in \$(seq 60); do [ -e /var/tmp/jsb-planted-ran.$USER_X ] && exit 0; sleep 1; done; exit 1"
check "t_60: control: the planted unit runs for an exempt user's login ($((SECONDS - t0))s; their user@$uid_x.service: $(vm_ssh "systemctl is-active user@$uid_x.service"))" \
	vm_ssh "[ \"\$(cat /var/tmp/jsb-planted-ran.$USER_X)\" = $uid_x ]"

# The sandboxed user plants the same from inside the container.
ussh "$PLANT" 2>/dev/null
check "t_60: the unit planted from inside is in the host's home" \
	vm_ssh "[ -L /home/$USER_A/.config/systemd/user/default.target.wants/jsb-planted.service ]"

# A login with the unit in place: pam_systemd asks logind, logind starts
# user@UID.service, the gate refuses it. Held open to see the session.
hold=$WORK/t60-hold.out
t0=$SECONDS
: >"$hold"
ussh 'echo ready; env | grep ^XDG_ | sort; exec sleep 120' >"$hold" 2>&1 &
t60_hold=$!
until grep -q ready "$hold" || ((SECONDS - t0 > 60)); do sleep 1; done
login_s=$((SECONDS - t0))
check "t_60: a sandboxed login with pam_systemd works (${login_s}s)" grep -q ready "$hold"
sed 's/^/#   inside: /' "$hold"
vm_ssh "loginctl list-sessions --no-legend; ls -la /run/user; systemctl status --no-pager user-runtime-dir@$uid_a.service user-$uid_a.slice" | sed 's/^/#   /'
check "t_60: logind has a session for it" \
	vm_ssh "loginctl list-sessions --no-legend | grep -qw $USER_A"
# Bounded wait for the gate's verdict on that start (the job may finish
# after the login returns).
gate_msg="no systemd --user manager: user $USER_A is sandboxed"
vm_ssh "for i in \$(seq 60); do journalctl -q -u user@$uid_a.service | grep -q '$gate_msg' && [ -z \"\$(systemctl list-jobs --no-legend user@$uid_a.service)\" ] && exit 0; sleep 1; done; exit 1"
check "t_60: the gate refused user@$uid_a.service (journal: \"$gate_msg\")" [ $? = 0 ]
vm_ssh "systemctl show -p ActiveState -p Result -p ConditionResult user@$uid_a.service; systemctl show -P ExecConditionEx user@$uid_a.service" |
	sed 's/^/#   /'
check "t_60: user@$uid_a.service is inactive, no systemd --user runs as $USER_A" \
	vm_ssh "[ \"\$(systemctl is-active user@$uid_a.service)\" = inactive ] && ! pgrep -u $uid_a -x systemd"
kill "$t60_hold" 2>/dev/null
wait "$t60_hold" 2>/dev/null

# Root starts it (what `loginctl enable-linger` does at boot): skipped too.
check "t_60: systemctl start user@$uid_a.service succeeds as a skipped condition" \
	vm_ssh "systemctl start user@$uid_a.service && [ \"\$(systemctl is-active user@$uid_a.service)\" = inactive ]"
check "t_60: the planted unit never ran on the host" vm_ssh "[ ! -e /var/tmp/jsb-planted-ran.$USER_A ]"

# check notices a host without the drop-in (and is content again after).
dropin=/usr/lib/systemd/system/user@.service.d/jsandbox.conf
out=$(vm_ssh "mv $dropin $dropin.off && systemctl daemon-reload && jsandboxctl check 2>/dev/null; mv $dropin.off $dropin; systemctl daemon-reload")
check "t_60: without the drop-in, check names the open user manager" \
	grep -q "^systemd: user@.service does not run \"+/usr/libexec/jsandbox/jsandbox-user-gate %i\" as its ExecCondition for $USER_A" <<<"$out"
check "t_60: with it back, check is content" vm_ssh "jsandboxctl check >/dev/null 2>&1"

# The other host daemons that act on the user's files: check names each
# one present (the guest has none; each is put in place, then removed).
out=$(vm_ssh "set -e
mkdir -p /var/spool/cron/crontabs && install -o $USER_A -m 0600 /dev/null /var/spool/cron/crontabs/$USER_A
printf '#!/bin/sh\n' >/usr/sbin/exim4 && chmod 0755 /usr/sbin/exim4
mkdir -p /etc/X11 && echo /usr/sbin/exim4 >/etc/X11/default-display-manager
jsandboxctl check 2>/dev/null || true
rm -f /var/spool/cron/crontabs/$USER_A /usr/sbin/exim4 /etc/X11/default-display-manager")
check "t_60: check names a sandboxed user's host crontab" \
	grep -q "^cron: /var/spool/cron/crontabs/$USER_A is a crontab of sandboxed user $USER_A" <<<"$out"
check "t_60: check names an MTA that reads ~/.forward" grep -q '^mail: exim4 .* is installed' <<<"$out"
check "t_60: check names a display manager" grep -q '^login: a display manager' <<<"$out"
check "t_60: with them gone, check is content again" vm_ssh "jsandboxctl check >/dev/null 2>&1"
